"""The synchronous client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

import httpx

from aptmagic.client._core import (
    API,
    CHAT,
    ClientConfig,
    EventCallback,
    FileInput,
    ProgressCallback,
    SSEDecoder,
    chat_body,
    chat_piece,
    checked,
    connection_errors,
    file_part,
    finished,
    job_body,
    notify,
)
from aptmagic.client.errors import APIConnectionError, JobTimeoutError
from aptmagic.client.types import Event, Job, JobOutput, Model, Upload


class Client:
    """``Client(server, api_key)``; both default to APTMAGIC_SERVER and APTMAGIC_API_KEY.

    >>> with Client("http://127.0.0.1:8000", "amk_...") as client:
    ...     job = client.generate("a lighthouse at dawn", seed=42)
    ...     client.download(job.outputs[0], "lighthouse.png")
    """

    def __init__(self, server: str | None = None, api_key: str | None = None, *, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None) -> None:  # fmt: skip
        self.config = ClientConfig.resolve(server, api_key, timeout)
        self._http = httpx.Client(
            base_url=self.config.server, headers=self.config.headers(), timeout=timeout, transport=transport
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with connection_errors(self.config.server):
            return checked(self._http.request(method, path, **kwargs))

    # jobs

    def models(self) -> list[Model]:
        return [Model.from_json(item) for item in self._request("GET", f"{API}/models").json()]

    def submit(self, task: str, params: dict[str, Any] | None = None, *, model: str | None = None) -> Job:
        """Queue a job; it may already be succeeded (a result-cache hit)."""
        return Job.from_json(self._request("POST", f"{API}/jobs", json=job_body(task, params or {}, model)).json())

    def get(self, job_id: str) -> Job:
        return Job.from_json(self._request("GET", f"{API}/jobs/{job_id}").json())

    def cancel(self, job_id: str) -> Job:
        return Job.from_json(self._request("POST", f"{API}/jobs/{job_id}/cancel").json())

    def events(self, job_id: str) -> Iterator[Event]:
        """The job's server-sent events until it ends: ``job`` first and last, ``progress``, ``token``..."""
        return self._stream("GET", f"{API}/jobs/{job_id}/events")

    def _stream(self, method: str, path: str, **kwargs: Any) -> Iterator[Event]:
        decoder = SSEDecoder()
        timeout = self.config.stream_timeout()
        with (
            connection_errors(self.config.server),
            self._http.stream(method, path, timeout=timeout, **kwargs) as response,
        ):
            if response.status_code >= 400:
                response.read()
                checked(response)
            for line in response.iter_lines():
                event = decoder.feed(line)
                if event is not None:
                    yield event
        last = decoder.close()
        if last is not None:
            yield last

    def wait(self, job: Job | str, *, timeout: float = 600.0, on_progress: ProgressCallback | None = None,
             on_event: EventCallback | None = None, raise_on_failure: bool = True) -> Job:  # fmt: skip
        """Follow the job to its end; raise ``JobFailedError`` if it failed or was canceled."""
        job_id = job if isinstance(job, str) else job.id
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                for event in self.events(job_id):
                    ended = notify(event, on_progress, on_event)
                    if ended is not None:
                        return finished(ended, raise_on_failure)
                    if time.monotonic() >= deadline:
                        break
            except APIConnectionError:
                time.sleep(0.5)  # the stream broke: read the job, then follow again
            current = self.get(job_id)
            if current.done:
                return finished(current, raise_on_failure)
        raise JobTimeoutError(f"job {job_id} did not end within {timeout:g} seconds")

    def run(self, task: str, params: dict[str, Any] | None = None, *, model: str | None = None,
            on_progress: ProgressCallback | None = None, timeout: float = 600.0) -> Job:  # fmt: skip
        """Submit and wait: the succeeded job."""
        return self.wait(self.submit(task, params, model=model), timeout=timeout, on_progress=on_progress)

    def result(self, job_id: str, format: str = "txt") -> str:
        """A text result as a file's content: txt, srt, vtt or json."""
        return self._request("GET", f"{API}/jobs/{job_id}/result", params={"format": format}).text

    # files

    def upload(self, file: FileInput, *, filename: str | None = None, content_type: str | None = None) -> Upload:
        """Upload a path, bytes or a binary file; the server checks it and keeps it for a day unless a job uses it."""
        part = file_part(file, filename, content_type)
        return Upload.from_json(self._request("POST", f"{API}/uploads", files={"file": part}).json())

    def download(self, asset: JobOutput | str, path: str | Path | None = None) -> bytes:
        """An asset's bytes; also written to ``path`` when given."""
        asset_id = asset if isinstance(asset, str) else asset.asset_id
        data = self._request("GET", f"{API}/assets/{asset_id}").content
        if path is not None:
            Path(path).write_bytes(data)
        return data

    # tasks

    def generate(self, prompt: str, *, model: str | None = None, on_progress: ProgressCallback | None = None,
                 **params: Any) -> Job:  # fmt: skip
        """Text to image: ``width``, ``height``, ``steps``, ``guidance``, ``seed``, ``num_images``, ``negative_prompt``."""
        return self.run("text-to-image", {"prompt": prompt, **params}, model=model, on_progress=on_progress)

    def vary(self, image: FileInput, *, model: str | None = None, on_progress: ProgressCallback | None = None,
             **params: Any) -> Job:  # fmt: skip
        """Variations of an image: ``prompt``, ``strength``, ``num_variations``, ``steps``, ``seed``."""
        source = self.upload(image).id
        return self.run("image-to-image", {"source": source, **params}, model=model, on_progress=on_progress)

    def caption(self, file: FileInput, *, model: str | None = None, **params: Any) -> Job:
        """Caption an image or video: ``tone``, ``length``."""
        return self.run("caption", {"source": self.upload(file).id, **params}, model=model)

    def transcribe(self, file: FileInput, *, model: str | None = None, on_progress: ProgressCallback | None = None,
                   **params: Any) -> Job:  # fmt: skip
        """Transcribe audio or video: ``language``, ``timestamps``."""
        return self.run("transcribe", {"source": self.upload(file).id, **params}, model=model, on_progress=on_progress)

    def chat(self, messages: list[dict[str, str]], *, model: str | None = None, **params: Any) -> Iterator[str]:
        """Stream an answer's pieces as they are generated: ``max_tokens``, ``temperature``, ``seed``, ``stop``."""
        yield from (piece for event in self._stream("POST", CHAT, json=chat_body(messages, model, params))
                    if event.data != "[DONE]" and (piece := chat_piece(event)))  # fmt: skip
