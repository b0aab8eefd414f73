"""The ``sagemaker`` backend: through moto's sagemaker-runtime and S3 (real-time and async),
through a SigV4-checking endpoint answering SageMaker's documented bodies (TGI streams,
JumpStart images, errors), and against ``aptmagic serve-model`` behind a front that does
what SageMaker does for a container (checks the signature, forwards ``/invocations``,
frames the streamed answer, turns a container's error into ``ModelError``)."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from PIL import Image

from aptmagic.inference.base import ContentFiltered, InferenceError, InputFile, ModelLoadError, TransientInferenceError
from aptmagic.inference.params import ImageToImageParams, SummarizeParams, TextParams, TextToImageParams
from aptmagic.inference.remote_sagemaker_adapters import Lines, render_chat
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
from tests.serving.support import Container, start_container
from tests.support.services import MotoServer

ENDPOINT = "falcon-7b-instruct"
ASSET = "d" * 32
HELLO = [{"role": "user", "content": "Say something."}]


def png_b64(color: tuple[int, int, int] = (1, 2, 3), size: tuple[int, int] = (64, 64), fmt: str = "PNG") -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return base64.b64encode(buffer.getvalue()).decode()


def sagemaker(url: str, task: str, endpoint: str = ENDPOINT, **options: object) -> object:
    return backend_for(spec("sagemaker", endpoint, task, region="us-east-1", endpoint_url=url, **options))


# pure helpers


def test_lines_are_whole_however_the_parts_cut_them() -> None:
    lines = Lines()
    assert lines.feed(b'data:{"a"') == []
    assert lines.feed(b':1}\n\ndata:{"b":2}\ndata:') == ['data:{"a":1}', 'data:{"b":2}']
    assert lines.rest() == ["data:"]


def test_chat_renders_as_a_plain_transcript() -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    assert render_chat(messages) == "System: Be brief.\nUser: Hi\nAssistant:"


def test_options_are_checked_at_load() -> None:
    with pytest.raises(ModelLoadError, match="s3_input"):
        backend_for(spec("sagemaker", ENDPOINT, "text", region="us-east-1", mode="async"))
    with pytest.raises(ModelLoadError, match="adapter"):
        backend_for(spec("sagemaker", ENDPOINT, "text", region="us-east-1", adapter="triton"))
    with pytest.raises(ModelLoadError, match="not text-to-image"):
        backend_for(spec("sagemaker", ENDPOINT, "text-to-image", region="us-east-1", adapter="tgi"))


# TGI through the SigV4 double


def tgi_stream(pieces: list[str], finish: str = "length") -> list[bytes]:
    """TGI's server-sent lines, cut into payload parts at awkward places, as SageMaker relays them."""
    lines = []
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        token = {"id": index, "text": piece, "logprob": -0.1, "special": False}
        details = {"finish_reason": finish, "generated_tokens": len(pieces)} if last else None
        lines.append(
            f"data:{json.dumps({'token': token, 'generated_text': ''.join(pieces) if last else None, 'details': details})}\n\n"
        )
    raw = "".join(lines).encode()
    cuts = [raw[i : i + 37] for i in range(0, len(raw), 37)]
    return [event("PayloadPart", cut, "application/octet-stream") for cut in cuts]


def test_tgi_realtime_sends_inputs_and_parameters(double: AWSDouble) -> None:
    answer = [{"generated_text": " Rain falls.", "details": {"finish_reason": "eos_token", "generated_tokens": 4}}]
    double.answer(f"/endpoints/{ENDPOINT}/invocations", json_reply(answer))
    params = TextParams(messages=HELLO, max_tokens=30, temperature=0.5, top_p=1.0, stop=["User:"])
    result = run(sagemaker(double.url, "text", adapter="tgi"), params, Recorder(seed=9))

    assert result.text == " Rain falls."
    assert result.data == {"finish_reason": "stop", "usage": {"completion_tokens": 4}}
    seen = double.seen[0]
    assert seen.service == "sagemaker" and seen.headers["content-type"] == "application/json"
    assert seen.json() == {
        "inputs": "User: Say something.\nAssistant:",
        "parameters": {"max_new_tokens": 30, "return_full_text": False, "details": True, "seed": 9,
                       "do_sample": True, "temperature": 0.5, "top_p": 0.999, "stop": ["User:"]},
    }  # fmt: skip


