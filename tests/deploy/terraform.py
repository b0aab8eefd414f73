"""Terraform for the deploy tests: the binary, the local provider mirror, and a copy of the
configuration in a temporary folder where init, validate, test and apply write what they write.

Nothing is downloaded: init takes the AWS provider from the mirror (``-plugin-dir``) with a CLI
configuration of our own. Each folder is initialised once per test session."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO / "deploy" / "terraform"
EMULATOR_DIR = Path(__file__).resolve().parent / "emulator"
PROVIDER = Path("registry.terraform.io") / "hashicorp" / "aws"
MIRRORS = (os.environ.get("APTMAGIC_TF_PLUGIN_DIR", ""), "/opt/tf-plugins", "/usr/share/terraform/plugins")


def find_mirror() -> Path | None:
    for candidate in MIRRORS:
        if candidate and (Path(candidate) / PROVIDER).is_dir():
            return Path(candidate)
    return None


def require_terraform() -> str:
    binary = shutil.which("terraform")
    if binary is None:
        pytest.skip("terraform is not installed (the deploy tests need terraform >= 1.11)")
    return binary


def require_mirror() -> Path:
    mirror = find_mirror()
    if mirror is None:
        places = ", ".join(m for m in MIRRORS if m)
        pytest.skip(f"no local mirror of the AWS provider ({PROVIDER} under {places}; set APTMAGIC_TF_PLUGIN_DIR)")
    return mirror


class Workspace:
    """A copy of deploy/terraform (and the emulator root) with the same relative layout."""

    def __init__(self, binary: str, mirror: Path, root: Path) -> None:
        self.binary = binary
        self.mirror = mirror
        self.root = root
        shutil.copytree(
            TERRAFORM_DIR, root / "deploy" / "terraform", ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*")
        )
        shutil.copytree(
            EMULATOR_DIR,
            root / "tests" / "deploy" / "emulator",
            ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"),
        )
        cli_config = root / "terraformrc"
        cli_config.write_text("# no provider installation from the network: init takes -plugin-dir\n")
        self.env = {
            **os.environ,
            "TF_CLI_CONFIG_FILE": str(cli_config),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
        }
        for name in ("TF_LOG", "TF_DATA_DIR", "TF_WORKSPACE"):
            self.env.pop(name, None)
        self._initialised: set[str] = set()
        self._lock = threading.Lock()

    def path(self, relative: str) -> Path:
        return self.root / relative

    def run(
        self, relative: str, *args: str, timeout: float = 600, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.binary, *args], cwd=self.path(relative), env={**self.env, **(env or {})}, capture_output=True,
            text=True, timeout=timeout, check=False,
        )  # fmt: skip

    def init(self, relative: str) -> None:
        with self._lock:
            if relative in self._initialised:
                return
            result = self.run(
                relative, "init", "-backend=false", "-input=false", "-no-color", f"-plugin-dir={self.mirror}"
            )
            assert result.returncode == 0, f"terraform init in {relative} failed:\n{result.stdout}\n{result.stderr}"
            self._initialised.add(relative)

    def outputs(self, relative: str) -> dict[str, Any]:
        result = self.run(relative, "output", "-json", "-no-color")
        assert result.returncode == 0, result.stderr
        return {name: entry["value"] for name, entry in json.loads(result.stdout).items()}
