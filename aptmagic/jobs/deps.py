"""Route dependencies of this domain, as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from aptmagic.api.deps import provider
from aptmagic.inference.registry import ModelRegistry
from aptmagic.jobs.runner import JobRunner
from aptmagic.jobs.service import JobService
from aptmagic.queue.base import JobQueue
from aptmagic.shared_state.events import JobEventBus

JobServiceDep = Annotated[JobService, Depends(provider(JobService))]
ModelRegistryDep = Annotated[ModelRegistry, Depends(provider(ModelRegistry))]
EventBusDep = Annotated[JobEventBus, Depends(provider(JobEventBus))]  # type: ignore[type-abstract]
QueueDep = Annotated[JobQueue, Depends(provider(JobQueue))]  # type: ignore[type-abstract]
JobRunnerDep = Annotated[JobRunner, Depends(provider(JobRunner))]
