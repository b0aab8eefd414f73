"""The model registry and the built-in tiny model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from aptmagic.config import Settings
from aptmagic.inference import tiny
from aptmagic.inference.base import BackendEnv, InferenceResult, RunContext
from aptmagic.inference.registry import (
    BUILTIN_MODELS,
    ModelRegistry,
    UnknownModel,
    backend_names,
    build_registry,
    register_backend,
)
from aptmagic.inference.spec import ModelSpec

TEXT_TO_IMAGE = "text-to-image"


def make_spec(model_id: str, task: str = TEXT_TO_IMAGE, **fields: Any) -> ModelSpec:
    values: dict[str, Any] = {"backend": "test-registry-fake", "source": f"/models/{model_id}"}
    values.update(fields)
    return ModelSpec(id=model_id, task=task, **values)


@register_backend("test-registry-fake")
class RegistryFakeBackend:
    def __init__(self, spec: ModelSpec, env: BackendEnv) -> None:
        self.spec = spec
        self.env = env

    def setup(self) -> None:
        pass

    def run(self, params: Any, ctx: RunContext) -> InferenceResult:
        return InferenceResult(text="fake")

    def unload(self) -> None:
        pass

    def memory_bytes(self) -> int:
        return 0


# -- the registry ----------------------------------------------------------


def test_builtin_models_are_listed() -> None:
    registry = build_registry([], {}, demo=False)
    ids = [spec.id for spec in registry.all()]
    assert "sd-turbo" in ids and "tiny-sd" in ids
    assert registry.get("tiny-sd").is_builtin
    assert not registry.get("sd-turbo").is_builtin


def test_default_for() -> None:
    assert build_registry([], {}, demo=False).default_for(TEXT_TO_IMAGE).id == "sd-turbo"
    assert build_registry([], {}, demo=True).default_for(TEXT_TO_IMAGE).id == "tiny-sd"
    assert build_registry([], {}, demo=True).defaults()[TEXT_TO_IMAGE] == "tiny-sd"


def test_default_for_a_task_without_a_named_default_is_its_first_model() -> None:
    registry = ModelRegistry([make_spec("first", "caption"), make_spec("second", "caption")], {})
    assert registry.default_for("caption").id == "first"


def test_unknown_model_raises() -> None:
    registry = build_registry([], {}, demo=False)
    with pytest.raises(UnknownModel):
        registry.get("no-such-model")
    assert issubclass(UnknownModel, LookupError)


def test_task_without_models_raises_unknown_model() -> None:
    with pytest.raises(UnknownModel, match="no-such-task"):
        build_registry([], {}, demo=False).default_for("no-such-task")


def test_extra_models_are_added() -> None:
    registry = build_registry([make_spec("mine")], {}, demo=False)
    assert registry.get("mine").source == "/models/mine"
    assert registry.default_for(TEXT_TO_IMAGE).id == "sd-turbo"


def test_an_entry_with_a_builtin_id_replaces_it() -> None:
    builtin = next(s for s in BUILTIN_MODELS if s.id == "tiny-sd")
    replacement = builtin.model_copy(update={"source": "/srv/tiny", "version": "2"})
    registry = build_registry([replacement], {}, demo=True)
    assert [spec.id for spec in registry.all()].count("tiny-sd") == 1
    assert registry.get("tiny-sd") == replacement
    assert registry.default_for(TEXT_TO_IMAGE) == replacement
    # the built-in list itself is untouched
    assert builtin.version != "2"


def test_settings_defaults_override_builtin_defaults() -> None:
    registry = build_registry([make_spec("mine")], {TEXT_TO_IMAGE: "mine"}, demo=True)
    assert registry.default_for(TEXT_TO_IMAGE).id == "mine"


def test_registry_from_settings(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        models=[{"id": "mine", "task": TEXT_TO_IMAGE, "backend": "test-registry-fake", "source": "/m"}],
        default_models={TEXT_TO_IMAGE: "mine"},
    )
    registry = build_registry(settings.models, settings.default_models, settings.demo)
    assert registry.default_for(TEXT_TO_IMAGE).source == "/m"


def test_invalid_default_raises_value_error() -> None:
    with pytest.raises(ValueError, match="no-such-model"):
        build_registry([], {TEXT_TO_IMAGE: "no-such-model"}, demo=False)


def test_default_that_serves_another_task_raises_value_error() -> None:
    with pytest.raises(ValueError, match="captioner"):
        ModelRegistry([make_spec("captioner", "caption")], {TEXT_TO_IMAGE: "captioner"})


def test_create_backend() -> None:
    registry = build_registry([make_spec("mine")], {}, demo=False)
    env = BackendEnv(models_dir=Path("/tmp/models"))
    backend = registry.create_backend(registry.get("mine"), env)
    assert isinstance(backend, RegistryFakeBackend)
    assert backend.spec.id == "mine"
    assert backend.env is env


def test_unknown_backend_raises_unknown_model() -> None:
    registry = build_registry([make_spec("orphan", backend="no-such-backend")], {}, demo=False)
    with pytest.raises(UnknownModel, match="no-such-backend"):
        registry.create_backend(registry.get("orphan"), BackendEnv(models_dir=Path("/tmp")))


def test_every_builtin_backend_is_registered() -> None:
    names = backend_names()
    assert "test-registry-fake" in names
    for spec in BUILTIN_MODELS:
        assert spec.backend in names, spec


@pytest.mark.parametrize("bad_id", ["", "Upper", "has space", "-leading", "a/b", "x" * 65, "../up"])
def test_model_ids_are_checked(bad_id: str) -> None:
    with pytest.raises(ValidationError):
        make_spec(bad_id)


def test_model_spec_refuses_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        ModelSpec(id="m", task=TEXT_TO_IMAGE, backend="b", source="s", colour="red")  # type: ignore[call-arg]


# -- the built-in tiny model ----------------------------------------------

PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".h5", ".msgpack"}


def test_tiny_sd_is_built_with_safetensors_only(models_dir: Path) -> None:
    folder = tiny.ensure_builtin("tiny-sd", models_dir)
    assert folder == models_dir / "tiny-sd"
    assert (folder / "model_index.json").is_file()
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert not [p for p in files if p.suffix in PICKLE_SUFFIXES], files
    weights = {p.parent.name for p in files if p.suffix == ".safetensors"}
    assert {"unet", "vae", "text_encoder"} <= weights
    # no half-built staging folders are left behind
    assert not [p for p in models_dir.iterdir() if p.name.startswith(".tiny-sd-")]


def test_tiny_sd_weights_load_as_safetensors(models_dir: Path) -> None:
    from safetensors import safe_open

    folder = tiny.ensure_builtin("tiny-sd", models_dir)
    with safe_open(str(folder / "unet" / "diffusion_pytorch_model.safetensors"), framework="pt") as handle:
        assert len(list(handle.keys())) > 0


def test_second_call_does_not_rebuild(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tiny.ensure_builtin("tiny-sd", models_dir)
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}

    def no_rebuild(_folder: Path) -> None:
        raise AssertionError("tiny-sd was built again")

    monkeypatch.setitem(tiny._BUILDERS, "tiny-sd", no_rebuild)
    assert tiny.ensure_builtin("tiny-sd", models_dir) == folder
    after = {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}
    assert after == before


def test_failed_build_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(folder: Path) -> None:
        (folder / "model_index.json").write_text("{}")
        raise RuntimeError("out of disk")

    monkeypatch.setitem(tiny._BUILDERS, "tiny-sd", broken)
    with pytest.raises(RuntimeError, match="out of disk"):
        tiny.ensure_builtin("tiny-sd", tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []


def test_unknown_builtin_raises(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="no-such"):
        tiny.ensure_builtin("no-such", tmp_path)
