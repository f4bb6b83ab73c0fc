"""Matching a customer's message against the FAQs' example questions and answers.

Customers write the same question many ways: full or half width, katakana or hiragana, long
vowels as ー or spelled out, small kana, emoji, laughter (w, 笑), numbers in kanji. `normalise`
folds all of that away; `comparable` adds the words' dictionary forms and the reading that
janome (a pure-Python morphological analyser) gives, so 開いてます meets 開く and
ちゅうしゃじょう meets 駐車場. Texts are compared as character 1–3-grams weighted by TF-IDF:
how much of the message an FAQ's questions and answer cover, the cosine to its closest example
question, and rapidfuzz's edit-distance ratio, which forgives typos that break n-grams.
`FaqIndex.match` turns the scores into a decision: answer at once, suggest the top three
("もしかして"), or hand over to staff. Greetings and thanks alone are never answered.

Pure: no database, no Flask, no LINE. The index is rebuilt when the FAQs change.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

from janome.tokenizer import Tokenizer
from rapidfuzz import fuzz

NGRAM_SIZES = (1, 2, 3)
COSINE_CANDIDATES = 24  # FAQs with the best coverage, compared example by example
CANDIDATES = 8  # of those, re-scored with rapidfuzz
SUGGESTIONS = 3
# The score: how much of the message an FAQ's words cover, how close it is to one example
# question (cosine), and rapidfuzz's ratio against it (typos); weights chosen on tests/data.
COVERAGE_WEIGHT, COSINE_WEIGHT, FUZZ_WEIGHT = 0.5, 0.3, 0.2

_VOWEL_ROWS = (  # (the vowel a long mark after these kana spells, the kana)
    ("あ", "あかさたなはまやらわがざだばぱぁゃゎゕ"),
    ("い", "いきしちにひみりぎじぢびぴぃ"),
    ("う", "うくすつぬふむゆるぐずづぶぷぅゅっゔ"),
    ("い", "えけせてねへめれげぜでべぺぇゖ"),  # セール → せいる, as せんせー → せんせい
    ("う", "おこそとのほもよろをごぞどぼぽぉょ"),  # メニュー → めにゅう, ジョー → じょう
)
_LONG_VOWEL = {kana: vowel for vowel, kanas in _VOWEL_ROWS for kana in kanas}
_LONG_MARKS = "ー〜~"
_SMALL_KANA = str.maketrans("ぁぃぅぇぉっゃゅょゎゕゖ", "あいうえおつやゆよわかけ")
_KANJI_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")}
_COUNTERS = "人名時分日月円個枚回歳階台本杯週件席"
_KANJI_NUMBER = re.compile(rf"([〇一二三四五六七八九十]+)(?=[{_COUNTERS}])")
_LAUGHTER = re.compile(r"(?<=[^\x00-\x7f])w+(?![a-z])|[(（]笑[)）]|笑+(?![\w])")
_SEPARATOR = " "
_SENTENCE_END = re.compile(r"[。！？!?\n]+")

# Said on their own these are pleasantries, not questions; at the start or end of a question
# they are dropped so that they do not pull it towards another FAQ.
PLEASANTRIES = (
    "こんにちは", "こんばんは", "おはようございます", "おはよう", "はじめまして",
    "ありがとうございます", "ありがとうございました", "ありがとう", "ありがと", "どうもありがとう",
    "どうも", "サンキュー", "thanks", "thank you", "thx", "hello", "hi",
    "よろしくお願いします", "よろしくお願いいたします", "宜しくお願いします",
    "よろしくです", "よろしく",
    "お世話になっております", "お世話になります", "お疲れ様です", "おつかれさまです",
    "すみません", "すいません", "失礼します", "失礼いたします",
    "了解です", "了解しました", "了解", "承知しました", "わかりました", "分かりました",
    "はい", "いいえ", "ok", "okです", "おけ", "大丈夫です", "助かります", "助かりました",
    "また行きます", "また来ます", "美味しかったです", "おいしかったです", "楽しみにしています",
)  # fmt: skip


def _hiragana(text: str) -> str:
    """Katakana folded to hiragana (ァ..ヶ are 0x60 above ぁ..ゖ)."""
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)


def _spell_long_vowels(text: str) -> str:
    """ー and 〜 after a kana become its vowel (ちゅーしゃ → ちゅうしゃ); elsewhere a separator."""
    out: list[str] = []
    for char in text:
        if char in _LONG_MARKS:
            char = _LONG_VOWEL.get(out[-1], _SEPARATOR) if out else _SEPARATOR
        out.append(char)
    return "".join(out)


def _kanji_to_arabic(numeral: str) -> str:
    """一 → 1, 十二 → 12, 二十 → 20: the numbers customers write before a counter (二名)."""
    if "十" not in numeral:
        return "".join(str(_KANJI_DIGITS[c]) for c in numeral)
    tens, _, ones = numeral.partition("十")
    value = (_KANJI_DIGITS.get(tens[-1:], 1) if tens else 1) * 10
    return str(value + (_KANJI_DIGITS.get(ones[:1], 0) if ones else 0))


def _only_words(text: str) -> str:
    """Letters and digits kept; punctuation, symbols and emoji become separators."""
    kept = (c if unicodedata.category(c)[0] in "LN" else _SEPARATOR for c in text)
    return re.sub(r"(.)\1{2,}", r"\1", "".join(kept))  # すごいいいい → すごい


def fold(text: str) -> str:
    """The text with width, case, kana, long vowels, laughter, emoji and numerals folded; chunks
    that punctuation separated stay apart by a space."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _LAUGHTER.sub(_SEPARATOR, text)
    text = _spell_long_vowels(_hiragana(text)).translate(_SMALL_KANA)
    text = _KANJI_NUMBER.sub(lambda m: _kanji_to_arabic(m.group(1)), text)
    return " ".join(_only_words(text).split())


