"""HTTP routes for uploads: a multipart POST, or a presigned PUT of the raw bytes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from aptmagic.api.deps import SettingsDep, StoreDep
from aptmagic.auth.deps import PrincipalDep
from aptmagic.kit.errors import ErrorResponse
from aptmagic.uploads.deps import UploadServiceDep
from aptmagic.uploads.direct import complete_direct, direct_store, presign_direct
from aptmagic.uploads.errors import TypeMismatch
from aptmagic.uploads.receive import read_body, read_multipart_file
from aptmagic.uploads.schemas import PresignCreate, PresignRead, UploadRead
from aptmagic.uploads.sniff import UNDECLARED, by_content_type, normalise_content_type

PRESIGNED_PATH = "/api/v1/uploads/presigned/"


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


REFUSALS: dict[int | str, dict[str, Any]] = {
    400: _error("Malformed body"),
    413: _error("Over the byte limit, or an image over the pixel limit"),
    415: _error("Not an allowed type, or the declared type disagrees with the bytes"),
    422: _error("Empty, truncated or corrupt, too long, no usable stream, or refused by the virus scanner"),
    503: _error("The virus scanner cannot be reached; try again after Retry-After seconds"),
}
MULTIPART_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


router = APIRouter(prefix="/uploads", tags=["uploads"])


@router.post("", status_code=201, response_model=UploadRead, responses=REFUSALS, openapi_extra=MULTIPART_BODY)
async def upload(
    request: Request, uploads: UploadServiceDep, settings: SettingsDep, response: Response, principal: PrincipalDep
) -> UploadRead:
    """Upload one image (PNG, JPEG, WebP), audio (WAV, MP3, M4A, OGG, FLAC) or video
    (MP4, WebM, MOV) file in the multipart field ``file``. The type is told from the
    bytes; images are re-encoded without metadata. The upload is kept for
    ``upload_ttl_seconds`` unless a job uses it as its ``source``."""
    received = await read_multipart_file(request, settings.upload_max_bytes)
    asset = await run_in_threadpool(
        uploads.accept, received.data, received.content_type, received.filename, None, principal.user_id
    )
    response.headers["Location"] = f"/api/v1/assets/{asset.id}"
    return UploadRead.of(asset)


@router.post(
    "/presign", status_code=201, response_model=PresignRead, responses={413: REFUSALS[413], 415: REFUSALS[415]}
)
def presign(
    body: PresignCreate, uploads: UploadServiceDep, store: StoreDep, settings: SettingsDep, principal: PrincipalDep
) -> PresignRead:
    """A signed URL to PUT one file to, valid for ``presign_ttl_seconds`` and usable once.
    The PUT needs no other credential: the URL is one, and the upload is yours."""
    token, grant = uploads.presign(body.content_type, body.size, body.filename, principal.user_id)
    direct = direct_store(store, settings.s3_direct_uploads)
    if direct is not None:  # straight to S3, then POST complete_url to have it checked and kept
        url, headers = presign_direct(direct, grant, settings.presign_ttl_seconds)
        return PresignRead(
            upload_id=grant.upload_id, url=url, headers=headers, max_bytes=grant.size, expires_at=grant.expires_at,
            complete_url=PRESIGNED_PATH + token + "/complete",
        )  # fmt: skip
    return PresignRead(
        upload_id=grant.upload_id,
        url=PRESIGNED_PATH + token,
        headers={"Content-Type": grant.content_type},
        max_bytes=grant.size,
        expires_at=grant.expires_at,
    )


@router.post(
    "/presigned/{token}/complete",
    status_code=201,
    response_model=UploadRead,
    responses={
        **REFUSALS,
        403: _error("The token is expired or its signature does not match"),
        409: _error("Already completed, or nothing was uploaded to the URL yet"),
    },
)
def complete_presigned(token: str, uploads: UploadServiceDep, response: Response) -> UploadRead:
    """After a PUT straight to the store (when /presign gave a ``complete_url``): check the
    file like any upload and keep it. The token is the credential, as for the PUT."""
    grant = uploads.verify(token)
    asset = complete_direct(uploads, grant)
    response.headers["Location"] = f"/api/v1/assets/{asset.id}"
    return UploadRead.of(asset)


@router.put(
    "/presigned/{token}",
    status_code=201,
    response_model=UploadRead,
    responses={
        **REFUSALS,
        403: _error("The URL is expired or its signature does not match"),
        409: _error("The URL was already used"),
    },
    openapi_extra={"requestBody": {"required": True, "content": {"application/octet-stream": {}}}},
)
async def put_presigned(token: str, request: Request, uploads: UploadServiceDep, response: Response) -> UploadRead:
    """The raw bytes of the file, at most the size given to /presign. Checked like a POST upload."""
    grant = uploads.verify(token)
    await run_in_threadpool(uploads.check_unused, grant.upload_id)
    _check_declared_type(request.headers.get("content-type"), grant.content_type)
    data = await read_body(request, grant.size)
    asset = await run_in_threadpool(
        uploads.accept, data, grant.content_type, grant.filename, grant.upload_id, grant.owner_id
    )
    response.headers["Location"] = f"/api/v1/assets/{asset.id}"
    return UploadRead.of(asset)


def _check_declared_type(header: str | None, signed: str) -> None:
    sent = normalise_content_type(header)
    if sent not in UNDECLARED and by_content_type(sent) is not by_content_type(signed):
        raise TypeMismatch(
            f"this URL was signed for {signed}, not {sent}", details={"declared": sent, "signed": signed}
        )
