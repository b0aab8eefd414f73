"""Multipart form bodies of the compat routes (OpenAI's edits, variations and transcriptions).

Starlette parses the form; the whole body is already bounded by the request
body limit. Fields are validated with a pydantic model, so a wrong type is a
field-level error like any JSON body's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from aptmagic.compat.errors import BadRequest
from aptmagic.kit.errors import InvalidRequest

MAX_FORM_FILES = 4
MAX_FORM_FIELDS = 50
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class FormFile:
    data: bytes
    filename: str | None
    content_type: str | None


@dataclass
class FormInput:
    files: dict[str, FormFile]
    fields: dict[str, str]

    def file(self, *names: str) -> FormFile:
        """The first file sent under any of ``names`` (``image`` or ``image[]``)."""
        for name in names:
            if name in self.files:
                return self.files[name]
        raise InvalidRequest.field(
            ["body", names[0]], f"Field required; send the file as multipart field '{names[0]}'", "missing"
        )

    def validate(self, model: type[ModelT]) -> ModelT:
        try:
            return model.model_validate(self.fields)
        except ValidationError as exc:
            details = [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
            where = ".".join(str(p) for p in details[0]["loc"][1:]) or "body"
            raise InvalidRequest(f"{where}: {details[0]['msg']}", details=details) from None


async def read_form(request: Request) -> FormInput:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise BadRequest("send this request as multipart/form-data")
    form = await request.form(max_files=MAX_FORM_FILES, max_fields=MAX_FORM_FIELDS)
    files: dict[str, FormFile] = {}
    fields: dict[str, Any] = {}
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            if name not in files:
                files[name] = FormFile(await value.read(), value.filename, value.content_type)
            await value.close()
        elif name not in fields:
            fields[name] = value
    return FormInput(files, fields)
