"""Settings: keyword arguments, APTMAGIC_* variables, a TOML file, and
refusals of unsafe production settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from aptmagic.config import DEV_SECRET, Settings

GOOD_SECRET = "k" * 40


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No stray APTMAGIC_* variables and no .env file from the working folder."""
    import os

    for key in [k for k in os.environ if k.startswith("APTMAGIC_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_defaults(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d")
    assert settings.environment == "development"
    assert settings.port == 8000
    assert settings.host == "127.0.0.1"
    assert settings.listens_on_loopback
    assert settings.demo is False
    assert settings.max_attempts == 3
    assert settings.secret_key.get_secret_value() == DEV_SECRET


def test_default_database_is_a_sqlite_file_in_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir)
    url = make_url(settings.resolved_database_url)
    assert url.get_backend_name() == "sqlite"
    assert url.database is not None
    assert Path(url.database).parent == data_dir
    assert Path(url.database).suffix == ".db"
    assert settings.resolved_storage_dir == data_dir / "blobs"
    assert settings.resolved_models_dir == data_dir / "models"


def test_explicit_database_url_and_folders_win(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url="postgresql+psycopg://u:p@db/aptmagic",
        storage_dir=tmp_path / "s",
        models_dir=tmp_path / "m",
    )
    assert settings.resolved_database_url == "postgresql+psycopg://u:p@db/aptmagic"
    assert settings.resolved_storage_dir == tmp_path / "s"
    assert settings.resolved_models_dir == tmp_path / "m"


def test_default_data_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert Settings().data_dir == tmp_path / "xdg" / "aptmagic"


def test_env_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("APTMAGIC_PORT", "9123")
    monkeypatch.setenv("APTMAGIC_HOST", "0.0.0.0")
    monkeypatch.setenv("APTMAGIC_DATA_DIR", str(tmp_path / "envdata"))
    monkeypatch.setenv("APTMAGIC_DEMO", "true")
    monkeypatch.setenv("APTMAGIC_MAX_ATTEMPTS", "5")
    monkeypatch.setenv("PORT", "1")  # no prefix: ignored
    settings = Settings()
    assert settings.port == 9123
    assert settings.host == "0.0.0.0"
    assert not settings.listens_on_loopback
    assert settings.data_dir == tmp_path / "envdata"
    assert settings.demo is True
    assert settings.max_attempts == 5


def test_env_json_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APTMAGIC_DEFAULT_MODELS", json.dumps({"text-to-image": "tiny-sd"}))
    model = {"id": "my-model", "task": "text-to-image", "backend": "diffusers", "source": "/models/mine"}
    monkeypatch.setenv("APTMAGIC_MODELS", json.dumps([model]))
    settings = Settings()
    assert settings.default_models == {"text-to-image": "tiny-sd"}
    assert [m.id for m in settings.models] == ["my-model"]
    assert settings.models[0].source == "/models/mine"


def test_keyword_arguments_beat_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APTMAGIC_PORT", "9123")
    assert Settings(port=9000).port == 9000


def test_invalid_env_value_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APTMAGIC_PORT", "99999")
    with pytest.raises(ValidationError, match="port"):
        Settings()


def test_toml_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "aptmagic.toml"
    config.write_text(
        f"""
port = 8111
host = "127.0.0.2"
data_dir = "{(tmp_path / "tomldata").as_posix()}"
max_attempts = 7
demo = true

[default_models]
"text-to-image" = "tiny-sd"

[[models]]
id = "local-sd"
task = "text-to-image"
backend = "diffusers"
source = "/srv/models/local-sd"
limits = {{ max_width = 768 }}
"""
    )
    monkeypatch.setenv("APTMAGIC_CONFIG_FILE", str(config))
    settings = Settings()
    assert settings.port == 8111
    assert settings.host == "127.0.0.2"
    assert settings.data_dir == tmp_path / "tomldata"
    assert settings.max_attempts == 7
    assert settings.demo is True
    assert settings.default_models == {"text-to-image": "tiny-sd"}
    assert settings.models[0].id == "local-sd"
    assert settings.models[0].limits == {"max_width": 768}


