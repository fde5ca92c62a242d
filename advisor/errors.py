"""Errors meant for users.

Every error a person can cause or fix (bad settings, a bad file, a slow model, a locked store) is an
:class:`AdvisorError` whose message is one clean, actionable line. Edges (CLI, Streamlit) catch
``AdvisorError`` and show ``str(err)``; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class AdvisorError(Exception):
    """Base class: the message is shown to the user as is."""

    exit_code = 1


class ConfigError(AdvisorError):
    """A setting is missing, malformed or names something that does not exist."""

    exit_code = 2


class MissingDependencyError(ConfigError):
    """An optional package is needed for the chosen provider."""

    def __init__(self, package: str, purpose: str) -> None:
        super().__init__(f"{purpose} needs the '{package}' package: pip install '{package}'")


class InputError(AdvisorError):
    """The user's question or request is unusable (empty, too long, malformed)."""

    exit_code = 2


class DocumentError(AdvisorError):
    """A document cannot be ingested (empty, binary, oversized, wrong type, hostile name)."""

    exit_code = 2


class DocumentNotFound(AdvisorError):
    """No document with that ID (or path) is in the knowledge base."""


class StoreError(AdvisorError):
    """The vector store is unavailable or inconsistent."""


class EmbeddingMismatchError(StoreError):
    """The store was built with another embedding model than the configured one."""


class StoreLockedError(StoreError):
    """Another process is writing to the same local knowledge base."""


class ProviderError(AdvisorError):
    """The chat or embedding model could not answer."""


class ModelUnavailableError(ProviderError):
    """The model server is slow, unreachable or failing."""


class RateLimitedError(ProviderError):
    """The model provider keeps answering 429."""


class AuthenticationError(ProviderError):
    """The provider rejected the credentials."""


class ContextTooLongError(ProviderError):
    """The question plus its sources do not fit the model's context window."""


class StreamInterruptedError(ProviderError):
    """The model's stream was cut off mid-answer."""

    def __init__(self, message: str, partial: str = "") -> None:
        super().__init__(message)
        self.partial = partial


class ChatStoreError(AdvisorError):
    """The chat store file can't be used: not SQLite, another program's database, a newer schema, damaged, busy."""


class ChatNotFound(AdvisorError):
    """No stored chat (or answer in it) has that ID."""
