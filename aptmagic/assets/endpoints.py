"""Serving stored files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response, StreamingResponse

from aptmagic.auth.deps import PrincipalDep
from aptmagic.core.deps import ServicesDep, SessionDep
from aptmagic.core.errors import ErrorResponse

IMMUTABLE = "private, max-age=31536000, immutable"  # private: only its owner may see it


def build_router() -> APIRouter:
    router = APIRouter(prefix="/assets", tags=["assets"])

    @router.get(
        "/{asset_id}",
        response_class=StreamingResponse,
        responses={
            200: {"content": {"image/png": {}}, "description": "The file"},
            304: {"description": "Not modified (If-None-Match)"},
            404: {"model": ErrorResponse, "description": "No such asset"},
        },
    )
    def get_asset(
        asset_id: str,
        services: ServicesDep,
        session: SessionDep,
        principal: PrincipalDep,
        if_none_match: Annotated[str | None, Header()] = None,
        download: Annotated[bool, Query(description="Ask the browser to save the file")] = False,
    ) -> Response:
        """Stream an asset. Assets never change, so they are cached for a year
        and carry a strong ETag (their SHA-256)."""
        asset = services.assets.get(session, asset_id, principal)
        etag = f'"{asset.sha256}"'
        headers = {"ETag": etag, "Cache-Control": IMMUTABLE}
        # RFC 9110 13.1.2: If-None-Match compares weakly (W/"x" matches "x"), and * matches any.
        tags = [tag.strip().removeprefix("W/") for tag in (if_none_match or "").split(",")]
        if etag in tags or "*" in tags:
            return Response(status_code=304, headers=headers)
        if download:
            extension = asset.content_type.split("/")[-1]
            headers["Content-Disposition"] = f'attachment; filename="{asset.id}.{extension}"'
        headers["Content-Length"] = str(asset.size_bytes)
        return StreamingResponse(services.assets.open(asset), media_type=asset.content_type, headers=headers)

    return router
