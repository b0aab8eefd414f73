"""``GET /ping`` and ``POST /invocations``, the SageMaker bring-your-own-container routes.

``Accept: application/jsonlines`` streams the run: one JSON object a line,
``{"type": "token"|"segment"|"progress", "data"}``, then ``{"type": "result",
"result"}`` or ``{"type": "error", "error"}``. A client that goes away cancels
the run at its next step."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse

from aptmagic.inference.base import JobCanceled
from aptmagic.serving.service import Invocation, InvocationError, ModelServer

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 64 * 1024 * 1024
DISCONNECT_POLL_SECONDS = 0.5
STREAM_TYPES = ("application/jsonlines", "application/x-ndjson")

router = APIRouter()


def get_server(request: Request) -> ModelServer:
    server: ModelServer = request.app.state.model_server
    return server


ServerDep = Annotated[ModelServer, Depends(get_server)]


@router.get("/ping")
def ping(server: ServerDep) -> Response:
    """200 once the model is loaded; 503 while it loads or after it failed to."""
    if server.ready.is_set():
        return JSONResponse({"status": "ready", "model": server.spec.id})
    status = "failed" if server.failure else "loading"
    return JSONResponse({"status": status, "model": server.spec.id}, status_code=503)


@router.post("/invocations")
async def invocations(request: Request, server: ServerDep) -> Response:
    try:
        invocation = server.parse(await _body(request))
        if not server.ready.is_set():
            raise InvocationError(503, "not_ready", f"model {server.spec.id!r} is not loaded yet", transient=True)
    except InvocationError as exc:
        return JSONResponse(exc.body(), status_code=exc.status)
    accept = request.headers.get("accept", "")
    if any(kind in accept for kind in STREAM_TYPES):
        return StreamingResponse(_stream(server, invocation), media_type="application/jsonlines")
    return await _answer(server, invocation, request)


async def _body(request: Request) -> bytes:
    declared = int(request.headers.get("content-length") or 0)
    if declared > MAX_BODY_BYTES:
        raise InvocationError(413, "too_large", f"the request is over {MAX_BODY_BYTES} bytes")
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > MAX_BODY_BYTES:
            raise InvocationError(413, "too_large", f"the request is over {MAX_BODY_BYTES} bytes")
    return bytes(body)


async def _answer(server: ModelServer, invocation: Invocation, request: Request) -> Response:
    canceled = threading.Event()
    watcher = asyncio.create_task(_watch_disconnect(request, canceled))
    try:
        answer = await run_in_threadpool(server.run, invocation, canceled=canceled)
    except InvocationError as exc:
        return JSONResponse(exc.body(), status_code=exc.status)
    except JobCanceled:
        return JSONResponse({"error": {"code": "canceled", "message": "the client went away"}}, status_code=499)
    except Exception as exc:
        log.exception("invocation failed", extra={"model": server.spec.id})
        error = InvocationError(500, "internal_error", f"{type(exc).__name__}: {exc}")
        return JSONResponse(error.body(), status_code=500)
    finally:
        watcher.cancel()
    return JSONResponse(answer)


async def _watch_disconnect(request: Request, canceled: threading.Event) -> None:
    while not canceled.is_set():
        if await request.is_disconnected():
            canceled.set()
            return
        await asyncio.sleep(DISCONNECT_POLL_SECONDS)


async def _stream(server: ModelServer, invocation: Invocation) -> AsyncIterator[bytes]:
    """Run in a worker thread; its events reach this generator through an asyncio queue."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    canceled = threading.Event()

    def send(item: dict[str, Any]) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, item)

    def work() -> None:
        try:
            answer = server.run(invocation, lambda kind, data: send({"type": kind, "data": data}), canceled)
            send({"type": "result", "result": answer})
        except InvocationError as exc:
            send({"type": "error", **exc.body()})
        except JobCanceled:
            send({"type": "error", "error": {"code": "canceled", "message": "canceled", "transient": False}})
        except Exception as exc:
            log.exception("invocation failed", extra={"model": server.spec.id})
            send({"type": "error", **InvocationError(500, "internal_error", f"{type(exc).__name__}: {exc}").body()})

    threading.Thread(target=work, name="invocation", daemon=True).start()
    try:
        while True:
            item = await queue.get()
            yield (json.dumps(item, separators=(",", ":")) + "\n").encode()
            if item["type"] in ("result", "error"):
                return
    finally:
        canceled.set()  # the client went away, or the run ended: either way nothing more is read
