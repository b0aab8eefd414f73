"""The page scripts and templates, read as files: no way for data to become markup."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

WEB = Path(__file__).parents[2] / "aptmagic" / "web"
SCRIPTS = sorted((WEB / "static").glob("*.js"))
TEMPLATES = sorted((WEB / "templates").glob("*.html"))
SINKS = re.compile(
    r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function|setAttribute\(\s*['\"]on"
)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_never_write_markup(script: Path) -> None:
    found = SINKS.findall(script.read_text())
    assert not found, f"{script.name} uses {found}: build nodes and set textContent instead"


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_templates_never_turn_autoescape_off(template: Path) -> None:
    text = template.read_text()
    assert "|safe" not in text.replace(" ", ""), f"{template.name} marks data as safe"
    assert "autoescape false" not in text
    assert "<script>" not in text and "style=" not in text, "no inline script or style (CSP)"


def test_every_script_a_template_names_exists() -> None:
    named = {m for t in TEMPLATES for m in re.findall(r'src="/static/([\w.-]+\.js)"', t.read_text())}
    assert named and named <= {p.name for p in SCRIPTS}
