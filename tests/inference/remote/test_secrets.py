"""No key, secret, session token or signed URL in the remote backends' error messages or in
any log record, down to the HTTP libraries' DEBUG output (botocore logs request headers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aptmagic.inference.base import InferenceError
from aptmagic.inference.params import TextParams, TextToImageParams
from aptmagic.inference.remote import Redactor
from tests.inference.remote.aws_double import SECRET_KEY, AWSDouble, error_reply, json_reply
from tests.inference.remote.conftest import backend_for, run, spec
from tests.inference.remote.openai_double import OpenAIDouble

API_KEY = "sk-remote-secret-9f8e7d6c5b4a3210"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjE-session-token-secret-0123456789"
SIGNED_URL = "https://bucket.s3.amazonaws.com/out.png?X-Amz-Credential=AKID%2F1&X-Amz-Signature=deadbeefcafe"
HELLO = [{"role": "user", "content": "hi"}]


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIDouble]:
    monkeypatch.setenv("REMOTE_TEST_SECRET_KEY", API_KEY)
    double = OpenAIDouble(answer="fine")
    yield double
    double.stop()


def assert_clean(*texts: str) -> None:
    for text in texts:
        for secret in (API_KEY, SECRET_KEY, SESSION_TOKEN, "X-Amz-Signature=deadbeef", "deadbeefcafe"):
            assert secret not in text, f"{secret!r} leaked: {text[max(0, text.find(secret) - 200) :][:400]}"


def test_the_openai_key_is_used_but_never_logged_or_repeated(
    engine: OpenAIDouble, all_logs: pytest.LogCaptureFixture
) -> None:
    backend = backend_for(spec("openai", engine.base_url, "text", api_key_env="REMOTE_TEST_SECRET_KEY"))
    assert run(backend, TextParams(messages=HELLO)).text == "fine"
    assert engine.headers[0]["authorization"] == f"Bearer {API_KEY}"  # the key did reach the engine

    engine.fail = (401, "Incorrect API key provided: {authorization}. Docs: " + SIGNED_URL)
    with pytest.raises(InferenceError) as caught:
        run(backend, TextParams(messages=HELLO))
    message = str(caught.value)
    assert "401" in message and "Incorrect API key provided" in message and "[redacted]" in message
    assert "https://bucket.s3.amazonaws.com/out.png?…" in message
    assert_clean(message, all_logs.text)
    assert any(record.name.startswith(("openai", "httpx")) for record in all_logs.records)  # DEBUG was captured


def test_aws_credentials_never_reach_the_logs_or_errors(
    double: AWSDouble, monkeypatch: pytest.MonkeyPatch, all_logs: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    backend = backend_for(spec("bedrock", "m", "text-to-image", region="us-east-1", endpoint_url=double.url))
    messages = []
    for reply in (
        error_reply(403, "ExpiredTokenException", "The security token included in the request is expired"),
        error_reply(429, "ThrottlingException", f"slow down; see {SIGNED_URL}"),
        json_reply({"finish_reasons": ["Filter reason: prompt"]}),
    ):
        double.answer("/model/m/invoke", reply)
        with pytest.raises(InferenceError) as caught:
            run(backend, TextToImageParams(prompt="x"))
        messages.append(str(caught.value))
    assert double.seen[0].headers["x-amz-security-token"] == SESSION_TOKEN  # signed with the token
    assert any(record.name.startswith("botocore") for record in all_logs.records)  # DEBUG was captured
    assert_clean(*messages, all_logs.text)


def test_the_redactor_drops_secrets_and_query_strings_and_keeps_messages_short() -> None:
    redact = Redactor([API_KEY])
    text = redact(f"key {API_KEY} at {SIGNED_URL} and http://host/p?token=abc " + "x" * 500)
    assert API_KEY not in text and "deadbeef" not in text and "token=abc" not in text
    assert "[redacted]" in text and "http://host/p?…" in text and len(text) <= 301
