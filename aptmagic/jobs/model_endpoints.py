"""The model registry as the API shows it."""

from __future__ import annotations

from fastapi import APIRouter

from aptmagic.api.deps import ServicesDep
from aptmagic.wiring.services import Services
from aptmagic.jobs.schemas import ModelRead


def model_listing(services: Services) -> list[ModelRead]:
    loaded = {(m.id, m.version) for m in services.models.loaded()}
    defaults = set(services.registry.defaults().values())
    return [
        ModelRead(
            id=spec.id,
            task=spec.task,
            backend=spec.backend,
            source=spec.source,
            version=spec.version,
            device=spec.device,
            default=spec.id in defaults,
            default_params=spec.default_params,
            limits=spec.limits,
            license=spec.license,
            size=spec.size,
            description=spec.description,
            loaded=(spec.id, spec.version) in loaded,
        )
        for spec in services.registry.all()
    ]


def build_router() -> APIRouter:
    router = APIRouter(prefix="/models", tags=["models"])

    @router.get("", response_model=list[ModelRead])
    def list_models(services: ServicesDep) -> list[ModelRead]:
        """Every model in the registry, which is the default for its task, and which are warm."""
        return model_listing(services)

    return router
