"""Every TOML example of docs/models-remote.md is a valid config whose models their backends accept."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from aptmagic.config import Settings
from aptmagic.inference.base import BackendEnv
from aptmagic.inference.registry import build_registry
from aptmagic.queue.routing import queue_for

DOC = Path(__file__).resolve().parents[3] / "docs" / "models-remote.md"
BLOCKS = re.findall(r"```toml\n(.*?)```", DOC.read_text(), re.DOTALL)


def test_the_page_has_an_example_for_each_engine() -> None:
    sources = " ".join(BLOCKS)
    for engine in ('backend = "openai"', "11434", 'backend = "bedrock"', 'backend = "sagemaker"'):
        assert engine in sources


@pytest.mark.parametrize("block", BLOCKS, ids=[re.search(r'id = "([^"]+)"', b)[1] for b in BLOCKS])  # type: ignore[index]
def test_each_example_loads_as_settings_and_backends(
    block: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = tomllib.loads(block)
    settings = Settings(environment="test", data_dir=tmp_path, models=config["models"])
    registry = build_registry(settings.models, settings.default_models, settings.demo)
    for spec in settings.models:
        backend = registry.create_backend(spec, BackendEnv(models_dir=tmp_path))  # options and tasks checked here
        assert backend.memory_bytes() == 0
        assert queue_for(spec) == "cpu"
    assert "not read by its backend" not in caplog.text  # every option in the examples is one the backend reads
