"""Shared fixtures: settings on a temporary folder, a live server on loopback.

The tiny models are built once per test session into one folder that every
app shares; each test gets its own database and blob folder."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from aptmagic.app import create_app
from aptmagic.config import Settings

pytest_plugins = ["tests.support.services"]


def pytest_addoption(parser: pytest.Parser) -> None:
    from tests.support.backends import add_backend_options

    add_backend_options(parser)


TERMINAL = {"succeeded", "failed", "canceled"}


def pytest_configure(config: pytest.Config) -> None:
    # The tiny models gain nothing from intra-op threads, and on a loaded 2-core
    # machine extra torch threads slow every step down many times over.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    root = Path(os.environ.get("PYTEST_HF_HOME", "/tmp")) / f"aptmagic-test-hf-{os.getpid()}"
    os.environ["HF_HOME"] = str(root)
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    os.environ["TRANSFORMERS_VERBOSITY"] = "error"
    for key in [k for k in os.environ if k.startswith("APTMAGIC_")]:
        del os.environ[key]
    # Plans and rate limits have their own tests (tests/quotas), which set them explicitly; every
    # other test's settings (made here or in a module of its own) get these from the environment.
    os.environ.update(
        APTMAGIC_DEFAULT_PLAN="unlimited",
        APTMAGIC_RATE_LIMIT_USER_PER_SECOND="0",
        APTMAGIC_RATE_LIMIT_IP_PER_SECOND="0",
    )


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def make_settings(tmp_path: Path, models_dir: Path, request: pytest.FixtureRequest) -> Callable[..., Settings]:
    from tests.support.backends import backend_overrides

    backends = backend_overrides(request)  # --db / --queue: the same tests on PostgreSQL and Celery

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            **backends,
            "environment": "test",
            "data_dir": tmp_path / "data",
            "models_dir": models_dir,
            "demo": True,
            "retry_base_seconds": 0.05,
            "retry_max_seconds": 0.2,
            "progress_write_interval": 0.0,
            "shutdown_timeout": 10.0,
        }
        values.update(overrides)
        return Settings(**values)

    return make


TEST_PASSWORD = "a test password that nobody would guess"


@dataclass
class Account:
    user_id: str
    username: str
    password: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


def create_account(
    services: Any,
    username: str,
    *,
    admin: bool = False,
    scopes: tuple[str, ...] | None = None,
    password: str = TEST_PASSWORD,
) -> Account:
    """A user and an API key made through the service layer (no HTTP)."""
    from aptmagic.auth.models import Role
    from aptmagic.auth.principal import Principal

    role = Role.admin if admin else Role.user
    if scopes is None:
        scopes = ("read", "generate", "admin") if admin else ("read", "generate")
    with services.session_factory.begin() as session:
        user = services.auth.create_user(session, f"{username}@example.com", username, password, role=role)
        principal = Principal(user_id=user.id, username=user.username, role=role, via="session")
        _, raw = services.auth.create_key(session, principal, f"{username} test key", scopes, None)
    return Account(user.id, username, password, raw)


@dataclass
class LiveServer:
    url: str
    app: Any
    server: uvicorn.Server
    thread: threading.Thread
    account: Account | None = None
    worker: Any = None  # an embedded Celery worker (queue_backend celery)

    @property
    def user_id(self) -> str | None:
        return self.account.user_id if self.account else None

    @property
    def auth_headers(self) -> dict[str, str]:
        """The Bearer header of the server's default test user (a normal user)."""
        return self.account.headers if self.account else {}

    @property
    def services(self) -> Any:
        return self.app.state.services

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        self.server.should_exit = True
        self.thread.join(30)


def start_server(settings: Settings, *, account: bool = True) -> LiveServer:
    """Start the app on a free loopback port; with ``account`` also make a test user and API key."""
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, lifespan="on", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    live = LiveServer(f"http://127.0.0.1:{port}", app, server, thread)
    if settings.queue_backend == "celery" and settings.worker_concurrency > 0:
        from tests.support.backends import EmbeddedWorker

        live.worker = EmbeddedWorker(live.services, settings.worker_concurrency)
    if account:
        live.account = create_account(live.services, "tester")
    return live


@pytest.fixture
def live(make_settings: Callable[..., Settings]) -> Iterator[LiveServer]:
    server = start_server(make_settings())
    yield server
    server.stop()


@pytest.fixture
def client(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=30, headers=live.auth_headers) as http:
        yield http


def submit(client: httpx.Client, **params: Any) -> dict[str, Any]:
    body = {"task": "text-to-image", "model": params.pop("model", "tiny-sd"), "params": {"prompt": "a cat", **params}}
    response = client.post("/api/v1/jobs", json=body)
    assert response.status_code == 202, response.text
    return response.json()


def wait_for(client: httpx.Client, job_id: str, timeout: float = 60, statuses: set[str] = TERMINAL) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] in statuses:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['status']} after {timeout}s")
        time.sleep(0.02)


def create_asset(live: LiveServer, data: bytes, content_type: str, media_kind: str) -> str:
    """Store bytes as an upload-kind asset directly through the services (bypassing the upload checks)."""
    import hashlib

    from aptmagic.assets.models import Asset
    from aptmagic.db.base import new_id

    services = live.services
    asset_id = new_id()
    key = f"uploads/{asset_id[:2]}/{asset_id}"
    services.store.put(key, data, content_type)
    with services.session_factory.begin() as session:
        session.add(
            Asset(
                id=asset_id,
                kind="upload",
                storage_key=key,
                content_type=content_type,
                size_bytes=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                media_kind=media_kind,
                owner_id=live.user_id,
            )
        )
    return asset_id
