"""With PROMETHEUS_MULTIPROC_DIR, a scrape of one process adds up every process's samples."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from prometheus_client.multiprocess import mark_process_dead
from prometheus_client.parser import text_string_to_metric_families

WRITE = textwrap.dedent(
    """
    from aptmagic.observability.metrics import Metrics
    m = Metrics()
    m.jobs_submitted.labels("text-to-image", "tiny-sd").inc({count})
    m.model_bytes.labels("tiny-sd").set(1000)
    import os, sys; sys.stdout.write(str(os.getpid()))
    """
)
SCRAPE = "from aptmagic.observability.metrics import Metrics; import sys; sys.stdout.write(Metrics().render().decode())"


def run(code: str, folder: Path) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_samples_of_several_processes_add_up(tmp_path: Path) -> None:
    first = int(run(WRITE.format(count=2), tmp_path))
    run(WRITE.format(count=3), tmp_path)
    values = scrape(tmp_path)
    key = ("aptmagic_jobs_submitted_total", (("model", "tiny-sd"), ("task", "text-to-image")))
    assert values[key] == 5
    memory = ("aptmagic_model_loaded_bytes", (("model", "tiny-sd"),))
    assert values[memory] == 2000
    # A process that exits is marked dead (gunicorn's child_exit hook, see README): its gauges go, its counters stay.
    mark_process_dead(first, str(tmp_path))
    values = scrape(tmp_path)
    assert values[memory] == 1000 and values[key] == 5


def scrape(folder: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = run(SCRAPE, folder)
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
