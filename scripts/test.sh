#!/usr/bin/env bash
# Sets up (scripts/setup.sh), then runs the whole test suite: lint, unit, integration (root, Docker,
# real databases) and controls (about 25 minutes on 2 cores; `-m "not db and not docker and not root"`
# runs lint and the unit tests in about 2 minutes). In CI (CI=true) a test that cannot find what it
# needs fails instead of skipping, and anything the tests left behind (found by `chaoscert clean`)
# fails the run. Extra arguments go to pytest.
# Afterwards the host is as before: a dockerd the tests started is stopped with the iptables rules it
# made (scripts/dockerd.py release), and pytest's temporary folder is deleted (CHAOSCERT_KEEP_TMP=1
# keeps it and says where).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
export CHAOSCERT_DOCKERD_USER=$$
basetemp=$(mktemp -d "${TMPDIR:-/tmp}/chaoscert-tests.XXXXXX")
finish() {
    python3 scripts/dockerd.py release --user "$CHAOSCERT_DOCKERD_USER" || true
    if [ -n "${CHAOSCERT_KEEP_TMP:-}" ]; then echo "test.sh: temporary files kept in $basetemp" >&2
    else rm -rf "$basetemp"; fi
}
trap finish EXIT
status=0
if [ "${CI:-}" != true ]; then
    .venv/bin/python -m pytest --basetemp "$basetemp/pytest" "$@" || status=$?
    exit "$status"
fi
export CHAOSCERT_REQUIRE_ALL=1
.venv/bin/python -m pytest --basetemp "$basetemp/pytest" "$@" || status=$?
# no test may leave anything behind: `chaoscert clean` must find nothing
left=$(.venv/bin/chaoscert clean 2>&1) || status=1
if printf '%s\n' "$left" | grep -qv -e '^nothing to clean$' -e '^forgot .* stale ledger record'; then
    printf 'leftovers after the tests (now removed):\n%s\n' "$left" >&2
    status=1
fi
exit "$status"
