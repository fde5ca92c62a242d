"""Provider faults, end to end: the real answer path and the real OpenAI SDK against a scripted server.

Each test scripts tests/fake_openai.py (a real HTTP server on 127.0.0.1) to hang, rate-limit, fail,
reject the key or cut a stream, then asks a question the knowledge base covers (so the model is
really called) and checks what the user gets: a clear message of the right kind, after the right
number of requests, and an advisor that keeps working afterwards. Timeouts are short settings so the
file stays fast; the figures at the default settings are in docs/RELIABILITY.md.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from advisor import prompts
from advisor.answering.answer import Answerer
from advisor.answering.evidence import EvidenceSelector
from advisor.core import Advisor
from advisor.errors import (
    AuthenticationError,
    ModelUnavailableError,
    ProviderError,
    RateLimitedError,
)
from advisor.providers.chat_models import make_chat_model
from tests.conftest import advisor_env, use_env
from tests.fake_openai import FakeOpenAI, cut, hang, reply, serve, status

QUESTION = "What does an ML engineer do day to day?"
GOOD = "ML Engineers take models to production and keep them running [1]."
KEY = "sk-test-faults-0000"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with serve() as server:
        yield server


def answerer(advisor: Advisor, fake: FakeOpenAI, **overrides: object) -> Answerer:
    """The real Answerer on the shared knowledge base, with an OpenAI-protocol chat model on ``fake``."""
    settings = advisor.settings.with_(
        provider="openai",
        openai_base_url=fake.url,
        openai_api_key=KEY,
        chat_model="fake-model",
        answer_mode="generative",
        **{"timeout": 5.0, "max_retries": 2, **overrides},
    )
    return Answerer(settings, advisor.retriever, EvidenceSelector(advisor.embedder), make_chat_model(settings))


def still_works(ans: Answerer, fake: FakeOpenAI) -> None:
    fake.script(reply(GOOD))
    again = ans.ask(QUESTION)
    assert GOOD in again.text and not again.interrupted


def test_a_hanging_server_gives_a_slow_or_unavailable_message_within_the_timeout(
    advisor: Advisor, fake: FakeOpenAI
) -> None:
    ans = answerer(advisor, fake, timeout=1.0, max_retries=2)
    fake.script(hang())
    started = time.monotonic()
    with pytest.raises(ModelUnavailableError, match="slow or unavailable") as err:
        ans.ask(QUESTION)
    elapsed = time.monotonic() - started
    # The whole timeout went to the one attempt, so no retry could start: one request, not 1 + max_retries
    # (the SDK's own retries would have made three and taken over three timeouts).
    assert len(fake.requests) == 1
    assert elapsed >= 0.9  # it did wait for the model rather than failing for another reason
    assert "Traceback" not in str(err.value) and "\n" not in str(err.value)
    still_works(ans, fake)


def test_429_twice_with_retry_after_then_200_delivers_the_answer(advisor: Advisor, fake: FakeOpenAI) -> None:
    ans = answerer(advisor, fake, timeout=10.0, max_retries=2)
    fake.script(status(429, retry_after="1"), status(429, retry_after="1"), reply(GOOD))
    answer = ans.ask(QUESTION)
    assert GOOD in answer.text and not answer.refused and not answer.interrupted
    assert len(fake.requests) == 3
    assert all(gap >= 0.95 for gap in fake.gaps())  # each retry waited what retry-after asked for


def test_endless_429_says_busy_try_again_after_a_bounded_number_of_attempts(advisor: Advisor, fake: FakeOpenAI) -> None:
    ans = answerer(advisor, fake, timeout=10.0, max_retries=2)
    fake.script(status(429, retry_after="1"))
    with pytest.raises(RateLimitedError, match=r"busy.*try again"):
        ans.ask(QUESTION)
    assert len(fake.requests) == 3  # 1 + max_retries, then it stops
    still_works(ans, fake)


def test_a_retry_after_longer_than_the_timeout_is_not_waited_for(advisor: Advisor, fake: FakeOpenAI) -> None:
    ans = answerer(advisor, fake, timeout=3.0, max_retries=2)
    fake.script(status(429, retry_after="60"))
    started = time.monotonic()
    with pytest.raises(RateLimitedError, match="busy"):
        ans.ask(QUESTION)
    assert len(fake.requests) == 1
    assert time.monotonic() - started < 60  # it gave up instead of sleeping the minute the server asked for


def test_server_errors_are_retried_with_backoff_then_a_clear_message(advisor: Advisor, fake: FakeOpenAI) -> None:
    ans = answerer(advisor, fake, timeout=10.0, max_retries=2)
    fake.script(status(500))
    with pytest.raises(ModelUnavailableError, match=r"server error 500.*try again"):
        ans.ask(QUESTION)
    assert len(fake.requests) == 3
    first, second = fake.gaps()
    assert first >= 0.375 and second >= 0.75  # 0.5 s then 1 s, each minus at most 25% jitter
    still_works(ans, fake)


def test_one_server_error_then_success_is_invisible_to_the_user(advisor: Advisor, fake: FakeOpenAI) -> None:
    ans = answerer(advisor, fake)
    fake.script(status(503), reply(GOOD))
    assert GOOD in ans.ask(QUESTION).text
    assert len(fake.requests) == 2


def test_401_says_check_your_api_key_and_is_not_retried(advisor: Advisor, fake: FakeOpenAI) -> None:
    ans = answerer(advisor, fake, max_retries=5)
    fake.script(status(401, message="Incorrect API key provided"))
    with pytest.raises(AuthenticationError, match="check your API key") as err:
        ans.ask(QUESTION)
    assert len(fake.requests) == 1
    assert KEY not in str(err.value)


def test_an_unreachable_server_is_retried_then_reported_as_unavailable(advisor: Advisor, fake: FakeOpenAI) -> None:
    import socket

    with socket.socket() as probe:  # a loopback port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = advisor.settings.with_(
        provider="openai",
        openai_base_url=f"http://127.0.0.1:{port}/v1",
        openai_api_key=KEY,
        answer_mode="generative",
        timeout=5.0,
        max_retries=1,
    )
    ans = Answerer(settings, advisor.retriever, EvidenceSelector(advisor.embedder), make_chat_model(settings))
    with pytest.raises(ModelUnavailableError, match="cannot connect"):
        ans.ask(QUESTION)


@pytest.mark.parametrize("clean_close", [False, True], ids=["connection-dropped", "ended-without-finish"])
def test_a_stream_cut_mid_answer_is_shown_as_interrupted_and_not_as_complete(
    advisor: Advisor, fake: FakeOpenAI, clean_close: bool
) -> None:
    ans = answerer(advisor, fake)
    fake.script(cut(f"{GOOD} They also monitor drift and", clean_close=clean_close))
    stream = ans.stream(QUESTION)
    shown = "".join(stream)  # nothing raises: the user keeps what arrived
    answer = stream.answer
    assert answer is not None
    assert answer.interrupted and answer.to_dict()["interrupted"] is True
    assert GOOD in shown and shown.rstrip().endswith(prompts.INTERRUPTED)
    assert answer.text.endswith(prompts.INTERRUPTED)
    assert "monitor drift and" not in answer.text  # the half sentence is not presented as said
    still_works(ans, fake)


def test_provider_errors_are_advisor_errors_with_one_line_messages(advisor: Advisor, fake: FakeOpenAI) -> None:
    """What the edges rely on: every fault above is caught as AdvisorError and printed as one line."""
    ans = answerer(advisor, fake, timeout=2.0, max_retries=1)
    messages = []
    for step in (status(401), status(429, retry_after="5"), status(500), status(404)):
        fake.script(step)
        with pytest.raises(ProviderError) as err:
            ans.ask(QUESTION)
        messages.append(str(err.value))
    assert all(m and "\n" not in m and "Traceback" not in m and KEY not in m for m in messages)
    assert len(set(messages)) == 4  # each fault says something different


def test_the_cli_prints_one_error_line_and_exits_non_zero_on_a_rejected_key(
    advisor: Advisor, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from advisor.cli import main

    env = advisor_env(
        advisor.settings.data_dir,
        ADVISOR_PROVIDER="openai",
        ADVISOR_OPENAI_BASE_URL=fake.url,
        OPENAI_API_KEY=KEY,
        ADVISOR_ANSWER_MODE="generative",
    )
    fake.script(status(401))
    with use_env(env):
        code = main(["ask", QUESTION])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err.startswith("error: ") and "check your API key" in err and len(err.splitlines()) == 1
    assert KEY not in err


# -- the same faults in the Streamlit app (AppTest) ----------------------------------------------------------


def test_the_app_shows_a_friendly_error_for_each_fault_and_the_session_keeps_working(
    advisor: Advisor, fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> None:
    import shutil

    from tests.app_support import app, app_settings

    data = tmp_path_factory.mktemp("app-faults") / "data"
    shutil.copytree(advisor.settings.data_dir, data)  # the article, already indexed
    env = {
        "ADVISOR_PROVIDER": "openai",
        "ADVISOR_OPENAI_BASE_URL": fake.url,
        "OPENAI_API_KEY": KEY,
        "ADVISOR_CHAT_MODEL": "fake-model",
        "ADVISOR_ANSWER_MODE": "generative",
        "ADVISOR_TIMEOUT": "3",
        "ADVISOR_MAX_RETRIES": "2",
    }
    with app_settings(data, **env):
        at = app().run()
        assert not at.exception

        def ask(*steps: object) -> list[str]:
            """Ask through the chat input; returns the errors this turn added to the page."""
            fake.script(*steps)  # type: ignore[arg-type]
            shown_before = len(at.error)
            at.chat_input[0].set_value(QUESTION).run()
            assert not at.exception, at.exception
            assert at.session_state["messages"][-2] == {"role": "user", "content": QUESTION}  # the question stays
            return [str(e.value) for e in at.error][shown_before:]

        faults = [
            ((hang(),), "slow or unavailable", 1),
            ((status(429, retry_after="1"),), "busy", 3),
            ((status(500),), "server error 500", 3),
            ((status(401),), "check your API key", 1),
        ]
        for steps, expected, requests in faults:
            errors = ask(*steps)
            assert any(expected in e for e in errors), (expected, errors)
            assert len(fake.requests) == requests
            assert "error" in at.session_state["messages"][-1]

        assert not ask(status(429, retry_after="1"), status(429, retry_after="1"), reply(GOOD))
        assert GOOD in at.session_state["messages"][-1]["content"]

        assert not ask(cut(f"{GOOD} They also monitor drift and"))
        last = at.session_state["messages"][-1]
        assert last["answer"]["interrupted"] is True and last["content"].rstrip().endswith(prompts.INTERRUPTED)
        assert "monitor drift and" not in last["content"]

        assert not ask(reply(GOOD))  # still working after all of the above
        assert GOOD in at.session_state["messages"][-1]["content"]
        assert all(KEY not in str(e.value) for kind in ("markdown", "error", "caption") for e in getattr(at, kind))
