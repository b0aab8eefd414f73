"""`aptmagic worker` and `aptmagic api` refuse what they cannot do, with a clear message."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from aptmagic.cli import app

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
