"""(3) End-to-end answer latency on the embedded default: time to first token and to the full answer.

``Advisor.stream`` over the real knowledge base (the article) with the bundled SmolLM2-135M in grounded
mode, after ``warm_up()``. Each question runs once, in order; first token is the first text delta the
stream yields, full answer is the end of the stream (both from the call to ``stream``). The anchor
beside each figure is the target. Retrieval alone is timed for the same questions to show its share.
Run alone: ``python benchmarks/bench_answer.py``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common


def run(n_questions: int = 30, advisor=None, warm_call: bool = True) -> common.Section:  # type: ignore[no-untyped-def]
    from advisor.core import Advisor

    section = common.Section("answer", "3. End-to-end answer latency", load_before=common.load())
    started = time.perf_counter()
    labelled, source = common.labelled_questions(("direct",))
    questions = common.spread([q.question for q in labelled], n_questions)
    first_s: list[float] = []
    full_s: list[float] = []
    retrieval_s: list[float] = []
    refused = 0
    completion_tokens: list[int] = []
    prompt_tokens: list[int] = []
    with tempfile.TemporaryDirectory(prefix="bench-answer-") as tmp:
        advisor = advisor or Advisor(common.settings_for(Path(tmp) / "data"))
        warm_s, _ = common.timed(advisor.warm_up)
        if warm_call:  # the first answer pays one-off costs (model graph, caches); keep it out of the figures
            advisor.ask("What does an AI engineer do?")
        for question in questions:
            start = time.perf_counter()
            stream = advisor.stream(question)
            first = None
            for _ in stream:
                if first is None:
                    first = time.perf_counter() - start
            full_s.append(time.perf_counter() - start)
            first_s.append(first if first is not None else full_s[-1])
            answer = stream.answer
            assert answer is not None
            refused += answer.refused
            completion_tokens.append(answer.usage.completion_tokens)
            prompt_tokens.append(answer.usage.prompt_tokens)
            t, _ = common.timed(lambda q=question: advisor.retriever.search(q))
            retrieval_s.append(t)
        describe = advisor.settings.describe()
    first, full, retr = common.summary_ms(first_s), common.summary_ms(full_s), common.summary_ms(retrieval_s)
    section.data = {
        "questions": len(questions),
        "source": source,
        "first_token": first,
        "full": full,
        "retrieval": retr,
        "refused": refused,
        "warm_up_s": warm_s,
        "completion_tokens_mean": statistics.fmean(completion_tokens) if completion_tokens else 0,
        "prompt_tokens_mean": statistics.fmean(prompt_tokens) if prompt_tokens else 0,
        "settings": describe,
    }
    section.rows = [
        (
            f"time to first token p50 / p95 ({len(questions)} questions)",
            f"{first['p50'] / 1000:.2f} / {first['p95'] / 1000:.2f} s",
            "target p50 < 0.5 s",
            common.verdict(first["p50"] < 500),
        ),
        (
            "time to full answer p50 / p95",
            f"{full['p50'] / 1000:.2f} / {full['p95'] / 1000:.2f} s",
            "target p50 < 1.5 s",
            common.verdict(full["p50"] < 1500),
        ),
    ]
    section.body = f"""{len(questions)} questions (evenly spread over {source}), one after another on one warmed
`Advisor` ({describe["chat_model"]}, {describe["answer_mode"]} mode, {describe["embed_model"]}). `warm_up()` took
{warm_s:.1f} s (models loaded, article indexed). {refused} of the answers declined.

| | p50 | p95 | mean | target |
|---|---|---|---|---|
| time to first token | **{first["p50"] / 1000:.2f} s** | {first["p95"] / 1000:.2f} s | {first["mean"] / 1000:.2f} s | p50 < 0.5 s |
| time to full answer | **{full["p50"] / 1000:.2f} s** | {full["p95"] / 1000:.2f} s | {full["mean"] / 1000:.2f} s | p50 < 1.5 s |
| of which retrieval (timed separately) | {retr["p50"] / 1000:.3f} s | {retr["p95"] / 1000:.3f} s | {retr["mean"] / 1000:.3f} s | - |

In grounded mode the model writes at most one lead sentence (per answer, mean {section.data["prompt_tokens_mean"]:.0f}
prompt tokens read and {section.data["completion_tokens_mean"]:.0f} written); the stream yields the quoted evidence first, then that sentence once it has passed its checks. So the
first token waits only for retrieval and evidence selection; the full answer also waits for the model."""
    section.seconds = time.perf_counter() - started
    section.load_after = common.load()
    return section


if __name__ == "__main__":
    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 30).body)
