"""Every client command end to end against a live server: results, progress, one-line errors, exit codes."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from aptmagic import cli
from tests.client.conftest import free_port_url
from tests.compat.conftest import png_bytes
from tests.conftest import LiveServer
from tests.inference.test_whisper import wav_bytes

runner = CliRunner()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in [k for k in os.environ if k.startswith("APTMAGIC_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def invoke(server: LiveServer, api_key: str, *args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(cli.app, [*args, "--server", server.url, "--api-key", api_key], input=input)
    return result.exit_code, result.stdout, result.stderr


def image_file(tmp_path: Path, name: str = "in.png") -> Path:
    path = tmp_path / name
    path.write_bytes(png_bytes())
    return path


def test_generate(server: LiveServer, api_key: str, tmp_path: Path) -> None:
    code, out, err = invoke(server, api_key, "generate", "a lighthouse", "-o", "light.png", "--model", "tiny-sd",
                            "--size", "64x64", "--steps", "3", "--seed", "42")  # fmt: skip
    assert code == 0, err
    assert Image.open(tmp_path / "light.png").size == (64, 64)
    assert "light.png" in out and "seed 42" in out


def test_generate_several(server: LiveServer, api_key: str, tmp_path: Path) -> None:
    code, _, err = invoke(
        server, api_key, "generate", "two boats", "-o", "boat.png", "-n", "2", "--steps", "2", "--seed", "43"
    )
    assert code == 0, err
    assert (tmp_path / "boat-1.png").exists() and (tmp_path / "boat-2.png").exists()


def test_vary(server: LiveServer, api_key: str, tmp_path: Path) -> None:
    code, out, err = invoke(
        server, api_key, "vary", str(image_file(tmp_path)), "-o", "v.png", "--strength", "0.5", "--seed", "44"
    )
    assert code == 0, err
    assert Image.open(tmp_path / "v.png").format == "PNG" and "v.png" in out


def test_caption(server: LiveServer, api_key: str, tmp_path: Path) -> None:
    code, out, err = invoke(
        server, api_key, "caption", str(image_file(tmp_path, "image.jpg")), "--tone", "playful", "--length", "short"
    )
    assert code == 0, err
    assert out.strip() != "" or out == "\n"


def test_chat_one_message_and_a_conversation(server: LiveServer, api_key: str) -> None:
    code, out, err = invoke(
        server, api_key, "chat", "hello there", "--max-tokens", "6", "--seed", "1", "--temperature", "0"
    )
    assert code == 0, err
    assert out.endswith("\n")
    code, out, err = invoke(
        server, api_key, "chat", "--max-tokens", "4", "--system", "be brief", input="first\nsecond\n"
    )
    assert code == 0, err
    assert out.count("\n") >= 2


def test_transcribe(server: LiveServer, api_key: str, tmp_path: Path) -> None:
    clip = tmp_path / "clip.wav"
    clip.write_bytes(wav_bytes(2.0))
    code, out, err = invoke(server, api_key, "transcribe", str(clip), "--format", "vtt", "-o", "clip.vtt")
    assert code == 0, err
    assert (tmp_path / "clip.vtt").read_text().startswith("WEBVTT")
    code, out, err = invoke(server, api_key, "transcribe", str(clip), "--format", "json")
    assert code == 0, err
    assert json.loads(out)["duration"] == pytest.approx(2.0, abs=0.1)


def test_a_bad_key_is_one_line_and_exit_1(server: LiveServer, tmp_path: Path) -> None:
    code, _, err = invoke(server, "amk_wrong", "generate", "x")
    assert code == 1
    assert "refused the API key" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.png").exists()


def test_an_unreachable_server(tmp_path: Path) -> None:
    result = runner.invoke(cli.app, ["chat", "hi", "--server", free_port_url(), "--api-key", "amk_x"])
    assert result.exit_code == 1
    assert "cannot reach the server" in result.stderr and "Traceback" not in result.stderr


def test_bad_files_and_options(server: LiveServer, api_key: str, tmp_path: Path) -> None:
    code, _, err = invoke(server, api_key, "vary", str(tmp_path / "missing.png"))
    assert code == 2 and "does not exist" in err
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"this is not an image")
    code, _, err = invoke(server, api_key, "caption", str(junk))
    assert code == 1 and "not of an allowed type" in err
    code, _, err = invoke(server, api_key, "generate", "x", "--size", "big")
    assert code == 2 and "--size" in err
    code, _, err = invoke(server, api_key, "generate", "x", "--size", "4096x4096")
    assert code == 1 and "width" in err
    code, _, err = invoke(server, api_key, "transcribe", str(junk), "--format", "mp3")
    assert code == 2
    code, _, err = invoke(
        server, api_key, "generate", "x", "-o", str(tmp_path / "no" / "dir" / "x.png"), "--steps", "2"
    )
    assert code == 2 and "cannot write" in err
    code, _, err = invoke(server, api_key, "transcribe", str(image_file(tmp_path)))
    assert code == 1 and "expected audio or video" in err


def test_the_installed_command_reads_the_environment(server: LiveServer, api_key: str, tmp_path: Path) -> None:
    env = {**os.environ, "APTMAGIC_SERVER": server.url, "APTMAGIC_API_KEY": api_key}
    result = subprocess.run(
        [sys.executable, "-m", "aptmagic", "generate", "a kite", "-o", "kite.png", "--steps", "2", "--seed", "45"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert Image.open(io.BytesIO((tmp_path / "kite.png").read_bytes())).size == (64, 64)
