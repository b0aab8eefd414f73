"""The manifest: what a backup holds, with a checksum per file. It is written last."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from aptmagic.storage.base import InvalidKey, check_key

FORMAT_VERSION = 1
DATABASE = "aptmagic.db"
BLOBS = "blobs/"
SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BackupFile(BaseModel):
    path: str = Field(description="'aptmagic.db' or 'blobs/<blob key>', relative to the backup.")
    size: int = Field(ge=0)
    sha256: str

    @field_validator("sha256")
    @classmethod
    def _hex(cls, value: str) -> str:
        if not SHA256.fullmatch(value):
            raise ValueError("not a sha256 hex digest")
        return value

    @field_validator("path")
    @classmethod
    def _inside(cls, value: str) -> str:
        if value == DATABASE:
            return value
        try:
            check_key(value.removeprefix(BLOBS))
        except InvalidKey:
            raise ValueError(f"{value!r} is neither {DATABASE} nor blobs/<key>") from None
        if not value.startswith(BLOBS):
            raise ValueError(f"{value!r} is neither {DATABASE} nor blobs/<key>")
        return value


class Manifest(BaseModel):
    format: Literal["aptmagic-backup"] = "aptmagic-backup"
    format_version: int = Field(FORMAT_VERSION, ge=1)
    aptmagic_version: str
    alembic_revision: str = Field(description="The database's migration revision.")
    created_at: datetime
    files: list[BackupFile]
    missing_blobs: list[str] = Field(
        default_factory=list,
        description="Keys named by asset rows whose blob was already missing from the live store.",
    )

    @model_validator(mode="after")
    def _one_database_no_duplicates(self) -> Manifest:
        paths = [entry.path for entry in self.files]
        if paths.count(DATABASE) != 1:
            raise ValueError(f"the file list must name {DATABASE} once")
        if len(set(paths)) != len(paths):
            raise ValueError("the file list names a file twice")
        return self

    @property
    def blob_count(self) -> int:
        return len(self.files) - 1

    @property
    def total_bytes(self) -> int:
        return sum(entry.size for entry in self.files)
