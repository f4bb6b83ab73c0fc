"""FAQ matching: accuracy on the labelled evaluation set at several thresholds, and the time to
match one message against 1,000 FAQs. Pure Python in one process, no database. Prints tables;
asserts nothing.

    .venv/bin/python bench/faq.py [--data tests/data] [--faqs 1000] [--repeat 5]
    .venv/bin/python bench/faq.py --thresholds 0.6:0.35,0.7:0.4   # answer:suggest pairs
    .venv/bin/python bench/faq.py --half a   # only the tuning half (or b, the held-out half)

The halves split the labelled questions by a fixed hash of their text (`half_of`): weights and
thresholds are chosen on half a, and half b shows how that carries over to unseen questions.

Goals (issue 11): top-1 accuracy ≥ 90 % of matchable questions and wrong answers ≤ 3 % of all
questions at the default thresholds; matching against 1,000 FAQs under 20 ms p99 per message.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crm.faq.matching import FaqEntry, FaqIndex, Thresholds  # noqa: E402
from crm.faq.samples import sample_faqs  # noqa: E402

DEFAULT_PAIRS = "0.26:0.2,0.34:0.2,0.4:0.25,0.5:0.3"
# Words that turn the sample's FAQs into other, similar ones for the 1,000-FAQ timing.
BRANCHES = ["本店", "駅前店", "新宿店", "渋谷店", "梅田店", "博多店", "名古屋店", "札幌店", "横浜店",
            "京都店", "神戸店", "仙台店", "広島店", "那覇店", "金沢店", "池袋店", "天神店", "栄店",
            "大宮店", "千葉店", "町田店", "吉祥寺店", "難波店", "三宮店", "川崎店", "静岡店",
            "岡山店", "熊本店", "新潟店", "松山店", "高松店", "長野店", "盛岡店", "秋田店"]  # fmt: skip
TOPICS = ["", "ランチの", "ディナーの", "週末の", "平日の", "年末年始の", "夏休みの", "連休中の"]


@dataclass
class Tally:
    """Outcomes for one group of questions at one threshold pair."""

    questions: int = 0
    matchable: int = 0
    right_answers: int = 0
    wrong_answers: int = 0
    suggested: int = 0
    suggested_matchable: int = 0
    suggested_with_right: int = 0
    handed_off: int = 0

    def add(self, expected, decision: str, ids: list) -> None:
        """Count one question's outcome."""
        self.questions += 1
        self.matchable += expected is not None
        if decision == "answer":
            right = expected is not None and ids[0] == expected
            self.right_answers += right
            self.wrong_answers += not right
        elif decision == "suggest":
            self.suggested += 1
            self.suggested_matchable += expected is not None
            self.suggested_with_right += expected is not None and expected in ids[:3]
        else:
            self.handed_off += 1


def load_entries(data: Path) -> list[FaqEntry]:
    """The sample shop's FAQs."""
    rows = sample_faqs()
    return [
        FaqEntry(row["id"], row["questions"], row.get("category"), row.get("answer", ""))
        for row in rows
    ]


