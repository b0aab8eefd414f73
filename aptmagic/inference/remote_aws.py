"""What the Bedrock and SageMaker backends share: the boto3 client and the error mapping.

Credentials come from the standard AWS chain (environment, shared files with
``profile``, an instance or task role); nothing secret is ever in the options.
botocore's own retries are off (one attempt): the job runner retries with
backoff and moves on to the next engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import Field

from aptmagic.inference.base import ContentFiltered, InferenceError, ModelLoadError, TransientInferenceError
from aptmagic.inference.remote import Redactor, RemoteOptions, redact_library_logs

TRANSIENT_CODES = {
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalServerException",
    "InternalFailure",
    "InternalStreamFailure",
    "ModelNotReadyException",
    "ModelTimeoutException",
    "ModelStreamErrorException",
    "ModelStreamError",
    "ServiceQuotaExceededException",
    "RequestTimeout",
    "RequestTimeoutException",
}
CREDENTIAL_CODES = {
    "ExpiredToken": "the AWS credentials have expired",
    "ExpiredTokenException": "the AWS credentials have expired",
    "RequestExpired": "the request's signature has expired (is the clock right?)",
    "UnrecognizedClientException": "AWS does not recognise the access key",
    "InvalidSignatureException": "AWS refused the request signature (wrong secret key?)",
    "SignatureDoesNotMatch": "AWS refused the request signature (wrong secret key?)",
    "InvalidClientTokenId": "AWS does not recognise the access key",
    "AccessDeniedException": "the AWS identity may not call this model or endpoint",
    "AccessDenied": "the AWS identity may not call this model or endpoint",
}
FILTER_CODES = {"ContentFiltered", "GuardrailIntervened"}


class AWSOptions(RemoteOptions):
    region: str | None = Field(None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d+$", description="AWS region of the engine.")
    endpoint_url: str | None = Field(None, pattern=r"^https?://", description="Another endpoint (VPC, emulator).")
    profile: str | None = Field(None, description="A profile of the shared AWS config files.")


def aws_client(service: str, options: AWSOptions, model_id: str, **config: Any) -> Any:
    """A boto3 client with bounded timeouts and no retries of its own."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ProfileNotFound

    redact_library_logs()
    settings = Config(
        connect_timeout=min(10.0, options.timeout_seconds),
        read_timeout=options.timeout_seconds,
        retries={"total_max_attempts": 1, "mode": "standard"},
        max_pool_connections=max(10, options.max_in_flight),
        **config,
    )
    try:
        session = boto3.session.Session(profile_name=options.profile, region_name=options.region)
        return session.client(service, endpoint_url=options.endpoint_url, config=settings)
    except ProfileNotFound:
        raise ModelLoadError(f"model {model_id!r}: no AWS profile {options.profile!r} in the shared config") from None
    except BotoCoreError as exc:  # NoRegionError above all
        raise ModelLoadError(f"model {model_id!r}: {exc}; set options.region or AWS_REGION") from None


@contextmanager
def aws_errors(engine: str, timeout: float, redact: Redactor) -> Iterator[None]:
    """botocore's exceptions as aptmagic's: throttling, 5xx, timeouts and connection
    failures are transient; credentials, permissions and validation are permanent."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        NoCredentialsError,
        PartialCredentialsError,
        ReadTimeoutError,
    )

    try:
        yield
    except InferenceError:
        raise
    except ClientError as exc:
        raise client_error(engine, exc.response, redact) from None
    except (ReadTimeoutError, ConnectTimeoutError):
        raise TransientInferenceError(f"{engine} did not answer within {timeout:g} s") from None
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise InferenceError(
            f"{engine}: {exc}; give the worker AWS credentials (environment, shared files or a role)"
        ) from None
    except BotoCoreError as exc:  # connection errors, broken streams
        raise TransientInferenceError(f"{engine} could not be reached: {redact(exc)}") from None


def client_error(engine: str, response: dict[str, Any], redact: Redactor) -> InferenceError:
    error = response.get("Error", {})
    code = str(error.get("Code") or "")
    code = code[:1].upper() + code[1:]  # exceptions inside event streams are named lowerCamel
    message = redact(error.get("Message") or "")
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    original = response.get("OriginalStatusCode")
    where = f"{engine} answered {code or status}"
    if code in FILTER_CODES:
        return ContentFiltered(f"{where}: {message}")
    if code in CREDENTIAL_CODES:
        return InferenceError(f"{where}: {CREDENTIAL_CODES[code]}; {message}")
    if code in TRANSIENT_CODES or (status >= 500 and original is None) or status == 429:
        return TransientInferenceError(f"{where}: {message}")
    if code == "ModelError" and original is not None and int(original) >= 500:
        return TransientInferenceError(f"{where} (the model answered {original}): {message}")
    return InferenceError(f"{where}: {message}")
