"""The ``bedrock`` backend: through moto's bedrock-runtime (requests signed by boto3 reach it),
and through a SigV4-checking endpoint that answers with Bedrock's documented bodies."""

from __future__ import annotations

import base64
import io
import json
import threading

import pytest
from PIL import Image

from aptmagic.inference.base import (
    ContentFiltered,
    InferenceError,
    InputFile,
    JobCanceled,
    TransientInferenceError,
)
from aptmagic.inference.params import CaptionParams, ImageToImageParams, SummarizeParams, TextParams, TextToImageParams
from aptmagic.inference.remote_bedrock import aspect_ratio, converse_messages
from tests.inference.remote.aws_double import (
    AWSDouble,
    Reply,
    Seen,
    error_reply,
    event,
    exception_event,
    json_reply,
    stream_reply,
)
from tests.inference.remote.conftest import Recorder, backend_for, run, spec
from tests.support.services import MotoServer

SD35 = "stability.sd3-5-large-v1:0"
CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
ASSET = "b" * 32
HELLO = [{"role": "user", "content": "Say something."}]


def png_b64(color: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def bedrock(double: AWSDouble, task: str, model: str = SD35, **options: object) -> object:
    return backend_for(spec("bedrock", model, task, region="us-east-1", endpoint_url=double.url, **options))


def stability(seen: Seen) -> Reply:
    """Stability's documented answer: one image, its seed, a null finish reason."""
    body = seen.json()
    shade = body["seed"] % 256
    return json_reply({"seeds": [body["seed"]], "finish_reasons": [None], "images": [png_b64((shade, 0, 0))]})


# pure helpers


@pytest.mark.parametrize(
    ("width", "height", "ratio"),
    [(512, 512, "1:1"), (1024, 576, "16:9"), (576, 1024, "9:16"), (768, 512, "3:2"), (2048, 880, "21:9"),
     (None, 512, "1:1"), (640, 512, "5:4")],
)  # fmt: skip
def test_aspect_ratio_is_the_nearest_stability_ratio(width: int | None, height: int | None, ratio: str) -> None:
    assert aspect_ratio(width, height) == ratio


def test_converse_messages_split_system_and_join_turns_of_one_role() -> None:
    system, turns = converse_messages(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "a"},
            {"role": "user", "content": "b"},
            {"role": "assistant", "content": "c"},
        ]
    )
    assert system == [{"text": "Be brief."}]
    assert turns == [
        {"role": "user", "content": [{"text": "a"}, {"text": "b"}]},
        {"role": "assistant", "content": [{"text": "c"}]},
    ]


# images


def test_text_to_image_sends_the_documented_body_one_call_per_image(double: AWSDouble) -> None:
    double.answer(f"/model/{SD35}/invoke", stability)
    params = TextToImageParams(prompt="a lighthouse", negative_prompt="fog", width=1024, height=576, num_images=2)
    recorder = Recorder(seed=40)
    result = run(bedrock(double, "text-to-image"), params, recorder)

    bodies = [seen.json() for seen in double.seen]
    assert bodies == [
        {
            "prompt": "a lighthouse",
            "aspect_ratio": "16:9",
            "negative_prompt": "fog",
            "seed": 40,
            "output_format": "png",
        },
        {
            "prompt": "a lighthouse",
            "aspect_ratio": "16:9",
            "negative_prompt": "fog",
            "seed": 41,
            "output_format": "png",
        },
    ]
    assert all(seen.service == "bedrock" for seen in double.seen)  # SigV4 scope of bedrock-runtime
    assert [image.getpixel((0, 0)) for image in result.images] == [(40, 0, 0), (41, 0, 0)]
    assert result.data["seeds"] == [40, 41]
    assert recorder.steps[-1] == (2, 2)


