"""Shared fixtures: real settings in tmp dirs, one real Advisor per session, and a network guard.

The guard makes any socket connection to a non-loopback address fail the test run: the product must
work offline, and no test may reach outside this machine.
"""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest

from advisor.core import Advisor
from advisor.settings import PROJECT_DIR, Settings, load_settings

OUTSIDE_ATTEMPTS: list[str] = []
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address: object) -> bool:
    if isinstance(address, str):  # AF_UNIX path
        return True
    if isinstance(address, tuple) and address:
        host = str(address[0])
        if host in ("localhost", ""):
            return True
        try:
            return ipaddress.ip_address(host.split("%")[0]).is_loopback
        except ValueError:
            return False
    return True


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_loopback(address):
        OUTSIDE_ATTEMPTS.append(repr(address))
        raise ConnectionRefusedError(f"test network guard: connection to {address!r} blocked (offline product)")
    return _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _is_loopback(address):
        OUTSIDE_ATTEMPTS.append(repr(address))
        return 111
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if OUTSIDE_ATTEMPTS:
        print(
            f"\nNETWORK GUARD: {len(OUTSIDE_ATTEMPTS)} connection(s) to non-loopback addresses: {OUTSIDE_ATTEMPTS[:5]}"
        )
        session.exitstatus = 1


def make_settings(tmp: Path, **overrides: object) -> Settings:
    """Local-provider settings isolated from the developer's environment and data dir."""
    env = {
        "ADVISOR_DATA_DIR": str(tmp / "data"),
        "ADVISOR_KNOWLEDGE_DIR": str(PROJECT_DIR / "knowledge"),
        "ADVISOR_PROVIDER": "local",
    }
    return load_settings(env, **overrides)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture(scope="session")
def advisor(tmp_path_factory: pytest.TempPathFactory) -> Advisor:
    """One advisor on the embedded default over the article; built once per session (read-only use)."""
    adv = Advisor(make_settings(tmp_path_factory.mktemp("shared")))
    adv.warm_up()
    return adv


@pytest.fixture(scope="session")
def embedder(advisor: Advisor):  # type: ignore[no-untyped-def]
    return advisor.embedder
