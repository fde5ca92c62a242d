"""The optional LLM-as-judge tier: a capable model grades each position answer, N times.

Enabled when ``ADVISOR_JUDGE_MODEL`` names a model: a path to a ``.gguf`` file runs in-process, any other
name goes to the OpenAI provider (OpenAI or ``ADVISOR_OPENAI_BASE_URL``). Each run's verdict is PASS,
FAIL or *unmeasured*: a provider error or a reply without a final ``VERDICT: PASS|FAIL`` line is never
counted as a pass or as a fail. It deliberately does not replace the deterministic checks, which gate CI.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor import prompts
from advisor.errors import ProviderError
from advisor.evals.suite import Case
from advisor.providers.chat_models import ChatModel, complete, make_chat_model
from advisor.settings import Settings

VERDICT = re.compile(r"^\W*verdict\W*(pass|fail)\W*$", re.I | re.M)
TEMPERATURE = 0.3  # runs must be free to differ, or "N runs" would measure nothing


@dataclass
class JudgeVerdicts:
    verdicts: list[str] = field(default_factory=list)  # "pass" | "fail" | "unmeasured", one per run
    reasons: list[str] = field(default_factory=list)

    @property
    def pass_rate(self) -> float | None:
        measured = [v for v in self.verdicts if v != "unmeasured"]
        return sum(v == "pass" for v in measured) / len(measured) if measured else None

    def to_dict(self) -> dict[str, Any]:
        return {"verdicts": self.verdicts, "reasons": self.reasons, "pass_rate": self.pass_rate}


def parse_verdict(text: str) -> str:
    """'pass' or 'fail' from the reply's last VERDICT line; anything else is 'unmeasured'."""
    found = VERDICT.findall(text or "")
    return found[-1].lower() if found else "unmeasured"


def judge_settings(settings: Settings) -> Settings:
    name = settings.judge_model
    if not name:
        raise ValueError("no judge model configured")
    path = Path(name).expanduser()
    if name.endswith(".gguf") or path.is_file():
        return settings.with_(provider="local", local_model=path, chat_model=path.stem)
    return settings.with_(provider="openai", chat_model=name)


class Judge:
    def __init__(self, chat: ChatModel, runs: int = 3) -> None:
        self.chat = chat
        self.runs = max(1, runs)

    @classmethod
    def from_settings(cls, settings: Settings, runs: int = 3) -> Judge:
        return cls(make_chat_model(judge_settings(settings)), runs)

    @property
    def name(self) -> str:
        return self.chat.name

    def grade(self, case: Case, answer: str) -> JudgeVerdicts:
        assert case.position is not None
        message = prompts.JUDGE.substitute(
            position=case.position.position, quote=case.position.quote, question=case.question, answer=answer
        )
        out = JudgeVerdicts()
        for _ in range(self.runs):
            try:
                reply, _usage = complete(self.chat, [{"role": "user", "content": message}], 200, TEMPERATURE)
            except ProviderError as exc:
                out.verdicts.append("unmeasured")
                out.reasons.append(f"judge error: {exc}")
                continue
            verdict = parse_verdict(reply)
            out.verdicts.append(verdict)
            out.reasons.append(reply.strip()[-300:] if verdict != "unmeasured" else "no VERDICT line in the reply")
        return out


def summarize(results: list[JudgeVerdicts], runs: int) -> dict[str, Any]:
    """Pass rate per run (over measured verdicts), their mean and spread, and how many were unmeasured."""
    per_run: list[float | None] = []
    for i in range(runs):
        measured = [r.verdicts[i] for r in results if i < len(r.verdicts) and r.verdicts[i] != "unmeasured"]
        per_run.append(sum(v == "pass" for v in measured) / len(measured) if measured else None)
    rates = [r for r in per_run if r is not None]
    unmeasured = sum(v == "unmeasured" for r in results for v in r.verdicts)
    return {
        "runs": runs,
        "cases": len(results),
        "pass_rate_per_run": per_run,
        "pass_rate": statistics.fmean(rates) if rates else None,
        "spread": (max(rates) - min(rates)) if rates else None,
        "stdev": statistics.pstdev(rates) if len(rates) > 1 else 0.0 if rates else None,
        "unmeasured": unmeasured,
        "verdicts": runs * len(results),
    }
