"""Matching a customer's message against the FAQs' example questions and answers.

Customers write the same question many ways: full or half width, katakana or hiragana, long
vowels as ー or spelled out, small kana, emoji, laughter (w, 笑), numbers in kanji. `normalise`
folds all of that away; `comparable` adds the words' dictionary forms and the reading that
janome (a pure-Python morphological analyser) gives, so 開いてます meets 開く and
ちゅうしゃじょう meets 駐車場; how a question ends (ありますか, できる？, 大丈夫ですか) is cut,
since it says nothing about the topic. Texts are compared as character 1–3-grams plus the shop
topics they name (a small vocabulary: 車, パーキング and 停め all name parking), weighted by
TF-IDF: how much of the message an FAQ's questions and answer cover, the cosine to its closest
example question, and rapidfuzz's edit-distance ratio, which forgives typos that break n-grams.
`FaqIndex.match` turns the scores into a decision: answer at once, suggest the top three
("もしかして"), or hand over to staff. Greetings and thanks alone are never answered, and
reports of a problem (〜のに, 間違って, 〜ました) are at most suggested: staff should read them.

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


# Shop vocabulary: the words customers use for the topics most shops' FAQs cover, grouped by
# topic. A message and an FAQ that name the same topic in different words (車 and 駐車場,
# バイト and 求人, BYO and 持ち込み) share that topic as one more, heavily weighted feature.
# Terms are matched inside the folded text, so a term also finds longer words that contain it.
TOPIC_WORDS = {
    "hours": "営業時間 何時 なんじ 開店 閉店 開いて 開いてる 閉ま 閉め ラストオーダー "
             "オーダーストップ open close いつまで 遅くまで 何時から 何時まで",
    "days": "定休日 休み やすみ 休業 営業日 休日 祝日 祭日 年末年始 正月 お盆 連休 "
            "ゴールデンウィーク gw 曜日 月曜 水曜 木曜 金曜 土曜 日曜 火曜 臨時",
    "access": "場所 住所 最寄 駅 行き方 いきかた 道順 地図 マップ map google バス 徒歩 "
              "歩いて アクセス access 迷",
    "parking": "駐車 車 くるま パーキング parking 停め 止め とめ 駐輪 自転車 バイク 原付 コインパ",
    "booking": "予約 よやく リザーブ reserve reservation booking 席を取 空いて 空き 満席 "
               "飛び込み キャンセル 取り消 申し込 申込",
    "party": "宴会 飲み会 コース 飲み放題 飲放 貸切 貸し切 歓迎会 送別会 歓送迎会 忘年会 新年会 "
             "打ち上げ 大人数 団体 party 同窓会 女子会 懇親会 二次会",
    "room": "個室 半個室 仕切 接待 顔合わせ 人目 周りを気にせ",
    "celebration": "誕生日 バースデー birthday 記念日 サプライズ お祝い 祝い プレート ケーキ "
                   "メッセージ ろうそく 花束 anniversary",
    "lunch": "ランチ lunch 昼 ひる 日替わり 定食",
    "evening": "ディナー dinner 夜 よる 夕食 晩ごはん お酒 酒 ビール ワイン 日本酒 飲め 飲める "
               "アラカルト つまみ ハイボール カクテル ノンアル サワー",
    "takeout": "テイクアウト takeout 持ち帰 もちかえ 弁当 買って帰 焼き菓子 togo",
    "delivery": "デリバリー delivery ウーバー uber 出前 配達 宅配 配送 届け",
    "catering": "オードブル ケータリング catering 大量 まとめて 個以上 会議 仕出し 法事",
    "allergy": "アレルギー allergy 小麦 卵 乳製品 そば えび かに ナッツ 落花生 ピーナッツ "
               "グルテン 除去 原材料 成分",
    "meat_free": "ベジタリアン ヴィーガン ビーガン vegan vegetarian ハラール halal 肉 野菜 "
                 "菜食 動物性 豚 宗教",
    "price": "予算 値段 いくら 価格 料金 高い 安い お通し サービス料 チャージ 相場 平均 "
             "一人あたり 目安 金額 お金 税込 price",
    "gift": "ギフト 商品券 食事券 チケット プレゼント 贈 gift",
    "payment": "支払 払え 払い 払う 会計 カード クレジット paypay ペイペイ 電子マネー "
               "キャッシュレス qr 現金 suica スイカ 交通系 決済 割り勘 別々 個別 visa jcb "
               "amex アメックス 楽天ペイ d払 ペイ",
    "kids": "子ども 子供 こども お子様 お子さま 子連れ キッズ kids 赤ちゃん 乳児 幼児 ベビー "
            "離乳食 小学生 チャイルド おむつ 授乳 baby child",
    "wifi": "wifi わいふあい ネット 無線 パスワード",
    "power": "電源 コンセント 充電 パソコン pc 作業 勉強 リモートワーク",
    "pets": "ペット pet 犬 いぬ わんちゃん ワンコ dog 猫 ドッグ 小型犬 大型犬",
    "smoking": "禁煙 喫煙 タバコ たばこ 煙草 吸え 吸う smoking smoke 電子タバコ アイコス iqos "
               "加熱式",
    "seats": "席 カウンター テラス terrace 一人 ひとり おひとり 1人 窓際 ソファ 座敷 テーブル "
             "seat",
    "stamps": "スタンプ ポイント point stamp 貯ま ため たまる",
    "coupon": "クーポン coupon 割引 安く 特典 友だち追加 友達追加 友だち登録 友達登録",
    "events": "イベント event ライブ live 演奏 ワイン会 音楽 催し",
    "bring_own": "持ち込 持込 もちこ 持って行 持っていって 持ってって 持参 byo",
    "clothes": "ドレスコード dresscode 服装 格好 かっこう 普段着 私服 短パン サンダル ジャージ "
               "スーツ 正装 tシャツ ラフ カジュアル 作業着",
    "jobs": "バイト ばいと アルバイト パート parttime 求人 募集 働き はたらき 採用 面接 応募 "
            "時給 job",
    "lost": "忘れ物 忘れ わすれ 落とし物 落とし なくし 無くし 置き忘れ 紛失",
}  # fmt: skip
# Messages that report a problem or ask for a person: staff should read them, so the bot at
# most suggests FAQs, never answers on its own (駐車場で車をぶつけられました is not a question
# about parking).
STAFF_CUES = (
    "のに 間違 ひどい 迷惑 遅れ 届いてない 届かない 返金 クレーム 話したい 担当 再発行 てません"
)
TOPIC_WEIGHT = 12.0  # a shared topic against one shared character n-gram; chosen on tests/data


def _any_of(phrases: Iterable[str]) -> str:
    """A regular expression matching any of the phrases, longest first."""
    return "|".join(map(re.escape, sorted(set(phrases), key=len, reverse=True)))


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


# How a question ends says it is a question, not what it is about: ありますか, できる？,
# 大丈夫ですか, いいでしょうか. Cut from the end of each form so that 駐車場はありますか and
# ちゅうしゃじょうある both come down to the topic.
QUESTION_ENDINGS = (
    "ありますか", "あります", "ある", "あるか", "ありか", "できますか", "できます", "できる",
    "できるか", "出来ますか", "出来る", "大丈夫ですか", "大丈夫", "だいじょうぶ", "平気ですか",
    "平気", "へいき", "いいですか", "いい", "よいですか", "ok", "okですか", "可能ですか", "可能",
    "かのう", "ですか", "ますか", "ますかね", "ですかね", "かな", "ですよね", "ますよね", "ですね",
    "ますね", "ですが", "ますが", "んですが", "んですけど", "ですけど", "けど", "ください",
    "でございましょうか", "ございますか", "でしょうか", "ましょうか", "ますでしょうか",
    "か", "ね", "よ", "の", "なの", "なん",
)  # fmt: skip
ENDING_PARTICLES = ("は", "って", "も", "が", "を", "で", "に", "て")  # fmt: skip
_ENDING = re.compile(
    rf"(?:{_any_of(ENDING_PARTICLES)})?(?:{_any_of(fold(e) for e in QUESTION_ENDINGS)})+$"
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
    forms = (_REQUEST.sub("", form) for form in (surface, base, reading))
    return " ".join(_ENDING.sub("", form) or form for form in forms)


def ngrams(text: str) -> Counter[str]:
    """Character 1–3-grams, the unit of the TF-IDF comparison."""
    return Counter(text[i : i + n] for n in NGRAM_SIZES for i in range(len(text) - n + 1))


def _term_forms(term: str) -> set[str]:
    """A vocabulary term as matching sees it: normalised, and as read aloud when that reading
    is long enough to be unambiguous (駐車 → ちゅうしゃ finds ちゅうしゃじょう)."""
    reading = "".join(
        t.reading if t.reading != "*" else t.surface for t in _tokenizer().tokenize(term)
    )
    forms = {normalise(term)}
    if len(normalise(reading)) >= 3:
        forms.add(normalise(reading))
    return {form for form in forms if form}


@functools.cache
def _topic_finder() -> tuple[re.Pattern[str], dict[str, str]]:
    """One pattern for every vocabulary term, longest first, and each form's topic."""
    topic_of = {
        form: f"#{topic}"
        for topic, terms in TOPIC_WORDS.items()
        for term in terms.split()
        for form in _term_forms(term)
    }
    return re.compile(_any_of(topic_of)), topic_of


