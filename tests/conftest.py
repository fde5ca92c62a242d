"""Shared fixtures: real settings in tmp dirs, one real Advisor per session, and a network guard.

The guard makes any socket connection to a non-loopback address fail the test run: the product must
work offline, and no test may reach outside this machine.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
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


# Fixtures that load the real models or start a server. A test that uses one belongs to the slow tier
# whatever its module says, so `-m "not slow"` stays a tier that loads nothing heavy.
HEAVY_FIXTURES = frozenset(
    {"advisor", "embedder", "any_advisor", "llama_server", "chroma_server", "store_url", "app_env"}
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HEAVY_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if OUTSIDE_ATTEMPTS:
        print(
            f"\nNETWORK GUARD: {len(OUTSIDE_ATTEMPTS)} connection(s) to non-loopback addresses: {OUTSIDE_ATTEMPTS[:5]}"
        )
        session.exitstatus = 1


# -- the one way tests set up an advisor's environment ------------------------------------------------------
def advisor_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """An environment for an advisor under test: this process's variables without any ``ADVISOR_*`` or
    ``OPENAI_*`` the developer set, plus an isolated data dir, the bundled knowledge and the local provider.
    ``extra`` adds or overrides ``ADVISOR_*`` variables. Subprocesses get it as ``env=``; in-process readers
    (AppTest, ``cli.main``) through :func:`use_env`; settings objects through :func:`make_settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADVISOR_", "OPENAI_"))}
    env |= {
        "ADVISOR_DATA_DIR": str(data_dir),
        "ADVISOR_KNOWLEDGE_DIR": str(PROJECT_DIR / "knowledge"),
        "ADVISOR_PROVIDER": "local",
        "ADVISOR_ENV_FILE": os.devnull,  # a developer's ./.env must not leak into a test
    }
    return env | extra


@contextmanager
def use_env(env: Mapping[str, str]) -> Iterator[None]:
    """Make ``env`` this process's environment for the block (for code that reads ``os.environ``), then restore it."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def make_settings(tmp: Path, **overrides: object) -> Settings:
    """Local-provider settings isolated from the developer's environment and data dir."""
    return load_settings(advisor_env(tmp / "data"), **overrides)


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
