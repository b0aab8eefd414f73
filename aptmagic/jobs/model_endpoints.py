"""The model registry as the API shows it."""

from __future__ import annotations

from fastapi import APIRouter

from aptmagic.inference.cache import ModelCache
from aptmagic.inference.circuit import EngineCircuits
from aptmagic.inference.registry import ModelRegistry
from aptmagic.inference.spec import ModelSpec
from aptmagic.jobs.deps import EngineCircuitsDep, ModelCacheDep, ModelRegistryDep
from aptmagic.jobs.schemas import EngineRead, ModelRead
from aptmagic.kit.urls import shown

router = APIRouter(prefix="/models", tags=["models"])


def model_listing(registry: ModelRegistry, models: ModelCache, circuits: EngineCircuits) -> list[ModelRead]:
    loaded = {(m.id, m.version) for m in models.loaded()}
    defaults = set(registry.defaults().values())
    return [
        ModelRead(
            id=spec.id,
            task=spec.task,
            backend=spec.backend,
            source=shown(spec.source) if spec.is_remote else spec.source,
            version=spec.version,
            device=spec.device,
            default=spec.id in defaults,
            default_params=spec.default_params,
            limits=spec.limits,
            license=spec.license,
            size=spec.size,
            description=spec.description,
            loaded=(spec.id, spec.version) in loaded,
            engine=_engine(spec, circuits),
            failover=list(spec.failover),
            fallback_to_stored=spec.fallback_to_stored,
        )
        for spec in registry.all()
    ]


def _engine(spec: ModelSpec, circuits: EngineCircuits) -> EngineRead:
    return EngineRead(backend=spec.backend, remote=spec.is_remote, circuit=circuits.state(spec.id))


@router.get("", response_model=list[ModelRead])
def list_models(registry: ModelRegistryDep, models: ModelCacheDep, circuits: EngineCircuitsDep) -> list[ModelRead]:
    """Every model in the registry, which is the default for its task, which are warm, and whether
    each one's engine is taking calls (its circuit)."""
    return model_listing(registry, models, circuits)
