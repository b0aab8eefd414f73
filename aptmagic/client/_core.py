"""What the sync and async clients share: configuration, errors, files, SSE parsing."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

from aptmagic.client.errors import APIConnectionError, APIError, AptmagicError, JobFailedError, error_from_response
from aptmagic.client.types import Event, Job, Progress

DEFAULT_SERVER = "http://127.0.0.1:8000"
API = "/api/v1"
CHAT = "/v1/chat/completions"  # streams from the job's first token: it subscribes before the job can start
FileInput = str | os.PathLike[str] | bytes | IO[bytes]
ProgressCallback = Callable[[Progress], None]
EventCallback = Callable[[Event], None]


@dataclass(frozen=True)
class ClientConfig:
    server: str
    api_key: str | None
    timeout: float

    @classmethod
    def resolve(cls, server: str | None, api_key: str | None, timeout: float) -> ClientConfig:
        """Arguments first, then APTMAGIC_SERVER / APTMAGIC_API_KEY, then the local default."""
        server = (server or os.environ.get("APTMAGIC_SERVER") or DEFAULT_SERVER).rstrip("/")
        if not server.startswith(("http://", "https://")):
            raise AptmagicError(f"the server must be an http:// or https:// URL, not {server!r}")
        key = api_key if api_key is not None else os.environ.get("APTMAGIC_API_KEY")
        return cls(server, key or None, timeout)

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "aptmagic-client"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def stream_timeout(self) -> httpx.Timeout:
        # The server pings every 15 seconds: a read that waits longer than this means a dead connection.
        return httpx.Timeout(self.timeout, read=max(self.timeout, 60.0))


def checked(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 400:
        raise error_from_response(response)
    return response


@contextmanager
def connection_errors(server: str) -> Iterator[None]:
    try:
        yield
    except httpx.TimeoutException as exc:
        raise APIConnectionError(f"{server} did not answer in time ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise APIConnectionError(f"cannot reach {server}: {exc}") from exc


def file_part(file: FileInput, filename: str | None, content_type: str | None) -> tuple[str, bytes, str]:
    """``(name, bytes, content type)`` for a multipart upload of a path, bytes or a binary file."""
    if isinstance(file, (str, os.PathLike)):
        path = Path(file)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise AptmagicError(f"cannot read {path}: {exc.strerror or exc}") from None
        name = filename or path.name
    elif isinstance(file, bytes):
        data, name = file, filename or "upload"
    else:
        data = file.read()
        name = filename or Path(getattr(file, "name", "upload")).name
    # No type guessed from the name: the server tells the type from the bytes.
    return name, data, content_type or "application/octet-stream"


def job_body(task: str, params: dict[str, Any], model: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"task": task, "params": {k: v for k, v in params.items() if v is not None}}
    if model:
        body["model"] = model
    return body


class SSEDecoder:
    """Turns the lines of a text/event-stream into events (comments are pings)."""

    def __init__(self) -> None:
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, line: str) -> Event | None:
        if line == "":
            return self._flush()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return None

    def _flush(self) -> Event | None:
        if self._event is None and not self._data:
            return None
        text = "\n".join(self._data)
        event = Event(self._event or "message", _json_or_text(text))
        self._event, self._data = None, []
        return event

    def close(self) -> Event | None:
        return self._flush()


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def notify(event: Event, on_progress: ProgressCallback | None, on_event: EventCallback | None) -> Job | None:
    """Call the callbacks for one event; the job when this event ends it."""
    if on_event is not None:
        on_event(event)
    job = event.job
    progress = event.progress or (job.progress if job is not None else None)
    if on_progress is not None and progress is not None:
        on_progress(progress)
    return job if job is not None and job.done else None


def chat_body(messages: list[dict[str, str]], model: str | None, params: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": messages, "stream": True, **{k: v for k, v in params.items() if v is not None}}
    if model:
        body["model"] = model
    return body


def chat_piece(event: Event) -> str | None:
    """The text of one ``chat.completion.chunk``; raises the error a stream may end with."""
    data = event.data
    if not isinstance(data, dict):
        return None
    error = data.get("error")
    if isinstance(error, dict):
        raise APIError(
            str(error.get("message") or "the answer failed"), status_code=0, code=str(error.get("code") or "error")
        )
    choices = data.get("choices") or []
    delta = choices[0].get("delta") if choices and isinstance(choices[0], dict) else None
    content = delta.get("content") if isinstance(delta, dict) else None
    return content if isinstance(content, str) and content else None


def finished(job: Job, raise_on_failure: bool) -> Job:
    if raise_on_failure and job.status != "succeeded":
        raise JobFailedError(job)
    return job