def test_tgi_greedy_leaves_sampling_out(double: AWSDouble) -> None:
    double.answer(f"/endpoints/{ENDPOINT}/invocations", json_reply([{"generated_text": "x"}]))
    run(sagemaker(double.url, "summarize", adapter="tgi"), SummarizeParams(text="Some text."))
    parameters = double.seen[0].json()["parameters"]
    assert parameters["do_sample"] is True and parameters["temperature"] == 0.3  # the summary temperature
    run(sagemaker(double.url, "text", adapter="tgi"), TextParams(messages=HELLO, temperature=0.0))
    greedy = double.seen[1].json()["parameters"]
    assert greedy["do_sample"] is False and "temperature" not in greedy and "top_p" not in greedy


def test_tgi_stream_sends_token_events_from_parts_cut_anywhere(double: AWSDouble) -> None:
    pieces = ["Rain", " on", " the", " roof", "."]
    double.answer(f"/endpoints/{ENDPOINT}/invocations-response-stream", stream_reply(tgi_stream(pieces)))
    recorder = Recorder()
    result = run(sagemaker(double.url, "text", adapter="tgi", mode="stream"), TextParams(messages=HELLO), recorder)

    assert recorder.tokens == pieces and result.text == "Rain on the roof."
    assert result.data == {"finish_reason": "length", "usage": {"completion_tokens": 5}}
    assert double.seen[0].json()["stream"] is True


def test_a_model_stream_error_inside_the_stream_is_transient(double: AWSDouble) -> None:
    frames = [*tgi_stream(["Half"])[:1], exception_event("ModelStreamError", "StreamBroken")]
    double.answer(f"/endpoints/{ENDPOINT}/invocations-response-stream", stream_reply(frames))
    with pytest.raises(TransientInferenceError, match="ModelStreamError"):
        run(sagemaker(double.url, "text", adapter="tgi", mode="stream"), TextParams(messages=HELLO))


@pytest.mark.parametrize(
    ("reply", "transient", "words"),
    [
        (error_reply(429, "ThrottlingException", "Rate exceeded"), True, "Rate exceeded"),
        (error_reply(503, "ServiceUnavailable", "busy"), True, "busy"),
        (error_reply(400, "ValidationError", f"Endpoint {ENDPOINT} of account 1 not found."), False, "not found"),
        (error_reply(424, "ModelError", "Received server error (500)", OriginalStatusCode=500,
                     OriginalMessage="CUDA out of memory"), True, "500"),
        (error_reply(424, "ModelError", "Received client error (422)", OriginalStatusCode=422,
                     OriginalMessage="Input validation error"), False, "422"),
        (error_reply(403, "ExpiredTokenException", "The security token is expired"), False, "have expired"),
    ],
)  # fmt: skip
def test_errors_are_transient_or_permanent(double: AWSDouble, reply: Reply, transient: bool, words: str) -> None:
    double.answer(f"/endpoints/{ENDPOINT}/invocations", reply)
    with pytest.raises(InferenceError) as caught:
        run(sagemaker(double.url, "text", adapter="tgi"), TextParams(messages=HELLO))
    assert caught.value.transient is transient and words in str(caught.value), caught.value


# JumpStart Stable Diffusion through the SigV4 double


def test_jumpstart_sd_body_and_generated_images(double: AWSDouble) -> None:
    answer = {"generated_images": [png_b64((9, 9, 9), (64, 96), "JPEG"), png_b64((9, 9, 9), (64, 96), "JPEG")],
              "prompt": "a lighthouse"}  # fmt: skip
    double.answer("/endpoints/sd-2-1/invocations", json_reply(answer))
    params = TextToImageParams(prompt="a lighthouse", width=64, height=96, steps=20, guidance=7.5, num_images=2)
    result = run(sagemaker(double.url, "text-to-image", "sd-2-1", adapter="jumpstart-sd"), params, Recorder(seed=4))

    assert [image.size for image in result.images] == [(64, 96), (64, 96)]
    seen = double.seen[0]
    assert seen.headers["accept"] == "application/json;jpeg"
    assert seen.json() == {"prompt": "a lighthouse", "num_images_per_prompt": 2, "seed": 4, "width": 64,
                           "height": 96, "num_inference_steps": 20, "guidance_scale": 7.5}  # fmt: skip


