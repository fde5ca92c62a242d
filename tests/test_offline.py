"""Nothing reaches the network at run time: the test network guard blocks and records any connection to a
non-loopback address, and a full build-and-answer flow records none."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from advisor.core import Advisor
from tests import conftest
from tests.conftest import make_settings


def test_the_guard_blocks_connections_to_outside_hosts() -> None:
    before = len(conftest.OUTSIDE_ATTEMPTS)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("203.0.113.7", 443))
    assert len(conftest.OUTSIDE_ATTEMPTS) == before + 1
    conftest.OUTSIDE_ATTEMPTS.pop()  # this attempt was the test's own


@pytest.mark.slow
def test_building_the_knowledge_base_and_answering_makes_no_outside_connection(tmp_path: Path) -> None:
    before = list(conftest.OUTSIDE_ATTEMPTS)
    advisor = Advisor(make_settings(tmp_path))
    answer = advisor.ask("Do all three roles require a graduate degree?")
    assert not answer.refused
    assert "strong undergraduate + portfolio" in answer.text
    assert before == conftest.OUTSIDE_ATTEMPTS
