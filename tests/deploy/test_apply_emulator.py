"""terraform apply, then destroy, of the modules' pieces that moto implements (tests/deploy/emulator),
against a moto server on loopback. In between, aptmagic's S3 blob store, configured from the
outputs, stores an upload in the applied bucket and reads it back, and the applied secret is read
with boto3; the rest of what was applied is checked through the AWS APIs."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from aptmagic.config import Settings
from aptmagic.storage.s3 import S3BlobStore
from aptmagic.wiring.storage import create_blob_store
from tests.deploy.terraform import Workspace
from tests.support.services import MotoServer

ROOT = "tests/deploy/emulator"


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    server = MotoServer()
    server.start()
    yield server
    server.stop()


def client(service: str, endpoint: str, region: str = "us-east-1") -> Any:
    config = Config(signature_version="s3v4", s3={"addressing_style": "path"}) if service == "s3" else None
    return boto3.session.Session().client(service, endpoint_url=endpoint, region_name=region, config=config)


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_apply_use_and_destroy(workspace: Workspace, moto: MotoServer) -> None:
    workspace.init(ROOT)
    endpoint = f"-var=endpoint={moto.url}"
    applied = workspace.run(ROOT, "apply", "-auto-approve", "-no-color", "-parallelism=30", endpoint, timeout=360)
    assert applied.returncode == 0, f"{applied.stdout[-6000:]}\n{applied.stderr[-4000:]}"
    out = workspace.outputs(ROOT)

    check_buckets(out, moto.url)
    # moto applies a bucket policy's Deny statements without their conditions, so the TLS-only
    # policy (checked above) would refuse every object request; real S3 refuses only plain HTTP.
    client("s3", moto.url).delete_bucket_policy(Bucket=out["media_bucket"])
    check_blob_store(out, moto.url)
    check_secret(out, moto.url)
    check_queues(out, moto.url)
    check_alerts(out, moto.url)
    check_roles_and_network(out, moto.url)

    destroyed = workspace.run(ROOT, "destroy", "-auto-approve", "-no-color", "-parallelism=30", endpoint, timeout=300)
    assert destroyed.returncode == 0, f"{destroyed.stdout[-6000:]}\n{destroyed.stderr[-4000:]}"
    assert [
        b["Name"] for b in client("s3", moto.url).list_buckets()["Buckets"] if b["Name"].startswith("aptmagic-emu")
    ] == []
    assert client("sqs", moto.url).list_queues(QueueNamePrefix="aptmagic-emu").get("QueueUrls", []) == []
    assert not workspace.run(ROOT, "state", "list").stdout.strip()


def check_blob_store(out: dict[str, Any], endpoint: str) -> None:
    """The app's own store, built as the composition root builds it, on the applied bucket and key."""
    settings = Settings(
        storage_backend="s3", s3_bucket=out["media_bucket"], s3_region=out["region"], s3_endpoint_url=endpoint,
        s3_path_style=True, s3_sse="aws:kms", s3_sse_kms_key_id=out["kms_key_arn"],
    )  # fmt: skip
    store = create_blob_store(settings)
    assert isinstance(store, S3BlobStore)
    key = f"uploads/{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}"
    data = b"\x89PNG\r\n\x1a\n" + uuid.uuid4().bytes * 64
    store.put(key, data, "image/png")
    assert store.read(key) == data
    assert store.stat(key).size == len(data)
    head = client("s3", endpoint).head_object(Bucket=out["media_bucket"], Key=key)
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == out["kms_key_arn"]
    assert store.versioning_enabled()
    store.put(key, data[::-1], "image/png")
    assert len(store.list_versions(key)) == 2 and store.read(key) == data[::-1]


