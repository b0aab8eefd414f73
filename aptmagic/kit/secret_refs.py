"""Setting values read from AWS Secrets Manager and SSM Parameter Store by reference.

A value ``aws-sm://<secret-id>`` is replaced by the secret's text, ``aws-sm://<secret-id>#<key>``
by one key of a JSON secret, and ``aws-ssm://<parameter-name>`` (``#<key>`` too) by the
parameter's value, SecureStrings decrypted. ``resolve_values`` does it once, when the settings
are built, so their validators see the real values. Credentials come from the standard AWS
chain. Every error names the setting and the reference, never a value."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

log = logging.getLogger(__name__)

Service = Literal["secretsmanager", "ssm"]
SCHEMES: dict[str, Service] = {"aws-sm://": "secretsmanager", "aws-ssm://": "ssm"}
NOT_FOUND = {"ResourceNotFoundException", "ParameterNotFound", "ParameterVersionNotFound"}


class SecretRefError(Exception):
    """A reference that cannot be resolved. Deliberately not a ValueError: pydantic would wrap
    it in a ValidationError that echoes every input value, secrets included."""


@dataclass(frozen=True)
class SecretRef:
    text: str  # the reference as written: safe to show
    service: Service
    name: str
    json_key: str | None


class SecretReader(Protocol):
    def read(self, ref: SecretRef) -> str: ...


def parse_ref(value: object) -> SecretRef | None:
    """The reference ``value`` holds, or None when it is an ordinary value."""
    if not isinstance(value, str):
        return None
    for scheme, service in SCHEMES.items():
        if value.startswith(scheme):
            name, hash_sign, key = value.removeprefix(scheme).partition("#")
            if not name or (hash_sign and not key):
                raise SecretRefError(f"{value!r} is not a reference: {scheme}<name> or {scheme}<name>#<json-key>")
            return SecretRef(value, service, name, key or None)
    return None


def resolve_values(
    values: Mapping[str, Any], make_reader: Callable[[], SecretReader], literal_only: frozenset[str] = frozenset()
) -> tuple[dict[str, Any], frozenset[str]]:
    """``values`` with every reference (at any depth of lists and dicts) replaced, and the names
    of the top-level entries that held one. ``make_reader`` is called only if there is one."""
    readers: list[SecretReader] = []

    def reader() -> SecretReader:
        if not readers:
            readers.append(make_reader())
        return readers[0]

    resolved: dict[str, Any] = {}
    from_refs: set[str] = set()
    for name, value in values.items():
        if name in literal_only and parse_ref(value) is not None:
            raise SecretRefError(f"setting {name}: must be written out, not read from {value!r}")
        new, found = _resolve(name, value, reader)
        resolved[name] = new
        if found:
            from_refs.add(name)
    return resolved, frozenset(from_refs)


def _resolve(name: str, value: Any, reader: Callable[[], SecretReader]) -> tuple[Any, bool]:
    if isinstance(value, dict):
        pairs = {key: _resolve(name, item, reader) for key, item in value.items()}
        return {key: pair[0] for key, pair in pairs.items()}, any(pair[1] for pair in pairs.values())
    if isinstance(value, list):
        items = [_resolve(name, item, reader) for item in value]
        return [item[0] for item in items], any(item[1] for item in items)
    try:
        ref = parse_ref(value)
    except SecretRefError as exc:
        raise SecretRefError(f"setting {name}: {exc}") from None
    if ref is None:
        return value, False
    try:
        text = reader().read(ref)
    except SecretRefError as exc:
        raise SecretRefError(f"setting {name}: {exc}") from None
    log.info("setting read from a secret reference", extra={"setting": name, "reference": ref.text})
    return text, True


class _InsideSecretRead(logging.Filter):
    """Drops botocore's debug log of response bodies (which hold the secret) in a thread that is
    reading one; added to ``botocore.parsers`` by the first reader."""

    def __init__(self) -> None:
        super().__init__()
        self.local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(self.local, "active", False)


_BODY_FILTER = _InsideSecretRead()


@contextmanager
def _no_body_logs() -> Iterator[None]:
    _BODY_FILTER.local.active = True
    try:
        yield
    finally:
        _BODY_FILTER.local.active = False


class AwsSecretReader:
    """Reads each secret or parameter once, with bounded timeouts and retries."""

    def __init__(self, region: str | None = None, endpoint_url: str | None = None) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self._clients: dict[Service, Any] = {}
        self._texts: dict[tuple[Service, str], str] = {}
        parsers = logging.getLogger("botocore.parsers")
        if _BODY_FILTER not in parsers.filters:
            parsers.addFilter(_BODY_FILTER)

    def read(self, ref: SecretRef) -> str:
        key = (ref.service, ref.name)
        if key not in self._texts:
            self._texts[key] = self._fetch(ref)
        text = self._texts[key]
        return text if ref.json_key is None else _json_field(ref, text)

    def _client(self, service: Service) -> Any:
        if service not in self._clients:
            import boto3  # only when a reference is used
            from botocore.config import Config

            config = Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"})
            session = boto3.session.Session()
            self._clients[service] = session.client(
                service, region_name=self.region, endpoint_url=self.endpoint_url, config=config
            )
        return self._clients[service]

    def _fetch(self, ref: SecretRef) -> str:
        from botocore.exceptions import BotoCoreError, ClientError, NoRegionError

        try:
            with _no_body_logs():
                return self._call(ref)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "an error"))
            if code in NOT_FOUND:
                raise SecretRefError(f"{ref.text} was not found") from None
            raise SecretRefError(f"{ref.text} could not be read: AWS answered {code}") from None
        except NoRegionError:
            raise SecretRefError(f"{ref.text}: no AWS region; set APTMAGIC_AWS_REGION or AWS_REGION") from None
        except BotoCoreError as exc:
            raise SecretRefError(f"{ref.text} could not be read: {exc}") from None

    def _call(self, ref: SecretRef) -> str:
        client = self._client(ref.service)
        if ref.service == "secretsmanager":
            return _secret_text(ref, client.get_secret_value(SecretId=ref.name))
        return str(client.get_parameter(Name=ref.name, WithDecryption=True)["Parameter"]["Value"])


def _secret_text(ref: SecretRef, answer: Mapping[str, Any]) -> str:
    if "SecretString" in answer:
        return str(answer["SecretString"])
    try:
        return bytes(answer["SecretBinary"]).decode("utf-8")
    except (KeyError, UnicodeDecodeError):
        raise SecretRefError(f"{ref.text} holds binary data, not text") from None


def _json_field(ref: SecretRef, text: str) -> str:
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise SecretRefError(f"{ref.text}: the secret is not a JSON object, so it has no key {ref.json_key!r}")
    if ref.json_key not in document:
        raise SecretRefError(f"{ref.text}: the JSON secret has no key {ref.json_key!r}")
    value = document[ref.json_key]
    return value if isinstance(value, str) else json.dumps(value)
