"""Route dependencies of this domain, as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from aptmagic.api.deps import provider
from aptmagic.inference.cache import ModelCache
from aptmagic.inference.circuit import EngineCircuits
from aptmagic.inference.registry import ModelRegistry
from aptmagic.jobs.hooks import SubmitObserver
from aptmagic.jobs.runner import JobRunner
from aptmagic.jobs.service import JobService
from aptmagic.queue.base import JobQueue
from aptmagic.shared_state.events import JobEventBus

JobServiceDep = Annotated[JobService, Depends(provider(JobService))]
ModelRegistryDep = Annotated[ModelRegistry, Depends(provider(ModelRegistry))]
ModelCacheDep = Annotated[ModelCache, Depends(provider(ModelCache))]
EngineCircuitsDep = Annotated[EngineCircuits, Depends(provider(EngineCircuits))]
EventBusDep = Annotated[JobEventBus, Depends(provider(JobEventBus))]
QueueDep = Annotated[JobQueue, Depends(provider(JobQueue))]
JobRunnerDep = Annotated[JobRunner, Depends(provider(JobRunner))]
SubmitObserverDep = Annotated[SubmitObserver, Depends(provider(SubmitObserver))]
