"""create_model_app: one registry model served by the SageMaker container contract, no database."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from aptmagic import __version__
from aptmagic.inference.cache import ModelCache
from aptmagic.inference.registry import ModelRegistry
from aptmagic.serving.endpoints import router
from aptmagic.serving.service import ModelServer


def create_model_app(registry: ModelRegistry, models: ModelCache, model_id: str) -> FastAPI:
    """The model loads in a background thread after start-up; ``/ping`` says when it is ready."""
    server = ModelServer(registry, models, model_id)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        threading.Thread(target=server.load, name="model-load", daemon=True).start()
        try:
            yield
        finally:
            models.unload_all()

    app = FastAPI(
        title=f"aptmagic model container: {model_id}",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.model_server = server
    app.include_router(router)
    return app
