"""OpenAI-compatible routes: thin wrappers over OpenAIService."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sse_starlette.sse import EventSourceResponse

from aptmagic.api.deps import SettingsDep
from aptmagic.auth.deps import PrincipalDep
from aptmagic.compat.deps import CompatJobsDep
from aptmagic.compat.errors import Forbidden
from aptmagic.compat.forms import read_form
from aptmagic.compat.links import LinkSigner
from aptmagic.compat.openai.schemas import (
    ChatCompletion,
    ChatCompletionRequest,
    ImageGenerationRequest,
    ImagesResponse,
    ModelCard,
    ModelList,
)
from aptmagic.compat.openai.service import OpenAIService
from aptmagic.compat.ratelimit import limit_rate
from aptmagic.jobs.deps import ModelRegistryDep
from aptmagic.kit.errors import NotFound

ERROR = {"description": "OpenAI error shape: {error: {message, type, param, code}}"}
ERRORS: dict[int | str, dict[str, Any]] = {400: ERROR, 401: ERROR, 404: ERROR, 429: ERROR}
LINK_CACHE = "private, max-age=3600"


def _multipart(*fields: tuple[str, str]) -> dict[str, Any]:
    properties = {
        name: {"type": "string", "format": kind} if kind == "binary" else {"type": kind} for name, kind in fields
    }
    schema = {"type": "object", "required": [fields[0][0]], "properties": properties}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


IMAGE_FORM = _multipart(("image", "binary"), ("prompt", "string"), ("n", "integer"), ("size", "string"),
                        ("response_format", "string"), ("model", "string"))  # fmt: skip
AUDIO_FORM = _multipart(("file", "binary"), ("model", "string"), ("language", "string"), ("response_format", "string"))


def get_openai(jobs: CompatJobsDep, registry: ModelRegistryDep, settings: SettingsDep) -> OpenAIService:
    return OpenAIService(jobs, registry, LinkSigner(settings.secret_key.get_secret_value()))


OpenAIDep = Annotated[OpenAIService, Depends(get_openai)]

router = APIRouter(tags=["openai-compatible"], dependencies=[Depends(limit_rate)], responses=ERRORS)


@router.get("/models", response_model=ModelList)
def list_models(openai: OpenAIDep, _principal: PrincipalDep) -> ModelList:
    """Every model in the registry."""
    return openai.models()


@router.get("/models/{model_id}", response_model=ModelCard)
def get_model(model_id: str, openai: OpenAIDep, _principal: PrincipalDep) -> ModelCard:
    return openai.model(model_id)


@router.post("/images/generations", response_model=ImagesResponse)
async def create_images(
    body: ImageGenerationRequest, openai: OpenAIDep, principal: PrincipalDep, request: Request
) -> ImagesResponse:
    """Text to image; waits for the job. ``url`` answers a signed link valid for an hour."""
    return await openai.generate(principal, body, request)


@router.post("/images/edits", response_model=ImagesResponse, openapi_extra=IMAGE_FORM)
async def edit_images(openai: OpenAIDep, principal: PrincipalDep, request: Request) -> ImagesResponse:
    """Image to image with a prompt (multipart: ``image``, ``prompt``, ``n``...)."""
    return await openai.edit(principal, await read_form(request), request, variation=False)


@router.post("/images/variations", response_model=ImagesResponse, openapi_extra=IMAGE_FORM)
async def image_variations(openai: OpenAIDep, principal: PrincipalDep, request: Request) -> ImagesResponse:
    """Variations of an image (multipart: ``image``, ``n``...)."""
    return await openai.edit(principal, await read_form(request), request, variation=True)


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={200: {"content": {"text/event-stream": {}}, "description": "JSON, or chunks with stream: true"}},
)
async def chat_completions(
    body: ChatCompletionRequest, openai: OpenAIDep, principal: PrincipalDep, request: Request
) -> Any:
    """Chat; with ``stream: true`` the answer comes as ``chat.completion.chunk`` events, then ``[DONE]``."""
    if not body.stream:
        return await openai.chat(principal, body, request)
    submitted = await openai.start_chat(principal, body)
    return EventSourceResponse(openai.chat_chunks(submitted, principal, body, request), ping=15)


@router.post(
    "/audio/transcriptions",
    openapi_extra=AUDIO_FORM,
    responses={200: {"content": {"application/json": {}, "text/plain": {}}, "description": "The transcript"}},
)
async def transcriptions(openai: OpenAIDep, principal: PrincipalDep, request: Request) -> Response:
    """Speech to text (multipart: ``file``, ``model``, ``language``, ``response_format``)."""
    transcript, response_format = await openai.transcribe(principal, await read_form(request), request)
    if isinstance(transcript, str):
        return PlainTextResponse(transcript, media_type="text/vtt" if response_format == "vtt" else "text/plain")
    return JSONResponse(transcript.model_dump())


@router.get(
    "/files/signed/{token}", responses={200: {"content": {"image/png": {}}, "description": "The file"}, 403: ERROR}
)
async def signed_file(token: str, openai: OpenAIDep) -> Response:
    """A generated file behind a signed, expiring link (no API key needed: the link is the credential)."""
    grant = openai.signer.verify(token)
    try:
        data, content_type = await run_in_threadpool(openai.jobs.read_asset, grant.asset_id, None)
    except NotFound:
        raise Forbidden("this download link is not valid") from None
    return Response(data, media_type=content_type, headers={"Cache-Control": LINK_CACHE})
