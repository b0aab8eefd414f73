"""A second aptmagic in demo mode, in its own process, as the engine of the openai backend tests.

Run as ``python -m tests.inference.remote.engine_main DATA_DIR MODELS_DIR``: it
prints one JSON line ``{"url", "api_key"}`` once it serves, then runs until its
standard input closes (or it is killed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.conftest import start_server
from tests.jobs.conftest import shared_settings


def main() -> None:
    data_dir, models_dir = Path(sys.argv[1]), Path(sys.argv[2])
    live = start_server(shared_settings(data_dir, models_dir))
    assert live.account is not None
    print(json.dumps({"url": live.url, "api_key": live.account.api_key}), flush=True)
    sys.stdin.read()
    live.stop()


if __name__ == "__main__":
    main()