def test_image_to_image_sends_mode_image_and_strength(double: AWSDouble) -> None:
    double.answer(f"/model/{SD35}/invoke", stability)
    source = base64.b64decode(png_b64((0, 90, 200), (80, 64)))
    recorder = Recorder(inputs={ASSET: InputFile(ASSET, source, "image/png", "image")})
    params = ImageToImageParams(source=ASSET, prompt="as ink", strength=0.35, num_variations=1)
    result = run(bedrock(double, "image-to-image"), params, recorder)

    body = double.seen[0].json()
    assert body["mode"] == "image-to-image" and body["strength"] == 0.35 and body["prompt"] == "as ink"
    assert "aspect_ratio" not in body  # text-to-image only
    sent = Image.open(io.BytesIO(base64.b64decode(body["image"])))
    assert sent.size == (80, 64) and sent.convert("RGB").getpixel((5, 5)) == (0, 90, 200)
    assert len(result.images) == 1 and result.data["source_size"] == [80, 64]


@pytest.mark.parametrize(
    "reason", ["Filter reason: prompt", "Filter reason: output image", "Filter reason: input image"]
)
def test_a_finish_reason_filter_is_content_filtered_and_permanent(double: AWSDouble, reason: str) -> None:
    double.answer(f"/model/{SD35}/invoke", json_reply({"finish_reasons": [reason]}))
    with pytest.raises(ContentFiltered) as caught:
        run(bedrock(double, "text-to-image"), TextToImageParams(prompt="something refused"))
    assert caught.value.code == "content_filtered" and not caught.value.transient
    assert reason in str(caught.value)


def test_an_inference_error_finish_reason_is_transient(double: AWSDouble) -> None:
    double.answer(f"/model/{SD35}/invoke", json_reply({"finish_reasons": ["Inference error"]}))
    with pytest.raises(TransientInferenceError, match="Inference error"):
        run(bedrock(double, "text-to-image"), TextToImageParams(prompt="x"))


def test_a_body_without_images_is_a_clear_error(double: AWSDouble) -> None:
    double.answer(f"/model/{SD35}/invoke", json_reply({"seeds": [1], "finish_reasons": [None], "images": ["%%%"]}))
    with pytest.raises(InferenceError, match="not valid base64"):
        run(bedrock(double, "text-to-image"), TextToImageParams(prompt="x"))


# errors


@pytest.mark.parametrize(
    ("status", "code", "transient"),
    [
        (429, "ThrottlingException", True),
        (503, "ServiceUnavailableException", True),
        (500, "InternalServerException", True),
        (424, "ModelNotReadyException", True),
        (408, "ModelTimeoutException", True),
        (400, "ValidationException", False),
        (403, "AccessDeniedException", False),
        (404, "ResourceNotFoundException", False),
    ],
)
def test_aws_errors_are_transient_or_permanent(double: AWSDouble, status: int, code: str, transient: bool) -> None:
    double.answer(f"/model/{SD35}/invoke", error_reply(status, code, f"the {code} message"))
    with pytest.raises(InferenceError) as caught:
        run(bedrock(double, "text-to-image"), TextToImageParams(prompt="x"))
    assert caught.value.transient is transient
    assert code in str(caught.value) and f"the {code} message" in str(caught.value)
    assert len(double.seen) == 1  # botocore's own retries are off: the job runner retries


def test_expired_credentials_are_a_permanent_error_that_says_so(double: AWSDouble) -> None:
    double.answer(f"/model/{SD35}/invoke", error_reply(403, "ExpiredTokenException", "The security token included in the request is expired"))  # fmt: skip
    with pytest.raises(InferenceError) as caught:
        run(bedrock(double, "text-to-image"), TextToImageParams(prompt="x"))
    assert not caught.value.transient
    assert "the AWS credentials have expired" in str(caught.value)


