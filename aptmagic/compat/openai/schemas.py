"""OpenAI request and response bodies, as the official clients send and read them.

Fields OpenAI defines that change nothing here (``user``, ``quality``,
``style``, penalties, ``store``...) are accepted and ignored; values of the
wrong type or out of range are refused. ``seed``, ``steps``, ``guidance`` and
``negative_prompt`` on image requests are aptmagic extensions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from aptmagic.inference.params import MAX_PROMPT_CHARS, MAX_TEXT_CHARS

MAX_IMAGES = 8
Size = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^(auto|\d{2,4}x\d{2,4})$")]
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", protected_namespaces=())


class ImageGenerationRequest(_Lenient):
    prompt: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_PROMPT_CHARS)]
    model: Annotated[str, StringConstraints(max_length=64)] | None = None
    n: int = Field(1, ge=1, le=MAX_IMAGES, description=f"Images to make, 1-{MAX_IMAGES}.")
    size: Size | None = Field(
        None, description="WIDTHxHEIGHT, multiples of 8 within the model's limits; auto: its default."
    )
    response_format: Literal["url", "b64_json"] | None = Field(
        None, description="url (default): a signed link valid for an hour."
    )
    quality: str | None = None
    style: str | None = None
    user: str | None = None
    seed: Seed | None = Field(None, description="aptmagic extension: the same seed gives the same images.")
    steps: int | None = Field(None, ge=1, le=150, description="aptmagic extension: denoising steps.")
    guidance: float | None = Field(None, ge=0.0, le=30.0, description="aptmagic extension: guidance scale.")
    negative_prompt: Annotated[str, StringConstraints(max_length=MAX_PROMPT_CHARS)] | None = None


class ImageFormFields(BaseModel):
    """The fields of a multipart edits or variations request (the image is a file part)."""

    model_config = ConfigDict(extra="ignore", protected_namespaces=())

    prompt: str | None = Field(None, max_length=MAX_PROMPT_CHARS)
    model: str | None = Field(None, max_length=64)
    n: int = Field(1, ge=1, le=MAX_IMAGES)
    size: Size | None = None
    response_format: str | None = Field(None, pattern=r"^(url|b64_json)$")
    seed: int | None = Field(None, ge=0, le=2**32 - 1)
    strength: float | None = Field(None, gt=0.0, le=1.0)


class TranscriptionFields(BaseModel):
    """The fields of a multipart transcription request (the audio is the ``file`` part)."""

    model_config = ConfigDict(extra="ignore", protected_namespaces=())

    model: str | None = Field(None, max_length=64)
    language: str | None = Field(None, pattern=r"^[a-z]{2,3}$")
    prompt: str | None = Field(None, max_length=1000)
    response_format: str = Field("json", pattern=r"^(json|text|srt|vtt|verbose_json)$")
    temperature: float | None = Field(None, ge=0.0, le=1.0)


class ImageData(BaseModel):
    url: str | None = None
    b64_json: str | None = None
    revised_prompt: str | None = None


class ImagesResponse(BaseModel):
    created: int
    data: list[ImageData]
    seed: int | None = Field(None, description="aptmagic extension: the seed used.")
    job_id: str | None = Field(None, description="aptmagic extension: the job that made the images.")


class TextPart(_Lenient):
    type: Literal["text"]
    text: Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)]


class ChatMessageIn(_Lenient):
    role: Literal["system", "developer", "user", "assistant"]
    content: Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)] | list[TextPart] | None = None
    name: str | None = None


class StreamOptions(_Lenient):
    include_usage: bool = False


class ChatCompletionRequest(_Lenient):
    model: Annotated[str, StringConstraints(max_length=64)] | None = None
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=200)
    max_tokens: int | None = Field(None, ge=1, le=8192)
    max_completion_tokens: int | None = Field(None, ge=1, le=8192)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    stop: (
        Annotated[str, StringConstraints(min_length=1, max_length=64)]
        | list[Annotated[str, StringConstraints(min_length=1, max_length=64)]]
        | None
    ) = None
    seed: Seed | None = None
    n: int | None = Field(None, ge=1, le=1, description="Only 1 is supported.")
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = None


class ChatMessageOut(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int = 0
    message: ChatMessageOut
    finish_reason: str
    logprobs: None = None


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage
    system_fingerprint: str | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "aptmagic"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class Transcription(BaseModel):
    text: str


class Segment(BaseModel):
    id: int
    seek: int = 0
    start: float
    end: float
    text: str
    tokens: list[int] = Field(default_factory=list)
    temperature: float = 0.0
    avg_logprob: float = 0.0
    compression_ratio: float = 0.0
    no_speech_prob: float = 0.0


class VerboseTranscription(BaseModel):
    task: Literal["transcribe"] = "transcribe"
    language: str
    duration: float
    text: str
    segments: list[Segment]


def chunk(
    completion_id: str, created: int, model: str, delta: dict[str, Any], finish_reason: str | None
) -> dict[str, Any]:
    """One ``chat.completion.chunk`` of a streamed answer."""
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": None,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }
