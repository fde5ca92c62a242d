"""The API's errors: :class:`ApiError` (status, OpenAI error type, code) and the mapping from the advisor's own
user-facing errors to HTTP statuses."""

from __future__ import annotations

from advisor.errors import (
    AdvisorError,
    ConfigError,
    DocumentError,
    DocumentNotFound,
    InputError,
    ProviderError,
    StoreError,
    StoreLockedError,
)

# Status codes for the errors users can cause or meet; anything else is a bug (500, with a traceback logged).
STATUS = (
    (InputError, 400, "invalid_request_error"),
    (DocumentError, 400, "invalid_request_error"),
    (DocumentNotFound, 404, "not_found_error"),
    (StoreLockedError, 409, "conflict_error"),
    (StoreError, 503, "service_unavailable"),
    (ProviderError, 502, "upstream_error"),
    (ConfigError, 500, "server_error"),
)


class ApiError(Exception):
    def __init__(self, status: int, message: str, kind: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.code = status, message, kind, code


def from_advisor_error(exc: AdvisorError) -> ApiError:
    for cls, status, kind in STATUS:
        if isinstance(exc, cls):
            return ApiError(status, str(exc), kind)
    return ApiError(500, str(exc), "server_error")