_PLEASANTRY_FORMS = sorted({fold(p).replace(" ", "") for p in PLEASANTRIES}, key=len, reverse=True)
_PLEASANTRY_RUN = "(?:" + "|".join(map(re.escape, _PLEASANTRY_FORMS)) + ")"
_ONLY_PLEASANTRIES = re.compile(rf"{_PLEASANTRY_RUN}+")
# At the edge of a chunk only longer phrases are cut: はい would eat はいれますか (入れますか).
_EDGE_FORMS = "|".join(map(re.escape, (p for p in _PLEASANTRY_FORMS if len(p) >= 4)))
_LEADING = re.compile(rf"^(?:{_EDGE_FORMS})+")
_TRAILING = re.compile(rf"(?:{_EDGE_FORMS})+$")


# Ways of asking that say nothing about the topic: in a small FAQ list they would tie a question
# to whichever FAQ happens to use them (店長の名前を教えてください → 営業時間を教えてください).
REQUEST_PHRASES = (
    "教えてください", "教えていただけますか", "教えて", "おしえてください", "おしえて",
    "いただけますか", "でしょうか", "ございますか", "よろしいでしょうか",
)  # fmt: skip
_REQUEST = re.compile(
    "|".join(map(re.escape, sorted({fold(p) for p in REQUEST_PHRASES}, key=len, reverse=True)))
)


def _without_pleasantries(chunk: str) -> str:
    """The chunk less greetings and thanks at its edges; empty if it was nothing else."""
    if _ONLY_PLEASANTRIES.fullmatch(chunk):
        return ""
    return _TRAILING.sub("", _LEADING.sub("", chunk))


def normalise(text: str) -> str:
    """The question as compared: folded, pleasantries dropped, no spaces (kana text has none)."""
    return "".join(_without_pleasantries(chunk) for chunk in fold(text).split())


def is_pleasantry(text: str) -> bool:
    """True for a greeting or thanks with no question in it (never answered from the FAQs)."""
    return bool(fold(text)) and not normalise(text)


@functools.cache
def _tokenizer() -> Tokenizer:
    """janome's tokenizer, loaded once on first use (it reads its dictionary)."""
    return Tokenizer()