def load_questions(data: Path) -> list[dict]:
    """The labelled customer questions: text, the FAQ id or None, and a kind."""
    lines = (data / "faq_questions.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def half_of(text: str) -> str:
    """ "a" or "b": which half of the labelled questions a text falls in, fixed by its hash."""
    return "ab"[hashlib.sha256(text.encode()).digest()[0] % 2]


def evaluate(index: FaqIndex, questions: list[dict], thresholds: Thresholds) -> dict[str, Tally]:
    """Tallies per kind of question, and "all"."""
    tallies: dict[str, Tally] = defaultdict(Tally)
    for question in questions:
        result = index.match(question["text"], thresholds)
        ids = [faq for faq, _ in result.matches]
        for group in (question.get("kind") or "-", "all"):
            tallies[group].add(question["faq"], result.decision, ids)
    return tallies


def percent(part: int, whole: int) -> str:
    """A share as a percentage with one decimal, or a dash when there is nothing to share."""
    return f"{100 * part / whole:.1f}" if whole else "–"


def print_accuracy(pair: Thresholds, tallies: dict[str, Tally], default: bool) -> None:
    """One table: a row per kind of question, then all of them."""
    label = " (default)" if default else ""
    print(f"\nanswer ≥ {pair.answer}, suggest ≥ {pair.suggest}, margin {pair.margin}{label}\n")
    print(
        "| kind | questions | matchable | top-1 accuracy % | wrong answers % | suggested % "
        "| right FAQ in top 3 of suggested % | handed off % |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    kinds = [*sorted(kind for kind in tallies if kind != "all"), "all"]
    for kind in kinds:
        t = tallies[kind]
        name = f"**{kind}**" if kind == "all" else kind
        print(
            f"| {name} | {t.questions} | {t.matchable} | {percent(t.right_answers, t.matchable)} "
            f"| {percent(t.wrong_answers, t.questions)} | {percent(t.suggested, t.questions)} "
            f"| {percent(t.suggested_with_right, t.suggested_matchable)} "
            f"| {percent(t.handed_off, t.questions)} |"
        )


def many_faqs(entries: list[FaqEntry], count: int) -> list[FaqEntry]:
    """`count` FAQs: the sample's, then copies whose every example question names a branch and
    a topic (「駅前店のランチの駐車場はありますか」), so that they share most n-grams with the
    originals and every message has many close candidates."""
    variants = [(branch, topic) for topic in TOPICS for branch in BRANCHES]
    synthetic = list(entries)
    for number in range(count - len(entries)):
        base = entries[number % len(entries)]
        branch, topic = variants[number // len(entries) % len(variants)]
        questions = [f"{branch}の{topic}{question}" for question in base.questions]
        synthetic.append(FaqEntry(f"{base.id}@{branch}{topic}", questions, base.category))
    return synthetic


def time_matching(entries: list[FaqEntry], texts: list[str], repeat: int) -> tuple:
    """Build time (ms), and per-message p50 / p99 / max ms of matching, over `repeat` rounds."""
    started = time.perf_counter()
    index = FaqIndex.build(entries)
    built = (time.perf_counter() - started) * 1000
    timings = []
    for _ in range(repeat):
        for text in texts:
            started = time.perf_counter()
            index.match(text)
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    examples = sum(len(entry.questions) for entry in entries)
    return built, examples, len(timings), statistics.median(timings), p99, timings[-1]


def parse_pairs(text: str) -> list[Thresholds]:
    """ "0.6:0.35,0.7:0.4" → Thresholds, keeping the default margin."""
    pairs = []
    for item in text.split(","):
        answer, suggest = (float(part) for part in item.split(":"))
        pairs.append(replace(Thresholds(), answer=answer, suggest=suggest))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=ROOT / "tests/data")
    parser.add_argument("--thresholds", default=DEFAULT_PAIRS, help="answer:suggest,…")
    parser.add_argument("--faqs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--half", choices=["a", "b"], help="only one half of the questions")
    args = parser.parse_args()
    one, five, _ = os.getloadavg()
    entries, questions = load_entries(args.data), load_questions(args.data)
    if args.half:
        questions = [q for q in questions if half_of(q["text"]) == args.half]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.platform()}; load average {one:.2f} (1 min), "
        f"{five:.2f} (5 min) when the run started"
    )
    matchable = sum(q["faq"] is not None for q in questions)
    print(
        f"{len(entries)} FAQs with {sum(len(e.questions) for e in entries)} example questions; "
        f"{len(questions)} labelled questions, {matchable} matchable, "
        f"{len(questions) - matchable} matching no FAQ"
    )
    index = FaqIndex.build(entries)
    pairs = parse_pairs(args.thresholds)
    if Thresholds() not in pairs:
        pairs.append(Thresholds())
    for pair in sorted(pairs, key=lambda p: (p.answer, p.suggest)):
        print_accuracy(pair, evaluate(index, questions, pair), pair == Thresholds())
    built, examples, count, p50, p99, worst = time_matching(
        many_faqs(entries, args.faqs), [q["text"] for q in questions], args.repeat
    )
    print(
        f"\n{args.faqs} FAQs ({examples} example questions; the sample's FAQs, then copies "
        f"naming a branch and a topic): index built in {built:.0f} ms; {count} matches "
        f"(every labelled question x {args.repeat})\n"
    )
    print("| FAQs | p50 ms / message | p99 ms / message | max ms |")
    print("|---:|---:|---:|---:|")
    print(f"| {args.faqs} | {p50:.2f} | {p99:.2f} | {worst:.2f} |")


if __name__ == "__main__":
    main()