def test_env_beats_toml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "aptmagic.toml"
    config.write_text("port = 8111\nmax_attempts = 7\n")
    monkeypatch.setenv("APTMAGIC_CONFIG_FILE", str(config))
    monkeypatch.setenv("APTMAGIC_PORT", "8222")
    settings = Settings()
    assert settings.port == 8222
    assert settings.max_attempts == 7


def test_dotenv_file_in_working_folder(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("APTMAGIC_PORT=8333\n")
    assert Settings().port == 8333


def test_missing_config_file_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    monkeypatch.setenv("APTMAGIC_CONFIG_FILE", str(missing))
    with pytest.raises(ValueError) as info:
        Settings()
    message = str(info.value)
    assert "APTMAGIC_CONFIG_FILE" in message
    assert str(missing) in message
    assert "not a file" in message


def test_config_file_that_is_a_folder_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("APTMAGIC_CONFIG_FILE", str(tmp_path))
    with pytest.raises(ValueError, match="APTMAGIC_CONFIG_FILE"):
        Settings()


def test_production_refuses_the_default_secret(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as info:
        Settings(environment="production", data_dir=tmp_path)
    assert "APTMAGIC_SECRET_KEY" in str(info.value)


@pytest.mark.parametrize("secret", ["", "short", DEV_SECRET])
def test_production_refuses_weak_secrets(tmp_path: Path, secret: str) -> None:
    with pytest.raises(ValidationError, match="APTMAGIC_SECRET_KEY"):
        Settings(environment="production", secret_key=secret, data_dir=tmp_path)


def test_production_refuses_demo(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as info:
        Settings(environment="production", secret_key=GOOD_SECRET, demo=True, data_dir=tmp_path)
    message = str(info.value)
    assert "demo" in message
    assert "APTMAGIC_SECRET_KEY" not in message


def test_production_names_every_problem(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as info:
        Settings(environment="production", demo=True, data_dir=tmp_path)
    assert "APTMAGIC_SECRET_KEY" in str(info.value)
    assert "demo" in str(info.value)


def test_good_production_config_is_accepted(tmp_path: Path) -> None:
    settings = Settings(environment="production", secret_key=GOOD_SECRET, data_dir=tmp_path)
    assert settings.environment == "production"
    assert settings.secret_key.get_secret_value() == GOOD_SECRET


def test_good_production_config_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("APTMAGIC_ENVIRONMENT", "production")
    monkeypatch.setenv("APTMAGIC_SECRET_KEY", GOOD_SECRET)
    monkeypatch.setenv("APTMAGIC_DATA_DIR", str(tmp_path))
    settings = Settings()
    assert settings.environment == "production"


def test_unsafe_settings_are_fine_outside_production(tmp_path: Path) -> None:
    for environment in ("development", "test"):
        settings = Settings(environment=environment, demo=True, data_dir=tmp_path)
        assert settings.demo


def test_unknown_environment_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="environment"):
        Settings(environment="staging", data_dir=tmp_path)  # type: ignore[arg-type]


def test_secret_is_masked(tmp_path: Path) -> None:
    settings = Settings(secret_key=GOOD_SECRET, data_dir=tmp_path)
    assert GOOD_SECRET not in repr(settings)
    assert GOOD_SECRET not in str(settings.model_dump())
    public = settings.public_dict()
    assert "secret_key" not in public
    assert GOOD_SECRET not in json.dumps(public)
    assert public["port"] == 8000


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("0.0.0.0", False), ("example.org", False)],
)
def test_listens_on_loopback(tmp_path: Path, host: str, loopback: bool) -> None:
    assert Settings(host=host, data_dir=tmp_path).listens_on_loopback is loopback
