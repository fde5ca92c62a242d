"""Full grounded answer latency on the 40-question file, beside the previous path, interleaved.

Issue 13's target: the full grounded answer (to the end of the stream) p50 <= 1.5 s and p95 <= 3 s on
``benchmarks/questions40.jsonl``, with the load average written beside it. The anchor is the previous
grounded path measured in the same run, question by question (new, anchor, new, anchor, ...): the same
retrieval and evidence, plus the one model-written lead line it asked the bundled model for (that
prompt, as it was, 48 tokens at most). The composed opening of the answer plan replaced that call.
Run alone: ``python benchmarks/bench_full_answer.py``.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

QUESTIONS = Path(__file__).resolve().parent / "questions40.jsonl"
# The previous grounded path's lead prompt, kept here only to time it.
LEAD_SYSTEM = "You answer career questions in one short sentence, using only the given facts."
LEAD = "Facts:\n{facts}\n\nQuestion: {question}\nAnswer in one short sentence using only the facts."
LEAD_MAX_TOKENS = 48


def run(advisor=None) -> common.Section:  # type: ignore[no-untyped-def]
    from advisor.core import Advisor
    from advisor.providers.chat_models import complete

    section = common.Section("full_answer", "Full grounded answer, 40 questions", load_before=common.load())
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line]
    new_s: list[float] = []
    anchor_s: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-full-") as tmp:
        advisor = advisor or Advisor(common.settings_for(Path(tmp) / "data"))
        advisor.warm_up()
        advisor.ask("What does an AI engineer do?")  # one-off costs stay out of the figures
        chat = advisor.chat
        for question in questions:
            begun = time.perf_counter()
            answer = advisor.ask(question)
            new_s.append(time.perf_counter() - begun)
            begun = time.perf_counter()
            anchor = advisor.ask(question)
            if not anchor.refused:
                facts = "\n".join(f"- {q['text']}" for q in anchor.trace.quotes)
                messages = [
                    {"role": "system", "content": LEAD_SYSTEM},
                    {"role": "user", "content": LEAD.format(facts=facts, question=question)},
                ]
                complete(chat, messages, max_tokens=LEAD_MAX_TOKENS, temperature=0.0)
            anchor_s.append(time.perf_counter() - begun)
            del answer
    section.load_after = common.load()
    section.data.update(
        questions=len(questions),
        p50_s=statistics.median(new_s),
        p95_s=common.percentile(new_s, 95),
        anchor_p50_s=statistics.median(anchor_s),
        anchor_p95_s=common.percentile(anchor_s, 95),
    )
    d = section.data
    section.rows = [
        (
            "full answer p50",
            f"{d['p50_s']:.2f} s",
            f"{d['anchor_p50_s']:.2f} s (target 1.5 s)",
            common.verdict(d["p50_s"] <= 1.5),
        ),
        (
            "full answer p95",
            f"{d['p95_s']:.2f} s",
            f"{d['anchor_p95_s']:.2f} s (target 3 s)",
            common.verdict(d["p95_s"] <= 3.0),
        ),
    ]
    section.body = (
        f"Full grounded answer over {d['questions']} questions (benchmarks/questions40.jsonl), interleaved with "
        f"the previous path (the same answer plus the model's lead line):\n\n"
        f"| | p50 | p95 |\n|---|---:|---:|\n"
        f"| answer plan, composed opening (now) | {d['p50_s']:.2f} s | {d['p95_s']:.2f} s |\n"
        f"| anchor: previous path with the model lead | {d['anchor_p50_s']:.2f} s | {d['anchor_p95_s']:.2f} s |\n\n"
        f"Load average before: {section.load_before}; after: {section.load_after}. Target: p50 <= 1.5 s, p95 <= 3 s.\n"
    )
    return section


if __name__ == "__main__":
    begun = time.perf_counter()
    result = run()
    result.seconds = time.perf_counter() - begun
    print(result.body)
    common.write_section(Path(__file__).resolve().parent / "RESULTS.md", result)
