"""The `advisor` command in a real subprocess: JSON output, JSON lines, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.settings import PROJECT_DIR
from tests.conftest import advisor_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir for the read-only CLI tests: the knowledge base is built by the first of them."""
    return tmp_path_factory.mktemp("cli")


def run(args: list[str], tmp: Path, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environment = advisor_env(tmp / "data", **env)
    return subprocess.run(
        [sys.executable, "-m", "advisor.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        cwd=PROJECT_DIR,
        timeout=600,
    )


def test_ask_json_prints_one_object_with_answer_sources_refused_and_usage(shared: Path) -> None:
    result = run(["ask", "--json", "What's the mid-level pay range for ML engineers?"], shared)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert "$200K–$380K" in data["answer"]
    assert data["refused"] is False
    assert {"id", "title", "section", "snippet", "score"} <= set(data["sources"][0])
    usage = data["usage"]
    # Grounded (the embedded default): composed from the evidence, the chat model is never asked.
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] == 0


def test_ask_streams_the_answer_then_lists_sources(shared: Path) -> None:
    result = run(["ask", "Should an AI engineer learn fine-tuning first?"], shared)
    assert result.returncode == 0, result.stderr
    answer, _, sources = result.stdout.partition("\nSources:\n")
    assert "Get retrieval, agents, and evals right first" in answer
    assert "[1] AI Engineer vs Machine Learning Engineer vs Data Scientist (2026)" in sources


def test_ask_jsonl_answers_each_line_with_history_and_reports_bad_lines(shared: Path) -> None:
    lines = [
        {"question": "What's the mid-level pay range for ML engineers?"},
        {
            "question": "What about data scientists?",
            "history": [
                {"role": "user", "content": "What's the mid-level pay range for ML engineers?"},
                {"role": "assistant", "content": "$200K–$380K [1]"},
            ],
        },
        {"question": "What's a good lasagna recipe?"},
    ]
    stdin = "\n".join(json.dumps(item) for item in lines) + "\nnot json\n"
    result = run(["ask", "--jsonl"], shared, stdin=stdin)
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 4
    assert "$200K–$380K" in out[0]["answer"]
    assert "$160K–$280K" in out[1]["answer"]
    assert out[2]["refused"] is True
    assert "not valid JSON" in out[3]["error"]
    assert result.returncode == 1  # a bad line makes the run fail, after answering the good ones


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["ask", "   "], {}, "the question is empty"),
        (["ask", "x" * 5000], {}, "the question is too long"),
        (["ask", "hi"], {"ADVISOR_TOP_K": "lots"}, "ADVISOR_TOP_K must be a int"),
        (["kb", "remove", "no-such-doc"], {}, "no document 'no-such-doc'"),
    ],
)
def test_errors_print_one_clean_line_and_exit_non_zero(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    result = run(args, tmp_path, **env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and message in error_lines[0], result.stderr


def test_chat_keeps_the_thread_of_the_conversation(shared: Path) -> None:
    stdin = "What's the mid-level pay range for ML engineers?\nWhat about data scientists?\n/quit\n"
    result = run(["chat"], shared, stdin=stdin)
    assert result.returncode == 0, result.stderr
    second = result.stdout.split("advisor> ")[2]
    assert "$160K–$280K" in second
