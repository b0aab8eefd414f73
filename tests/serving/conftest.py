from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving.support import Container, start_container


@pytest.fixture(scope="module")
def sd_container(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Container]:
    container = start_container(tmp_path_factory.mktemp("sd"), models_dir, "tiny-sd")
    yield container
    container.stop()


@pytest.fixture(scope="module")
def llm_container(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Container]:
    container = start_container(tmp_path_factory.mktemp("llm"), models_dir, "tiny-llm")
    yield container
    container.stop()
