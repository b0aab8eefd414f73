"""Runs the ``aptmagic`` command with test-only backends registered, for cluster tests
and the queue benchmark: ``python -m tests.scale.launcher worker --queues cpu``.

* ``test-slow``: one step per ``options.step_seconds``, then a 64x64 image;
* ``test-poison``: kills its worker process at the first step (like an OOM kill);
* ``test-noop``: no work at all, a tiny text result.

None of this is part of the product."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from PIL import Image

from aptmagic.inference.base import BackendEnv, InferenceResult, RunContext
from aptmagic.inference.registry import register_backend
from aptmagic.inference.spec import ModelSpec


class SlowBackend:
    def __init__(self, spec: ModelSpec, env: BackendEnv) -> None:
        self.spec = spec

    def setup(self) -> None:
        pass

    def run(self, params: Any, ctx: RunContext) -> InferenceResult:
        pause = float(self.spec.options.get("step_seconds", 0.1))
        for step in range(params.steps + 1):
            ctx.step(step, params.steps)
            time.sleep(pause)
        return InferenceResult(images=[Image.new("RGB", (params.width, params.height), (10, 20, 30))])

    def unload(self) -> None:
        pass

    def memory_bytes(self) -> int:
        return 1


class PoisonBackend(SlowBackend):
    def run(self, params: Any, ctx: RunContext) -> InferenceResult:
        ctx.step(0, 1)
        os._exit(3)


class NoopBackend(SlowBackend):
    def run(self, params: Any, ctx: RunContext) -> InferenceResult:
        return InferenceResult(text="ok")


register_backend("test-slow")(SlowBackend)
register_backend("test-poison")(PoisonBackend)
register_backend("test-noop")(NoopBackend)


def test_model(model_id: str, backend: str, device: str = "cpu", **options: Any) -> dict[str, Any]:
    return {
        "id": model_id,
        "task": "text-to-image",
        "backend": backend,
        "source": f"test:{model_id}",
        "device": device,
        "default_params": {"width": 64, "height": 64, "steps": 4, "guidance": 0.0},
        "limits": {"max_width": 128, "max_height": 128, "max_steps": 200},
        "options": options,
    }


def models_env(*models: dict[str, Any]) -> str:
    return json.dumps(list(models))


if __name__ == "__main__":
    from aptmagic.cli import main

    sys.argv = ["aptmagic", *sys.argv[1:]]
    main()
