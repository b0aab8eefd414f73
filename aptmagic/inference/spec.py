"""What the model registry knows about a model, independent of how it is run."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Device = Literal["auto", "cpu", "cuda", "mps"]
REMOTE_BACKENDS = frozenset({"openai", "bedrock", "sagemaker"})
"""Backends that call an engine elsewhere: they need no GPU here, so they default to the cpu queue."""


class ModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$", description="Registry id used in job requests.")
    task: str = Field(description="The job task this model serves, e.g. text-to-image.")
    also_serves: tuple[str, ...] = Field((), description="Other tasks the same weights serve, e.g. image-to-image.")
    backend: str = Field(description="Inference backend name, e.g. diffusers.")
    source: str = Field(
        description="A Hugging Face hub id, a local folder or file, package:<name>[/<path>] for a model shipped "
        "inside an installed Python package, or builtin:<name> for a model built offline."
    )
    version: str = Field("1", description="Bumped when the weights change; part of the result-cache key.")
    device: Device = Field("auto", description="auto picks cuda, then mps, then cpu.")
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    revision: str | None = Field(None, description="Hub revision (branch, tag or commit).")
    variant: str | None = Field(None, description="Weights variant on the hub, e.g. fp16.")
    default_params: dict[str, Any] = Field(default_factory=dict, description="Params used when a request omits them.")
    limits: dict[str, int] = Field(
        default_factory=dict, description="Model limits, e.g. max_width, max_height, max_steps."
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="Backend-specific settings, e.g. the rewriter model of a captioner."
    )
    failover: tuple[str, ...] = Field(
        (),
        description="Ids of other registry models serving the same task, tried in order when this model's engine is down.",
    )
    fallback_to_stored: bool = Field(
        False,
        description="When every engine is down, answer from an earlier stored result of the same owner (seed aside).",
    )
    circuit_failures: int = Field(
        5, ge=1, le=1000, description="Consecutive transient failures or timeouts that open the engine's circuit."
    )
    circuit_cooldown_seconds: float = Field(
        30.0, gt=0, le=86_400, description="How long an open circuit refuses calls before one probe is let through."
    )
    license: str = ""
    size: str = Field("", description="Download size, for people choosing a model.")
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _remote_engines_run_on_cpu(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("backend") in REMOTE_BACKENDS and "device" not in data:
            return {**data, "device": "cpu"}
        return data

    @property
    def is_remote(self) -> bool:
        return self.backend in REMOTE_BACKENDS

    def serves(self, task: str) -> bool:
        return task == self.task or task in self.also_serves

    @property
    def is_builtin(self) -> bool:
        return self.source.startswith("builtin:")
