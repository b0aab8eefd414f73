"""The model registry as the API shows it."""

from __future__ import annotations

from fastapi import APIRouter

from aptmagic.inference.cache import ModelCache
from aptmagic.inference.registry import ModelRegistry
from aptmagic.jobs.deps import ModelCacheDep, ModelRegistryDep
from aptmagic.jobs.schemas import ModelRead

router = APIRouter(prefix="/models", tags=["models"])


def model_listing(registry: ModelRegistry, models: ModelCache) -> list[ModelRead]:
    loaded = {(m.id, m.version) for m in models.loaded()}
    defaults = set(registry.defaults().values())
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
        for spec in registry.all()
    ]


@router.get("", response_model=list[ModelRead])
def list_models(registry: ModelRegistryDep, models: ModelCacheDep) -> list[ModelRead]:
    """Every model in the registry, which is the default for its task, and which are warm."""
    return model_listing(registry, models)
