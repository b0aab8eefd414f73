"""Write docs/operations/configuration.md from ``Settings``.

    python -m aptmagic.config_docs           # (re)write the file
    python -m aptmagic.config_docs --check   # exit 1 when the file and Settings disagree

The page is generated, never edited by hand: every field of ``Settings`` with its
environment variable, type, default and description, grouped by what it configures.
The output is deterministic: no dates, and no default that depends on the machine.
"""

from __future__ import annotations

import argparse
import enum
import json
import sys
import types
import typing
from collections.abc import Callable
from pathlib import Path, PurePath
from typing import Any, Literal

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from aptmagic.config import Settings

DEFAULT_OUTPUT = Path("docs") / "operations" / "configuration.md"

# Defaults computed from the machine (home folder, environment) get a stable description.
MACHINE_DEFAULTS = {
    "data_dir": "`$XDG_DATA_HOME/aptmagic`, else `~/.local/share/aptmagic`",
}

# Groups in page order. A field joins the first group with a matching name or prefix
# (a name ending in "_" is a prefix); fields that match none land in "General".
GENERAL = "General"
GROUPS: list[tuple[str, tuple[str, ...]]] = [
    (GENERAL, ()),
    ("Models", ("demo", "models", "models_dir", "default_models", "model_cache_")),
    (
        "Jobs and workers",
        ("worker_concurrency", "max_attempts", "retry_", "progress_", "shutdown_"),
    ),
    ("Uploads", ("upload_", "presign_", "clamav_")),
    (
        "Accounts and sign-in",
        ("auth_", "allow_", "session_", "cookie_", "password_", "login_"),
    ),
    ("Plans and rate limits", ("plans", "default_plan", "rate_limit_")),
    (
        "HTTP hardening",
        ("request_max_", "cors_", "trust_forwarded_", "hsts_"),
    ),
    ("Metrics", ("metrics_",)),
    ("Alerts", ("alert_", "smtp_")),
    ("Job webhooks", ("webhook_",)),
    ("Moderation", ("moderation_",)),
    ("S3 storage", ("s3_",)),
    ("Redis shared state", ("redis_", "result_cache_")),
    (
        "Celery queue, leases and re-dispatch",
        (
            "broker_",
            "queue_name_prefix",
            "sqs_",
            "lease_",
            "redispatch_",
            "idempotency_",
        ),
    ),
    ("Database connections", ("db_",)),
    ("AWS secrets and backups", ("aws_",)),
]

CONSTRAINTS = (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<"))
DURATION_UNITS = ((86400, "day"), (3600, "hour"), (60, "minute"))
BYTE_UNITS = ((1024**3, "GiB"), (1024**2, "MiB"), (1024, "KiB"))


def group_of(name: str) -> str:
    for title, patterns in GROUPS:
        for pattern in patterns:
            if name == pattern or (pattern.endswith("_") and name.startswith(pattern)):
                return title
    return GENERAL


def env_names(name: str, field: FieldInfo) -> list[str]:
    """The environment variables that set a field (pydantic-settings reads them case-insensitively)."""
    config = Settings.model_config
    alias = field.validation_alias if field.validation_alias is not None else field.alias
    if isinstance(alias, str):
        return [alias.upper()]
    choices = getattr(alias, "choices", None)
    if choices:
        return [choice.upper() for choice in choices if isinstance(choice, str)]
    return [(str(config.get("env_prefix", "")) + name).upper()]


def type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin is Literal:
        return " | ".join(json.dumps(arg) for arg in args)
    if origin in (typing.Union, types.UnionType):
        rest = [arg for arg in args if arg is not type(None)]
        names = " | ".join(type_name(arg) for arg in rest)
        return f"{names} | None" if len(rest) < len(args) else names
    if origin is not None:
        inner = ", ".join(type_name(arg) for arg in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    if annotation is SecretStr:
        return "secret"
    if isinstance(annotation, type) and issubclass(annotation, PurePath):
        return "path"
    return getattr(annotation, "__name__", str(annotation))


def constraints(field: FieldInfo) -> str:
    parts = []
    for item in field.metadata:
        for attribute, sign in CONSTRAINTS:
            value = getattr(item, attribute, None)
            if value is not None:
                parts.append(f"{sign} {value}")
        if getattr(item, "max_length", None) is not None:
            parts.append(f"at most {item.max_length} characters")
        if getattr(item, "pattern", None) is not None:
            parts.append(f"matches `{item.pattern}`")
    return ", ".join(parts)


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, SecretStr):
        return "a built-in development value" if value.get_secret_value() else ""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, PurePath):
        return str(value)
    return value


