from __future__ import annotations

import pytest

from tests.deploy.terraform import Workspace, require_mirror, require_terraform


@pytest.fixture(scope="session")
def terraform_binary() -> str:
    return require_terraform()


@pytest.fixture(scope="session")
def workspace(terraform_binary: str, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The configuration copied once per session; each folder initialised once, on first use."""
    return Workspace(terraform_binary, require_mirror(), tmp_path_factory.mktemp("terraform"))
