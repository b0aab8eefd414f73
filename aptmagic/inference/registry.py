"""The model registry: model id -> task, backend, source, device, defaults, version."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable

from aptmagic.inference.base import BackendEnv, BackendFactory, InferenceBackend
from aptmagic.inference.spec import ModelSpec

_BACKENDS: dict[str, BackendFactory] = {}


def register_backend(name: str) -> Callable[[BackendFactory], BackendFactory]:
    def decorator(factory: BackendFactory) -> BackendFactory:
        _BACKENDS[name] = factory
        return factory

    return decorator


def backend_names() -> list[str]:
    _load_builtin_backends()
    return sorted(_BACKENDS)


BACKEND_MODULES = (
    "aptmagic.inference.diffusers_image",
    "aptmagic.inference.transformers_caption",
    "aptmagic.inference.transformers_llm",
    "aptmagic.inference.transformers_whisper",
    "aptmagic.inference.faster_whisper",
    "aptmagic.inference.remote_openai",
    "aptmagic.inference.remote_bedrock",
    "aptmagic.inference.remote_sagemaker",
)


def _load_builtin_backends() -> None:
    """Backends register themselves when their module is imported."""
    for module in BACKEND_MODULES:
        importlib.import_module(module)


BUILTIN_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        id="sd-turbo",
        task="text-to-image",
        also_serves=("image-to-image",),
        backend="diffusers",
        source="stabilityai/sd-turbo",
        version="1",
        variant="fp16",
        default_params={"width": 512, "height": 512, "steps": 1, "guidance": 0.0},
        limits={"max_width": 1024, "max_height": 1024, "max_steps": 50},
        license="Stability AI Community License",
        size="about 2.6 GB (fp16 safetensors)",
        description="SD-Turbo: 512x512 images in 1-4 steps.",
    ),
    ModelSpec(
        id="tiny-sd",
        task="text-to-image",
        also_serves=("image-to-image",),
        backend="diffusers",
        source="builtin:tiny-sd",
        version="tiny-1",
        device="cpu",
        default_params={"width": 64, "height": 64, "steps": 4, "guidance": 5.0},
        limits={"max_width": 256, "max_height": 256, "max_steps": 100},
        license="Apache-2.0 (random weights built by aptmagic)",
        size="6.5 MB, built offline",
        description="Random-weight Stable Diffusion for tests and demo mode: makes noise, quickly.",
    ),
    ModelSpec(
        id="blip-caption",
        task="caption",
        backend="transformers-caption",
        source="Salesforce/blip-image-captioning-base",
        options={"rewriter": "qwen2.5-0.5b-instruct", "transcriber": "whisper-base"},
        license="BSD-3-Clause (captioner); Apache-2.0 (rewriter)",
        size="about 990 MB, plus the rewriter",
        description="BLIP captions the image (or a video keyframe); the instruct LLM rewrites it in the tone and length asked.",
    ),
    ModelSpec(
        id="tiny-caption",
        task="caption",
        backend="transformers-caption",
        source="builtin:tiny-caption",
        version="tiny-1",
        device="cpu",
        options={"rewriter": "tiny-llm", "transcriber": "tiny-whisper"},
        license="Apache-2.0 (random weights built by aptmagic)",
        size="under 1 MB, built offline",
        description="Random-weight BLIP captioner with the tiny LLM as rewriter, for tests and demo mode.",
    ),
    ModelSpec(
        id="qwen2.5-0.5b-instruct",
        task="text",
        also_serves=("summarize",),
        backend="transformers-llm",
        source="Qwen/Qwen2.5-0.5B-Instruct",
        limits={"max_max_tokens": 4096},
        license="Apache-2.0",
        size="about 990 MB",
        description="Small instruct LLM for chat, summaries and caption rewriting.",
    ),
    ModelSpec(
        id="tiny-llm",
        task="text",
        also_serves=("summarize",),
        backend="transformers-llm",
        source="builtin:tiny-llm",
        version="tiny-1",
        device="cpu",
        limits={"max_max_tokens": 512},
        license="Apache-2.0 (random weights built by aptmagic)",
        size="about 1 MB, built offline",
        description="Random-weight Qwen2-architecture LLM for tests and demo mode: fluent in nothing.",
    ),
    ModelSpec(
        id="whisper-base",
        task="transcribe",
        backend="transformers-whisper",
        source="openai/whisper-base",
        license="MIT",
        size="about 290 MB",
        description="Whisper speech recognition with timestamps, 99 languages.",
    ),
    ModelSpec(
        id="tiny-whisper",
        task="transcribe",
        backend="transformers-whisper",
        source="builtin:tiny-whisper",
        version="tiny-1",
        device="cpu",
        license="Apache-2.0 (random weights built by aptmagic)",
        size="about 1 MB, built offline",
        description="Random-weight Whisper for tests and demo mode.",
    ),
)

DEFAULT_MODELS = {
    "text-to-image": "sd-turbo",
    "image-to-image": "sd-turbo",
    "caption": "blip-caption",
    "text": "qwen2.5-0.5b-instruct",
    "summarize": "qwen2.5-0.5b-instruct",
    "transcribe": "whisper-base",
}
DEMO_DEFAULT_MODELS = {
    "text-to-image": "tiny-sd",
    "image-to-image": "tiny-sd",
    "caption": "tiny-caption",
    "text": "tiny-llm",
    "summarize": "tiny-llm",
    "transcribe": "tiny-whisper",
}


class UnknownModel(LookupError):
    pass


class ModelRegistry:
    def __init__(self, specs: Iterable[ModelSpec], defaults: dict[str, str]) -> None:
        self._specs: dict[str, ModelSpec] = {}
        for spec in specs:
            self._specs[spec.id] = spec
        for task, model_id in defaults.items():
            if model_id not in self._specs:
                raise ValueError(f"default model {model_id!r} for {task!r} is not in the registry")
            if not self._specs[model_id].serves(task):
                raise ValueError(f"default model {model_id!r} does not serve {task!r}")
        self._defaults = dict(defaults)
        for spec in self._specs.values():
            self._check_failover(spec)

    def _check_failover(self, spec: ModelSpec) -> None:
        for other_id in spec.failover:
            other = self._specs.get(other_id)
            if other is None:
                raise ValueError(f"model {spec.id!r} fails over to {other_id!r}, which is not in the registry")
            if not other.serves(spec.task):
                raise ValueError(f"model {spec.id!r} fails over to {other_id!r}, which does not serve {spec.task!r}")
        self._failover_path(spec.id, ())

    def _failover_path(self, model_id: str, path: tuple[str, ...]) -> None:
        if model_id in path:
            cycle = " -> ".join([*path[path.index(model_id) :], model_id])
            raise ValueError(f"failover models form a cycle: {cycle}")
        for other_id in self._specs[model_id].failover:
            self._failover_path(other_id, (*path, model_id))

    def engines_for(self, spec: ModelSpec, task: str) -> list[ModelSpec]:
        """The model, then its failover models (each followed by its own failovers, depth first),
        each once, keeping those that serve ``task``."""
        chain: list[ModelSpec] = []

        def visit(current: ModelSpec) -> None:
            if any(seen.id == current.id for seen in chain):
                return
            chain.append(current)
            for other_id in current.failover:
                visit(self._specs[other_id])

        visit(spec)
        return [chain[0], *(other for other in chain[1:] if other.serves(task))]

    def get(self, model_id: str) -> ModelSpec:
        try:
            return self._specs[model_id]
        except KeyError:
            raise UnknownModel(model_id) from None

    def default_for(self, task: str) -> ModelSpec:
        if task in self._defaults:
            return self._specs[self._defaults[task]]
        for spec in self._specs.values():
            if spec.serves(task):
                return spec
        raise UnknownModel(f"no model serves task {task!r}")

    def all(self) -> list[ModelSpec]:
        return list(self._specs.values())

    def defaults(self) -> dict[str, str]:
        return dict(self._defaults)

    def create_backend(self, spec: ModelSpec, env: BackendEnv) -> InferenceBackend:
        _load_builtin_backends()
        try:
            factory = _BACKENDS[spec.backend]
        except KeyError:
            raise UnknownModel(f"model {spec.id!r} names unknown backend {spec.backend!r}") from None
        return factory(spec, env)


def build_registry(extra: Iterable[ModelSpec], defaults: dict[str, str], demo: bool) -> ModelRegistry:
    base_defaults = DEMO_DEFAULT_MODELS if demo else DEFAULT_MODELS
    return ModelRegistry([*BUILTIN_MODELS, *extra], {**base_defaults, **defaults})