def test_a_wrong_secret_key_fails_the_signature_check(double: AWSDouble, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-right-secret-key-at-all")
    double.answer(f"/model/{SD35}/invoke", stability)
    with pytest.raises(InferenceError) as caught:
        run(bedrock(double, "text-to-image"), TextToImageParams(prompt="x"))
    assert double.refused == ["InvalidSignatureException"] and not double.seen
    assert not caught.value.transient and "wrong secret key" in str(caught.value)


def test_no_region_fails_the_load_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with pytest.raises(InferenceError, match="region"):
        backend_for(spec("bedrock", SD35, "text-to-image"))


# text


def converse_events(pieces: list[str], stop: str = "end_turn") -> list[bytes]:
    frames = [event("messageStart", json.dumps({"role": "assistant"}).encode())]
    for piece in pieces:
        frames.append(
            event("contentBlockDelta", json.dumps({"contentBlockIndex": 0, "delta": {"text": piece}}).encode())
        )
    frames.append(event("contentBlockStop", json.dumps({"contentBlockIndex": 0}).encode()))
    frames.append(event("messageStop", json.dumps({"stopReason": stop}).encode()))
    usage = {"usage": {"inputTokens": 9, "outputTokens": len(pieces), "totalTokens": 9 + len(pieces)},
             "metrics": {"latencyMs": 12}}  # fmt: skip
    frames.append(event("metadata", json.dumps(usage).encode()))
    return frames


def test_text_streams_converse_stream_deltas_as_token_events(double: AWSDouble) -> None:
    double.answer(f"/model/{CLAUDE}/converse-stream", stream_reply(converse_events(["Rain ", "on ", "roofs."])))
    recorder = Recorder()
    params = TextParams(
        messages=[{"role": "system", "content": "Be brief."}, *HELLO], max_tokens=20, temperature=0.2, stop=["END"]
    )
    result = run(bedrock(double, "text", CLAUDE), params, recorder)

    assert recorder.tokens == ["Rain ", "on ", "roofs."] and result.text == "Rain on roofs."
    assert result.data == {"finish_reason": "stop", "usage": {"prompt_tokens": 9, "completion_tokens": 3}}
    body = double.seen[0].json()
    assert body["system"] == [{"text": "Be brief."}]
    assert body["messages"] == [{"role": "user", "content": [{"text": "Say something."}]}]
    assert body["inferenceConfig"] == {"maxTokens": 20, "temperature": 0.2, "topP": 0.95, "stopSequences": ["END"]}


def test_summaries_use_the_summary_prompt_and_max_tokens_maps_to_length(double: AWSDouble) -> None:
    double.answer(f"/model/{CLAUDE}/converse-stream", stream_reply(converse_events(["- a", "\n- b"], "max_tokens")))
    result = run(bedrock(double, "summarize", CLAUDE), SummarizeParams(text="A long text.", style="bullets"))
    assert result.text == "- a\n- b" and result.data["finish_reason"] == "length"
    body = double.seen[0].json()
    assert "faithfully" in body["system"][0]["text"] and "bulleted list" in body["messages"][0]["content"][0]["text"]


@pytest.mark.parametrize(
    ("exception", "kind"),
    [("throttlingException", TransientInferenceError), ("modelStreamErrorException", TransientInferenceError),
     ("validationException", InferenceError)],
)  # fmt: skip
def test_an_exception_inside_the_stream(double: AWSDouble, exception: str, kind: type[Exception]) -> None:
    frames = [*converse_events(["Half "])[:2], exception_event(exception, "broke mid-stream")]
    double.answer(f"/model/{CLAUDE}/converse-stream", stream_reply(frames))
    recorder = Recorder()
    with pytest.raises(kind) as caught:
        run(bedrock(double, "text", CLAUDE), TextParams(messages=HELLO), recorder)
    assert isinstance(caught.value, InferenceError) and caught.value.transient is (kind is TransientInferenceError)
    assert recorder.tokens == ["Half "]


def test_a_stream_cut_before_message_stop_is_transient(double: AWSDouble) -> None:
    double.answer(f"/model/{CLAUDE}/converse-stream", stream_reply(converse_events(["Half"])[:2]))
    with pytest.raises(TransientInferenceError, match="ended before"):
        run(bedrock(double, "text", CLAUDE), TextParams(messages=HELLO))


def test_a_guardrail_stop_is_content_filtered(double: AWSDouble) -> None:
    double.answer(f"/model/{CLAUDE}/converse-stream", stream_reply(converse_events(["No"], "guardrail_intervened")))
    with pytest.raises(ContentFiltered):
        run(bedrock(double, "text", CLAUDE), TextParams(messages=HELLO))


def test_cancel_between_stream_events_closes_the_stream(double: AWSDouble) -> None:
    pieces = [f"w{i} " for i in range(50)]
    double.answer(f"/model/{CLAUDE}/converse-stream", stream_reply(converse_events(pieces), pause=0.02))
    recorder = Recorder()
    ctx = recorder.ctx()
    canceled = threading.Event()

    def on_step(step: int, total: int) -> None:
        if step >= 3:
            canceled.set()
            raise JobCanceled("job")

    ctx.on_step = on_step
    with pytest.raises(JobCanceled):
        bedrock(double, "text", CLAUDE).run(TextParams(messages=HELLO), ctx)
    assert canceled.is_set() and len(recorder.tokens) == 3


# captions


def test_caption_sends_the_picture_as_an_image_block(double: AWSDouble) -> None:
    answer = {
        "output": {"message": {"role": "assistant", "content": [{"text": "A calm blue field, quiet and open."}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 1200, "outputTokens": 9, "totalTokens": 1209},
    }
    double.answer(f"/model/{CLAUDE}/converse", json_reply(answer))
    image = base64.b64decode(png_b64((0, 0, 255), (120, 90)))
    recorder = Recorder(inputs={ASSET: InputFile(ASSET, image, "image/png", "image")})
    result = run(
        bedrock(double, "caption", CLAUDE), CaptionParams(source=ASSET, tone="poetic", length="short"), recorder
    )

    assert result.text == "A calm blue field, quiet and open."
    assert result.data["tone"] == "poetic" and result.data["finish_reason"] == "end_turn"
    body = double.seen[0].json()
    block = body["messages"][0]["content"][0]["image"]
    assert block["format"] == "jpeg"
    sent = Image.open(io.BytesIO(base64.b64decode(block["source"]["bytes"])))
    assert sent.format == "JPEG" and sent.size == (120, 90)
    assert "Poetic:" in body["system"][0]["text"] and body["inferenceConfig"]["temperature"] == 1.0


def test_a_caption_stopped_by_the_content_filter(double: AWSDouble) -> None:
    answer = {"output": {"message": {"role": "assistant", "content": []}}, "stopReason": "content_filtered"}
    double.answer(f"/model/{CLAUDE}/converse", json_reply(answer))
    image = base64.b64decode(png_b64((0, 0, 255)))
    recorder = Recorder(inputs={ASSET: InputFile(ASSET, image, "image/png", "image")})
    with pytest.raises(ContentFiltered):
        run(bedrock(double, "caption", CLAUDE), CaptionParams(source=ASSET), recorder)


def test_a_task_bedrock_cannot_run_fails_the_load() -> None:
    with pytest.raises(InferenceError, match="not transcribe"):
        backend_for(spec("bedrock", CLAUDE, "transcribe", region="us-east-1"))


# moto


def test_through_moto_a_signed_invoke_model_reaches_it_and_an_empty_answer_is_refused(
    moto_server: MotoServer,
) -> None:
    """moto's bedrock-runtime answers InvokeModel with ``{}``: the call round-trips, and
    a body with no images is a clear, permanent error rather than an empty result."""
    backend = backend_for(spec("bedrock", SD35, "text-to-image", region="us-east-1", endpoint_url=moto_server.url))
    with pytest.raises(InferenceError) as caught:
        run(backend, TextToImageParams(prompt="a lighthouse"))
    assert not caught.value.transient and "answered no images" in str(caught.value)