def comparable(text: str) -> str:
    """What matching compares: the normalised text, then its words' dictionary forms and its
    reading, so that 開いてます meets 開く and ちゅうしゃじょう meets 駐車場."""
    surface = normalise(text)
    if not surface:
        return ""
    tokens = list(_tokenizer().tokenize(unicodedata.normalize("NFKC", text)))
    base = normalise("".join(token.base_form for token in tokens))
    reading = normalise("".join(t.reading if t.reading != "*" else t.surface for t in tokens))
    return " ".join(_REQUEST.sub("", form) for form in (surface, base, reading))


def ngrams(text: str) -> Counter[str]:
    """Character 1–3-grams, the unit of the TF-IDF comparison."""
    return Counter(text[i : i + n] for n in NGRAM_SIZES for i in range(len(text) - n + 1))


@dataclass(frozen=True)
class FaqEntry:
    """An FAQ as matching sees it: its id, the example questions customers might send, and its
    answer, whose words count too (a question about コインパーキング finds the parking answer)."""

    id: Hashable
    questions: Sequence[str]
    category: str | None = None
    answer: str = ""


@dataclass(frozen=True)
class Thresholds:
    """Scores (0..1) at which the bot answers at once, or suggests the closest FAQs; below
    `suggest` the message goes to staff. An answer also needs a lead of `margin` over the
    runner-up, so two FAQs that fit about equally well are offered as a choice instead. The
    defaults give the most right answers with wrong ones under 3 % on tests/data."""

    answer: float = 0.32
    suggest: float = 0.2
    margin: float = 0.1


@dataclass(frozen=True)
class Match:
    """What the bot does with a message: "answer" (matches[0]), "suggest" (up to three) or
    "handoff"; matches are (FAQ id, score 0..1) best first."""

    decision: str
    matches: list[tuple[Hashable, float]] = field(default_factory=list)


@dataclass
class FaqIndex:
    """The FAQs' words as TF-IDF-weighted n-grams: an inverted index per FAQ (its questions and
    answer together) for coverage, and each example question's vector for cosine."""

    ids: list[Hashable]
    idf: dict[str, float]
    unseen_idf: float
    faqs_with: dict[str, list[int]]  # rarer n-gram → the FAQs whose questions or answer have it
    faqs_without: dict[str, list[int]]  # n-gram most FAQs have → the FAQs that lack it
    vectors: list[list[dict[str, float]]]  # each FAQ's example questions as unit vectors
    questions: list[list[str]]  # each FAQ's example questions, comparable, for rapidfuzz

    @classmethod
    def build(cls, entries: Iterable[FaqEntry]) -> FaqIndex:
        """An index over the entries (blank or pleasantry-only example questions skipped)."""
        entries = list(entries)
        questions = [_comparable_all(entry.questions) for entry in entries]
        bags = [_bag(texts, entry.answer) for texts, entry in zip(questions, entries, strict=True)]
        frequency = Counter(gram for bag in bags for gram in bag)
        idf = {gram: _idf(len(entries), df) for gram, df in frequency.items()}
        faqs_with, faqs_without = _postings(bags, frequency)
        vectors = [[_unit_vector(ngrams(text), idf, 0.0) for text in texts] for texts in questions]
        ids = [entry.id for entry in entries]
        unseen = _idf(len(entries), 0)
        return cls(ids, idf, unseen, faqs_with, faqs_without, vectors, questions)

    def match(self, text: str, thresholds: Thresholds = Thresholds()) -> Match:
        """The decision for a customer's message, with the closest FAQs and their scores."""
        query = comparable(text)
        if not query:
            return Match("handoff")
        scored = self.scores(query)
        return Match(_decide(scored, thresholds), scored[:SUGGESTIONS])

    def scores(self, query: str) -> list[tuple[Hashable, float]]:
        """The closest FAQs to a comparable query, (id, score 0..1) best first: coverage picks
        the candidates, cosine and then rapidfuzz re-score the best of them."""
        vector = _unit_vector(ngrams(query), self.idf, self.unseen_idf)
        coverage = self._coverage(vector)
        covered = sorted(coverage, key=coverage.__getitem__, reverse=True)[:COSINE_CANDIDATES]
        partial = {faq: COVERAGE_WEIGHT * coverage[faq] + COSINE_WEIGHT * self._cosine(vector, faq)
                   for faq in covered}  # fmt: skip
        best = sorted(partial, key=partial.__getitem__, reverse=True)[:CANDIDATES]
        combined = {faq: partial[faq] + FUZZ_WEIGHT * self._ratio(query, faq) for faq in best}
        ranked = sorted(combined.items(), key=lambda item: item[1], reverse=True)
        return [(self.ids[faq], round(min(score, 1.0), 4)) for faq, score in ranked]

    def _coverage(self, vector: dict[str, float]) -> dict[int, float]:
        """Per FAQ, the share of the query's weight found among its questions' and answer's
        n-grams; words no FAQ has count against every FAQ. N-grams most FAQs share are counted
        for all and taken back from the few that lack them, which keeps 1,000 FAQs cheap."""
        shared = 0.0
        coverage: dict[int, float] = defaultdict(float)
        for gram, weight in vector.items():
            if gram in self.faqs_without:
                shared += weight * weight
                for faq in self.faqs_without[gram]:
                    coverage[faq] -= weight * weight
            for faq in self.faqs_with.get(gram, ()):
                coverage[faq] += weight * weight
        if shared:
            for faq in range(len(self.ids)):
                coverage[faq] += shared
        return coverage

    def _cosine(self, vector: dict[str, float], faq: int) -> float:
        """The best cosine between the query and one of the FAQ's example questions."""
        return max(
            (
                sum(w * other.get(gram, 0.0) for gram, w in vector.items())
                for other in self.vectors[faq]
            ),
            default=0.0,
        )

    def _ratio(self, query: str, faq: int) -> float:
        """rapidfuzz's normalised edit-distance ratio against the FAQ's closest question."""
        return max((fuzz.ratio(query, text) for text in self.questions[faq]), default=0) / 100


