"""AUTOMATIC1111-compatible routes: thin wrappers over A1111Service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from aptmagic.api.deps import SessionDep
from aptmagic.auth.deps import PrincipalDep
from aptmagic.compat.a1111.schemas import (
    ImageResponse,
    Img2ImgRequest,
    InterrogateRequest,
    InterrogateResponse,
    ProgressResponse,
    SDModel,
    Txt2ImgRequest,
)
from aptmagic.compat.a1111.service import A1111Service
from aptmagic.compat.deps import CompatJobsDep
from aptmagic.compat.ratelimit import limit_rate
from aptmagic.jobs.deps import JobServiceDep, ModelRegistryDep

ERROR = {"description": "A1111 error shape: {detail} (422) or {error, detail, body, errors}"}


def get_a1111(jobs: CompatJobsDep, registry: ModelRegistryDep, job_service: JobServiceDep) -> A1111Service:
    return A1111Service(jobs, registry, job_service)


A1111Dep = Annotated[A1111Service, Depends(get_a1111)]

router = APIRouter(tags=["a1111-compatible"], dependencies=[Depends(limit_rate)],
                   responses={401: ERROR, 404: ERROR, 422: ERROR, 429: ERROR})  # fmt: skip


@router.post("/txt2img", response_model=ImageResponse)
async def txt2img(body: Txt2ImgRequest, a1111: A1111Dep, principal: PrincipalDep, request: Request) -> ImageResponse:
    """Text to image; waits for the job. ``images`` are base64 PNGs, ``info`` a JSON string."""
    return await a1111.txt2img(principal, body, request)


@router.post("/img2img", response_model=ImageResponse)
async def img2img(body: Img2ImgRequest, a1111: A1111Dep, principal: PrincipalDep, request: Request) -> ImageResponse:
    """Image to image from the first of ``init_images`` (base64)."""
    return await a1111.img2img(principal, body, request)


@router.post("/interrogate", response_model=InterrogateResponse)
async def interrogate(
    body: InterrogateRequest, a1111: A1111Dep, principal: PrincipalDep, request: Request
) -> InterrogateResponse:
    """Caption a base64 image (``model``: clip, deepdanbooru or a caption model id)."""
    return await a1111.interrogate(principal, body, request)


@router.get("/progress", response_model=ProgressResponse)
def progress(
    a1111: A1111Dep, principal: PrincipalDep, session: SessionDep, skip_current_image: bool = False
) -> ProgressResponse:
    """Your running job's progress; ``current_image`` is always null."""
    return a1111.progress(session, principal)


@router.get("/sd-models", response_model=list[SDModel])
def sd_models(a1111: A1111Dep, _principal: PrincipalDep) -> list[SDModel]:
    return a1111.sd_models()


@router.get("/options")
def options(a1111: A1111Dep, _principal: PrincipalDep) -> dict[str, Any]:
    """Read-only: the default checkpoint and output format."""
    return a1111.options()