@functools.cache
def _staff_cue() -> re.Pattern[str]:
    """Any of the words that mark a report or a request for a person, or a report's past tense
    at the end (〜ました, 〜かったです: something happened, nothing is asked)."""
    cues = _any_of(normalise(cue) for cue in STAFF_CUES.split())
    return re.compile(rf"{cues}|(?:ました|でした|かつたです|てた)$")


def needs_staff(query: str) -> bool:
    """True when a comparable query reports a problem or asks for a person (its written form,
    not the reading, is checked: の日程 reads のにってい)."""
    return bool(_staff_cue().search(query.split(" ", 1)[0]))


def topics(text: str) -> set[str]:
    """The shop topics (#parking, #booking, ...) a comparable text names."""
    pattern, topic_of = _topic_finder()
    return {topic_of[found] for found in pattern.findall(text)}


def features(text: str) -> Counter[str]:
    """What a comparable text is weighed by: its character n-grams and the topics it names."""
    counts = ngrams(text)
    counts.update(topics(text))
    return counts


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

    answer: float = 0.3
    suggest: float = 0.2
    margin: float = 0.04


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
        vectors = [
            [_unit_vector(features(text), idf, 0.0) for text in texts] for texts in questions
        ]
        ids = [entry.id for entry in entries]
        unseen = _idf(len(entries), 0)
        return cls(ids, idf, unseen, faqs_with, faqs_without, vectors, questions)

    def match(self, text: str, thresholds: Thresholds = Thresholds()) -> Match:
        """The decision for a customer's message, with the closest FAQs and their scores."""
        query = comparable(text)
        if not query:
            return Match("handoff")
        scored = self.scores(query)
        decision = _decide(scored, thresholds)
        if decision == "answer" and needs_staff(query):
            decision = "suggest"
        return Match(decision, scored[:SUGGESTIONS])

    def scores(self, query: str) -> list[tuple[Hashable, float]]:
        """The closest FAQs to a comparable query, (id, score 0..1) best first: coverage picks
        the candidates, cosine and then rapidfuzz re-score the best of them."""
        vector = _unit_vector(features(query), self.idf, self.unseen_idf)
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
    """Every n-gram and topic of an FAQ's questions and of its answer's sentences."""
    sentences = _comparable_all(_SENTENCE_END.split(answer))
    return {gram for text in questions + sentences for gram in features(text)}


def _idf(documents: int, frequency: int) -> float:
    """Smoothed inverse document frequency, as scikit-learn's TfidfVectorizer computes it."""
    return math.log((1 + documents) / (1 + frequency)) + 1


def _unit_vector(counts: Counter[str], idf: dict[str, float], unseen: float) -> dict[str, float]:
    """Sublinear TF times IDF, scaled to length 1."""
    weights = {
        gram: (1 + math.log(n)) * idf.get(gram, unseen) * (TOPIC_WEIGHT if gram[0] == "#" else 1)
        for gram, n in counts.items()
    }
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
