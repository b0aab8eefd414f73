"""docs/operations/configuration.md is generated from Settings and must agree with it."""

from __future__ import annotations

from pathlib import Path

from aptmagic.config import Settings
from aptmagic.config_docs import DEFAULT_OUTPUT, main, render_configuration_markdown

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
PAGE = ROOT / DEFAULT_OUTPUT


def test_the_configuration_page_matches_settings() -> None:
    assert PAGE.read_text(encoding="utf-8") == render_configuration_markdown(), (
        f"{DEFAULT_OUTPUT} is out of date with aptmagic/config.py: run `make docs`"
    )


def test_every_setting_and_its_variable_is_on_the_page() -> None:
    text = PAGE.read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"| `{name}` | `APTMAGIC_{name.upper()}` |" not in text]
    assert not missing, f"settings missing from {DEFAULT_OUTPUT}: {missing}"


def test_the_page_is_the_same_on_every_machine(monkeypatch, tmp_path) -> None:
    first = render_configuration_markdown()
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    again = render_configuration_markdown()
    assert again == first
    assert str(tmp_path) not in again


def test_check_fails_on_a_stale_page(tmp_path, capsys) -> None:
    page = tmp_path / "configuration.md"
    page.write_text(render_configuration_markdown() + "a hand edit\n", encoding="utf-8")
    assert main(["--check", "--output", str(page)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert main(["--output", str(page)]) == 0
    assert main(["--check", "--output", str(page)]) == 0
