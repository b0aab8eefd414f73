"""Failover lists in the registry: checked when the registry is built, expanded in order,
and remote engines placed on the cpu queue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aptmagic.config import Settings
from aptmagic.inference.registry import ModelRegistry, build_registry
from aptmagic.inference.spec import ModelSpec
from aptmagic.kit.urls import shown
from aptmagic.queue.routing import queue_for


def spec(model_id: str, task: str = "text-to-image", **fields: Any) -> ModelSpec:
    values: dict[str, Any] = {"backend": "diffusers", "source": f"/models/{model_id}", **fields}
    return ModelSpec(id=model_id, task=task, **values)


def test_failover_to_an_unknown_model_is_refused() -> None:
    with pytest.raises(ValueError, match="fails over to 'nowhere', which is not in the registry"):
        ModelRegistry([spec("a", failover=("nowhere",))], {})


def test_failover_to_a_model_of_another_task_is_refused() -> None:
    with pytest.raises(ValueError, match="fails over to 'writer', which does not serve 'text-to-image'"):
        ModelRegistry([spec("a", failover=("writer",)), spec("writer", task="text")], {})


@pytest.mark.parametrize(
    ("models", "cycle"),
    [
        ([spec("a", failover=("a",))], "a -> a"),
        ([spec("a", failover=("b",)), spec("b", failover=("a",))], "a -> b -> a"),
        ([spec("a", failover=("b",)), spec("b", failover=("c",)), spec("c", failover=("b",))], "b -> c -> b"),
    ],
    ids=["itself", "two", "three"],
)
def test_failover_cycles_are_refused(models: list[ModelSpec], cycle: str) -> None:
    with pytest.raises(ValueError, match=f"failover models form a cycle: {cycle}"):
        ModelRegistry(models, {})


def test_engines_are_the_model_then_its_failovers_depth_first_each_once() -> None:
    registry = ModelRegistry(
        [
            spec("a", also_serves=("image-to-image",), failover=("b", "c")),
            spec("b", failover=("d", "c")),
            spec("c", also_serves=("image-to-image",)),
            spec("d"),
        ],
        {},
    )
    assert [e.id for e in registry.engines_for(registry.get("a"), "text-to-image")] == ["a", "b", "d", "c"]
    assert [e.id for e in registry.engines_for(registry.get("a"), "image-to-image")] == ["a", "c"]
    assert [e.id for e in registry.engines_for(registry.get("d"), "text-to-image")] == ["d"]


def test_a_config_with_a_bad_failover_stops_the_start(tmp_path: Path) -> None:
    settings = Settings(environment="test", data_dir=tmp_path, models=[spec("a", failover=("ghost",))])
    with pytest.raises(ValueError, match="ghost"):
        build_registry(settings.models, settings.default_models, settings.demo)


def test_failover_to_a_builtin_model_from_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "aptmagic.toml"
    config.write_text(
        "[[models]]\n"
        'id = "bedrock-core"\ntask = "text-to-image"\nbackend = "bedrock"\n'
        'source = "stability.stable-image-core-v1:1"\n'
        'failover = ["tiny-sd"]\nfallback_to_stored = true\n'
        "circuit_failures = 3\ncircuit_cooldown_seconds = 12.5\n"
    )
    monkeypatch.setenv("APTMAGIC_CONFIG_FILE", str(config))
    settings = Settings(environment="test", data_dir=tmp_path)
    registry = build_registry(settings.models, {}, demo=True)
    model = registry.get("bedrock-core")
    assert model.failover == ("tiny-sd",)
    assert model.fallback_to_stored
    assert (model.circuit_failures, model.circuit_cooldown_seconds) == (3, 12.5)
    assert [e.id for e in registry.engines_for(model, "text-to-image")] == ["bedrock-core", "tiny-sd"]


@pytest.mark.parametrize("backend", ["openai", "bedrock", "sagemaker"])
def test_remote_engines_need_no_gpu_and_go_to_the_cpu_queue(backend: str) -> None:
    remote = spec("remote", backend=backend)
    assert remote.is_remote
    assert remote.device == "cpu"
    assert queue_for(remote) == "cpu"
    assert spec("pinned", backend=backend, device="cuda").device == "cuda"  # an explicit device is kept
    assert not spec("local").is_remote
    assert queue_for(spec("local")) == "gpu"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:sk-secret@engine.example/v1?api_key=sk-secret#x", "https://engine.example/v1"),
        ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
        ("stability.sd3-5-large-v1:0", "stability.sd3-5-large-v1:0"),
        ("my-endpoint", "my-endpoint"),
    ],
)
def test_engine_urls_are_shown_without_credentials(url: str, expected: str) -> None:
    assert shown(url) == expected
