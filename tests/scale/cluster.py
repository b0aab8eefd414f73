"""A cluster on loopback: one `aptmagic api` process and `aptmagic worker` processes,
on a PostgreSQL database and a Redis broker, with the test-only models of
tests/scale/launcher.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.scale.launcher import models_env, test_model
from tests.support.services import free_port

ROOT = Path(__file__).resolve().parents[2]
CLUSTER_MODELS = models_env(
    test_model("slow", "test-slow", step_seconds=0.1),
    test_model("poison", "test-poison"),
    test_model("noop", "test-noop"),
)


def cluster_env(database_url: str, broker_url: str, data_dir: Path, models_dir: Path, **extra: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()}
    env.update(
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        APTMAGIC_ENVIRONMENT="test",
        APTMAGIC_DATABASE_URL=database_url,
        APTMAGIC_QUEUE_BACKEND="celery",
        APTMAGIC_BROKER_URL=broker_url,
        APTMAGIC_QUEUE_NAME_PREFIX=f"c{os.getpid()}-{int(time.time() * 1000) % 100000}-",
        APTMAGIC_DATA_DIR=str(data_dir),
        APTMAGIC_MODELS_DIR=str(models_dir),
        APTMAGIC_DEMO="true",
        APTMAGIC_MODELS=CLUSTER_MODELS,
        APTMAGIC_LEASE_SECONDS="2",
        APTMAGIC_BROKER_VISIBILITY_TIMEOUT_SECONDS="120",
        APTMAGIC_REDISPATCH_AFTER_SECONDS="3",
        APTMAGIC_REDISPATCH_INTERVAL_SECONDS="0.5",
        APTMAGIC_SHUTDOWN_TIMEOUT="1",
        APTMAGIC_LOG_LEVEL="WARNING",
        APTMAGIC_RETRY_BASE_SECONDS="0.05",
        APTMAGIC_RETRY_MAX_SECONDS="0.2",
        APTMAGIC_PROGRESS_WRITE_INTERVAL="0",
    )
    env.update({f"APTMAGIC_{k.upper()}": str(v) for k, v in extra.items()})
    return env


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int | None:
        if self.alive():
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        return self.popen.returncode


@dataclass
class Cluster:
    env: dict[str, str]
    logs: Path
    processes: list[Process] = field(default_factory=list)
    url: str = ""

    def _spawn(self, name: str, *args: str) -> Process:
        log = self.logs / f"{name}-{len(self.processes)}.log"
        handle = log.open("wb")
        popen = subprocess.Popen(
            [sys.executable, "-m", "tests.scale.launcher", *args],
            cwd=ROOT,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        handle.close()
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def start_api(self) -> Process:
        port = free_port()
        api = self._spawn("api", "api", "--port", str(port))
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert api.alive(), api.text()
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return api
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the API did not start: " + api.text()
            time.sleep(0.1)

    def start_worker(self, queues: str = "cpu", concurrency: int = 1) -> Process:
        worker = self._spawn("worker", "worker", "--queues", queues, "--concurrency", str(concurrency))
        deadline = time.monotonic() + 90
        while "aptmagic worker ready" not in worker.text():
            assert worker.alive(), worker.text()
            assert time.monotonic() < deadline, "the worker did not start: " + worker.text()
            time.sleep(0.1)
        return worker

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop(signal.SIGTERM, timeout=15)
