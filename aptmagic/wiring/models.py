"""The model registry and warm-model cache alone, for ``aptmagic serve-model`` (no database, no queue)."""

from __future__ import annotations

from aptmagic.config import Settings
from aptmagic.inference.base import BackendEnv
from aptmagic.inference.cache import ModelCache
from aptmagic.inference.registry import ModelRegistry, build_registry


def build_models(settings: Settings) -> tuple[ModelRegistry, ModelCache]:
    registry = build_registry(settings.models, settings.default_models, settings.demo)
    models = ModelCache(settings.model_cache_bytes, lambda spec: registry.create_backend(spec, env))
    env = BackendEnv(
        models_dir=settings.resolved_models_dir, use_model=lambda model_id: models.use(registry.get(model_id))
    )
    return registry, models
