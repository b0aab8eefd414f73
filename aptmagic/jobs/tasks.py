"""Job task types register themselves with their params model.

A task's params model validates the request, fills the model's defaults and
checks the model's limits. The request body is a union keyed on ``task``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from aptmagic.inference.spec import ModelSpec


class LimitViolation(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class TaskParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_name: ClassVar[str]
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="Random seed; one is chosen when omitted.")

    def resolve(self, spec: ModelSpec) -> TaskParams:
        """Fill unset fields from the model's defaults, then check the model's limits."""
        merged = {**spec.default_params, **self.model_dump(exclude_none=True)}
        resolved = type(self).model_validate({k: v for k, v in merged.items() if k in type(self).model_fields})
        resolved.check_limits(spec)
        return resolved

    def check_limits(self, spec: ModelSpec) -> None:
        for name, value in self.model_dump().items():
            limit = spec.limits.get(f"max_{name}")
            if limit is not None and isinstance(value, (int, float)) and value > limit:
                raise LimitViolation(name, f"{name} is at most {limit} for model {spec.id!r}")

    def progress_total(self) -> int:
        return 1


ParamsT = TypeVar("ParamsT", bound=type[TaskParams])
_TASKS: dict[str, type[TaskParams]] = {}


def register_task(name: str) -> Callable[[ParamsT], ParamsT]:
    def decorator(cls: ParamsT) -> ParamsT:
        cls.task_name = name
        _TASKS[name] = cls
        return cls

    return decorator


def _load_builtin_tasks() -> None:
    from aptmagic.jobs import params  # noqa: F401  (registers the tasks)


def task_names() -> list[str]:
    _load_builtin_tasks()
    return sorted(_TASKS)


def params_model(task: str) -> type[TaskParams]:
    _load_builtin_tasks()
    return _TASKS[task]


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
    _load_builtin_tasks()
    variants = []
    for name, cls in sorted(_TASKS.items()):
        title = "".join(part.title() for part in name.split("-")) + "JobCreate"
        variants.append(
            create_model(title, __base__=JobCreateBase, task=(Literal[name], ...), params=(cls, ...))  # type: ignore[call-overload]
        )
    if len(variants) == 1:
        return variants[0]
    from typing import Annotated

    return Annotated[Union[tuple(variants)], Field(discriminator="task")]  # noqa: UP007
