"""The one place where aptmagic reads its configuration.

Values come, highest priority first, from keyword arguments, ``APTMAGIC_*``
environment variables, a ``.env`` file, and an optional TOML file named by
``APTMAGIC_CONFIG_FILE``.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from aptmagic.inference.spec import ModelSpec

Environment = Literal["development", "test", "production"]
DEV_SECRET = "dev-insecure-secret-change-me"


def _default_data_dir() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "aptmagic"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="APTMAGIC_",
        env_file=".env",
        env_nested_delimiter="__",
        extra="ignore",
    )

    environment: Environment = Field(
        "development", description="development, test or production. Production refuses unsafe settings."
    )
    data_dir: Path = Field(default_factory=_default_data_dir, description="Folder for the database, blobs and models.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL. Default: a SQLite file (WAL mode) in data_dir."
    )
    storage_backend: Literal["local"] = Field("local", description="Blob store backend.")
    storage_dir: Path | None = Field(None, description="Folder of the local blob store. Default: data_dir/blobs.")
    queue_backend: Literal["inprocess"] = Field("inprocess", description="Job queue backend.")
    worker_concurrency: int = Field(1, ge=0, le=64, description="In-process worker threads (0: submit only).")
    host: str = Field("127.0.0.1", description="Address the server listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the server listens on.")
    secret_key: SecretStr = Field(SecretStr(DEV_SECRET), description="Key for signing; must be set in production.")
    auto_migrate: bool = Field(True, description="Apply database migrations when the app starts.")
    demo: bool = Field(False, description="Use the tiny offline models as the defaults (no downloads).")
    models_dir: Path | None = Field(None, description="Where built-in tiny models are built. Default: data_dir/models.")
    models: list[ModelSpec] = Field(
        default_factory=list, description="Extra model registry entries; an entry with a built-in id replaces it."
    )
    default_models: dict[str, str] = Field(
        default_factory=dict, description="Default model id per task, e.g. {'text-to-image': 'sd-turbo'}."
    )
    model_cache_bytes: int = Field(
        12 * 1024**3, ge=0, description="Memory budget for warm models; least recently used are unloaded first."
    )
    max_attempts: int = Field(3, ge=1, le=20, description="Attempts per job before it is failed.")
    retry_base_seconds: float = Field(1.0, ge=0, description="First retry delay; doubles per attempt.")
    retry_max_seconds: float = Field(60.0, ge=0, description="Upper bound of the retry delay.")
    progress_write_interval: float = Field(
        0.25, ge=0, description="Least seconds between progress writes to the job row (events go out every step)."
    )
    shutdown_timeout: float = Field(30.0, ge=0, description="Seconds to wait for running jobs at shutdown.")
    log_level: str = Field("INFO", description="Logging level.")
    upload_max_bytes: int = Field(50 * 1024**2, ge=1, description="Largest upload in bytes; larger ones get 413.")
    upload_max_pixels: int = Field(
        40_000_000,
        ge=1,
        le=89_478_485,
        description="Most pixels (width x height) of an uploaded image or video frame, read from the header "
        "before decoding; at most Pillow's decompression-bomb limit (89,478,485).",
    )
    upload_max_media_seconds: float = Field(600.0, gt=0, description="Longest audio or video upload, in seconds.")
    upload_probe_timeout_seconds: float = Field(
        10.0, gt=0, description="Time allowed to check one audio or video upload before it is refused."
    )
    upload_ttl_seconds: float = Field(
        24 * 3600.0, gt=0, description="Seconds an upload is kept unless a job uses it (then it lives with the job)."
    )
    upload_sweep_interval_seconds: float = Field(
        300.0, gt=0, description="Seconds between sweeps that delete expired uploads."
    )
    presign_ttl_seconds: int = Field(900, ge=1, le=7 * 24 * 3600, description="Lifetime of a presigned upload URL.")
    clamav_socket: str | None = Field(
        None,
        description="clamd address (a unix socket path or host:port); every upload is scanned with it. "
        "Unset: uploads are not virus-scanned.",
    )
    clamav_timeout_seconds: float = Field(30.0, gt=0, description="Seconds to wait for clamd.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings]
        config_file = os.environ.get("APTMAGIC_CONFIG_FILE")
        if config_file:
            if not Path(config_file).is_file():
                raise ValueError(f"APTMAGIC_CONFIG_FILE={config_file!r} is not a file")
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        sources.append(file_secret_settings)
        return tuple(sources)

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Settings:
        if self.environment != "production":
            return self
        problems = []
        if self.secret_key.get_secret_value() in ("", DEV_SECRET) or len(self.secret_key.get_secret_value()) < 32:
            problems.append("APTMAGIC_SECRET_KEY must be set to a random value of at least 32 characters")
        if self.demo:
            problems.append("demo mode (random-weight models) is not for production")
        if problems:
            raise ValueError("unsafe settings for production: " + "; ".join(problems))
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'aptmagic.db'}"

    @property
    def resolved_storage_dir(self) -> Path:
        return self.storage_dir or self.data_dir / "blobs"

    @property
    def resolved_models_dir(self) -> Path:
        return self.models_dir or self.data_dir / "models"

    @property
    def listens_on_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def public_dict(self) -> dict[str, Any]:
        """Settings with secrets masked, for logs and the admin view."""
        return self.model_dump(mode="json", exclude={"secret_key"})
