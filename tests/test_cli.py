"""The aptmagic command line: help, models list, migrate."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from aptmagic import cli
from aptmagic.db.session import create_db_engine
from aptmagic.migrations import migrate as db_migrate

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A wide console so table cells are not cut, and a clean environment."""
    monkeypatch.setattr(cli, "console", Console(width=300))
    for key in [k for k in os.environ if k.startswith("APTMAGIC_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)


def table_rows(output: str) -> dict[str, list[str]]:
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if len(cells) > 1 and cells[0]:
            rows[cells[0]] = cells[1:]
    return rows


def test_help_lists_the_commands() -> None:
    result = runner.invoke(cli.app, ["--help"])
    assert result.exit_code == 0, result.output
    for command in ("serve", "migrate", "models"):
        assert command in result.output


def test_models_help_lists_list() -> None:
    result = runner.invoke(cli.app, ["models", "--help"])
    assert result.exit_code == 0, result.output
    assert "list" in result.output


def test_serve_help_lists_its_options() -> None:
    result = runner.invoke(cli.app, ["serve", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--demo", "--host", "--port", "--data-dir"):
        assert option in result.output


def test_models_list() -> None:
    result = runner.invoke(cli.app, ["models", "list"])
    assert result.exit_code == 0, result.output
    rows = table_rows(result.output)
    assert "sd-turbo (default)" in rows
    assert "tiny-sd" in rows
    assert rows["tiny-sd"][:2] == ["text-to-image", "builtin:tiny-sd"]


def test_models_list_demo_marks_the_tiny_defaults() -> None:
    result = runner.invoke(cli.app, ["models", "list", "--demo"])
    assert result.exit_code == 0, result.output
    rows = table_rows(result.output)
    assert "tiny-sd (default)" in rows
    assert "sd-turbo" in rows


def test_models_list_shows_models_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "APTMAGIC_MODELS",
        '[{"id": "my-model", "task": "text-to-image", "backend": "diffusers", "source": "/srv/my-model"}]',
    )
    result = runner.invoke(cli.app, ["models", "list"])
    assert result.exit_code == 0, result.output
    assert table_rows(result.output)["my-model"][:2] == ["text-to-image", "/srv/my-model"]


def test_migrate_creates_the_database_at_head(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = runner.invoke(cli.app, ["migrate", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    head = db_migrate.head_revision()
    assert f"database at revision {head}" in result.output
    db_file = data_dir / "aptmagic.db"
    assert db_file.is_file()
    engine = create_db_engine(f"sqlite:///{db_file}")
    try:
        assert db_migrate.current_revision(engine) == head
    finally:
        engine.dispose()
    again = runner.invoke(cli.app, ["migrate", "--data-dir", str(data_dir)])
    assert again.exit_code == 0, again.output
    assert f"database at revision {head}" in again.output


def test_migrate_uses_data_dir_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("APTMAGIC_DATA_DIR", str(tmp_path / "envdata"))
    result = runner.invoke(cli.app, ["migrate"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "envdata" / "aptmagic.db").is_file()


def test_invalid_settings_exit_2_with_a_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("APTMAGIC_ENVIRONMENT", "production")
    result = runner.invoke(cli.app, ["migrate", "--data-dir", str(tmp_path / "d")])
    assert result.exit_code == 2, result.output
    assert "Invalid settings" in result.output
    assert "APTMAGIC_SECRET_KEY" in result.output
    assert not (tmp_path / "d" / "aptmagic.db").exists()


def test_missing_config_file_exit_2_with_a_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("APTMAGIC_CONFIG_FILE", str(tmp_path / "missing.toml"))
    result = runner.invoke(cli.app, ["models", "list"])
    assert result.exit_code == 2, (result.output, result.exception)
    assert "APTMAGIC_CONFIG_FILE" in result.output
    assert "missing.toml" in result.output


def test_python_dash_m_entry_point(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APTMAGIC_")}
    result = subprocess.run(
        [sys.executable, "-m", "aptmagic", "--help"],
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "200"},
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for command in ("serve", "migrate", "models"):
        assert command in result.stdout
