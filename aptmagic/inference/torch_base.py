"""What the torch backends share: device and dtype, where the weights come from,
loading with ``from_pretrained``, out of memory as a transient error, unloading.

A subclass writes ``setup()`` and ``run()``, says which modules hold its weights
(``modules()``) and drops its references in ``release()``."""

from __future__ import annotations

import gc
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from pydantic import BaseModel

from aptmagic.inference.base import (
    BackendEnv,
    InferenceResult,
    ModelLoadError,
    RunContext,
    TransientInferenceError,
)
from aptmagic.inference.device import module_bytes, resolve_device, resolve_dtype
from aptmagic.inference.spec import ModelSpec
from aptmagic.inference.tiny import resolve_source

T = TypeVar("T")
LOAD_ERRORS: tuple[type[Exception], ...] = (OSError, ValueError, KeyError)
"""What a missing folder, an unknown hub id or broken weights raise from ``from_pretrained``."""


class TorchBackend(ABC):
    def __init__(self, spec: ModelSpec, env: BackendEnv) -> None:
        self.spec = spec
        self.env = env
        self.device = "cpu"
        self.dtype: Any = None

    @abstractmethod
    def setup(self) -> None: ...

    @abstractmethod
    def run(self, params: BaseModel, ctx: RunContext) -> InferenceResult: ...

    @abstractmethod
    def modules(self) -> tuple[Any, ...]:
        """The loaded torch modules whose parameters and buffers ``memory_bytes`` counts."""

    @abstractmethod
    def release(self) -> None:
        """Drop every reference to the loaded weights."""

    # loading
    def prepare(self) -> str:
        """Pick the device and dtype; return what ``from_pretrained`` should load."""
        self.device = resolve_device(self.spec.device)
        self.dtype = self.pick_dtype()
        try:
            return resolve_source(self.spec, self.env)
        except FileNotFoundError as exc:
            raise ModelLoadError(f"model {self.spec.id!r} could not be found: {exc}") from exc

    def pick_dtype(self) -> Any:
        return resolve_dtype(self.spec, self.device)

    def pretrained(self, loader: Callable[..., T], source: str, **options: Any) -> T:
        """``loader(source, revision=..., **options)``; a failure is a ModelLoadError, out of memory transient."""
        with self.load_errors(source):
            return loader(source, revision=self.spec.revision, **options)

    def weights(self, loader: Callable[..., T], source: str, **options: Any) -> T:
        """Like ``pretrained``, for weights: safetensors only, in the picked dtype."""
        return self.pretrained(loader, source, use_safetensors=True, dtype=self.dtype, **options)

    def place(self, module: Any) -> Any:
        """``module`` moved to the device; out of memory there is a transient error."""
        with self.oom_is_transient(f"moving {self.spec.id!r} to {self.device}"):
            return module.to(self.device)

    @contextmanager
    def load_errors(self, source: str) -> Iterator[None]:
        try:
            with self.oom_is_transient(f"loading {self.spec.id!r}"):
                yield
        except LOAD_ERRORS as exc:
            raise ModelLoadError(f"model {self.spec.id!r} could not be loaded from {source!r}: {exc}") from exc

    # running
    @contextmanager
    def oom_is_transient(self, doing: str = "") -> Iterator[None]:
        """Out of memory inside the block frees the cache and becomes a TransientInferenceError."""
        import torch

        try:
            yield
        except torch.OutOfMemoryError as exc:
            self.free_cache()
            doing = doing or f"on {self.device}"
            raise TransientInferenceError(f"out of memory {doing}: {exc}") from exc

    def free_cache(self) -> None:
        import torch

        if self.device == "cuda":
            torch.cuda.empty_cache()

    # unloading
    def unload(self) -> None:
        self.release()
        gc.collect()
        self.free_cache()

    def memory_bytes(self) -> int:
        return module_bytes(*self.modules())
