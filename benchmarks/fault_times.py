"""How long each provider fault takes to reach the user, and how many requests it costs.

Runs the OpenAI chat model the advisor uses (``advisor.providers.chat_models.OpenAIChatModel``) against the scripted
OpenAI-protocol server of the tests (127.0.0.1 only), at the given timeout and retries (default: the
product defaults, 30 s and 2), and for comparison LangChain's ``ChatOpenAI`` with the SDK's own retries
(what the advisor used before it bounded the total time). The hang scenario takes a full timeout per run.

    python benchmarks/fault_times.py                 # defaults: --timeout 30 --retries 2
    python benchmarks/fault_times.py --timeout 5 --sdk
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_openai import FakeOpenAI, Step, cut, hang, reply, serve, status  # noqa: E402

SCENARIOS: list[tuple[str, tuple[Step, ...]]] = [
    ("200", (reply("ML Engineers train models [1]."),)),
    ("429 x2 (retry-after 1) then 200", (status(429, "1"), status(429, "1"), reply("ML Engineers train models [1]."))),
    ("endless 429 (retry-after 1)", (status(429, "1"),)),
    ("endless 500", (status(500),)),
    ("401", (status(401),)),
    ("stream cut mid-answer (connection dropped)", (cut("ML Engineers train models. They also"),)),
    ("stream ended early (no finish, no [DONE])", (cut("ML Engineers train models. They also", clean_close=True),)),
    ("hang", (hang(),)),
]


def ours(fake: FakeOpenAI, timeout: float, retries: int, steps: tuple[Step, ...]) -> tuple[float, int, str]:
    from advisor.errors import AdvisorError
    from advisor.providers.chat_models import OpenAIChatModel, complete
    from advisor.settings import load_settings

    settings = load_settings(
        {}, provider="openai", openai_base_url=fake.url, openai_api_key="sk-bench", timeout=timeout, max_retries=retries
    )
    fake.script(*steps)
    started = time.monotonic()
    try:
        complete(OpenAIChatModel(settings), [{"role": "user", "content": "hi"}], 50, 0.0)
        outcome = "answer"
    except AdvisorError as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    return time.monotonic() - started, len(fake.requests), outcome


def sdk(fake: FakeOpenAI, timeout: float, retries: int, steps: tuple[Step, ...]) -> tuple[float, int, str]:
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(model="m", base_url=fake.url, api_key="sk-bench", timeout=timeout, max_retries=retries)  # type: ignore[arg-type]
    fake.script(*steps)
    started = time.monotonic()
    try:
        "".join(str(c.content) for c in llm.stream("hi"))
        outcome = "answer (a cut stream passes as complete)" if steps[0].kind == "cut" else "answer"
    except Exception as exc:  # reported as the raw SDK error, which is the point of the comparison
        outcome = type(exc).__name__
    return time.monotonic() - started, len(fake.requests), outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--retries", type=int, default=2)
    parser.add_argument("--sdk", action="store_true", help="also time ChatOpenAI with the SDK's own retries")
    parser.add_argument("--no-hang", action="store_true", help="skip the hang scenario (it takes a full timeout)")
    args = parser.parse_args(argv)
    print(f"timeout {args.timeout} s, max retries {args.retries}\n")
    print("| scenario | advisor: time to message | requests | what the user gets |")
    print("|---|---|---|---|")
    rows = []
    with serve() as fake:
        ours(fake, args.timeout, args.retries, SCENARIOS[0][1])  # imports and connection set-up, not timed
        for name, steps in SCENARIOS:
            if args.no_hang and name == "hang":
                continue
            elapsed, requests, outcome = ours(fake, args.timeout, args.retries, steps)
            print(f"| {name} | {elapsed:.2f} s | {requests} | {outcome} |", flush=True)
            rows.append((name, steps))
        if args.sdk:
            print("\n| scenario | ChatOpenAI + SDK retries | requests | result |")
            print("|---|---|---|---|")
            for name, steps in rows:
                elapsed, requests, outcome = sdk(fake, args.timeout, args.retries, steps)
                print(f"| {name} | {elapsed:.2f} s | {requests} | {outcome} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
