"""``advisor serve`` as a real server on loopback, used the way other tools use it: the official ``openai``
SDK and LangChain's ``ChatOpenAI``. Checks the OpenAI protocol (plain, streamed, multi-turn), the sources
field, access control, and the 401 / 413 / 429 errors in OpenAI's shape."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from advisor.settings import PROJECT_DIR
from tests.conftest import advisor_env
from tests.llama_server import free_port, stop, wait_http

pytestmark = [pytest.mark.slow, pytest.mark.server]

CHAT_KEY = "sk-advisor-chat-test-key"
ADMIN_KEY = "sk-advisor-admin-test-key"
PAY = "What's the mid-level pay range for ML engineers?"


def start(data: Path, *extra_args: str, **env: str) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    log = data.parent / f"serve-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "advisor.cli", "serve", "--port", str(port), *extra_args],
            env=advisor_env(data, **env),
            cwd=PROJECT_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return proc, f"http://127.0.0.1:{port}", log


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running ``advisor serve`` with chat keys, an admin key and a concurrency limit of 2."""
    data = tmp_path_factory.mktemp("api") / "data"
    proc, url, log = start(
        data, ADVISOR_API_KEYS=f"{CHAT_KEY},another-key", ADVISOR_ADMIN_KEY=ADMIN_KEY, ADVISOR_MAX_CONCURRENCY="2"
    )
    try:
        wait_http(f"{url}/healthz", 600, proc)
        yield url
    finally:
        stop(proc)
        assert CHAT_KEY not in log.read_text(errors="replace")  # keys are never logged


def client(url: str, key: str = CHAT_KEY) -> Any:
    import openai

    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=300)


def raw(
    url: str, path: str, body: bytes | None = None, key: str | None = CHAT_KEY, method: str = "POST"
) -> tuple[int, Any]:
    request = urllib.request.Request(f"{url}{path}", data=body, method=method)
    request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def test_the_openai_sdk_gets_a_cited_answer_with_its_sources_and_usage(api: str) -> None:
    completion = client(api).chat.completions.create(model="advisor", messages=[{"role": "user", "content": PAY}])
    message = completion.choices[0].message
    assert "$200K–$380K" in message.content
    assert message.refusal is None
    extra = completion.model_extra or {}
    assert extra["sources"] and "[1]" in message.content
    assert {"id", "title", "section", "snippet", "score"} <= set(extra["sources"][0])
    # Usage in OpenAI's shape. The embedded default answers grounded, composed from the evidence without the
    # chat model, so no token is counted (test_answers checks the count where a model writes).
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens == 0
    models = client(api).models.list()
    assert [m.id for m in models.data] == ["advisor"]


