"""Image uploads: pixel count from the header, then decode and re-encode.

The size is read from the file's own header before Pillow decodes anything,
so a decompression bomb is refused without allocating it. An accepted image
is decoded, turned upright by its EXIF orientation, and written again from
pixels alone: EXIF (GPS included), XMP, text chunks and trailing bytes do not
survive. Only the ICC colour profile is carried over."""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

from aptmagic.kit.errors import AppError
from aptmagic.uploads.errors import CorruptUpload, ImageTooLarge
from aptmagic.uploads.sniff import JPEG, PNG, WEBP, FileType

# Pillow only warns between MAX_IMAGE_PIXELS and twice that; an upload there is refused instead.
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)

JPEG_QUALITY = 95
WEBP_QUALITY = 95
PNG_COMPRESS_LEVEL = 6
_SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    width: int
    height: int
    mode: str
    frames: int


def header_size(data: bytes, file_type: FileType) -> tuple[int, int]:
    """(width, height) as the header states them, without decoding."""
    try:
        if file_type is PNG:
            size = _png_size(data)
        elif file_type is JPEG:
            size = _jpeg_size(data)
        elif file_type is WEBP:
            size = _webp_size(data)
        else:
            raise ValueError(f"not an image type: {file_type.name}")
    except (struct.error, IndexError):
        size = None
    if size is None or size[0] <= 0 or size[1] <= 0:
        raise CorruptUpload(f"the {file_type.name.upper()} header is truncated or corrupt; its size cannot be read")
    return size


def check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"the image is {width}x{height} ({width * height:,} pixels); the most allowed is {max_pixels:,} pixels",
            details={"width": width, "height": height, "max_pixels": max_pixels},
        )


def clean_image(data: bytes, file_type: FileType, max_pixels: int) -> CleanImage:
    """Refuse over-large or broken images; return the upright, metadata-free re-encoding."""
    width, height = header_size(data, file_type)
    check_pixels(width, height, max_pixels)
    try:
        with Image.open(io.BytesIO(data), formats=[file_type.pillow_format]) as image:  # type: ignore[list-item]
            if image.size != (width, height):
                raise CorruptUpload("the image header is inconsistent")
            frames = getattr(image, "n_frames", 1)
            image.load()
            icc = image.info.get("icc_profile")
            lossless = file_type is WEBP and _webp_lossless(data)
            upright = ImageOps.exif_transpose(image)
            encoded, mode = _encode(upright, file_type, icc, lossless)
            return CleanImage(encoded, upright.width, upright.height, mode, frames)
    except AppError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLarge(f"the image is {width}x{height}, over the decompression limit") from None
    except MemoryError:
        raise ImageTooLarge("the image needs more memory to decode than is allowed") from None
    except Exception as exc:
        raise CorruptUpload(f"the {file_type.name.upper()} image is truncated or corrupt ({_reason(exc)})") from None


def _encode(image: Image.Image, file_type: FileType, icc: bytes | None, lossless: bool) -> tuple[bytes, str]:
    pixels = _pixels_only(image, file_type)
    options: dict[str, object] = {"icc_profile": icc} if icc else {}
    buffer = io.BytesIO()
    if file_type is PNG:
        pixels.save(buffer, "PNG", compress_level=PNG_COMPRESS_LEVEL, **options)
    elif file_type is JPEG:
        pixels.save(buffer, "JPEG", quality=JPEG_QUALITY, **options)
    else:
        pixels.save(buffer, "WEBP", quality=WEBP_QUALITY, lossless=lossless, **options)
    return buffer.getvalue(), pixels.mode


def _pixels_only(image: Image.Image, file_type: FileType) -> Image.Image:
    """A copy with no metadata, in a mode the output format can hold."""
    has_alpha = "A" in image.getbands() or "transparency" in image.info
    if file_type is PNG:
        keep = image.mode in ("1", "L", "LA", "I", "I;16", "RGB", "RGBA", "P") and "transparency" not in image.info
    elif file_type is JPEG:
        keep = image.mode in ("L", "RGB", "CMYK")
    else:
        keep = image.mode in ("RGB", "RGBA")
    if keep:
        pixels = image.copy()
    elif file_type is JPEG:
        pixels = image.convert("RGB")
    else:
        pixels = image.convert("RGBA" if has_alpha else "RGB")
    pixels.info = {}
    return pixels


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:200]


def _png_size(data: bytes) -> tuple[int, int] | None:
    if data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Walk the marker segments to the first start-of-frame."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan before any frame header
            return None
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if length < 2:
            return None
        if marker in _SOF_MARKERS:
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            return None
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        if data[20] != 0x2F:
            return None
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    return None


def _webp_lossless(data: bytes) -> bool:
    """Whether a WebP is lossless (re-encoded losslessly so that it stays so)."""
    if data[12:16] == b"VP8L":
        return True
    return data[12:16] == b"VP8X" and b"VP8L" in data[30:4096] and b"VP8 " not in data[30:4096]
