"""AUTOMATIC1111 API shapes, as its clients (webuiapi, Krita and ComfyUI bridges, scripts) send and read them."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from typing import Any

import httpx
from PIL import Image

from tests.compat.conftest import png_bytes
from tests.conftest import LiveServer

SDAPI = "/sdapi/v1"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def decode_png(value: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(value)))
    image.load()
    return image


def a1111_txt2img(**fields: Any) -> dict[str, Any]:
    """A typical client body: many fields aptmagic ignores."""
    return {
        "prompt": "a castle on a hill", "negative_prompt": "blurry", "seed": 1234, "steps": 3, "cfg_scale": 6.5,
        "width": 64, "height": 64, "batch_size": 2, "n_iter": 1, "sampler_name": "Euler a", "restore_faces": False,
        "tiling": False, "enable_hr": False, "denoising_strength": 0, "styles": [], "save_images": False,
        "alwayson_scripts": {}, **fields,
    }  # fmt: skip


def test_txt2img_shapes(http: httpx.Client) -> None:
    response = http.post(f"{SDAPI}/txt2img", json=a1111_txt2img())
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"images", "parameters", "info"}
    assert len(body["images"]) == 2
    assert decode_png(body["images"][0]).size == (64, 64)
    assert body["parameters"]["prompt"] == "a castle on a hill" and body["parameters"]["seed"] == 1234
    info = json.loads(body["info"])
    assert info["seed"] == 1234 and info["all_seeds"] == [1234, 1234]
    assert info["steps"] == 3 and info["cfg_scale"] == 6.5 and (info["width"], info["height"]) == (64, 64)
    assert info["sd_model_name"] == "tiny-sd" and len(info["infotexts"]) == 2
    assert "Seed: 1234" in info["infotexts"][0]


def test_txt2img_random_seed_and_checkpoint_override(http: httpx.Client) -> None:
    title = next(m["title"] for m in http.get(f"{SDAPI}/sd-models").json() if m["model_name"] == "tiny-sd")
    body = a1111_txt2img(seed=-1, batch_size=1, override_settings={"sd_model_checkpoint": title})
    response = http.post(f"{SDAPI}/txt2img", json=body)
    assert response.status_code == 200, response.text
    assert 0 <= json.loads(response.json()["info"])["seed"] < 2**32


def test_img2img_from_a_base64_data_url(http: httpx.Client) -> None:
    init = "data:image/png;base64," + b64(png_bytes((64, 64)))
    body = {"init_images": [init], "prompt": "as a sketch", "denoising_strength": 0.5, "steps": 4, "batch_size": 2,
            "seed": 9, "include_init_images": True, "resize_mode": 0, "sampler_index": "Euler"}  # fmt: skip
    response = http.post(f"{SDAPI}/img2img", json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    assert len(result["images"]) == 3  # two variations and the init image
    assert decode_png(result["images"][0]).size == (64, 64)
    assert json.loads(result["info"])["denoising_strength"] == 0.5
    assert "init_images" not in result["parameters"]


def test_interrogate(http: httpx.Client) -> None:
    response = http.post(f"{SDAPI}/interrogate", json={"image": b64(png_bytes()), "model": "clip"})
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["caption"], str)


def test_sd_models_and_options(http: httpx.Client, compat_live: LiveServer) -> None:
    models = http.get(f"{SDAPI}/sd-models").json()
    names = {m["model_name"] for m in models}
    assert names == {s.id for s in compat_live.services.registry.all() if s.serves("text-to-image")}
    assert {"title", "model_name", "hash", "sha256", "filename", "config"} <= set(models[0])
    options = http.get(f"{SDAPI}/options").json()
    assert options["sd_model_checkpoint"].startswith("tiny-sd [")
    assert http.post(f"{SDAPI}/options", json={"sd_model_checkpoint": "x"}).status_code == 405


def test_progress_idle_and_during_a_job(http: httpx.Client) -> None:
    idle = http.get(f"{SDAPI}/progress", params={"skip_current_image": "false"}).json()
    assert idle["progress"] == 0 and idle["current_image"] is None and idle["state"]["job_count"] == 0
    seen: list[dict[str, Any]] = []
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            state = http.get(f"{SDAPI}/progress").json()
            if state["state"]["sampling_steps"]:
                seen.append(state)
            time.sleep(0.01)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        response = http.post(f"{SDAPI}/txt2img", json=a1111_txt2img(steps=60, seed=77, batch_size=1))
    finally:
        done.set()
        poller.join()
    assert response.status_code == 200
    assert seen, "no progress seen while the job ran"
    assert seen[-1]["state"]["sampling_steps"] == 60 and 0 <= seen[-1]["progress"] <= 1


def test_a1111_error_shapes(http: httpx.Client, compat_live: LiveServer) -> None:
    missing = http.post(f"{SDAPI}/txt2img", json={"prompt": "x", "steps": "many"})
    assert missing.status_code == 422
    detail = missing.json()["detail"]
    assert detail[0]["loc"] == ["body", "steps"]
    unknown = http.post(
        f"{SDAPI}/txt2img", json={"prompt": "x", "override_settings": {"sd_model_checkpoint": "nope [1]"}}
    )
    assert unknown.status_code == 404
    assert set(unknown.json()) == {"error", "detail", "body", "errors"}
    unauthorised = httpx.get(compat_live.url + f"{SDAPI}/sd-models")
    assert unauthorised.status_code == 401 and "detail" in unauthorised.json()
