#!/usr/bin/env bash
# Try Renkei on this machine: install into .venv, build the demo data and serve it on
# http://127.0.0.1:8000/. The data lives under RENKEI_HOME (default ~/.renkei); run it again
# at any time. Arguments go to `renkei demo` (e.g. --port 8080, --no-serve --json).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/_venv.sh
. scripts/_venv.sh
ensure_venv "."
exec .venv/bin/renkei demo "$@"
