"""OpenAI-compatible (/v1) and AUTOMATIC1111-compatible (/sdapi/v1) APIs over the job system."""

from __future__ import annotations

from fastapi import FastAPI

from aptmagic.compat.errors import A1111_PREFIX, OPENAI_PREFIX, CompatErrorMiddleware


def install_compat(app: FastAPI) -> None:
    """Mount both APIs and their error shapes. Call after the other middleware is added:
    the error hook must sit outside it to reshape its answers (401, 413, 429) too."""
    from aptmagic.compat.a1111.endpoints import router as a1111_router
    from aptmagic.compat.openai.endpoints import router as openai_router

    app.include_router(openai_router, prefix=OPENAI_PREFIX)
    app.include_router(a1111_router, prefix=A1111_PREFIX)
    app.add_middleware(CompatErrorMiddleware)
