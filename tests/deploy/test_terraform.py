"""The Terraform configuration, read and checked without AWS: formatting, validation of every
root, environments that differ only in their .tfvars, app settings that aptmagic knows, and the
rules that keep secrets and open ports where they belong."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from aptmagic.config import Settings
from tests.deploy.terraform import EMULATOR_DIR, TERRAFORM_DIR, Workspace

ENVIRONMENTS = ("dev", "staging", "prod")
PER_ENVIRONMENT = {"terraform.tfvars", "backend.hcl"}
ROOTS = [f"deploy/terraform/environments/{name}" for name in ENVIRONMENTS] + [
    "deploy/terraform/bootstrap",
    "tests/deploy/emulator",
]
SETTING = re.compile(r"\bAPTMAGIC_[A-Z0-9_]+\b")
LITERAL_SETTING = re.compile(r'^\s*(APTMAGIC_[A-Z0-9_]+)\s*=\s*"([^"$]*)"\s*$', re.MULTILINE)
SKIP = re.compile(r"#checkov:skip=([A-Z0-9_]+)(.*)")


def tf_files(*roots: Path) -> list[Path]:
    return sorted(
        p for root in roots for p in root.rglob("*") if p.suffix in {".tf", ".tfvars"} and ".terraform" not in p.parts
    )


def test_fmt(terraform_binary: str) -> None:
    for folder in (TERRAFORM_DIR, EMULATOR_DIR):
        result = subprocess.run(
            [terraform_binary, "fmt", "-check", "-recursive", "-diff", "-no-color", str(folder)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode == 0, f"terraform fmt would change:\n{result.stdout}{result.stderr}"


@pytest.mark.slow
@pytest.mark.parametrize("root", ROOTS)
def test_validate(workspace: Workspace, root: str) -> None:
    workspace.init(root)
    result = workspace.run(root, "validate", "-no-color")
    assert result.returncode == 0, f"{root}:\n{result.stdout}{result.stderr}"


def test_environments_differ_only_in_tfvars() -> None:
    folders = {name: TERRAFORM_DIR / "environments" / name for name in ENVIRONMENTS}

    def files(folder: Path) -> dict[str, bytes]:
        return {
            str(p.relative_to(folder)): p.read_bytes()
            for p in folder.rglob("*")
            if p.is_file() and ".terraform" not in p.parts and p.name not in PER_ENVIRONMENT and "tfstate" not in p.name
        }

    reference = files(folders["dev"])
    assert {"main.tf", "variables.tf", "outputs.tf", "versions.tf", "tests/environment.tftest.hcl"} <= set(reference)
    for name in ("staging", "prod"):
        assert files(folders[name]) == reference, f"environments/{name} differs from dev outside {PER_ENVIRONMENT}"
    for folder in folders.values():
        assert {p.name for p in folder.iterdir()} >= PER_ENVIRONMENT


def test_every_app_setting_is_one_aptmagic_has() -> None:
    fields = set(Settings.model_fields)
    used = {m.group(0) for path in tf_files(TERRAFORM_DIR) for m in SETTING.finditer(path.read_text())}
    unknown = {name for name in used if name.removeprefix("APTMAGIC_").lower() not in fields}
    assert not unknown, f"settings aptmagic does not have: {sorted(unknown)}"
    assert {"APTMAGIC_STORAGE_BACKEND", "APTMAGIC_S3_BUCKET", "APTMAGIC_BROKER_URL", "APTMAGIC_SECRET_KEY"} <= used


def test_literal_setting_values_validate() -> None:
    """The fixed values the task definitions give (the rest come from resources) are valid settings,
    production included once the secrets are there."""
    main = (TERRAFORM_DIR / "environments" / "dev" / "main.tf").read_text()
    values = {name.removeprefix("APTMAGIC_").lower(): value for name, value in LITERAL_SETTING.findall(main)}
    assert values["environment"] == "production"
    settings = Settings(
        **values, secret_key="s" * 48, database_url="postgresql+psycopg://aptmagic:p@db.internal:5432/aptmagic",
        redis_url="rediss://:token@cache.internal:6379/0", s3_bucket="bucket",
    )  # fmt: skip
    assert settings.queue_backend == "celery" and settings.storage_backend == "s3"
    assert settings.broker_url == "sqs://" and not settings.auto_migrate and not settings.s3_configure_bucket


def test_every_checkov_skip_gives_its_reason() -> None:
    skips = [(path, m) for path in tf_files(TERRAFORM_DIR) for m in SKIP.finditer(path.read_text())]
    assert skips, "expected the documented skips"
    for path, match in skips:
        reason = match.group(2).lstrip(":").strip()
        assert re.fullmatch(r"CKV2?_AWS_\d+", match.group(1)), f"{path}: {match.group(0)}"
        assert len(reason) >= 20, f"{path}: {match.group(1)} is skipped without a reason"


def test_only_the_networking_module_opens_ports() -> None:
    """Every ingress rule is in modules/networking/security_groups.tf, where the terraform tests see them."""
    rules = re.compile(
        r'resource\s+"(aws_security_group_rule|aws_vpc_security_group_ingress_rule)"|^\s*ingress\s*\{', re.MULTILINE
    )
    allowed = TERRAFORM_DIR / "modules" / "networking" / "security_groups.tf"
    offenders = [
        str(p.relative_to(TERRAFORM_DIR))
        for p in tf_files(TERRAFORM_DIR)
        if p != allowed and rules.search(p.read_text())
    ]
    assert not offenders
    assert "ingress {" not in allowed.read_text()


def test_no_secret_values_in_tfvars() -> None:
    secret_like = re.compile(r"^\s*\w*(password|token|secret_key|access_key)\w*\s*=", re.IGNORECASE | re.MULTILINE)
    for path in TERRAFORM_DIR.rglob("*.tfvars"):
        assert not secret_like.search(path.read_text()), f"{path} holds a secret; use Secrets Manager"
