"""Engines for the remote backend tests: a second aptmagic process (the OpenAI-compatible
engine), moto (Bedrock and SageMaker runtime, S3), a SigV4-checking double that answers
with the documented bodies, and ``aptmagic serve-model`` as a SageMaker container."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from aptmagic.inference.base import BackendEnv, InferenceBackend, InputFile, RunContext
from aptmagic.inference.registry import ModelRegistry
from aptmagic.inference.spec import ModelSpec
from tests.inference.remote.aws_double import ACCESS_KEY, SECRET_KEY, AWSDouble

ROOT = Path(__file__).resolve().parents[3]
ENGINE_KEY_ENV = "REMOTE_TEST_ENGINE_KEY"


@dataclass
class EngineProcess:
    """``tests.inference.remote.engine_main`` in its own process."""

    process: subprocess.Popen[str]
    url: str
    api_key: str

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def pause(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        """A test engine's data is thrown away: it need not finish what it was doing."""
        if self.process.poll() is None:
            self.kill()
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        self.process.stdout.close()


def start_engine(data_dir: Path, models_dir: Path) -> EngineProcess:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.inference.remote.engine_main", str(data_dir), str(models_dir)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.kill()
        raise RuntimeError("the engine process did not start")
    ready = json.loads(line)
    return EngineProcess(process, ready["url"], ready["api_key"])


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[EngineProcess]:
    server = start_engine(tmp_path_factory.mktemp("engine"), models_dir)
    os.environ[ENGINE_KEY_ENV] = server.api_key
    yield server
    server.stop()


@pytest.fixture(scope="module")
def aws_double() -> Iterator[AWSDouble]:
    double = AWSDouble()
    yield double
    double.stop()


@pytest.fixture
def double(aws_double: AWSDouble) -> AWSDouble:
    aws_double.reset()
    return aws_double


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The double's key pair, and nothing of the machine's AWS configuration."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def spec(backend: str, source: str, task: str, *, also: tuple[str, ...] = (), **options: Any) -> ModelSpec:
    return ModelSpec(
        id=f"remote-{backend}-{task}",
        task=task,
        also_serves=also,
        backend=backend,
        source=source,
        device="cpu",
        options=options,
    )


def backend_for(model: ModelSpec, tmp: Path | None = None) -> InferenceBackend:
    backend = ModelRegistry([model], {}).create_backend(model, BackendEnv(models_dir=tmp or Path("/nonexistent")))
    backend.setup()
    return backend


@dataclass
class Recorder:
    """A RunContext that records events and steps, with inputs and an optional cancel."""

    seed: int = 7
    inputs: dict[str, InputFile] = field(default_factory=dict)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    steps: list[tuple[int, int]] = field(default_factory=list)
    on_token: Any = None

    def ctx(self) -> RunContext:
        def on_event(kind: str, data: dict[str, Any]) -> None:
            self.events.append((kind, data))
            if kind == "token" and self.on_token is not None:
                self.on_token(len(self.tokens))

        return RunContext(
            job_id="job-remote-test",
            seed=self.seed,
            on_step=lambda step, total: self.steps.append((step, total)),
            on_event=on_event,
            load_input=self.inputs.__getitem__,
        )

    @property
    def tokens(self) -> list[str]:
        return [data["text"] for kind, data in self.events if kind == "token"]


def run(backend: InferenceBackend, params: BaseModel, recorder: Recorder | None = None) -> Any:
    return backend.run(params, (recorder or Recorder()).ctx())


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every log record of every library, down to DEBUG (botocore and the openai client included)."""
    caplog.set_level(logging.DEBUG)
    yield caplog
