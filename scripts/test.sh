#!/usr/bin/env bash
# Everything CI checks: lint, migrations, tests on SQLite and PostgreSQL, browser tests.
# Every step runs even when an earlier one fails; the script exits non-zero if any failed.
#
#   RENKEI_TEST_PG_URL   PostgreSQL for the second run (default postgres://postgres@127.0.0.1:5432/renkei)
#   RENKEI_SKIP_PG=1     skip the PostgreSQL run (it is not skipped silently otherwise)
#   RENKEI_SKIP_BROWSER=1  skip the browser tests
set -uo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/_venv.sh
. scripts/_venv.sh
ensure_venv ".[dev]" || { echo "renkei: could not install into .venv" >&2; exit 1; }

PG_URL="${RENKEI_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/renkei}"
LOG_DIR="$(mktemp -d)"
HOME_DIR="$(mktemp -d)"
trap 'rm -rf "$HOME_DIR"' EXIT
# Tests never touch the developer's ~/.renkei or a configured database.
unset RENKEI_DATABASE_URL RENKEI_SECRET_KEY RENKEI_SECRET_KEY_FILE RENKEI_DEBUG RENKEI_HTTPS
export RENKEI_HOME="$HOME_DIR"

failed=()
summaries=()

step() {  # step NAME COMMAND...: run, log, remember the outcome
    local name="$1"
    shift
    echo
    echo "=== $name ==="
    local log="$LOG_DIR/${name// /_}.log"
    "$@" 2>&1 | tee "$log"
    local status=${PIPESTATUS[0]}
    local summary
    # pytest's last line: "12 passed, 1 skipped in 3.2s" (-q) or "=== 12 passed ... ===".
    summary="$(grep -E '^(=+ )?[0-9]+ (passed|failed|errors?|skipped|deselected)|no tests ran' "$log" \
        | tail -1)"
    if [ -n "$summary" ]; then
        summaries+=("$name: $summary")
    fi
    if [ "$status" -ne 0 ]; then
        failed+=("$name (exit $status)")
    fi
}

as_root() { [ "$(id -u)" = 0 ]; }

ensure_postgres() {
    pg_isready -q -h 127.0.0.1 && return 0
    if as_root && command -v pg_ctlcluster >/dev/null; then
        local version
        version="$(ls /etc/postgresql | sort -V | tail -1)"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
        for _ in $(seq 1 30); do
            pg_isready -q -h 127.0.0.1 && return 0
            sleep 1
        done
    fi
    echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2
    return 1
}

ensure_browser() {
    local missing=()
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
    [ ${#missing[@]} -eq 0 ] && return 0
    if as_root; then
        apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
    else
        echo "missing: ${missing[*]} (install them with apt-get as root)" >&2
        return 1
    fi
}

step "ruff" .venv/bin/ruff check .
step "migrations" .venv/bin/renkei makemigrations --check --dry-run
step "pytest sqlite" .venv/bin/pytest -m "not browser" -q

if [ "${RENKEI_SKIP_PG:-0}" = 1 ]; then
    echo "=== pytest postgresql: skipped (RENKEI_SKIP_PG=1) ==="
else
    step "postgresql" ensure_postgres
    step "pytest postgresql" env RENKEI_DATABASE_URL="$PG_URL" \
        .venv/bin/pytest -m "not browser" -q
fi

if [ "${RENKEI_SKIP_BROWSER:-0}" = 1 ]; then
    echo "=== pytest browser: skipped (RENKEI_SKIP_BROWSER=1) ==="
else
    step "browser prerequisites" ensure_browser
    step "pytest browser" .venv/bin/pytest -m browser -q
fi

echo
echo "=== summary ==="
for line in "${summaries[@]}"; do
    echo "$line"
done
# One closing line over every pytest run, in the plain "N passed, N failed" form.
total_passed=0
total_failed=0
for line in "${summaries[@]}"; do
    for n in $(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '^[0-9]+'); do
        total_passed=$((total_passed + n))
    done
    for n in $(grep -oE '[0-9]+ (failed|errors?)' <<<"$line" | grep -oE '^[0-9]+'); do
        total_failed=$((total_failed + n))
    done
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${failed[*]}"
    [ "$total_failed" -gt 0 ] || total_failed=${#failed[@]}
    echo "$total_passed passed, $total_failed failed"
    exit 1
fi
echo "All checks passed."
echo "$total_passed passed, $total_failed failed"