def check_buckets(out: dict[str, Any], endpoint: str) -> None:
    s3 = client("s3", endpoint)
    bucket = out["media_bucket"]
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert rules["expire-temporary-uploads"]["Filter"]["Prefix"] == "tmp/"
    assert rules["expire-temporary-uploads"]["Expiration"]["Days"] == 1
    transitions = rules["noncurrent-versions"]["NoncurrentVersionTransitions"]
    assert [(t["StorageClass"], t["NoncurrentDays"]) for t in transitions] == [("STANDARD_IA", 30), ("GLACIER_IR", 90)]
    assert rules["noncurrent-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 365
    assert rules["abort-incomplete-multipart"]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 7
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert encryption["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert any(
        s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool") == {"aws:SecureTransport": "false"}
        for s in policy["Statement"]
    )
    replication = s3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]["Rules"][0]
    assert replication["Status"] == "Enabled"
    assert replication["Destination"]["Bucket"] == out["replica_bucket_arns"]["media"]
    replica = out["replica_bucket_arns"]["media"].removeprefix("arn:aws:s3:::")
    replica_s3 = client("s3", endpoint, "eu-west-1")
    assert replica_s3.get_bucket_location(Bucket=replica)["LocationConstraint"] == "eu-west-1"
    assert replica_s3.get_bucket_versioning(Bucket=replica)["Status"] == "Enabled"


def check_secret(out: dict[str, Any], endpoint: str) -> None:
    value = client("secretsmanager", endpoint).get_secret_value(SecretId=out["secret_key_secret"])["SecretString"]
    assert re.fullmatch(r"[A-Za-z0-9]{64}", value)
    Settings(environment="production", secret_key=value)  # long enough to be accepted in production
    # The app reads it by reference, as the task definitions may name it.
    settings = Settings(
        environment="production", secret_key=f"aws-sm://{out['secret_key_secret']}",
        aws_endpoint_url=endpoint, aws_region=out["region"],
    )  # fmt: skip
    assert settings.secret_key.get_secret_value() == value
    assert value not in repr(settings)


def check_queues(out: dict[str, Any], endpoint: str) -> None:
    sqs = client("sqs", endpoint)
    for name, url in out["queue_urls"].items():
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        redrive = json.loads(attributes["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == out["dead_letter_queue_arns"][name]
        assert int(redrive["maxReceiveCount"]) == 5
        assert attributes["VisibilityTimeout"] == "7200" and attributes["KmsMasterKeyId"] == out["kms_key_arn"]
    url = out["queue_urls"]["gpu"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps("job-1"))
    message = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"][0]
    assert json.loads(message["Body"]) == "job-1"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def check_alerts(out: dict[str, Any], endpoint: str) -> None:
    topic = out["alert_topic_arn"]
    subscriptions = client("sns", endpoint).list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions] == [("email", "ops@example.com")]
    alarm = client("cloudwatch", endpoint).describe_alarms(AlarmNames=[out["request_alarm"]["name"]])["MetricAlarms"][0]
    assert (alarm["MetricName"], alarm["Statistic"], alarm["Period"], alarm["Threshold"]) == (
        "RequestCount",
        "Sum",
        86400,
        10000.0,
    )
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold" and alarm["AlarmActions"] == [topic]


def check_roles_and_network(out: dict[str, Any], endpoint: str) -> None:
    table = client("dynamodb", endpoint).describe_table(TableName=out["lock_table"])["Table"]
    assert table["KeySchema"] == [{"AttributeName": "LockID", "KeyType": "HASH"}]
    iam = client("iam", endpoint)
    policy = iam.get_role_policy(RoleName=out["worker_role_name"], PolicyName="worker")["PolicyDocument"]
    statements = policy["Statement"]
    anywhere = [s["Sid"] for s in statements if s["Resource"] in ("*", ["*"])]
    assert anywhere == ["FindTheQueues"], "only sqs:ListQueues, which takes no resource, is granted on *"
    media = f"arn:aws:s3:::{out['media_bucket']}"
    assert any(s["Resource"] == [f"{media}/*"] and "s3:PutObject" in s["Action"] for s in statements)
    groups = client("ec2", endpoint).describe_security_groups(GroupIds=list(out["security_group_ids"].values()))
    world = sorted(
        (g["GroupId"], p["FromPort"]) for g in groups["SecurityGroups"] for p in g["IpPermissions"]
        if any(r["CidrIp"] == "0.0.0.0/0" for r in p.get("IpRanges", []))
    )  # fmt: skip
    alb = out["security_group_ids"]["alb"]
    assert world == [(alb, 80), (alb, 443)]
