"""`aptmagic worker` and `aptmagic api` refuse what they cannot do, with a clear message."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from aptmagic.cli import app
from tests.support.services import free_port

ROOT = Path(__file__).resolve().parents[2]

runner = CliRunner()


@pytest.mark.parametrize("queues", ["bogus", "cpu,bogus", ",", "gpu;cpu"])
def test_worker_refuses_unknown_queues(queues: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APTMAGIC_QUEUE_BACKEND", "celery")
    monkeypatch.setenv("APTMAGIC_BROKER_URL", "redis://127.0.0.1:1/0")
    result = runner.invoke(app, ["worker", "--queues", queues])
    assert result.exit_code == 2
    assert "--queues" in result.output


def test_worker_needs_the_celery_backend() -> None:
    result = runner.invoke(app, ["worker", "--queues", "cpu"])
    assert result.exit_code == 2
    assert "APTMAGIC_QUEUE_BACKEND=celery" in result.output


def test_worker_refuses_a_bad_broker_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APTMAGIC_QUEUE_BACKEND", "celery")
    monkeypatch.setenv("APTMAGIC_BROKER_URL", "amqp://guest@localhost//")
    result = runner.invoke(app, ["worker"])
    assert result.exit_code == 2
    assert "broker_url must start with" in result.output


@pytest.mark.parametrize("concurrency", ["0", "65", "many"])
def test_worker_concurrency_is_bounded(concurrency: str) -> None:
    assert runner.invoke(app, ["worker", "--concurrency", concurrency]).exit_code == 2


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_api_runs_several_http_processes(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items()}
    env.update(PYTHONPATH=str(ROOT), APTMAGIC_DATA_DIR=str(tmp_path), APTMAGIC_LOG_LEVEL="WARNING")
    log = (tmp_path / "api.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "aptmagic", "api", "--workers", "2", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, (tmp_path / "api.log").read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "api.log").read_text()
            time.sleep(0.2)
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/jobs", timeout=5).status_code == 401
    finally:
        process.terminate()
        process.wait(30)
        log.close()
