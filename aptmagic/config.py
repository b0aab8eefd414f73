"""The one place where aptmagic reads its configuration.

Values come, highest priority first, from keyword arguments, ``APTMAGIC_*``
environment variables, a ``.env`` file, and an optional TOML file named by
``APTMAGIC_CONFIG_FILE``. Any value may instead name a secret, ``aws-sm://<secret-id>[#<json-key>]``
or ``aws-ssm://<parameter-name>``, read once before validation (``aptmagic.kit.secret_refs``);
such values are masked in ``repr`` and dumps.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_serializer, model_validator
from pydantic_core.core_schema import SerializerFunctionWrapHandler
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from aptmagic.inference.spec import ModelSpec
from aptmagic.kit.plans import PLAN_NAME_PATTERN, Plan, default_plans
from aptmagic.kit.secret_refs import AwsSecretReader, resolve_values

Environment = Literal["development", "test", "production"]
DEV_SECRET = "dev-insecure-secret-change-me"
ORIGIN_RE = re.compile(r"https?://[^\s/?#]+")
MASK = "**********"
AWS_LITERAL_SETTINGS = frozenset({"aws_region", "aws_endpoint_url"})  # needed to read the references


def _default_data_dir() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "aptmagic"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="APTMAGIC_",
        env_file=".env",
        env_nested_delimiter="__",
        extra="ignore",
        hide_input_in_errors=True,  # an error must not echo the inputs: secrets among them
    )

    environment: Environment = Field(
        "development", description="development, test or production. Production refuses unsafe settings."
    )
    data_dir: Path = Field(default_factory=_default_data_dir, description="Folder for the database, blobs and models.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL, e.g. postgresql+psycopg://user:password@host:5432/db for a cluster. Default: the SQLite file aptmagic.db (WAL mode) in data_dir.",
    )
    storage_backend: Literal["local", "s3"] = Field("local", description="Blob store backend: local or s3.")
    storage_dir: Path | None = Field(None, description="Folder of the local blob store. Default: data_dir/blobs.")
    queue_backend: Literal["inprocess", "celery"] = Field(
        "inprocess", description="Job queue backend: inprocess (worker threads in the API process) or celery."
    )
    worker_concurrency: int = Field(1, ge=0, le=64, description="In-process worker threads (0: submit only).")
    host: str = Field("127.0.0.1", description="Address the server listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the server listens on.")
    secret_key: SecretStr = Field(
        SecretStr(DEV_SECRET),
        description="Key for signing; in production a random value of at least 32 characters (the development value is refused).",
    )
    auto_migrate: bool = Field(True, description="Apply database migrations when the app starts.")
    demo: bool = Field(False, description="Use the tiny offline models as the defaults (no downloads).")
    models_dir: Path | None = Field(None, description="Where built-in tiny models are built. Default: data_dir/models.")
    models: list[ModelSpec] = Field(
        default_factory=list, description="Extra model registry entries; an entry with a built-in id replaces it."
    )
    default_models: dict[str, str] = Field(
        default_factory=dict, description="Default model id per task, e.g. {'text-to-image': 'sd-turbo'}."
    )
    model_cache_bytes: int = Field(
        12 * 1024**3, ge=0, description="Memory budget for warm models; least recently used are unloaded first."
    )
    max_attempts: int = Field(
        3, ge=1, le=20, description="Attempts per job before it is failed, deliveries to workers that died included."
    )
    retry_base_seconds: float = Field(1.0, ge=0, description="First retry delay; doubles per attempt.")
    retry_max_seconds: float = Field(60.0, ge=0, description="Upper bound of the retry delay.")
    progress_write_interval: float = Field(
        0.25, ge=0, description="Least seconds between progress writes to the job row (events go out every step)."
    )
    shutdown_timeout: float = Field(
        30.0,
        ge=0,
        description="Seconds a stopping process lets its running jobs finish; a worker then releases the job at its next step (back to queued, the attempt not counted).",
    )
    log_level: str = Field("INFO", description="Logging level; logs are JSON lines on stderr.")
    upload_max_bytes: int = Field(50 * 1024**2, ge=1, description="Largest upload in bytes; larger ones get 413.")
    upload_max_pixels: int = Field(
        40_000_000,
        ge=1,
        le=89_478_485,
        description="Most pixels (width x height) of an uploaded image or video frame, read from the header "
        "before decoding; at most Pillow's decompression-bomb limit (89,478,485).",
    )
    upload_max_media_seconds: float = Field(600.0, gt=0, description="Longest audio or video upload, in seconds.")
    upload_probe_timeout_seconds: float = Field(
        10.0, gt=0, description="Time allowed to check one audio or video upload before it is refused."
    )
    upload_ttl_seconds: float = Field(
        24 * 3600.0, gt=0, description="Seconds an upload is kept unless a job uses it (then it lives with the job)."
    )
    upload_sweep_interval_seconds: float = Field(
        300.0, gt=0, description="Seconds between sweeps that delete expired uploads."
    )
    presign_ttl_seconds: int = Field(900, ge=1, le=7 * 24 * 3600, description="Lifetime of a presigned upload URL.")
    clamav_socket: str | None = Field(
        None,
        description="clamd address (a unix socket path or host:port); every upload is scanned with it. "
        "Unset: uploads are not virus-scanned.",
    )
    clamav_timeout_seconds: float = Field(30.0, gt=0, description="Seconds to wait for clamd.")
    auth_required: bool = Field(
        True, description="Every route outside the public allowlist needs a session or an API key."
    )
    allow_unauthenticated_network: bool = Field(
        False, description="Allow auth_required=False on a non-loopback host (anyone who can reach it is admin)."
    )
    allow_signup: bool = Field(True, description="Anyone who can reach the server may create an account.")
    session_ttl_seconds: int = Field(14 * 24 * 3600, ge=60, description="Lifetime of a web session.")
    cookie_secure: bool = Field(
        False, description="Always mark the session cookie Secure (it is whenever the request came over HTTPS)."
    )
    password_min_length: int = Field(10, ge=8, le=128, description="Shortest password accepted.")
    password_hash_memory_kib: int = Field(19456, ge=19456, description="argon2id memory cost in KiB (OWASP: 19 MiB).")
    password_hash_time_cost: int = Field(2, ge=2, description="argon2id iterations.")
    password_hash_parallelism: int = Field(1, ge=1, le=16, description="argon2id lanes.")
    login_max_failures: int = Field(
        5, ge=1, description="Failed log-ins per account before further log-ins answer 429 with Retry-After."
    )
    login_max_failures_per_ip: int = Field(
        20, ge=1, description="Failed log-ins per client address before further log-ins answer 429 with Retry-After."
    )
    login_failure_window_seconds: float = Field(900.0, gt=0, description="Window in which failed log-ins are counted.")
    login_lockout_seconds: float = Field(
        30.0, gt=0, description="First wait after too many failures; doubles after each further one."
    )
    request_max_bytes: int = Field(
        1024**2,
        ge=1,
        description="Largest request body in bytes outside the upload routes (which use upload_max_bytes); "
        "larger ones get 413, from Content-Length before reading or as soon as a chunked body passes it.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins allowed to call the API from a browser, e.g. https://app.example.com "
        "(scheme://host[:port], no path); a comma-separated list or a JSON list. '*' allows any origin "
        "but not with cors_allow_credentials. Empty: no CORS headers (same-origin only).",
    )
    cors_allow_credentials: bool = Field(
        False, description="Let the allowed origins send cookies (Access-Control-Allow-Credentials)."
    )
    cors_allow_headers: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["Authorization", "Content-Type", "X-CSRF-Token"],
        description="Request headers a cross-origin request may send; a comma-separated list or a JSON list.",
    )
    trust_forwarded_headers: bool = Field(
        False,
        description="Believe X-Forwarded-Proto from the reverse proxy in front (only when every request "
        "comes through it): HTTPS there turns on HSTS.",
    )
    hsts_max_age_seconds: int = Field(
        365 * 24 * 3600,
        ge=0,
        description="max-age of Strict-Transport-Security, sent only on HTTPS requests; 0 sends none.",
    )
    plans: dict[str, Plan] = Field(
        default_factory=default_plans,
        description="Plans by name: daily_jobs, concurrent_jobs, max_width, max_height, max_steps, max_outputs, "
        "max_tokens (null: unlimited). Setting it replaces the built-in free, pro and unlimited plans.",
    )
    default_plan: str = Field("free", description="Plan of every user who has none set; must be one of plans.")
    rate_limit_user_per_second: float = Field(
        10.0, ge=0, description="API requests a second per user, refilled continuously; 0 turns it off."
    )
    rate_limit_user_burst: int = Field(60, ge=1, description="API requests a user may send at once.")
    rate_limit_ip_per_second: float = Field(
        20.0, ge=0, description="API requests a second per client address, signed in or not; 0 turns it off."
    )
    rate_limit_ip_burst: int = Field(120, ge=1, description="API requests a client address may send at once.")
    # Observability, alerts and job webhooks (aptmagic/observability, aptmagic/alerts, aptmagic/webhooks)
    metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Also serve Prometheus metrics, without authentication, on this port (bind it to a private "
        "address with metrics_host). Unset: only the admin-protected /metrics of the app.",
    )
    metrics_host: str = Field("127.0.0.1", description="Address of the separate metrics port.")
    alert_daily_requests: int = Field(
        10_000, ge=1, description="API requests in one UTC day above which one alert goes out per channel that day."
    )
    alert_request_flush_seconds: float = Field(
        1.0,
        ge=0,
        description="Seconds between writes of the per-process API request count to the database; "
        "0 writes on every request.",
    )
    alert_check_interval_seconds: float = Field(
        60.0, gt=0, description="Seconds between checks of the job failure rate, queue depth and daily requests."
    )
    alert_job_failure_rate: float = Field(
        0.5, gt=0, le=1, description="Share of failed jobs in the window above which an alert goes out."
    )
    alert_job_failure_window_seconds: float = Field(3600.0, gt=0, description="Window of the job failure rate.")
    alert_job_failure_min_jobs: int = Field(
        20, ge=1, description="Fewest finished jobs in the window to judge the rate."
    )
    alert_queue_depth: int = Field(1000, ge=1, description="Queued jobs above which an alert goes out.")
    alert_repeat_seconds: float = Field(
        3600.0, gt=0, description="Least seconds between two failure-rate (or two queue-depth) alerts."
    )
    alert_email_to: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Alert email recipients (comma-separated or JSON); empty: no email."
    )
    alert_email_from: str = Field("aptmagic@localhost", description="Sender address of alert emails.")
    smtp_host: str = Field("localhost", description="SMTP server for alert emails.")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port.")
    smtp_security: Literal["none", "starttls", "ssl"] = Field("starttls", description="none, starttls or ssl (SMTPS).")
    smtp_username: str | None = Field(None, description="SMTP user name; unset: no log-in.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    smtp_timeout_seconds: float = Field(10.0, gt=0, description="SMTP connect and command timeout.")
    alert_webhook_url: str | None = Field(None, description="URL that alerts are POSTed to (signed); unset: none.")
    alert_webhook_secret: SecretStr | None = Field(
        None, description="Signing secret of alert webhooks. Default: webhook_secret."
    )
    alert_sns_topic_arn: str | None = Field(None, description="Amazon SNS topic that alerts are published to.")
    alert_sns_region: str | None = Field(None, description="Region of the SNS topic (default: from the ARN).")
    alert_sns_endpoint_url: str | None = Field(None, description="SNS endpoint override (e.g. a local emulator).")
    webhook_secret: SecretStr | None = Field(
        None,
        description="Secret that signs job and alert webhooks (one for the whole server). "
        "Default: derived from secret_key.",
    )
    webhook_allowlist: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Networks (CIDR) and host names webhooks may reach although private, loopback or "
        "link-local; comma-separated or JSON. Empty: only public addresses.",
    )
    webhook_timeout_seconds: float = Field(10.0, gt=0, le=120, description="Timeout of one webhook delivery attempt.")
    webhook_max_attempts: int = Field(5, ge=1, le=20, description="Delivery attempts per job webhook.")
    webhook_retry_base_seconds: float = Field(1.0, ge=0, description="First webhook retry delay; doubles per attempt.")
    webhook_retry_max_seconds: float = Field(300.0, ge=0, description="Upper bound of the webhook retry delay.")
    moderation_blocklist: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Terms refused in job prompts, post titles, captions, tags and comments (422 blocked_content); "
        "a comma-separated list or a JSON list. Matched case-insensitively on word boundaries after NFKC.",
    )
    moderation_blocklist_file: Path | None = Field(
        None, description="A file of further blocked terms, one a line ('#' starts a comment); read at start-up."
    )
    # S3 storage (storage_backend = "s3") and Redis shared state
    s3_bucket: str | None = Field(None, description="S3 bucket of the blob store; required with storage_backend s3.")
    s3_prefix: str = Field(
        "", pattern=r"^([a-z0-9][a-z0-9_.-]*/)*$", description="Key prefix inside the bucket, e.g. 'aptmagic/'."
    )
    s3_region: str | None = Field(None, description="S3 region; unset: the AWS default chain decides.")
    s3_endpoint_url: str | None = Field(None, description="Endpoint of an S3-compatible service (MinIO, moto, ...).")
    s3_path_style: bool = Field(False, description="Path-style addressing (most S3-compatible services need it).")
    s3_public_endpoint_url: str | None = Field(
        None,
        description="Endpoint that presigned URLs name, when clients reach S3 by another address than "
        "aptmagic does (e.g. http://minio:9000 inside, https://s3.example.com outside). Default: s3_endpoint_url.",
    )
    s3_sse: Literal["AES256", "aws:kms"] | None = Field(None, description="Server-side encryption of every object.")
    s3_sse_kms_key_id: str | None = Field(None, description="KMS key id for s3_sse aws:kms; unset: the bucket's key.")
    s3_configure_bucket: bool = Field(
        False, description="At start-up, enable versioning and apply the lifecycle rules (needs those permissions)."
    )
    s3_presign_ttl_seconds: int = Field(
        300, ge=1, le=7 * 24 * 3600, description="Lifetime of presigned S3 download and upload URLs."
    )
    s3_direct_uploads: bool = Field(
        True, description="Presigned uploads go straight to S3, then are checked when completed."
    )
    s3_redirect_downloads: bool = Field(
        False, description="GET /api/v1/assets/{id} answers 307 to a presigned S3 URL instead of streaming."
    )
    s3_temp_expire_days: int = Field(
        1,
        ge=1,
        description="Lifecycle: staging objects of unfinished direct uploads (under tmp/) expire after this many days.",
    )
    s3_noncurrent_expire_days: int = Field(
        30, ge=1, description="Lifecycle: earlier versions expire after this many days."
    )
    s3_connect_timeout_seconds: float = Field(3.0, gt=0, description="S3 connect timeout.")
    s3_read_timeout_seconds: float = Field(30.0, gt=0, description="S3 read timeout.")
    s3_max_attempts: int = Field(3, ge=1, le=10, description="S3 attempts per call (botocore standard retries).")
    redis_url: str | None = Field(
        None,
        description="Redis for the result cache, rate limits, log-in throttling, job events and cancels "
        "shared by every process; unset: kept in this process.",
    )
    redis_prefix: str = Field("aptmagic:", max_length=64, description="Prefix of every Redis key and channel.")
    redis_timeout_seconds: float = Field(2.0, gt=0, description="Redis connect and socket timeout.")
    result_cache_ttl_seconds: int = Field(7 * 24 * 3600, ge=1, description="Lifetime of a result-cache entry in Redis.")

    # Celery queue (queue_backend = "celery"), job leases and database pool
    broker_url: str | None = Field(
        None, description="Celery broker: redis://host:6379/0 or sqs:// (credentials from the AWS default chain)."
    )
    queue_name_prefix: str = Field(
        "", pattern=r"^[A-Za-z0-9_-]{0,40}$", description="Prefix of the broker's queue names (cpu, gpu), e.g. 'prod-'."
    )
    sqs_region: str | None = Field(
        None, description="AWS region of the SQS queues (broker_url sqs://); unset: us-east-1."
    )
    sqs_endpoint_url: str | None = Field(None, description="Endpoint of an SQS-compatible service (e.g. moto).")
    broker_visibility_timeout_seconds: int = Field(
        7200,
        ge=10,
        le=12 * 3600,
        description="Seconds before the broker hands an unacknowledged job to another worker; longer than the "
        "longest job (SQS allows at most 12 h). A live lease still keeps a second worker from running it.",
    )
    broker_connect_timeout_seconds: float = Field(3.0, gt=0, description="Broker connect and socket timeout.")
    lease_seconds: float = Field(
        60.0,
        gt=0,
        description="A running job's lease; renewed every third of it. An expired lease means "
        "the worker died: the job may be claimed again (counting an attempt).",
    )
    redispatch_after_seconds: float = Field(
        300.0,
        gt=0,
        description="A queued job not started this long after it was queued is sent to the broker "
        "again (a lost message, a broker restart); a duplicate delivery is dropped at claim.",
    )
    redispatch_interval_seconds: float = Field(
        30.0, ge=0, description="Seconds between re-dispatch sweeps (Celery backend); 0 turns them off."
    )
    idempotency_ttl_seconds: int = Field(
        24 * 3600, ge=60, description="How long an Idempotency-Key of a job submit is remembered."
    )
    db_pool_size: int = Field(10, ge=1, le=200, description="Connections kept per process (PostgreSQL).")
    db_max_overflow: int = Field(20, ge=0, le=200, description="Extra connections under load (PostgreSQL).")
    db_connect_timeout_seconds: int = Field(
        5,
        ge=1,
        le=120,
        description="Database connect timeout, and the longest wait for a pooled connection (PostgreSQL).",
    )
    # AWS: settings read by reference (aws-sm://, aws-ssm://) and s3:// backups
    aws_region: str | None = Field(
        None,
        description="AWS region of the Secrets Manager and SSM Parameter Store references (aws-sm://, aws-ssm://) "
        "and of s3:// backups; unset: the AWS default chain decides.",
    )
    aws_endpoint_url: str | None = Field(
        None,
        description="Endpoint of an AWS-compatible service (an emulator such as moto) for the aws-sm:// and "
        "aws-ssm:// references and s3:// backups; unset: AWS itself.",
    )

    _from_secrets: frozenset[str] = PrivateAttr(default_factory=frozenset)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings]
        config_file = os.environ.get("APTMAGIC_CONFIG_FILE")
        if config_file:
            if not Path(config_file).is_file():
                raise ValueError(f"APTMAGIC_CONFIG_FILE={config_file!r} is not a file")
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        sources.append(file_secret_settings)
        return tuple(sources)

    @model_validator(mode="wrap")
    @classmethod
    def _resolve_secret_refs(cls, data: Any, handler: Callable[[Any], Settings]) -> Settings:
        """Replace aws-sm:// and aws-ssm:// values before validation; remember which fields held one."""
        if not isinstance(data, dict):
            return handler(data)
        region, endpoint = data.get("aws_region"), data.get("aws_endpoint_url")
        values, from_secrets = resolve_values(
            data, lambda: AwsSecretReader(region, endpoint), literal_only=AWS_LITERAL_SETTINGS
        )
        settings = handler(values)
        settings._from_secrets = from_secrets
        return settings

    @model_serializer(mode="wrap")
    def _mask_secret_refs(self, handler: SerializerFunctionWrapHandler) -> Any:
        dumped = handler(self)
        for name in self._from_secrets:
            if isinstance(dumped, dict) and name in dumped and not isinstance(dumped[name], SecretStr):
                dumped[name] = MASK
        return dumped

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, (MASK if name in self._from_secrets and not isinstance(value, SecretStr) else value)

    @field_validator("cors_origins", "cors_allow_headers", "alert_email_to", "webhook_allowlist", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("moderation_blocklist", mode="before")
    @classmethod
    def _split_terms(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            return json.loads(text) if text.startswith("[") else [t.strip() for t in text.split(",") if t.strip()]
        return value

    @field_validator("moderation_blocklist_file")
    @classmethod
    def _check_blocklist_file(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError(f"moderation_blocklist_file {str(path)!r} is not a file")
        return path

    @field_validator("cors_origins")
    @classmethod
    def _check_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if origin != "*" and not ORIGIN_RE.fullmatch(origin):
                raise ValueError(
                    f"CORS origin {origin!r} must be '*' or scheme://host[:port] with no path or trailing slash"
                )
        return origins

    @model_validator(mode="after")
    def _check_plans(self) -> Settings:
        for name in self.plans:
            if not re.fullmatch(PLAN_NAME_PATTERN, name):
                raise ValueError(f"plan name {name!r}: 1-32 lower-case letters, digits, '_' or '-'")
        if self.default_plan not in self.plans:
            raise ValueError(f"default_plan {self.default_plan!r} is not one of the plans {sorted(self.plans)}")
        return self

    @model_validator(mode="after")
    def _refuse_wildcard_with_credentials(self) -> Settings:
        if self.cors_allow_credentials and "*" in self.cors_origins:
            raise ValueError(
                "cors_origins '*' cannot be combined with cors_allow_credentials: "
                "list the origins that may send credentials"
            )
        return self

    @model_validator(mode="after")
    def _check_alert_channels(self) -> Settings:
        from aptmagic.kit.ssrf import Allowlist, UrlRefused, check_url

        if self.alert_webhook_url:
            try:
                check_url(self.alert_webhook_url, Allowlist.parse(self.webhook_allowlist))
            except UrlRefused as exc:
                raise ValueError(f"alert_webhook_url: {exc} (webhook_allowlist admits private addresses)") from None
        for address in self.alert_email_to:
            if "@" not in address or any(ch.isspace() for ch in address):
                raise ValueError(f"alert_email_to: {address!r} is not an email address")
        if self.alert_sns_topic_arn and not re.fullmatch(
            r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}", self.alert_sns_topic_arn
        ):
            raise ValueError(f"alert_sns_topic_arn: {self.alert_sns_topic_arn!r} is not an SNS topic ARN")
        return self

    @model_validator(mode="after")
    def _refuse_open_network(self) -> Settings:
        if not self.auth_required and not self.allow_unauthenticated_network and not self.listens_on_loopback:
            raise ValueError(
                f"refusing to listen on {self.host} without authentication: set auth_required=True, listen on "
                "127.0.0.1, or set allow_unauthenticated_network=True if you really mean it"
            )
        return self

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Settings:
        if self.environment != "production":
            return self
        problems = []
        if self.secret_key.get_secret_value() in ("", DEV_SECRET) or len(self.secret_key.get_secret_value()) < 32:
            problems.append("APTMAGIC_SECRET_KEY must be set to a random value of at least 32 characters")
        if self.demo:
            problems.append("demo mode (random-weight models) is not for production")
        if problems:
            raise ValueError("unsafe settings for production: " + "; ".join(problems))
        return self

    @model_validator(mode="after")
    def _check_s3(self) -> Settings:
        if self.storage_backend == "s3" and not self.s3_bucket:
            raise ValueError("storage_backend s3 needs s3_bucket")
        if self.s3_sse_kms_key_id and self.s3_sse != "aws:kms":
            raise ValueError("s3_sse_kms_key_id needs s3_sse = 'aws:kms'")
        return self

    @model_validator(mode="after")
    def _check_queue(self) -> Settings:
        if self.queue_backend == "celery" and not self.broker_url:
            raise ValueError("queue_backend celery needs broker_url (redis://... or sqs://)")
        if self.broker_url and not self.broker_url.startswith(("redis://", "rediss://", "sqs://")):
            raise ValueError("broker_url must start with redis://, rediss:// or sqs://")
        if self.broker_visibility_timeout_seconds <= self.lease_seconds:
            raise ValueError("broker_visibility_timeout_seconds must be longer than lease_seconds")
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'aptmagic.db'}"

    @property
    def resolved_storage_dir(self) -> Path:
        return self.storage_dir or self.data_dir / "blobs"

    @property
    def resolved_models_dir(self) -> Path:
        return self.models_dir or self.data_dir / "models"

    @property
    def listens_on_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def public_dict(self) -> dict[str, Any]:
        """Settings with secrets masked, for logs and the admin view."""
        return self.model_dump(
            mode="json", exclude={"secret_key", "smtp_password", "alert_webhook_secret", "webhook_secret"}
        )
