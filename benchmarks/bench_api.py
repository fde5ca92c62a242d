"""(7) The API's cost: ``advisor serve`` against the same answers made in-process, and its throughput.

Overhead: the same questions, each asked in-process (``Advisor.ask``) and through ``POST
/v1/chat/completions`` on a loopback ``advisor serve`` over the same knowledge base, interleaved so both see
the same machine load; the figure is the per-question difference (HTTP + JSON + the server's thread hop).
Throughput: answers per second with 1, 4 and 8 concurrent clients (``ADVISOR_MAX_CONCURRENCY=8``, so
nothing is refused), each client asking questions back to back.
Run alone: ``python benchmarks/bench_api.py [--questions N]`` (prints the figures).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = (1, 4, 8)


def _post(url: str, question: str) -> float:
    body = json.dumps({"model": "advisor", "messages": [{"role": "user", "content": question}]}).encode()
    request = urllib.request.Request(
        f"{url}/v1/chat/completions", data=body, headers={"Content-Type": "application/json"}
    )
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as response:
        json.load(response)
    return time.perf_counter() - start


def _serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADVISOR_", "OPENAI_"))}
    env |= {"ADVISOR_DATA_DIR": str(data_dir), "ADVISOR_PROVIDER": "local", "ADVISOR_MAX_CONCURRENCY": "8"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "advisor.cli", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("advisor serve exited before it was healthy") from None
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("advisor serve did not become healthy")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(n_questions: int = 20, per_client: int = 4, advisor=None) -> common.Section:  # type: ignore[no-untyped-def]
    from advisor.core import Advisor

    section = common.Section("api", "7. API overhead and throughput", load_before=common.load())
    started = time.perf_counter()
    labelled, source = common.labelled_questions(("direct",))
    questions = common.spread([q.question for q in labelled], n_questions)
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        advisor = advisor or Advisor(common.settings_for(Path(tmp) / "data"))
        data = advisor.settings.data_dir  # the server reads the same knowledge base
        advisor.warm_up()
        advisor.ask(questions[0])  # one-off costs out of the figures, for both sides
        port = _free_port()
        proc = _serve(data, port)
        url = f"http://127.0.0.1:{port}"
        try:
            _post(url, questions[0])
            local_s, api_s = [], []
            for question in questions:
                t, _ = common.timed(lambda q=question: advisor.ask(q))
                local_s.append(t)
                api_s.append(_post(url, question))
            throughput = {}
            for clients in CLIENTS:
                work = [questions[i % len(questions)] for i in range(clients * per_client)]
                start = time.perf_counter()
                with ThreadPoolExecutor(clients) as pool:
                    list(pool.map(lambda q: _post(url, q), work))
                throughput[clients] = len(work) / (time.perf_counter() - start)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    overhead = [a - b for a, b in zip(api_s, local_s, strict=True)]
    local, api, over = common.summary_ms(local_s), common.summary_ms(api_s), common.summary_ms(overhead)
    section.data = {
        "questions": len(questions),
        "source": source,
        "in_process": local,
        "api": api,
        "overhead": over,
        "throughput_answers_per_s": throughput,
    }
    section.rows = [
        (
            "API overhead p50 / p95",
            f"{over['p50']:.0f} / {over['p95']:.0f} ms",
            f"in-process p50 {local['p50']:.0f} ms",
            "-",
        ),
        *[(f"throughput, {c} client(s)", f"{throughput[c]:.2f} answers/s", "-", "-") for c in CLIENTS],
    ]
    section.body = (
        f"{len(questions)} questions ({source}), each asked in-process and through the API, interleaved.\n\n"
        "| | p50 | p95 |\n|---|---|---|\n"
        f"| in-process `Advisor.ask` | {local['p50']:.0f} ms | {local['p95']:.0f} ms |\n"
        f"| `POST /v1/chat/completions` | {api['p50']:.0f} ms | {api['p95']:.0f} ms |\n"
        f"| difference (per question) | {over['p50']:.0f} ms | {over['p95']:.0f} ms |\n\n"
        "Throughput (answers/s) with concurrent clients: "
        + ", ".join(f"{c}: {throughput[c]:.2f}" for c in CLIENTS)
        + ". The answers are CPU-bound on 2 cores, so more clients mostly queue."
    )
    section.seconds = time.perf_counter() - started
    section.load_after = common.load()
    return section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--per-client", type=int, default=4)
    args = parser.parse_args()
    section = run(args.questions, args.per_client)
    print(f"load before {section.load_before}, after {section.load_after}")
    for row in section.rows:
        print(f"{row[0]}: {row[1]}  ({row[2]})")


if __name__ == "__main__":
    main()
