"""Alerts published to an Amazon SNS topic (boto3)."""

from __future__ import annotations

import json
from typing import Any

import boto3

from aptmagic.alerts.base import Alert

SUBJECT_MAX = 100  # SNS refuses longer subjects


def region_of(topic_arn: str) -> str | None:
    parts = topic_arn.split(":")
    return parts[3] if len(parts) > 5 and parts[0] == "arn" and parts[3] else None


class SnsChannel:
    name = "sns"

    def __init__(self, topic_arn: str, region: str | None = None, endpoint_url: str | None = None) -> None:
        self.topic_arn = topic_arn
        session = boto3.session.Session()  # its own: the default session keeps the first credentials it saw
        self.client: Any = session.client("sns", region_name=region or region_of(topic_arn), endpoint_url=endpoint_url)

    def send(self, alert: Alert) -> None:
        self.client.publish(
            TopicArn=self.topic_arn,
            Subject=f"[aptmagic] {alert.subject}"[:SUBJECT_MAX],
            Message=json.dumps(alert.as_json()),
            MessageAttributes={"kind": {"DataType": "String", "StringValue": alert.kind}},
        )
