#!/usr/bin/env bash
# Sets up (scripts/setup.sh), then runs the whole test suite: lint, unit, integration (root, Docker,
# real databases) and controls. In CI (CI=true) a test that cannot find what it needs fails
# instead of skipping. Extra arguments go to pytest, e.g. -m "not db and not docker and not root".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
if [ "${CI:-}" = true ]; then export CHAOSCERT_REQUIRE_ALL=1; fi
exec .venv/bin/python -m pytest "$@"
