"""Serving stored files, their versions and presigned download URLs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from aptmagic.api.deps import SessionDep, SettingsDep
from aptmagic.assets.deps import AssetServiceDep
from aptmagic.assets.models import Asset
from aptmagic.assets.schemas import AssetUrl, VersionList, VersionRead, VersionRestored
from aptmagic.auth.deps import PrincipalDep
from aptmagic.kit.errors import ErrorResponse

IMMUTABLE = "private, max-age=31536000, immutable"  # private: only its owner may see it
REVALIDATE = "private, no-cache"  # a versioned store may restore other bytes: check the ETag each time
VERSION_ID = Path(min_length=1, max_length=1024, description="A version id from GET .../versions")


def _errors(**codes: str) -> dict[int | str, dict[str, Any]]:
    return {int(code[1:]): {"model": ErrorResponse, "description": text} for code, text in codes.items()}


STORAGE_DOWN = "The blob store cannot be reached; try again after Retry-After seconds"


router = APIRouter(prefix="/assets", tags=["assets"])


@router.get(
    "/{asset_id}",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"image/png": {}}, "description": "The file"},
        304: {"description": "Not modified (If-None-Match)"},
        307: {"description": "Redirect to a presigned store URL (s3_redirect_downloads)"},
        **_errors(_404="No such asset", _503=STORAGE_DOWN),
    },
)
def get_asset(
    asset_id: str,
    assets: AssetServiceDep,
    settings: SettingsDep,
    session: SessionDep,
    principal: PrincipalDep,
    if_none_match: Annotated[str | None, Header()] = None,
    download: Annotated[bool, Query(description="Ask the browser to save the file")] = False,
) -> Response:
    """Stream an asset, with a strong ETag (its SHA-256). Assets of a store without
    versions never change and are cached for a year; on a versioned store they are
    revalidated, since a version may be restored."""
    asset = assets.get(session, asset_id, principal)
    etag = f'"{asset.sha256}"'
    headers = {"ETag": etag, "Cache-Control": REVALIDATE if assets.keeps_versions else IMMUTABLE}
    if _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    if settings.s3_redirect_downloads:
        url = assets.presigned_url(asset, settings.s3_presign_ttl_seconds, download)
        if url is not None:
            return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
    if download:
        headers["Content-Disposition"] = _attachment(asset)
    headers["Content-Length"] = str(asset.size_bytes)
    return StreamingResponse(assets.open(asset), media_type=asset.content_type, headers=headers)


def _matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 13.1.2: If-None-Match compares weakly (W/"x" matches "x"), and * matches any."""
    tags = [tag.strip().removeprefix("W/") for tag in (if_none_match or "").split(",")]
    return etag in tags or "*" in tags


def _attachment(asset: Asset) -> str:
    extension = asset.content_type.split("/")[-1]
    return f'attachment; filename="{asset.id}.{extension}"'


@router.get("/{asset_id}/url", response_model=AssetUrl, responses=_errors(_404="No such asset"))
def asset_url(
    asset_id: str, assets: AssetServiceDep, settings: SettingsDep, session: SessionDep, principal: PrincipalDep,
    download: Annotated[bool, Query(description="Ask the browser to save the file")] = False,
) -> AssetUrl:  # fmt: skip
    """Where to fetch the file: a short-lived presigned URL straight to the store when
    it is S3 (valid s3_presign_ttl_seconds, no credential needed), else the API path."""
    asset = assets.get(session, asset_id, principal)
    ttl = settings.s3_presign_ttl_seconds
    url = assets.presigned_url(asset, ttl, download)
    if url is None:
        return AssetUrl(url=f"/api/v1/assets/{asset.id}", presigned=False, expires_at=None)
    return AssetUrl(url=url, presigned=True, expires_at=datetime.now(UTC) + timedelta(seconds=ttl))


@router.get(
    "/{asset_id}/versions",
    response_model=VersionList,
    responses=_errors(_404="No such asset", _409="The storage backend keeps no versions", _503=STORAGE_DOWN),
)
def list_versions(asset_id: str, assets: AssetServiceDep, session: SessionDep, principal: PrincipalDep) -> VersionList:
    """The stored versions of the asset's file, newest first (S3 with versioning)."""
    asset = assets.get(session, asset_id, principal)
    return VersionList(asset_id=asset.id, items=[VersionRead.of(v) for v in assets.versions(asset)])


@router.post(
    "/{asset_id}/versions/{version_id}/restore",
    response_model=VersionRestored,
    responses=_errors(
        _403="Only the owner may restore", _404="No such asset or version",
        _409="The storage backend keeps no versions, or the version is a deletion", _503=STORAGE_DOWN,
    ),
)  # fmt: skip
def restore_version(
    asset_id: str, version_id: Annotated[str, VERSION_ID], assets: AssetServiceDep, session: SessionDep,
    principal: PrincipalDep,
) -> VersionRestored:  # fmt: skip
    """Make an earlier version current again (as a new version; nothing is lost).
    The asset's size and SHA-256 (its ETag) follow the restored bytes. Owner only."""
    asset = assets.get(session, asset_id, principal)
    version, _ = assets.restore(asset, version_id, principal)
    return VersionRestored(
        asset_id=asset.id, restored_from=version_id, version=VersionRead.of(version), sha256=asset.sha256,
        size=asset.size_bytes,
    )  # fmt: skip
