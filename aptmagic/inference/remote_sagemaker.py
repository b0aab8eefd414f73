"""A SageMaker endpoint as an engine (boto3 ``sagemaker-runtime``).

``source`` is the endpoint name; options: ``region``, ``endpoint_url``,
``profile``, ``timeout_seconds``, ``max_in_flight``, ``adapter`` (the
container: ``aptmagic``, ``tgi`` or ``jumpstart-sd``, see
``remote_sagemaker_adapters``) and ``mode``:

* ``realtime``: ``InvokeEndpoint``, one JSON answer.
* ``stream``: ``InvokeEndpointWithResponseStream``; each token is a ``token``
  event as it arrives and a cancel closes the stream. Adapters that cannot
  stream use ``realtime`` for every task.
* ``async``: ``InvokeEndpointAsync`` for long jobs. The request body is put
  in S3 under ``s3_input`` (``s3://bucket/prefix/``), the endpoint writes its
  answer to its own output path (``s3_output``, when given, must contain it),
  and the answer (or the failure file) is polled every ``poll_seconds`` until
  ``async_timeout_seconds``. ``s3_endpoint_url`` points S3 elsewhere (an
  emulator). The input object is deleted once the answer is read."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from aptmagic.inference.base import (
    BackendEnv,
    InferenceError,
    InferenceResult,
    ModelLoadError,
    RunContext,
    TransientInferenceError,
)
from aptmagic.inference.params import TaskParams
from aptmagic.inference.registry import register_backend
from aptmagic.inference.remote import Engine, Redactor, Watch, call_watched, check_tasks, engine_for, parse_options
from aptmagic.inference.remote_aws import AWSOptions, aws_client, aws_errors, client_error
from aptmagic.inference.remote_sagemaker_adapters import ADAPTERS, Adapter, container_error, parse_json
from aptmagic.inference.spec import ModelSpec

S3_URI = r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$"
NOT_YET = {"NoSuchKey", "404", "NotFound"}


class SageMakerOptions(AWSOptions):
    mode: Literal["realtime", "stream", "async"] = "realtime"
    adapter: Literal["aptmagic", "tgi", "jumpstart-sd"] = "aptmagic"
    s3_input: str | None = Field(None, pattern=S3_URI, description="Where async requests are put.")
    s3_output: str | None = Field(None, pattern=S3_URI, description="The endpoint's async output path.")
    s3_endpoint_url: str | None = Field(None, pattern=r"^https?://")
    poll_seconds: float = Field(2.0, gt=0, le=60)
    async_timeout_seconds: float = Field(3600.0, gt=0, le=86400)


def split_s3(uri: str) -> tuple[str, str]:
    parts = urlsplit(uri)
    return parts.netloc, parts.path.lstrip("/")


class SageMakerEngine:
    def __init__(self, spec: ModelSpec, env: BackendEnv) -> None:
        self.spec = spec
        self.options = options = parse_options(spec, SageMakerOptions)
        self.adapter: Adapter = ADAPTERS[options.adapter]()
        check_tasks(spec, self.adapter.tasks)
        if options.mode == "async" and not options.s3_input:
            raise ModelLoadError(f"model {spec.id!r}: mode async needs s3_input (s3://bucket/prefix/)")
        region = options.region or "default-region"
        self.engine: Engine = engine_for(f"sagemaker:{region}:{spec.source}", options.max_in_flight)
        self.wait_seconds = options.queue_seconds
        self.name = f"SageMaker endpoint {spec.source}"
        self.redact = Redactor()
        self.client: Any = None
        self.s3: Any = None

    def setup(self) -> None:
        self.client = aws_client("sagemaker-runtime", self.options, self.spec.id)
        if self.options.mode == "async":
            s3_options = self.options.model_copy(update={"endpoint_url": self.options.s3_endpoint_url})
            style = {"s3": {"addressing_style": "path"}} if self.options.s3_endpoint_url else {}
            self.s3 = aws_client("s3", s3_options, self.spec.id, signature_version="s3v4", **style)

    def unload(self) -> None:
        for client in (self.client, self.s3):
            if client is not None:
                client.close()
        self.client = self.s3 = None

    def memory_bytes(self) -> int:
        return 0

    def run(self, params: BaseModel, ctx: RunContext) -> InferenceResult:
        if self.client is None:
            raise InferenceError(f"model {self.spec.id!r} is not loaded")
        if not isinstance(params, TaskParams):
            raise InferenceError(f"model {self.spec.id!r} cannot run {type(params).__name__}")
        watch = Watch(ctx, params.progress_total())
        watch.step(0)
        body = json.dumps(self.adapter.request(params, ctx)).encode()
        with aws_errors(self.name, self.options.timeout_seconds, self.redact):
            try:
                if self.options.mode == "async":
                    return self._async(body, watch)
                if self.options.mode == "stream" and self.adapter.streams and params.task_name in ("text", "summarize"):
                    return self._stream(body, watch)
                return self._realtime(body, watch)
            except self._model_error() as exc:
                raise self._container_error(getattr(exc, "response", {})) from None

    # realtime
    def _realtime(self, body: bytes, watch: Watch) -> InferenceResult:
        def call() -> bytes:
            response = self.client.invoke_endpoint(
                EndpointName=self.spec.source, Body=body, ContentType="application/json", Accept=self.adapter.accept
            )
            return bytes(response["Body"].read())

        answer = call_watched(self.engine, watch, self.wait_seconds, call)
        result = self.adapter.answer(answer, self.name)
        watch.finish()
        return result

    # stream
    def _stream(self, body: bytes, watch: Watch) -> InferenceResult:
        if self.options.adapter == "tgi":
            body = json.dumps({**json.loads(body), "stream": True}).encode()
        reader = self.adapter.reader(self.name)
        tokens = 0
        with self.engine.slot(watch, self.wait_seconds):
            response = self.client.invoke_endpoint_with_response_stream(
                EndpointName=self.spec.source, Body=body, ContentType="application/json", Accept="application/jsonlines"
            )
            stream = response["Body"]
            try:
                for event in stream:
                    part = event.get("PayloadPart", {}).get("Bytes")
                    if part:
                        tokens += reader.feed(part, watch.ctx)
                    watch.step(tokens)
            finally:
                stream.close()
        result = reader.result()
        watch.finish()
        return result

    # async
    def _async(self, body: bytes, watch: Watch) -> InferenceResult:
        assert self.options.s3_input is not None
        bucket, prefix = split_s3(self.options.s3_input)
        key = f"{prefix.rstrip('/') + '/' if prefix.strip('/') else ''}{watch.ctx.job_id or 'run'}-{uuid.uuid4().hex}.json"
        with self.engine.slot(watch, self.wait_seconds):
            self.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
            try:
                response = self.client.invoke_endpoint_async(
                    EndpointName=self.spec.source,
                    InputLocation=f"s3://{bucket}/{key}",
                    ContentType="application/json",
                    Accept=self.adapter.accept,
                    InvocationTimeoutSeconds=int(min(3600, self.options.async_timeout_seconds)),
                )
                answer = self._poll(response["OutputLocation"], response.get("FailureLocation"), watch)
            finally:
                self._delete(bucket, key)
        result = self.adapter.answer(answer, self.name)
        watch.finish()
        return result

    def _poll(self, output: str, failure: str | None, watch: Watch) -> bytes:
        if self.options.s3_output and not output.startswith(self.options.s3_output):
            raise InferenceError(f"{self.name} writes its answers outside s3_output; check the endpoint's config")
        deadline = time.monotonic() + self.options.async_timeout_seconds
        while True:
            found = self._read(output)
            if found is not None:
                return found
            failed = self._read(failure) if failure else None
            if failed is not None:
                raise self._async_failure(failed)
            if time.monotonic() > deadline:
                raise TransientInferenceError(
                    f"{self.name}: no answer in S3 after {self.options.async_timeout_seconds:g} s"
                )
            self._sleep(watch)

    def _sleep(self, watch: Watch) -> None:
        until = time.monotonic() + self.options.poll_seconds
        while time.monotonic() < until:
            watch.poll()
            time.sleep(min(0.2, self.options.poll_seconds))

    def _read(self, uri: str) -> bytes | None:
        from botocore.exceptions import ClientError

        bucket, key = split_s3(uri)
        try:
            return bytes(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in NOT_YET:
                return None
            raise

    def _delete(self, bucket: str, key: str) -> None:
        try:
            self.s3.delete_object(Bucket=bucket, Key=key)
        except Exception:  # best effort: a lifecycle rule on the bucket catches what is left
            pass

    def _async_failure(self, failed: bytes) -> InferenceError:
        text = failed.decode("utf-8", "replace")
        try:
            body = json.loads(text)
        except ValueError:
            return InferenceError(f"{self.name} failed the request: {self.redact(text)}")
        if isinstance(body, dict) and "error" in body:
            return container_error(body["error"], self.name)
        return InferenceError(f"{self.name} failed the request: {self.redact(text)}")

    # errors
    def _model_error(self) -> type[Exception]:
        error: type[Exception] = self.client.exceptions.ModelError
        return error

    def _container_error(self, response: dict[str, Any]) -> InferenceError:
        """A container's own error answer (ModelError): aptmagic's carries its code and whether it is transient."""
        if self.options.adapter == "aptmagic":
            try:
                body = parse_json(str(response.get("OriginalMessage") or "").encode(), self.name)
            except InferenceError:
                body = None
            if isinstance(body, dict) and "error" in body:
                return container_error(body["error"], self.name)
        return client_error(self.name, response, self.redact)


register_backend("sagemaker")(SageMakerEngine)
