"""Route dependencies of this domain, as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from aptmagic.api.deps import provider
from aptmagic.inference.cache import ModelCache
from aptmagic.observability.jobs import JobObserver

JobObserverDep = Annotated[JobObserver, Depends(provider(JobObserver))]
ModelCacheDep = Annotated[ModelCache, Depends(provider(ModelCache))]
