"""Moderation payloads: reports and hide requests."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from aptmagic.moderation.models import ReasonCode, ReportStatus
from aptmagic.social.schemas import PostRead, UserRef, _no_control

Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), AfterValidator(_no_control)]


class ReportCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: ReasonCode
    note: Note = ""


class ReportRead(BaseModel):
    id: str
    post: PostRead
    reporter: UserRef
    reason: ReasonCode
    note: str
    status: ReportStatus
    created_at: datetime


class ReportPage(BaseModel):
    items: list[ReportRead]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at the end.")


class HideBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason_code: ReasonCode = Field(description="Shown to the author.")
    note: Note = Field("", description="For the audit log; not shown to the author.")
