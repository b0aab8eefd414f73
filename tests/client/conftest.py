"""One live server per module for the client and CLI tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import LiveServer, start_server
from tests.jobs.conftest import shared_settings


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[LiveServer]:
    live = start_server(shared_settings(tmp_path_factory.mktemp("client"), models_dir))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def api_key(server: LiveServer) -> str:
    assert server.account is not None
    return server.account.api_key


def free_port_url() -> str:
    """A loopback URL nothing listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
