"""Accepted images are re-encoded: upright, and with nothing but pixels (and a colour profile)."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image, ImageCms
from PIL.PngImagePlugin import PngInfo

from tests.uploads import (
    http,  # noqa: F401  (fixture)
    image_bytes,
    post_file,
    shared_server,
)

server = shared_server()
GPS_IFD = 0x8825
ORIENTATION = 0x0112
SECRET = b"TRAILING-SECRET-BYTES"


def upload_and_fetch(http: httpx.Client, data: bytes, content_type: str | None = None) -> tuple[dict, bytes]:
    response = post_file(http, data, "photo", content_type)
    assert response.status_code == 201, response.text
    body = response.json()
    fetched = http.get(body["url"])
    assert fetched.status_code == 200
    assert len(fetched.content) == body["size"]
    return body, fetched.content


def jpeg_with_gps(orientation: int = 1) -> bytes:
    image = Image.new("RGB", (40, 20), (200, 30, 30))
    image.paste((10, 200, 10), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2] = "N", (48.0, 51.0, 29.0)  # GPSLatitudeRef, GPSLatitude
    gps[3], gps[4] = "E", (2.0, 17.0, 40.0)  # GPSLongitudeRef, GPSLongitude
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=90)
    return buffer.getvalue()


def test_exif_and_gps_are_gone_from_a_jpeg(http: httpx.Client) -> None:
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the sample does carry a location

    body, stored = upload_and_fetch(http, original, "image/jpeg")

    assert body["content_type"] == "image/jpeg"
    reopened = Image.open(io.BytesIO(stored))
    assert reopened.format == "JPEG"
    assert len(reopened.getexif()) == 0
    assert b"Exif" not in stored and b"PhoneMaker" not in stored


def test_exif_orientation_is_applied_before_it_is_dropped(http: httpx.Client) -> None:
    body, stored = upload_and_fetch(http, jpeg_with_gps(orientation=6), "image/jpeg")  # rotate 90 degrees clockwise

    assert (body["width"], body["height"]) == (20, 40)
    upright = Image.open(io.BytesIO(stored)).convert("RGB")
    assert upright.size == (20, 40)
    top = upright.getpixel((10, 5))
    assert top[1] > 150 and top[0] < 80  # the green left half is now on top


def test_trailing_bytes_after_the_image_are_gone(http: httpx.Client) -> None:
    for fmt, content_type in (("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")):
        _, stored = upload_and_fetch(http, image_bytes(fmt) + SECRET, content_type)
        assert SECRET not in stored, fmt
        assert Image.open(io.BytesIO(stored)).format == fmt


def test_png_text_chunks_are_gone(http: httpx.Client) -> None:
    info = PngInfo()
    info.add_text("Comment", "home address: 1 Secret Lane")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>secret</x:xmpmeta>")
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buffer, "PNG", pnginfo=info)

    _, stored = upload_and_fetch(http, buffer.getvalue(), "image/png")

    assert b"Secret Lane" not in stored and b"xmpmeta" not in stored
    assert Image.open(io.BytesIO(stored)).text == {}


def test_the_colour_profile_is_kept(http: httpx.Client) -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buffer, "JPEG", icc_profile=profile)

    _, stored = upload_and_fetch(http, buffer.getvalue())

    assert Image.open(io.BytesIO(stored)).info.get("icc_profile") == profile


@pytest.mark.parametrize(
    ("fmt", "mode", "save", "stored_mode"),
    [
        ("PNG", "RGBA", {}, "RGBA"),
        ("PNG", "P", {"transparency": 0}, "RGBA"),
        ("PNG", "L", {}, "L"),
        ("PNG", "I;16", {}, "I;16"),
        ("JPEG", "CMYK", {}, "CMYK"),
        ("JPEG", "L", {}, "L"),
        ("WEBP", "RGBA", {"lossless": True}, "RGBA"),
        ("WEBP", "RGB", {"quality": 80}, "RGB"),
    ],
)
def test_image_modes_survive_the_re_encoding(
    http: httpx.Client, fmt: str, mode: str, save: dict, stored_mode: str
) -> None:
    buffer = io.BytesIO()
    Image.new(mode, (24, 16)).save(buffer, fmt, **save)

    body, stored = upload_and_fetch(http, buffer.getvalue())

    reopened = Image.open(io.BytesIO(stored))
    assert (reopened.format, reopened.size) == (fmt, (24, 16))
    assert reopened.mode == stored_mode
    assert body["content_type"] == f"image/{fmt.lower()}"


def test_a_lossless_webp_stays_lossless(http: httpx.Client) -> None:
    image = Image.effect_noise((32, 32), 64).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", lossless=True)

    _, stored = upload_and_fetch(http, buffer.getvalue(), "image/webp")

    assert Image.open(io.BytesIO(stored)).convert("RGB").tobytes() == image.tobytes()
