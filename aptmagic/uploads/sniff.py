"""The allowlist of upload types, told apart by their first bytes.

A file's name never decides its type. A declared content type (the multipart
part's header, or the one signed into a presigned URL) only has to agree with
what the bytes say."""

from __future__ import annotations

from dataclasses import dataclass, field

HEAD_BYTES = 64
UNDECLARED = frozenset({"", "application/octet-stream", "binary/octet-stream"})


@dataclass(frozen=True)
class FileType:
    name: str
    content_type: str
    media_kind: str
    pillow_format: str | None = None
    demuxer: str | None = None
    aliases: frozenset[str] = field(default_factory=frozenset)

    def accepts(self, content_type: str) -> bool:
        return content_type == self.content_type or content_type in self.aliases


PNG = FileType("png", "image/png", "image", pillow_format="PNG")
JPEG = FileType("jpeg", "image/jpeg", "image", pillow_format="JPEG", aliases=frozenset({"image/jpg", "image/pjpeg"}))
WEBP = FileType("webp", "image/webp", "image", pillow_format="WEBP")
WAV = FileType(
    "wav", "audio/wav", "audio", demuxer="wav", aliases=frozenset({"audio/x-wav", "audio/wave", "audio/vnd.wave"})
)
MP3 = FileType(
    "mp3", "audio/mpeg", "audio", demuxer="mp3", aliases=frozenset({"audio/mp3", "audio/mpeg3", "audio/x-mpeg-3"})
)
M4A = FileType("m4a", "audio/mp4", "audio", demuxer="mov", aliases=frozenset({"audio/x-m4a", "audio/m4a"}))
OGG = FileType(
    "ogg", "audio/ogg", "audio", demuxer="ogg", aliases=frozenset({"application/ogg", "audio/opus", "audio/vorbis"})
)
FLAC = FileType("flac", "audio/flac", "audio", demuxer="flac", aliases=frozenset({"audio/x-flac"}))
MP4 = FileType("mp4", "video/mp4", "video", demuxer="mov")
WEBM = FileType("webm", "video/webm", "video", demuxer="webm")
WEBM_AUDIO = FileType("webm-audio", "audio/webm", "audio", demuxer="webm")
MOV = FileType("mov", "video/quicktime", "video", demuxer="mov")

ALLOWED: tuple[FileType, ...] = (PNG, JPEG, WEBP, WAV, MP3, M4A, OGG, FLAC, MP4, WEBM, MOV)
"""What an upload may be; ``WEBM_AUDIO`` is a WebM found to hold only sound."""

# One container, two kinds: the streams (or what the client declared) decide which.
SIBLINGS: dict[FileType, FileType] = {MP4: M4A, M4A: MP4, WEBM: WEBM_AUDIO, WEBM_AUDIO: WEBM}

ISO_BRANDS = {
    b"qt  ": MOV,
    b"M4A ": M4A,
    b"M4B ": M4A,
    b"M4P ": M4A,
    **{
        brand: MP4
        for brand in (
            b"isom",
            b"iso2",
            b"iso3",
            b"iso4",
            b"iso5",
            b"iso6",
            b"mp41",
            b"mp42",
            b"avc1",
            b"dash",
            b"M4V ",
            b"M4VH",
            b"M4VP",
            b"MSNV",
            b"mmp4",
            b"XAVC",
        )
    },
}


def allowed_content_types() -> list[str]:
    return [t.content_type for t in ALLOWED]


def normalise_content_type(value: str | None) -> str:
    """``Image/JPEG; charset=x`` -> ``image/jpeg``."""
    return (value or "").split(";", 1)[0].strip().lower()


def by_content_type(content_type: str) -> FileType | None:
    content_type = normalise_content_type(content_type)
    for file_type in (*ALLOWED, WEBM_AUDIO):
        if file_type.accepts(content_type):
            return file_type
    return None


def sniff(data: bytes) -> FileType | None:
    """The allowed type these bytes start like, or None."""
    head = data[:HEAD_BYTES]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return WAV
    if head.startswith(b"fLaC"):
        return FLAC
    if head.startswith(b"OggS"):
        return OGG
    if head[4:8] == b"ftyp":
        return ISO_BRANDS.get(head[8:12])
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return WEBM if _ebml_doctype(head) == b"webm" else None
    if head.startswith(b"ID3") and len(head) > 3 and head[3] in (2, 3, 4):
        return MP3
    if _mpeg_audio_frame(head):
        return MP3
    return None


def resolve(sniffed: FileType, declared: str | None) -> FileType | None:
    """The type to store, given what the bytes are and what the client said; None if they disagree."""
    declared = normalise_content_type(declared)
    if declared in UNDECLARED or sniffed.accepts(declared):
        return sniffed
    sibling = SIBLINGS.get(sniffed)
    if sibling is not None and sibling.accepts(declared):
        return sibling
    return None


def _mpeg_audio_frame(head: bytes) -> bool:
    """An MPEG-1/2/2.5 Layer III frame header (an MP3 without an ID3 tag)."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version = (head[1] >> 3) & 0b11
    layer = (head[1] >> 1) & 0b11
    bitrate = head[2] >> 4
    rate = (head[2] >> 2) & 0b11
    return version != 0b01 and layer == 0b01 and bitrate != 0b1111 and rate != 0b11


def _read_vint(data: bytes, pos: int) -> tuple[int, int] | None:
    """An EBML variable-length size at ``pos``: (value, next position)."""
    if pos >= len(data) or data[pos] == 0:
        return None
    first = data[pos]
    length = 8 - first.bit_length() + 1
    if pos + length > len(data):
        return None
    value = first & ((1 << (8 - length)) - 1)
    for byte in data[pos + 1 : pos + length]:
        value = (value << 8) | byte
    return value, pos + length


def _ebml_doctype(head: bytes) -> bytes | None:
    at = head.find(b"\x42\x82", 4)
    if at < 0:
        return None
    size = _read_vint(head, at + 2)
    if size is None or size[0] > 16:
        return None
    value, start = size
    return head[start : start + value].rstrip(b"\x00")
