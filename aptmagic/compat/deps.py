"""Route dependencies of the compat APIs, as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from aptmagic.api.deps import SessionFactoryDep
from aptmagic.assets.deps import AssetServiceDep
from aptmagic.compat.jobs import WAIT_SECONDS, CompatJobs
from aptmagic.jobs.deps import EventBusDep, JobServiceDep, ModelRegistryDep
from aptmagic.uploads.deps import UploadServiceDep


def wait_seconds() -> float:
    """How long a compat route waits for its job; a dependency so that a test can shorten it."""
    return WAIT_SECONDS


def get_compat_jobs(
    registry: ModelRegistryDep, session_factory: SessionFactoryDep, jobs: JobServiceDep, events: EventBusDep,
    uploads: UploadServiceDep, assets: AssetServiceDep, wait: Annotated[float, Depends(wait_seconds)],
) -> CompatJobs:  # fmt: skip
    return CompatJobs(registry, session_factory, jobs, events, uploads, assets, wait)


CompatJobsDep = Annotated[CompatJobs, Depends(get_compat_jobs)]
