"""Settings read from Secrets Manager and SSM Parameter Store by reference, on a moto server."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from aptmagic.config import Settings
from aptmagic.kit.secret_refs import SecretRefError, parse_ref
from tests.support.services import MotoServer

REGION = "eu-west-1"
SECRET_KEY = "k" * 24 + uuid.uuid4().hex  # 56 characters, good for production
DB_PASSWORD = "pw-" + uuid.uuid4().hex


@pytest.fixture
def aws(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Dummy credentials, and Settings keywords that point the references at moto."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return {"aws_endpoint_url": moto_server.url, "aws_region": REGION}


def client(service: str, endpoint: str) -> Any:
    return boto3.session.Session().client(service, endpoint_url=endpoint, region_name=REGION)


@pytest.fixture
def secrets(aws: dict[str, str]) -> dict[str, str]:
    """A plain secret, a JSON secret and an SSM SecureString, under names unique to this test."""
    tag = uuid.uuid4().hex[:8]
    sm, ssm = client("secretsmanager", aws["aws_endpoint_url"]), client("ssm", aws["aws_endpoint_url"])
    names = {"plain": f"aptmagic/{tag}/secret-key", "json": f"aptmagic/{tag}/db", "ssm": f"/aptmagic/{tag}/webhook"}
    sm.create_secret(Name=names["plain"], SecretString=SECRET_KEY)
    document = {"url": f"sqlite:///{tag}.db", "password": DB_PASSWORD, "port": 8123, "nested": {"a": 1}}
    sm.create_secret(Name=names["json"], SecretString=json.dumps(document))
    ssm.put_parameter(Name=names["ssm"], Value="ssm-" + SECRET_KEY, Type="SecureString")
    return names


def make(tmp_path: Path, aws: dict[str, str], **values: Any) -> Settings:
    return Settings(data_dir=tmp_path, **aws, **values)


def test_a_secret_string_becomes_the_value(tmp_path: Path, aws: dict[str, str], secrets: dict[str, str]) -> None:
    settings = make(tmp_path, aws, secret_key=f"aws-sm://{secrets['plain']}")
    assert settings.secret_key.get_secret_value() == SECRET_KEY


def test_references_come_from_the_environment(
    tmp_path: Path, aws: dict[str, str], secrets: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APTMAGIC_SECRET_KEY", f"aws-sm://{secrets['plain']}")
    monkeypatch.setenv("APTMAGIC_AWS_ENDPOINT_URL", aws["aws_endpoint_url"])
    monkeypatch.setenv("APTMAGIC_AWS_REGION", REGION)
    monkeypatch.setenv("APTMAGIC_ENVIRONMENT", "production")
    settings = Settings(data_dir=tmp_path)  # the production check sees the real, long key
    assert settings.secret_key.get_secret_value() == SECRET_KEY


def test_json_keys_of_one_secret(tmp_path: Path, aws: dict[str, str], secrets: dict[str, str]) -> None:
    ref = f"aws-sm://{secrets['json']}"
    settings = make(tmp_path, aws, database_url=f"{ref}#url", smtp_password=f"{ref}#password", port=f"{ref}#port")
    assert settings.database_url is not None and settings.database_url.endswith(".db")
    assert settings.smtp_password is not None and settings.smtp_password.get_secret_value() == DB_PASSWORD
    assert settings.port == 8123  # a JSON number, then validated as the int field it fills


def test_an_ssm_secure_string_is_decrypted(tmp_path: Path, aws: dict[str, str], secrets: dict[str, str]) -> None:
    settings = make(tmp_path, aws, webhook_secret=f"aws-ssm://{secrets['ssm']}")
    assert settings.webhook_secret is not None
    assert settings.webhook_secret.get_secret_value() == "ssm-" + SECRET_KEY


def test_validators_see_the_resolved_value(tmp_path: Path, aws: dict[str, str]) -> None:
    name = f"aptmagic/{uuid.uuid4().hex[:8]}/short"
    client("secretsmanager", aws["aws_endpoint_url"]).create_secret(Name=name, SecretString="too-short")
    with pytest.raises(ValueError, match="at least 32 characters"):
        make(tmp_path, aws, environment="production", secret_key=f"aws-sm://{name}")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("aws-sm://aptmagic/no-such-secret", "setting secret_key: aws-sm://aptmagic/no-such-secret was not found"),
        ("aws-ssm:///aptmagic/no-such-parameter", "aws-ssm:///aptmagic/no-such-parameter was not found"),
    ],
)
def test_a_missing_secret_stops_start_up_naming_it(
    tmp_path: Path, aws: dict[str, str], value: str, message: str
) -> None:
    with pytest.raises(SecretRefError) as caught:
        make(tmp_path, aws, secret_key=value)
    assert message in str(caught.value)


def test_a_missing_json_key_is_named(tmp_path: Path, aws: dict[str, str], secrets: dict[str, str]) -> None:
    with pytest.raises(SecretRefError, match=r"setting smtp_password: .*#nope: the JSON secret has no key 'nope'"):
        make(tmp_path, aws, smtp_password=f"aws-sm://{secrets['json']}#nope")
    with pytest.raises(SecretRefError, match="is not a JSON object"):
        make(tmp_path, aws, smtp_password=f"aws-sm://{secrets['plain']}#password")


def test_an_unreachable_service_is_a_clear_error(tmp_path: Path, aws: dict[str, str]) -> None:
    unreachable = {**aws, "aws_endpoint_url": "http://127.0.0.1:9"}
    with pytest.raises(SecretRefError, match=r"setting secret_key: aws-sm://x could not be read: Could not connect"):
        make(tmp_path, unreachable, secret_key="aws-sm://x")


def test_the_error_never_holds_another_value(tmp_path: Path, aws: dict[str, str], secrets: dict[str, str]) -> None:
    with pytest.raises(SecretRefError) as caught:
        make(tmp_path, aws, smtp_password=f"aws-sm://{secrets['plain']}", secret_key="aws-sm://aptmagic/missing")
    assert SECRET_KEY not in str(caught.value)


def test_resolved_values_stay_out_of_repr_dumps_and_logs(
    tmp_path: Path, aws: dict[str, str], secrets: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # botocore included: its debug log holds response bodies
    ref = f"aws-sm://{secrets['json']}"
    settings = make(
        tmp_path,
        aws,
        database_url=f"{ref}#url",
        smtp_password=f"{ref}#password",
        secret_key=f"aws-sm://{secrets['plain']}",
    )
    assert settings.database_url and settings.database_url.startswith("sqlite:///")
    shown = [repr(settings), str(settings), str(settings.model_dump()), settings.model_dump_json()]
    shown.append(json.dumps(settings.public_dict()))
    shown += [caplog.text, *(str(vars(record)) for record in caplog.records)]
    for text in shown:
        for value in (SECRET_KEY, DB_PASSWORD, settings.database_url):
            assert value not in text
    assert settings.public_dict()["database_url"] == "**********"
    logged = {getattr(record, "reference", None) for record in caplog.records}
    assert f"{ref}#url" in logged  # the reference is logged, the value is not
    assert any(record.name.startswith("botocore") for record in caplog.records)  # its debug log was on


def test_a_failed_check_does_not_echo_resolved_values(
    tmp_path: Path, aws: dict[str, str], secrets: dict[str, str]
) -> None:
    """A value read from a secret that fails its field's check: the message names the field only."""
    with pytest.raises(ValueError) as caught:
        make(tmp_path, aws, port=f"aws-sm://{secrets['json']}#password")
    assert "port" in str(caught.value) and "valid integer" in str(caught.value)
    assert DB_PASSWORD not in str(caught.value)


