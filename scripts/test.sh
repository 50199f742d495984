#!/usr/bin/env bash
# Sets up (scripts/setup.sh), then runs the whole test suite: lint, unit, integration (root, Docker,
# real databases) and controls. In CI (CI=true) a test that cannot find what it needs fails instead
# of skipping, and anything the tests left behind (found by `chaoscert clean`) fails the run.
# Extra arguments go to pytest, e.g. -m "not db and not docker and not root".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
if [ "${CI:-}" != true ]; then exec .venv/bin/python -m pytest "$@"; fi
export CHAOSCERT_REQUIRE_ALL=1
status=0
.venv/bin/python -m pytest "$@" || status=$?
# no test may leave anything behind: `chaoscert clean` must find nothing
left=$(.venv/bin/chaoscert clean 2>&1) || status=1
if [ "$left" != "nothing to clean" ]; then
    printf 'leftovers after the tests (now removed):\n%s\n' "$left" >&2
    status=1
fi
exit "$status"
