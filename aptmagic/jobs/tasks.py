"""The job request body: one variant per registered task, keyed on ``task``."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from aptmagic.inference.params import _TASKS, LimitViolation, TaskParams, params_model, task_names

__all__ = ["JobCreateBase", "LimitViolation", "TaskParams", "job_create_union", "params_model", "task_names"]


class JobCreateBase(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    task: str
    model: str | None = Field(None, max_length=64, description="Registry model id; the task's default when omitted.")
    params: TaskParams
    webhook_url: str | None = Field(
        None, max_length=2048, description="http(s) URL that gets a signed POST when the job ends (see README)."
    )


def job_create_union() -> Any:
    """The request body type: one variant per registered task, keyed on ``task``."""
    variants = []
    for name, cls in sorted(_TASKS.items()):
        title = "".join(part.title() for part in name.split("-")) + "JobCreate"
        variants.append(
            create_model(title, __base__=JobCreateBase, task=(Literal[name], ...), params=(cls, ...))  # type: ignore[arg-type]
        )
    if len(variants) == 1:
        return variants[0]
    return Annotated[Union[tuple(variants)], Field(discriminator="task")]  # noqa: UP007
