"""checkov over deploy/terraform: no failed check; each skip is inline with its reason.

checkov pins library versions that clash with the app's (boto3 among them), so scripts/setup.sh
installs it into a virtual environment of its own, .venv-checkov."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.terraform import REPO, TERRAFORM_DIR


def find_checkov() -> str | None:
    candidates = [
        os.environ.get("APTMAGIC_CHECKOV", ""),
        str(REPO / ".venv-checkov" / "bin" / "checkov"),
        str(Path(sys.executable).resolve().parents[2] / ".venv-checkov" / "bin" / "checkov"),
        str(Path(sys.executable).parents[2] / ".venv-checkov" / "bin" / "checkov"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    return shutil.which("checkov")


def reports(output: str) -> list[dict[str, Any]]:
    data = json.loads(output)
    return data if isinstance(data, list) else [data]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_checkov_passes_with_reasoned_skips_only(tmp_path: Path) -> None:
    checkov = find_checkov()
    if checkov is None:
        pytest.skip("checkov is not installed (scripts/setup.sh puts it in .venv-checkov)")
    target = tmp_path / "terraform"
    shutil.copytree(TERRAFORM_DIR, target, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    result = subprocess.run(
        [checkov, "--directory", str(target), "--framework", "terraform", "--output", "json", "--skip-download",
         "--download-external-modules", "false"],
        capture_output=True, text=True, timeout=280, check=False, env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )  # fmt: skip
    assert result.stdout.strip(), result.stderr[-3000:]
    found = reports(result.stdout)
    failed = [c for r in found for c in r.get("results", {}).get("failed_checks", [])]
    passed = [c for r in found for c in r.get("results", {}).get("passed_checks", [])]
    skipped = [c for r in found for c in r.get("results", {}).get("skipped_checks", [])]
    assert not failed, "\n".join(f"{c['check_id']} {c['resource']} {c['file_path']}" for c in failed)
    assert len(passed) > 300, "checkov saw too little of the configuration"
    for check in skipped:
        reason = (check.get("check_result", {}).get("suppress_comment") or "").strip()
        assert len(reason) >= 20, f"{check['check_id']} on {check['resource']} is skipped without a reason"
