"""The asynchronous client: the same methods as ``Client``, awaited."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
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


class AsyncClient:
    """``AsyncClient(server, api_key)``; both default to APTMAGIC_SERVER and APTMAGIC_API_KEY.

    >>> async with AsyncClient() as client:
    ...     job = await client.generate("a lighthouse at dawn", on_progress=print)
    """

    def __init__(self, server: str | None = None, api_key: str | None = None, *, timeout: float = 30.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:  # fmt: skip
        self.config = ClientConfig.resolve(server, api_key, timeout)
        self._http = httpx.AsyncClient(
            base_url=self.config.server, headers=self.config.headers(), timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with connection_errors(self.config.server):
            return checked(await self._http.request(method, path, **kwargs))

    # jobs

    async def models(self) -> list[Model]:
        return [Model.from_json(item) for item in (await self._request("GET", f"{API}/models")).json()]

    async def submit(self, task: str, params: dict[str, Any] | None = None, *, model: str | None = None) -> Job:
        response = await self._request("POST", f"{API}/jobs", json=job_body(task, params or {}, model))
        return Job.from_json(response.json())

    async def get(self, job_id: str) -> Job:
        return Job.from_json((await self._request("GET", f"{API}/jobs/{job_id}")).json())

    async def cancel(self, job_id: str) -> Job:
        return Job.from_json((await self._request("POST", f"{API}/jobs/{job_id}/cancel")).json())

    def events(self, job_id: str) -> AsyncIterator[Event]:
        """The job's server-sent events until it ends: ``job`` first and last, ``progress``, ``token``..."""
        return self._stream("GET", f"{API}/jobs/{job_id}/events")

    async def _stream(self, method: str, path: str, **kwargs: Any) -> AsyncIterator[Event]:
        decoder = SSEDecoder()
        with connection_errors(self.config.server):
            async with self._http.stream(method, path, timeout=self.config.stream_timeout(), **kwargs) as response:
                if response.status_code >= 400:
                    await response.aread()
                    checked(response)
                async for line in response.aiter_lines():
                    event = decoder.feed(line)
                    if event is not None:
                        yield event
        last = decoder.close()
        if last is not None:
            yield last

    async def wait(self, job: Job | str, *, timeout: float = 600.0, on_progress: ProgressCallback | None = None,
                   on_event: EventCallback | None = None, raise_on_failure: bool = True) -> Job:  # fmt: skip
        job_id = job if isinstance(job, str) else job.id
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                    async for event in self.events(job_id):
                        ended = notify(event, on_progress, on_event)
                        if ended is not None:
                            return finished(ended, raise_on_failure)
            except APIConnectionError:
                await asyncio.sleep(0.5)
            except TimeoutError:
                break
            current = await self.get(job_id)
            if current.done:
                return finished(current, raise_on_failure)
        raise JobTimeoutError(f"job {job_id} did not end within {timeout:g} seconds")

    async def run(self, task: str, params: dict[str, Any] | None = None, *, model: str | None = None,
                  on_progress: ProgressCallback | None = None, timeout: float = 600.0) -> Job:  # fmt: skip
        job = await self.submit(task, params, model=model)
        return await self.wait(job, timeout=timeout, on_progress=on_progress)

    async def result(self, job_id: str, format: str = "txt") -> str:
        return (await self._request("GET", f"{API}/jobs/{job_id}/result", params={"format": format})).text

    # files

    async def upload(self, file: FileInput, *, filename: str | None = None, content_type: str | None = None) -> Upload:
        part = file_part(file, filename, content_type)
        return Upload.from_json((await self._request("POST", f"{API}/uploads", files={"file": part})).json())

    async def download(self, asset: JobOutput | str, path: str | Path | None = None) -> bytes:
        asset_id = asset if isinstance(asset, str) else asset.asset_id
        data = (await self._request("GET", f"{API}/assets/{asset_id}")).content
        if path is not None:
            Path(path).write_bytes(data)
        return data

    # tasks

    async def generate(self, prompt: str, *, model: str | None = None, on_progress: ProgressCallback | None = None,
                       **params: Any) -> Job:  # fmt: skip
        return await self.run("text-to-image", {"prompt": prompt, **params}, model=model, on_progress=on_progress)

    async def vary(self, image: FileInput, *, model: str | None = None, on_progress: ProgressCallback | None = None,
                   **params: Any) -> Job:  # fmt: skip
        source = (await self.upload(image)).id
        return await self.run("image-to-image", {"source": source, **params}, model=model, on_progress=on_progress)

    async def caption(self, file: FileInput, *, model: str | None = None, **params: Any) -> Job:
        source = (await self.upload(file)).id
        return await self.run("caption", {"source": source, **params}, model=model)

    async def transcribe(self, file: FileInput, *, model: str | None = None, on_progress: ProgressCallback | None = None,
                         **params: Any) -> Job:  # fmt: skip
        source = (await self.upload(file)).id
        return await self.run("transcribe", {"source": source, **params}, model=model, on_progress=on_progress)

    async def chat(
        self, messages: list[dict[str, str]], *, model: str | None = None, **params: Any
    ) -> AsyncIterator[str]:
        async for event in self._stream("POST", CHAT, json=chat_body(messages, model, params)):
            piece = chat_piece(event) if event.data != "[DONE]" else None
            if piece:
                yield piece