def _is_complex(value: Any) -> bool:
    """A default too long for a table cell: it is shown in full below the tables."""
    if isinstance(value, dict):
        return any(isinstance(item, BaseModel | dict | list) for item in value.values())
    if isinstance(value, list):
        return any(isinstance(item, BaseModel | dict | list) for item in value)
    return False


def _human(name: str, value: float) -> str:
    if name.endswith("_seconds"):
        for size, unit in DURATION_UNITS:
            if value >= size and value % size == 0:
                count = int(value // size)
                return f" ({count} {unit}{'s' if count != 1 else ''})"
    if name.endswith("_bytes"):
        for size, unit in BYTE_UNITS:
            if value >= size and value % size == 0:
                return f" ({int(value // size)} {unit})"
    return ""


def default_value(field: FieldInfo) -> Any:
    if getattr(field, "default_factory_takes_data", False):
        return None
    if field.default_factory is not None:
        factory = typing.cast(Callable[[], Any], field.default_factory)
        return factory()
    return field.default


def _mentions_machine(value: Any) -> bool:
    """True when a default names this machine's home or working folder."""
    text = json.dumps(_plain(value), default=str)
    return any(place in text for place in (str(Path.home()), str(Path.cwd())) if len(place) > 1)


def default_text(name: str, field: FieldInfo) -> str:
    if name in MACHINE_DEFAULTS:
        return MACHINE_DEFAULTS[name]
    if field.is_required():
        return "required"
    if getattr(field, "default_factory_takes_data", False):
        return "computed from the other settings"
    value = default_value(field)
    if value is None:
        return "unset"
    if isinstance(value, SecretStr):
        return _plain(value) or "empty"
    if isinstance(value, PurePath) or _mentions_machine(value):
        return "depends on the machine"
    if _is_complex(value):
        if isinstance(value, dict):
            return ", ".join(f"`{key}`" for key in value) + " (in full below)"
        return "see below"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"`{value}`{_human(name, value)}"
    if isinstance(value, str):
        return f"`{value}`" if value else "empty"
    if isinstance(value, list | dict) and not value:
        return "empty"
    return f"`{json.dumps(_plain(value))}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def field_row(name: str, field: FieldInfo) -> str:
    kind = f"`{type_name(field.annotation)}`"
    limits = constraints(field)
    if limits:
        kind = f"{kind} ({limits})"
    env = ", ".join(f"`{env}`" for env in env_names(name, field))
    cells = [f"`{name}`", env, kind, default_text(name, field), field.description or ""]
    return "| " + " | ".join(_cell(cell) for cell in cells) + " |"


def _anchor(title: str) -> str:
    kept = "".join(ch for ch in title.lower() if ch.isalnum() or ch in " -")
    return kept.replace(" ", "-")


def _intro() -> list[str]:
    config = Settings.model_config
    prefix = config.get("env_prefix", "")
    case = ""
    if not config.get("case_sensitive"):
        case = " Environment variable names are not case-sensitive."
    lines = [
        "# Configuration",
        "",
        (
            "<!-- Generated from aptmagic/config.py by `make docs`"
            " (python -m aptmagic.config_docs). Do not edit by hand. -->"
        ),
        "",
        (
            "aptmagic has one settings object, `Settings` in `aptmagic/config.py`. Each value"
            " comes, highest priority first, from keyword arguments,"
            f" `{prefix}*` environment variables, a `{config.get('env_file')}` file, and a"
            f" TOML file named by `{prefix}CONFIG_FILE` (keys are the setting names).{case}"
        ),
        "",
        (
            "- Lists and mappings are JSON in an environment variable"
            """ (`APTMAGIC_DEFAULT_MODELS='{"text-to-image": "tiny-sd"}'`); the lists whose"""
            " description says so also take a comma-separated string."
        ),
    ]
    lines += [
        (
            "- Settings are checked when they are read: a bad value stops the server at"
            " start-up. With `APTMAGIC_ENVIRONMENT=production` the server refuses to start"
            " with the development secret key or in demo mode."
        ),
        (
            "- Any value may name a secret instead: `aws-sm://<secret-id>` (Secrets Manager),"
            " `aws-sm://<secret-id>#<json-key>` (one key of a JSON secret) or"
            " `aws-ssm://<parameter-name>` (Parameter Store, SecureStrings decrypted), e.g."
            " `APTMAGIC_SECRET_KEY=aws-sm://prod/aptmagic/secret-key`. Each is read once at"
            " start-up with the standard AWS credentials, before the checks; one that cannot be"
            " read stops start-up with a message naming it. Such values are masked in logs and"
            " dumps. See [AWS secrets and backups](#aws-secrets-and-backups)."
        ),
        "",
        "A config file example (`APTMAGIC_CONFIG_FILE=aptmagic.toml`):",
        "",
        "```toml",
        'data_dir = "/srv/aptmagic"',
        "port = 8080",
        'default_models = { "text-to-image" = "my-sdxl" }',
        "",
        "[[models]]",
        'id = "my-sdxl"',
        'task = "text-to-image"',
        'backend = "diffusers"',
        'source = "stabilityai/sdxl-turbo"     # a hub id or a local folder',
        'variant = "fp16"',
        "default_params = { width = 512, height = 512, steps = 1, guidance = 0.0 }",
        "limits = { max_width = 1024, max_height = 1024, max_steps = 50 }",
        "```",
        "",
    ]
    return lines


def render_configuration_markdown() -> str:
    fields = Settings.model_fields
    grouped: dict[str, list[str]] = {title: [] for title, _ in GROUPS}
    for name in fields:
        grouped[group_of(name)].append(name)
    titles = [title for title, _ in GROUPS if grouped[title]]
    lines = _intro()
    lines.append("Groups: " + ", ".join(f"[{title}](#{_anchor(title)})" for title in titles) + ".")
    lines.append("")
    for title in titles:
        lines += [
            f"## {title}",
            "",
            "| setting | environment variable | type | default | description |",
            "|---|---|---|---|---|",
        ]
        lines += [field_row(name, fields[name]) for name in grouped[title]]
        lines.append("")
    complex_defaults = [
        name for name, field in fields.items() if name not in MACHINE_DEFAULTS and _is_complex(default_value(field))
    ]
    if complex_defaults:
        lines += ["## Defaults in full", ""]
        for name in complex_defaults:
            text = json.dumps(_plain(default_value(fields[name])), indent=2, sort_keys=False)
            lines += [f"`{name}`:", "", "```json", text, "```", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aptmagic.config_docs", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the file is out of date")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"default: {DEFAULT_OUTPUT}")
    args = parser.parse_args(argv)
    text = render_configuration_markdown()
    path: Path = args.output
    if args.check:
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current != text:
            state = "is missing" if current is None else "is out of date with aptmagic/config.py"
            print(
                f"{path} {state}: run `make docs` and commit the result",
                file=sys.stderr,
            )
            return 1
        print(f"{path} is up to date")
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