# moto: real-time and async


@pytest.fixture
def moto(moto_server: MotoServer) -> MotoServer:
    moto_server.reset()
    return moto_server


def queue_result(moto: MotoServer, body: str, asynchronous: bool = False, failure: bool = False) -> None:
    if asynchronous:
        results = {"results": [{"data": body, "is_failure": failure}]}
        httpx.post(f"{moto.url}/moto-api/static/sagemaker/async-endpoint-results", json=results).raise_for_status()
        return
    result = {"Body": body, "ContentType": "application/json", "InvokedProductionVariant": "AllTraffic",
              "CustomAttributes": ""}  # fmt: skip
    httpx.post(f"{moto.url}/moto-api/static/sagemaker/endpoint-results", json={"results": [result]}).raise_for_status()


def test_moto_realtime_with_the_aptmagic_container_shape(moto: MotoServer) -> None:
    queue_result(moto, json.dumps({"images": [png_b64((5, 6, 7))], "text": None, "data": {"seeds": [1]}}))
    result = run(sagemaker(moto.url, "text-to-image"), TextToImageParams(prompt="x"))
    assert len(result.images) == 1 and result.images[0].getpixel((0, 0)) == (5, 6, 7)
    assert result.data == {"seeds": [1]}


def test_moto_realtime_with_a_tgi_answer(moto: MotoServer) -> None:
    queue_result(moto, json.dumps([{"generated_text": "Hello there."}]))
    result = run(sagemaker(moto.url, "text", adapter="tgi"), TextParams(messages=HELLO))
    assert result.text == "Hello there." and result.data["finish_reason"] == "stop"


def test_moto_async_puts_the_input_in_s3_and_polls_the_answer(moto: MotoServer) -> None:
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=moto.url)
    s3.create_bucket(Bucket="async-in")
    queue_result(moto, json.dumps({"images": [png_b64((8, 8, 8))], "data": {}}), asynchronous=True)
    backend = sagemaker(moto.url, "text-to-image", mode="async", s3_input="s3://async-in/requests/",
                        s3_endpoint_url=moto.url, poll_seconds=0.05)  # fmt: skip
    result = run(backend, TextToImageParams(prompt="a slow painting"))
    assert result.images[0].getpixel((0, 0)) == (8, 8, 8)
    assert s3.list_objects_v2(Bucket="async-in").get("KeyCount") == 0  # the request object is removed


def test_moto_async_failure_file_is_the_containers_error(moto: MotoServer) -> None:
    boto3.client("s3", region_name="us-east-1", endpoint_url=moto.url).create_bucket(Bucket="async-in")
    failure = json.dumps({"error": {"code": "content_filtered", "message": "blocked prompt", "transient": False}})
    queue_result(moto, failure, asynchronous=True, failure=True)
    backend = sagemaker(moto.url, "text-to-image", mode="async", s3_input="s3://async-in/", s3_endpoint_url=moto.url,
                        poll_seconds=0.05)  # fmt: skip
    with pytest.raises(ContentFiltered, match="blocked prompt"):
        run(backend, TextToImageParams(prompt="x"))


def test_moto_async_answer_outside_s3_output_is_refused(moto: MotoServer) -> None:
    boto3.client("s3", region_name="us-east-1", endpoint_url=moto.url).create_bucket(Bucket="async-in")
    queue_result(moto, "{}", asynchronous=True)
    backend = sagemaker(moto.url, "text-to-image", mode="async", s3_input="s3://async-in/", s3_endpoint_url=moto.url,
                        s3_output="s3://my-endpoint-output/", poll_seconds=0.05)  # fmt: skip
    with pytest.raises(InferenceError, match="outside s3_output"):
        run(backend, TextToImageParams(prompt="x"))


# aptmagic serve-model behind a SageMaker-like front


def forward(container: Container) -> object:
    def handler(seen: Seen) -> Reply:
        headers = {"Content-Type": seen.headers.get("content-type", ""), "Accept": seen.headers.get("accept", "")}
        answer = httpx.post(container.url + "/invocations", content=seen.body, headers=headers, timeout=60)
        if answer.status_code == 200:
            return Reply(200, {"Content-Type": answer.headers["content-type"]}, [answer.content])
        message = f"Received client error ({answer.status_code}) from primary with message {answer.text!r}"
        return error_reply(424, "ModelError", message, OriginalStatusCode=answer.status_code,
                           OriginalMessage=answer.text, LogStreamArn="arn:aws:logs:us-east-1:1:log-group")  # fmt: skip

    return handler


