"""The generate form of each task: which controls it shows, and how they map to the job's params.

The API checks every value again; these only shape the form (types, ranges, defaults)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TONES = ("neutral", "playful", "formal", "poetic", "marketing")
LENGTHS = ("short", "medium", "long")


@dataclass(frozen=True)
class Control:
    name: str
    label: str
    kind: str  # text, textarea, int, float, select, bool, source, seed
    hint: str = ""
    options: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    step: float | None = None
    default: Any = None
    required: bool = False
    advanced: bool = False
    placeholder: str = ""
    maxlength: int | None = None


@dataclass(frozen=True)
class TaskForm:
    task: str
    title: str
    blurb: str
    controls: tuple[Control, ...]
    accept: str = ""  # the file types its source takes
    formats: str = ""  # the same, said for people
    result: str = "text"  # images, text or transcript
    streams: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def main(self) -> tuple[Control, ...]:
        return tuple(c for c in self.controls if not c.advanced)

    @property
    def advanced(self) -> tuple[Control, ...]:
        return tuple(c for c in self.controls if c.advanced)


IMAGE_TYPES = "image/png,image/jpeg,image/webp"
AUDIO_TYPES = "audio/wav,audio/x-wav,audio/mpeg,audio/mp4,audio/x-m4a,audio/ogg,audio/flac"
VIDEO_TYPES = "video/mp4,video/webm,video/quicktime"

SEED = Control("seed", "Seed", "seed", "Blank picks one; the same seed gives the same result.", min=0, max=4294967295,
               advanced=True, placeholder="random")  # fmt: skip
GUIDANCE = Control("guidance", "Guidance", "float", "How closely to follow the prompt.", min=0, max=30, step=0.5,
                   advanced=True)  # fmt: skip
NEGATIVE = Control("negative_prompt", "Negative prompt", "text", "What to avoid.", advanced=True,
                   placeholder="blurry, low quality", maxlength=1000)  # fmt: skip
STEPS = Control("steps", "Steps", "int", min=1, max=150)

# fmt: off
FORMS: tuple[TaskForm, ...] = (
    TaskForm(
        "text-to-image", "Text to image", "Describe a picture and get it drawn.",
        (
            Control("prompt", "Prompt", "textarea", "Ctrl+Enter generates.", required=True, maxlength=1000,
                    placeholder="a lighthouse at dawn, oil painting"),
            Control("width", "Width", "int", min=64, max=2048, step=8),
            Control("height", "Height", "int", min=64, max=2048, step=8),
            STEPS,
            Control("num_images", "Images", "int", min=1, max=8, default=1),
            NEGATIVE, GUIDANCE, SEED,
        ),
        result="images",
    ),
    TaskForm(
        "image-to-image", "Image to image", "Variations of a picture of yours.",
        (
            Control("source", "Source image", "source", required=True),
            Control("prompt", "Direction", "textarea", "Optional: what the variations should become.", maxlength=1000,
                    placeholder="as a watercolour"),
            Control("strength", "Strength", "float", "Near 0 keeps the source, 1 ignores it.", min=0.05, max=1,
                    step=0.05, default=0.6),
            Control("num_variations", "Variations", "int", min=1, max=8, default=4),
            STEPS, NEGATIVE, GUIDANCE, SEED,
        ),
        accept=IMAGE_TYPES, formats="PNG, JPEG or WebP", result="images",
    ),
    TaskForm(
        "caption", "Caption", "A caption for an image or a video, in the tone and length you want.",
        (
            Control("source", "Image or video", "source", required=True),
            Control("tone", "Tone", "select", options=TONES, default="neutral"),
            Control("length", "Length", "select", "Or give a word count below.", options=LENGTHS, default="short"),
            Control("length_words", "Maximum words", "int", "3 to 300; overrides the length.", min=3, max=300,
                    advanced=True, placeholder="—"),
            SEED,
        ),
        accept=f"{IMAGE_TYPES},{VIDEO_TYPES}", formats="An image (PNG, JPEG, WebP) or a video (MP4, WebM, MOV)",
    ),
    TaskForm(
        "text", "Text", "Chat with the language model; the answer streams in as it is written.",
        (
            Control("message", "Message", "textarea", "Ctrl+Enter sends.", required=True, maxlength=100000,
                    placeholder="Write a haiku about rain."),
            Control("system", "System instructions", "textarea", "Optional: how the model should answer.",
                    advanced=True, maxlength=100000),
            Control("max_tokens", "Max tokens", "int", min=1, max=8192, default=256),
            Control("temperature", "Temperature", "float", "0 is greedy.", min=0, max=2, step=0.1, default=0.7),
            Control("top_p", "Top p", "float", min=0.05, max=1, step=0.05, default=0.95, advanced=True),
            Control("stop", "Stop strings", "text", "Comma-separated, up to 4.", advanced=True, maxlength=300),
            SEED,
        ),
        streams=True,
    ),
    TaskForm(
        "summarize", "Summarize", "A summary of a long text, as a paragraph, bullets or a TL;DR.",
        (
            Control("text", "Text", "textarea", required=True, maxlength=100000, placeholder="Paste the text here."),
            Control("length", "Length", "select", options=LENGTHS, default="short"),
            Control("style", "Style", "select", options=("paragraph", "bullets", "tldr"), default="paragraph"),
            Control("max_tokens", "Max tokens", "int", min=1, max=8192, default=512, advanced=True),
            SEED,
        ),
        streams=True,
    ),
    TaskForm(
        "transcribe", "Transcribe", "A transcript of audio or video, with timed segments.",
        (
            Control("source", "Audio or video", "source", required=True),
            Control("language", "Language", "text", "ISO code such as en; blank detects it.", maxlength=3,
                    placeholder="auto"),
            Control("timestamps", "Timed segments", "bool", default=True),
        ),
        accept=f"{AUDIO_TYPES},{VIDEO_TYPES}", formats="Audio (WAV, MP3, M4A, OGG, FLAC) or a video (MP4, WebM, MOV)",
        result="transcript",
    ),
)
# fmt: on
BY_TASK = {form.task: form for form in FORMS}
DEFAULT_TASK = "text-to-image"


def form_for(task: str | None) -> TaskForm:
    return BY_TASK.get(task or DEFAULT_TASK, BY_TASK[DEFAULT_TASK])


def prefill(task: str, params: dict[str, Any], *, keep_source: bool) -> dict[str, Any]:
    """The form's values from a job's params (a remix); a text job's chat becomes its two boxes."""
    values = {k: v for k, v in params.items() if k != "source" or keep_source}
    if task == "text":
        messages = [m for m in params.get("messages") or [] if isinstance(m, dict)]
        values["system"] = next((m.get("content", "") for m in messages if m.get("role") == "system"), "")
        values["message"] = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
        values["stop"] = ", ".join(str(s) for s in params.get("stop") or [])
    if task == "caption" and isinstance(params.get("length"), int):
        values["length_words"], values["length"] = params["length"], "short"
    return values
