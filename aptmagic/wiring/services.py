"""Builds every backend once, at start-up, from Settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from aptmagic.api.deps import Provided
from aptmagic.assets.service import AssetService
from aptmagic.auth.deps import PlanSetter
from aptmagic.auth.service import AuthService
from aptmagic.config import Settings
from aptmagic.db.session import create_db_engine, create_session_factory
from aptmagic.inference.cache import ModelCache
from aptmagic.inference.circuit import EngineCircuits
from aptmagic.inference.registry import ModelRegistry
from aptmagic.jobs.dispatch import DispatchSweeper
from aptmagic.jobs.hooks import SubmitObserver
from aptmagic.jobs.runner import JobRunner, RetryPolicy
from aptmagic.jobs.service import JobService
from aptmagic.kit.blocklist import Blocklist, load_blocklist
from aptmagic.migrations import migrate
from aptmagic.moderation.service import ModerationService
from aptmagic.observability.counter import RequestCounter
from aptmagic.observability.jobs import JobObserver
from aptmagic.observability.metrics import Metrics
from aptmagic.queue.base import JobQueue
from aptmagic.quotas.service import QuotaService
from aptmagic.shared_state.events import JobEventBus
from aptmagic.shared_state.ratelimit import RateLimiter
from aptmagic.shared_state.state import SharedState
from aptmagic.social.service import SocialService
from aptmagic.storage.base import BlobStore
from aptmagic.uploads.service import UploadService
from aptmagic.uploads.sweeper import UploadSweeper
from aptmagic.webhooks.service import WebhookService
from aptmagic.wiring.models import build_models
from aptmagic.wiring.observability import Observability, build_observability, engine_metrics
from aptmagic.wiring.queue import create_queue
from aptmagic.wiring.shared_state import build_shared_state
from aptmagic.wiring.storage import create_blob_store, prepare_blob_store

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    store: BlobStore
    registry: ModelRegistry
    models: ModelCache
    events: JobEventBus
    queue: JobQueue
    assets: AssetService
    jobs: JobService
    runner: JobRunner
    uploads: UploadService
    sweeper: UploadSweeper
    auth: AuthService
    quotas: QuotaService
    limiter: RateLimiter
    observability: Observability
    blocklist: Blocklist
    social: SocialService
    moderation: ModerationService
    shared: SharedState | None = None
    dispatch: DispatchSweeper | None = None  # re-dispatch sweep of a broker queue

    def provided(self) -> Provided:
        """What routes and middleware may ask for, each by its type (see ``aptmagic.api.deps``)."""
        provided = Provided()
        items: list[tuple[type[Any], Any]] = [
            (Settings, self.settings), (sessionmaker, self.session_factory), (Engine, self.engine),
            (BlobStore, self.store), (ModelRegistry, self.registry), (ModelCache, self.models),
            (JobEventBus, self.events), (JobQueue, self.queue), (AssetService, self.assets), (JobService, self.jobs),
            (JobRunner, self.runner), (UploadService, self.uploads), (AuthService, self.auth),
            (QuotaService, self.quotas), (PlanSetter, self.quotas), (RateLimiter, self.limiter),
            (SocialService, self.social),
            (ModerationService, self.moderation), (JobObserver, self.observability.jobs),
            (SubmitObserver, self.observability.jobs),
            (WebhookService, self.observability.webhooks), (RequestCounter, self.observability.requests),
            (SharedState, self.shared), (DispatchSweeper, self.dispatch),
            (EngineCircuits, self.runner.circuits),
        ]  # fmt: skip
        for kind, value in items:
            provided.add(kind, value)
        return provided

    def start(self) -> None:
        if self.settings.auto_migrate:
            migrate.upgrade(self.engine)
        prepare_blob_store(self.store, self.settings)
        self.uploads.start()
        self.sweeper.start()
        self.observability.start()
        if self.dispatch is not None:
            self.dispatch.start()
        if self.queue.runs_workers_here:
            self._recover()
            if self.settings.worker_concurrency > 0:
                self.queue.start(self.observability.jobs.wrap(self.runner.run))

    def _recover(self) -> None:
        with self.session_factory.begin() as session:
            pending = self.jobs.recover(session)
        for job_id, queue_name, delay in pending:
            self.queue.enqueue(job_id, queue_name, delay=delay)
        if pending:
            log.info("requeued jobs from the previous run", extra={"count": len(pending)})

    def stop(self) -> None:
        self.sweeper.stop()
        if self.dispatch is not None:
            self.dispatch.stop()
        self.queue.stop(self.settings.shutdown_timeout)
        self.runner.close()
        self.models.unload_all()
        self.observability.stop()
        self.engine.dispose()
        if self.shared is not None:
            self.shared.close()


def build_services(settings: Settings, metrics: Metrics | None = None) -> Services:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine, session_factory = _database(settings)
    store = create_blob_store(settings)
    registry, models = build_models(settings)
    shared = build_shared_state(settings)
    queue = create_queue(settings)
    assets = AssetService(store)
    quotas = QuotaService(settings)
    blocklist = load_blocklist(settings.moderation_blocklist, settings.moderation_blocklist_file)
    social = SocialService(blocklist)
    metrics = metrics or Metrics()
    jobs = JobService(
        registry=registry, queue=queue, assets=assets, events=shared.events, cancels=shared.cancels,
        max_attempts=settings.max_attempts, quotas=quotas, blocklist=blocklist, results=shared.results,
    )  # fmt: skip
    runner = _runner(settings, session_factory, registry, models, assets, shared, queue, metrics)
    services = Services(
        settings, engine, session_factory, store, registry, models, shared.events, queue, assets, jobs, runner,
        UploadService.from_settings(settings, session_factory, store),
        UploadSweeper(session_factory, store, settings.upload_sweep_interval_seconds),
        AuthService(settings, shared.throttle), quotas, shared.limiter,
        build_observability(settings, session_factory, shared.events, models, queue, metrics),
        blocklist=blocklist, social=social, moderation=ModerationService(social), shared=shared,
    )  # fmt: skip
    if not queue.runs_workers_here:
        services.dispatch = DispatchSweeper(
            session_factory, queue, interval=settings.redispatch_interval_seconds,
            redispatch_after=settings.redispatch_after_seconds,
        )  # fmt: skip
    return services


def _database(settings: Settings) -> tuple[Engine, sessionmaker[Session]]:
    engine = create_db_engine(
        settings.resolved_database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow,
        connect_timeout=settings.db_connect_timeout_seconds,
    )  # fmt: skip
    return engine, create_session_factory(engine)


def _runner(
    settings: Settings, session_factory: sessionmaker[Session], registry: ModelRegistry, models: ModelCache,
    assets: AssetService, shared: SharedState, queue: JobQueue, metrics: Metrics,
) -> JobRunner:  # fmt: skip
    circuits = EngineCircuits()
    return JobRunner(
        session_factory=session_factory, registry=registry, models=models, assets=assets, events=shared.events,
        cancels=shared.cancels, queue=queue, retry=RetryPolicy(settings.retry_base_seconds, settings.retry_max_seconds),
        progress_write_interval=settings.progress_write_interval, lease_seconds=settings.lease_seconds,
        circuits=circuits, engine_observer=engine_metrics(metrics, circuits),
    )  # fmt: skip