def forward_stream(container: Container) -> object:
    def handler(seen: Seen) -> Reply:
        headers = {"Content-Type": seen.headers.get("content-type", ""),
                   "Accept": seen.headers.get("x-amzn-sagemaker-accept", "")}  # fmt: skip

        def parts() -> Iterator[bytes]:
            with httpx.stream("POST", container.url + "/invocations", content=seen.body, headers=headers,
                              timeout=60) as answer:  # fmt: skip
                for chunk in answer.iter_raw():
                    yield event("PayloadPart", chunk, "application/octet-stream")

        return stream_reply(parts())

    return handler


@pytest.fixture(scope="module")
def sd_container(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Container]:
    container = start_container(tmp_path_factory.mktemp("sd"), models_dir, "tiny-sd")
    yield container
    container.stop()


@pytest.fixture(scope="module")
def llm_container(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Container]:
    container = start_container(tmp_path_factory.mktemp("llm"), models_dir, "tiny-llm")
    yield container
    container.stop()


def test_serve_model_text_to_image_through_invoke_endpoint(double: AWSDouble, sd_container: Container) -> None:
    double.answer("/endpoints/aptmagic-sd/invocations", forward(sd_container))
    model = spec("sagemaker", "aptmagic-sd", "text-to-image", also=("image-to-image",), region="us-east-1",
                 endpoint_url=double.url, adapter="aptmagic")  # fmt: skip
    model = model.model_copy(update={"default_params": {"width": 64, "height": 64, "steps": 2}})
    backend = backend_for(model)
    params = TextToImageParams(prompt="a lighthouse", num_images=2).resolve(model)
    first = run(backend, params, Recorder(seed=12))
    again = run(backend, params, Recorder(seed=12))
    assert [image.size for image in first.images] == [(64, 64)] * 2
    assert [i.tobytes() for i in first.images] == [i.tobytes() for i in again.images]  # the seed travelled
    assert double.seen[0].json()["params"]["seed"] == 12

    source = base64.b64decode(png_b64((200, 100, 0), (72, 64)))
    recorder = Recorder(inputs={ASSET: InputFile(ASSET, source, "image/png", "image")})
    varied = run(backend, ImageToImageParams(source=ASSET, prompt="ink", num_variations=1, steps=2), recorder)
    assert varied.images[0].size == (72, 64) and varied.data["source_size"] == [72, 64]
    assert double.seen[-1].json()["inputs"][ASSET]["media_kind"] == "image"


def test_serve_model_errors_keep_their_code_through_model_error(double: AWSDouble, sd_container: Container) -> None:
    double.answer("/endpoints/aptmagic-sd/invocations", forward(sd_container))
    backend = sagemaker(double.url, "text-to-image", "aptmagic-sd")
    with pytest.raises(InferenceError) as caught:
        run(backend, TextToImageParams(prompt="x", width=1024, height=1024))
    assert not caught.value.transient and "width is at most 256" in str(caught.value)


def test_serve_model_text_streams_through_the_response_stream(double: AWSDouble, llm_container: Container) -> None:
    double.answer("/endpoints/aptmagic-llm/invocations-response-stream", forward_stream(llm_container))
    double.answer("/endpoints/aptmagic-llm/invocations", forward(llm_container))
    streamed = sagemaker(double.url, "text", "aptmagic-llm", mode="stream")
    recorder = Recorder(seed=3)
    params = TextParams(messages=HELLO, max_tokens=16)
    result = run(streamed, params, recorder)

    assert len(recorder.tokens) > 1 and "".join(recorder.tokens) == result.text
    assert result.data["usage"]["completion_tokens"] > 0
    assert double.seen[0].headers["x-amzn-sagemaker-accept"] == "application/jsonlines"
    realtime = run(sagemaker(double.url, "text", "aptmagic-llm"), params, Recorder(seed=3))
    assert realtime.text == result.text  # the same container answer, streamed or whole
