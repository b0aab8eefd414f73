"""``aptmagic serve-model``'s app on a free loopback port, built as the command builds it."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from aptmagic.config import Settings
from aptmagic.inference.spec import ModelSpec
from aptmagic.serving.app import create_model_app
from aptmagic.wiring.models import build_models


@dataclass
class Container:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


def start_container(
    data_dir: Path, models_dir: Path, model_id: str, ready: bool = True, models: list[ModelSpec] | None = None
) -> Container:
    """With ``ready``, wait until ``/ping`` answers 200 (the model is loaded)."""
    settings = Settings(environment="test", demo=True, data_dir=data_dir, models_dir=models_dir, models=models or [])
    registry, models = build_models(settings)
    app = create_model_app(registry, models, model_id)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    container = Container(f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread)
    deadline = time.monotonic() + 120
    while not server.started or (ready and httpx.get(container.url + "/ping").status_code != 200):
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the {model_id} container did not get ready")
        time.sleep(0.05)
    return container
