from __future__ import annotations

import io

import httpx
from PIL import Image

from tests.conftest import submit, wait_for


def test_text_to_image_end_to_end(client: httpx.Client) -> None:
    job = submit(client, width=64, height=72, seed=3)
    done = wait_for(client, job["id"])
    assert done["status"] == "succeeded", done
    asset = client.get(done["outputs"][0]["url"])
    assert asset.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(asset.content))
    assert image.size == (64, 72)
    assert "parameters" in image.text
