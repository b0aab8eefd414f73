"""The request and job a log line belongs to, carried in context variables.

The request middleware binds ``request_id``; the job runner wrapper binds
``request_id`` (the one that submitted the job) and ``job_id`` for the length
of one attempt. ``JsonFormatter`` adds whatever is bound to every line."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-ID"
# What a client may send as its own request id; anything else is replaced by a fresh one.
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")

request_id_var: ContextVar[str | None] = ContextVar("aptmagic_request_id", default=None)
job_id_var: ContextVar[str | None] = ContextVar("aptmagic_job_id", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(sent: str | None) -> str:
    """The client's id when it is short and plain, else a new one."""
    if sent and REQUEST_ID_RE.fullmatch(sent):
        return sent
    return new_request_id()


def current_request_id() -> str | None:
    return request_id_var.get()


def bound() -> dict[str, str]:
    """The context fields to add to a log line."""
    fields = {}
    if (request_id := request_id_var.get()) is not None:
        fields["request_id"] = request_id
    if (job_id := job_id_var.get()) is not None:
        fields["job_id"] = job_id
    return fields


@contextmanager
def bind(*, request_id: str | None = None, job_id: str | None = None) -> Iterator[None]:
    request_token = request_id_var.set(request_id)
    job_token = job_id_var.set(job_id)
    try:
        yield
    finally:
        job_id_var.reset(job_token)
        request_id_var.reset(request_token)