def test_a_streamed_answer_adds_up_to_the_text_and_ends_with_sources_and_done(api: str) -> None:
    chunks = list(
        client(api).chat.completions.create(model="advisor", messages=[{"role": "user", "content": PAY}], stream=True)
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "$200K–$380K" in text
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert (last.model_extra or {})["sources"]
    # The raw stream ends with the [DONE] sentinel OpenAI clients wait for.
    request = urllib.request.Request(
        f"{api}/v1/chat/completions",
        data=json.dumps({"model": "advisor", "stream": True, "messages": [{"role": "user", "content": PAY}]}).encode(),
        headers={"Authorization": f"Bearer {CHAT_KEY}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=300) as response:
        body = response.read().decode()
    assert body.rstrip().endswith("data: [DONE]")


def test_a_follow_up_is_answered_in_the_context_of_the_earlier_turns(api: str) -> None:
    first = client(api).chat.completions.create(model="advisor", messages=[{"role": "user", "content": PAY}])
    follow = client(api).chat.completions.create(
        model="advisor",
        messages=[
            {"role": "user", "content": PAY},
            {"role": "assistant", "content": first.choices[0].message.content},
            {"role": "user", "content": "What about data scientists?"},
        ],
    )
    text = follow.choices[0].message.content
    assert "$160K–$280K" in text and "Data Scientist" in text  # the data scientists' mid-level range


def test_a_question_outside_the_knowledge_base_is_marked_as_a_refusal(api: str) -> None:
    completion = client(api).chat.completions.create(
        model="advisor", messages=[{"role": "user", "content": "What is a good recipe for sourdough bread?"}]
    )
    assert completion.choices[0].message.refusal
    assert (completion.model_extra or {})["refused"] is True


def test_langchain_chat_openai_invokes_streams_and_keeps_a_conversation(api: str) -> None:
    from langchain_core.messages import AIMessage, HumanMessage
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(model="advisor", base_url=f"{api}/v1", api_key=CHAT_KEY, max_retries=0, timeout=300)  # type: ignore[arg-type]
    answer = llm.invoke(PAY)
    assert "$200K–$380K" in str(answer.content)
    streamed = "".join(str(part.content) for part in llm.stream(PAY))
    assert "$200K–$380K" in streamed
    follow = llm.invoke(
        [HumanMessage(PAY), AIMessage(str(answer.content)), HumanMessage("What about data scientists?")]
    )
    assert "$160K–$280K" in str(follow.content)


def test_a_chunk_is_served_by_id_and_an_unknown_one_is_404(api: str) -> None:
    completion = client(api).chat.completions.create(model="advisor", messages=[{"role": "user", "content": PAY}])
    chunk_id = (completion.model_extra or {})["sources"][0]["id"]
    status, body = raw(api, f"/v1/sources/{chunk_id}", method="GET")
    assert status == 200 and body["id"] == chunk_id and body["text"]
    status, body = raw(api, "/v1/sources/no-such-chunk:0", method="GET")
    assert status == 404 and body["error"]["type"] == "not_found_error"


def test_a_request_without_the_key_is_401_in_openai_error_shape(api: str) -> None:
    import openai

    with pytest.raises(openai.AuthenticationError):
        client(api, key="wrong").chat.completions.create(model="advisor", messages=[{"role": "user", "content": PAY}])
    status, body = raw(api, "/v1/chat/completions", json.dumps({"messages": []}).encode(), key=None)
    assert status == 401 and body["error"]["code"] == "invalid_api_key"
    assert CHAT_KEY not in json.dumps(body)


def test_an_oversized_message_is_413_and_a_malformed_one_400(api: str) -> None:
    big = {"model": "advisor", "messages": [{"role": "user", "content": "x" * 5000}]}
    status, body = raw(api, "/v1/chat/completions", json.dumps(big).encode())
    assert status == 413 and body["error"]["code"] == "too_large"
    # A body past ADVISOR_MAX_REQUEST_BYTES is refused from its Content-Length, before it is read.
    host, port = api.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    conn.putrequest("POST", "/v1/chat/completions")
    conn.putheader("Authorization", f"Bearer {CHAT_KEY}")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", "2000000")
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 413 and json.loads(response.read())["error"]["code"] == "too_large"
    conn.close()
    for bad in (b"not json", b'{"messages": []}', b'{"messages": [{"role": "assistant", "content": "hi"}]}'):
        status, body = raw(api, "/v1/chat/completions", bad)
        assert status == 400 and body["error"]["type"] == "invalid_request_error", bad


def test_requests_past_the_concurrency_limit_get_429(api: str) -> None:
    statuses: list[int] = []
    body = json.dumps({"model": "advisor", "messages": [{"role": "user", "content": PAY}]}).encode()
    barrier = threading.Barrier(6)

    def one() -> None:
        barrier.wait()
        statuses.append(raw(api, "/v1/chat/completions", body)[0])

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(set(statuses)) == [200, 429]  # the limit is 2: some answered, the rest refused at once
    assert statuses.count(200) >= 2


def test_knowledge_base_writes_need_the_admin_key(api: str) -> None:
    doc = b"# Beekeeping careers\n\nA commercial beekeeper tends hundreds of hives and sells honey and pollination services."
    status, _ = raw(api, "/v1/kb/documents?name=bees.md", doc, key=CHAT_KEY)
    assert status == 401
    status, body = raw(api, "/v1/kb/documents?name=bees.md", doc, key=ADMIN_KEY)
    assert status == 200 and body["status"] == "added"
    status, body = raw(api, "/v1/kb/documents", key=ADMIN_KEY, method="GET")
    assert "bees" in [d["id"] for d in body["data"]]
    status, body = raw(api, "/v1/kb/documents/bees", key=ADMIN_KEY, method="DELETE")
    assert status == 200 and body["status"] == "removed"
    status, body = raw(api, "/v1/kb/documents/bees", key=ADMIN_KEY, method="DELETE")
    assert status == 404


def test_serving_beyond_loopback_without_keys_refuses_to_start(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "advisor.cli", "serve", "--host", "0.0.0.0", "--port", str(free_port())],
        env=advisor_env(tmp_path / "data"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "ADVISOR_API_KEYS" in result.stderr and result.stderr.startswith("error: ")
    assert not (tmp_path / "data").exists()  # refused before opening anything
