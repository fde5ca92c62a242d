"""Who may use the advisor over a network: the loopback rule and key checks, shared by ``advisor serve`` and the app.

Bound to a loopback address, the API and the app may run open (only this machine can reach them). Bound
to any other address, the API refuses to start without chat keys (``ADVISOR_API_KEYS``), and knowledge-base
writes, in the API and on the app's Knowledge base page, need the admin key (``ADVISOR_ADMIN_KEY``). Keys
are compared in constant time and never logged or echoed.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable

from advisor.errors import ConfigError


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and "localhost"; an empty or wildcard host means every interface: False."""
    if not host:
        return False
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def key_matches(given: str | None, keys: Iterable[str]) -> bool:
    """Constant-time comparison against every configured key (no early exit that would leak which matched)."""
    if not given:
        return False
    found = False
    for key in keys:
        found |= hmac.compare_digest(given.encode("utf-8"), key.encode("utf-8"))
    return found


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def check_bind(host: str, chat_keys: list[str], what: str = "advisor serve") -> None:
    """Refuse to listen beyond loopback with no keys: anyone on the network could use the advisor."""
    if not is_loopback(host) and not chat_keys:
        raise ConfigError(
            f"{what} is bound to {host}, which other machines can reach, but no API keys are set; "
            "set ADVISOR_API_KEYS (and ADVISOR_ADMIN_KEY for knowledge-base writes), or bind to 127.0.0.1"
        )