def test_plain_values_are_not_touched(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="sqlite:///x.db")
    assert settings.database_url == "sqlite:///x.db"
    assert "sqlite:///x.db" in repr(settings)


def test_the_aws_settings_themselves_cannot_be_references(tmp_path: Path) -> None:
    with pytest.raises(SecretRefError, match="setting aws_region: must be written out"):
        Settings(data_dir=tmp_path, aws_region="aws-ssm://region")


@pytest.mark.parametrize("value", ["aws-sm://", "aws-sm://name#", "aws-ssm://#key"])
def test_malformed_references_are_refused(value: str) -> None:
    with pytest.raises(SecretRefError, match="is not a reference"):
        parse_ref(value)


def test_the_command_line_names_the_missing_secret(
    tmp_path: Path, aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from aptmagic import cli

    monkeypatch.setenv("APTMAGIC_AWS_ENDPOINT_URL", aws["aws_endpoint_url"])
    monkeypatch.setenv("APTMAGIC_AWS_REGION", REGION)
    monkeypatch.setenv("APTMAGIC_SECRET_KEY", "aws-sm://aptmagic/gone")
    result = CliRunner().invoke(cli.app, ["migrate", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "setting secret_key: aws-sm://aptmagic/gone was not found" in " ".join(result.output.split())
    assert not (tmp_path / "aptmagic.db").exists()
