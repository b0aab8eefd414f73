"""deploy/Dockerfile is read, not built (no Docker here): the CPU and CUDA variants, torch pinned
as scripts/setup.sh pins it, and the entry point that the ECS tasks and SageMaker start, which is
run for real with a stand-in `aptmagic` on the PATH."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from aptmagic.cli import app as cli_app
from aptmagic.queue.routing import QUEUES
from tests.deploy.terraform import REPO, TERRAFORM_DIR

DOCKERFILE = REPO / "deploy" / "Dockerfile"
ENTRYPOINT = REPO / "deploy" / "docker-entrypoint.sh"


def test_two_variants_with_the_pinned_torch() -> None:
    text = DOCKERFILE.read_text()
    setup_pin = re.search(
        r'TORCH_VERSION="\$\{APTMAGIC_TORCH_VERSION:-([0-9.]+)\}"', (REPO / "scripts" / "setup.sh").read_text()
    )
    assert setup_pin is not None
    assert re.search(rf"^ARG TORCH_VERSION={re.escape(setup_pin.group(1))}$", text, re.MULTILINE)
    assert re.search(r"^FROM base AS torch-cpu$", text, re.MULTILINE)
    assert re.search(r"^FROM base AS torch-cuda$", text, re.MULTILINE)
    assert re.search(r"^FROM torch-\$\{VARIANT\} AS app$", text, re.MULTILINE)
    assert '"torch==${TORCH_VERSION}" --index-url https://download.pytorch.org/whl/cpu' in text
    assert re.search(r"ARG TORCH_CUDA_INDEX=https://download\.pytorch\.org/whl/cu\d+", text)
    assert "torch>=" not in text and re.search(r"pip install [\"']?torch[\"']?\s*$", text, re.MULTILINE) is None
    assert "USER aptmagic" in text and 'ENTRYPOINT ["docker-entrypoint"]' in text


def test_task_definitions_run_commands_the_cli_has() -> None:
    """The ECS containers run `aptmagic api|worker|migrate`, workers on the app's queues; the GPU
    workers run the CUDA image."""
    commands = {c.name or (c.callback.__name__ if c.callback else "") for c in cli_app.registered_commands}
    tasks = (TERRAFORM_DIR / "modules" / "ecs" / "tasks.tf").read_text()
    found = re.findall(r"command = \[\"aptmagic\", \"([a-z-]+)\"(.*)\]", tasks)
    assert {name for name, _ in found} == {"api", "worker", "migrate"} <= commands
    queues = re.findall(r'"--queues", "([a-z,]+)"', tasks)
    assert sorted(queues) == ["cpu", "gpu"] and set(queues) <= set(QUEUES)
    main = (TERRAFORM_DIR / "modules" / "ecs" / "main.tf").read_text()
    assert 'image_gpu = "${aws_ecr_repository.app.repository_url}:${var.image_tag}-cuda"' in main


@pytest.fixture
def fake_aptmagic(tmp_path: Path) -> dict[str, str]:
    binary = tmp_path / "aptmagic"
    binary.write_text('#!/bin/sh\necho "aptmagic $*"\n')
    binary.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "MODEL_ID"}
    return {**env, "PATH": f"{tmp_path}:{env.get('PATH', '')}"}


def run_entrypoint(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args], env=env, capture_output=True, text=True, timeout=10, check=False
    )


def test_entrypoint_runs_the_given_command(fake_aptmagic: dict[str, str]) -> None:
    result = run_entrypoint(fake_aptmagic, "aptmagic", "worker", "--queues", "gpu")
    assert result.returncode == 0 and result.stdout.strip() == "aptmagic worker --queues gpu"


def test_entrypoint_serves_a_model_for_sagemaker(fake_aptmagic: dict[str, str]) -> None:
    result = run_entrypoint({**fake_aptmagic, "MODEL_ID": "sd-turbo"}, "serve")
    assert result.returncode == 0 and result.stdout.strip() == "aptmagic serve-model serve --model sd-turbo"
    missing = run_entrypoint(fake_aptmagic, "serve")
    assert missing.returncode != 0 and "MODEL_ID" in missing.stderr