def _comparable_all(questions: Iterable[str]) -> list[str]:
    """The distinct comparable forms of some example questions, blanks dropped."""
    return [text for text in dict.fromkeys(map(comparable, questions)) if text]


def _postings(
    bags: list[set[str]], frequency: Counter[str]
) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """n-gram → FAQs that have it, or, for n-grams most FAQs have, → FAQs that lack it."""
    common = {gram for gram, df in frequency.items() if df > len(bags) / 2}
    with_gram: dict[str, list[int]] = defaultdict(list)
    without_gram: dict[str, list[int]] = {gram: [] for gram in common}
    for faq, bag in enumerate(bags):
        for gram in bag - common:
            with_gram[gram].append(faq)
        for gram in common - bag:
            without_gram[gram].append(faq)
    return dict(with_gram), without_gram


def _bag(questions: list[str], answer: str) -> set[str]:
    """Every n-gram of an FAQ's questions and of its answer's sentences."""
    sentences = _comparable_all(_SENTENCE_END.split(answer))
    return {gram for text in questions + sentences for gram in ngrams(text)}


def _idf(documents: int, frequency: int) -> float:
    """Smoothed inverse document frequency, as scikit-learn's TfidfVectorizer computes it."""
    return math.log((1 + documents) / (1 + frequency)) + 1


def _unit_vector(counts: Counter[str], idf: dict[str, float], unseen: float) -> dict[str, float]:
    """Sublinear TF times IDF, scaled to length 1."""
    weights = {gram: (1 + math.log(n)) * idf.get(gram, unseen) for gram, n in counts.items()}
    norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
    return {gram: w / norm for gram, w in weights.items()}


def _decide(scored: list[tuple[Hashable, float]], thresholds: Thresholds) -> str:
    """answer, suggest or handoff, from the best score and its lead over the runner-up."""
    if not scored or scored[0][1] < thresholds.suggest:
        return "handoff"
    runner_up = scored[1][1] if len(scored) > 1 else 0.0
    if scored[0][1] >= thresholds.answer and scored[0][1] - runner_up >= thresholds.margin:
        return "answer"
    return "suggest"
