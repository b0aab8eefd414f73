"""Server-rendered pages: every page route of the web app, gathered in one router."""

from __future__ import annotations

from fastapi import APIRouter

from aptmagic.web.account import router as account_router
from aptmagic.web.social import router as social_router
from aptmagic.web.studio import router as studio_router

router = APIRouter(include_in_schema=False)
for part in (studio_router, account_router, social_router):
    router.include_router(part)
