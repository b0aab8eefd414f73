"""Where weights come from: package:<name> sources and GGUF files for the LLM backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from aptmagic.inference.base import BackendEnv, ModelLoadError
from aptmagic.inference.spec import ModelSpec
from aptmagic.inference.tiny import package_path, resolve_source
from aptmagic.inference.transformers_llm import TransformersLLM, gguf_source


def spec(source: str, **options: str) -> ModelSpec:
    return ModelSpec(id="m", task="text", backend="transformers-llm", source=source, options=options)


def test_package_source_is_the_installed_package_folder(tmp_path: Path) -> None:
    folder = Path(resolve_source(spec("package:pytest"), BackendEnv(models_dir=tmp_path)))
    assert folder.is_dir() and (folder / "__init__.py").is_file()
    assert package_path("_pytest/mark") == Path(package_path("_pytest")) / "mark"


def test_package_names_may_be_spelt_as_pip_spells_them() -> None:
    assert package_path("pydantic-settings") == package_path("pydantic_settings")


@pytest.mark.parametrize("reference", ["no-such-package-here", "pytest/no-such-folder", "not a name"])
def test_a_missing_package_or_path_is_a_clear_load_error(tmp_path: Path, reference: str) -> None:
    backend = TransformersLLM(spec(f"package:{reference}"), BackendEnv(models_dir=tmp_path))
    with pytest.raises(ModelLoadError, match="could not be found"):
        backend.setup()


def test_gguf_file_folder_and_option(tmp_path: Path) -> None:
    (tmp_path / "one.gguf").write_bytes(b"GGUF")
    assert gguf_source(spec(""), str(tmp_path / "one.gguf")) == (str(tmp_path), "one.gguf")
    assert gguf_source(spec(""), str(tmp_path)) == (str(tmp_path), "one.gguf")
    assert gguf_source(spec("", gguf_file="q4.gguf"), "org/repo") == ("org/repo", "q4.gguf")
    assert gguf_source(spec(""), "org/repo") == ("org/repo", None)
    (tmp_path / "config.json").write_text("{}")
    assert gguf_source(spec(""), str(tmp_path)) == (str(tmp_path), None)  # a transformers folder


def test_several_gguf_files_need_a_name(tmp_path: Path) -> None:
    for name in ("a.Q4_0.gguf", "a.Q8_0.gguf"):
        (tmp_path / name).write_bytes(b"GGUF")
    with pytest.raises(ModelLoadError, match="options.gguf_file"):
        gguf_source(spec(""), str(tmp_path))
    assert gguf_source(spec("", gguf_file="a.Q8_0.gguf"), str(tmp_path)) == (str(tmp_path), "a.Q8_0.gguf")


def test_a_missing_gguf_file_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="no GGUF file"):
        gguf_source(spec(""), str(tmp_path / "gone.gguf"))


def test_generation_also_stops_at_the_tokenizers_end_token(models_dir: Path) -> None:
    from aptmagic.inference.registry import BUILTIN_MODELS

    tiny = next(s for s in BUILTIN_MODELS if s.id == "tiny-llm")
    backend = TransformersLLM(tiny, BackendEnv(models_dir=models_dir))
    backend.setup()
    try:
        config_eos = backend.model.generation_config.eos_token_id
        config_ids = set(config_eos if isinstance(config_eos, list) else [config_eos])
        other = next(i for i in range(len(backend.tokenizer)) if i not in config_ids)
        backend.tokenizer.eos_token = backend.tokenizer.convert_ids_to_tokens(other)
        config, _, eos_ids = backend._generation_config(8)
        assert eos_ids == config_ids | {other}
        assert set(config.eos_token_id) == eos_ids
        assert backend.model.generation_config.eos_token_id == config_eos  # the model's own config is untouched
    finally:
        backend.unload()
