# Shared by scripts/demo.sh and scripts/test.sh: create .venv and install Renkei into it.
# Usage: ensure_venv "."  or  ensure_venv ".[dev]"
# The install is skipped when pyproject.toml has not changed since the last one (a stamp in
# .venv), so repeated runs are fast and work offline.

pick_python() {
    for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
        if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "renkei: Python 3.11 or newer is required" >&2
    return 1
}

ensure_venv() {
    local extras="$1"
    if [ ! -x .venv/bin/python ]; then
        local python
        python="$(pick_python)" || return 1
        echo "Creating .venv with $python"
        "$python" -m venv .venv || return 1
    fi
    local stamp=".venv/.renkei-installed"
    local want
    want="$(cat pyproject.toml; echo "$extras")"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x .venv/bin/renkei ]; then
        return 0
    fi
    echo "Installing $extras into .venv"
    .venv/bin/python -m pip install --quiet --upgrade pip || return 1
    .venv/bin/python -m pip install --quiet -e "$extras" || return 1
    printf '%s' "$want" > "$stamp"
}
