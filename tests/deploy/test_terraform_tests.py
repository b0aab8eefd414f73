"""terraform test in every folder that has .tftest.hcl files: mock AWS providers, no account.

What they assert is in the files: versioning and replication in prod, the lifecycle rules,
SSE-KMS, blocked public access, TLS-only bucket policies, the 10,000-requests-a-day alarm and its
email, GPU workers down to zero in dev, deletion protection in prod, no 0.0.0.0/0 ingress but the
load balancer's 443/80."""

from __future__ import annotations

import pytest

from tests.deploy.terraform import TERRAFORM_DIR, Workspace

FOLDERS = sorted(
    str(p.parent.parent.relative_to(TERRAFORM_DIR.parent.parent))
    for p in TERRAFORM_DIR.rglob("tests/*.tftest.hcl")
    if ".terraform" not in p.parts
)


def test_every_environment_and_the_key_modules_are_tested() -> None:
    expected = {f"deploy/terraform/environments/{e}" for e in ("dev", "staging", "prod")} | {
        f"deploy/terraform/modules/{m}" for m in ("s3", "networking", "observability", "sagemaker")
    }
    assert expected <= set(FOLDERS)


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("folder", sorted(set(FOLDERS)))
def test_terraform_test(workspace: Workspace, folder: str) -> None:
    workspace.init(folder)
    result = workspace.run(folder, "test", "-no-color", timeout=280)
    summary = result.stdout.strip().splitlines()[-1:] if result.stdout.strip() else []
    assert result.returncode == 0, f"{folder}:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    assert summary and summary[0].startswith("Success!") and " 0 failed" in summary[0], result.stdout[-2000:]
