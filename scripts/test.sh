#!/usr/bin/env bash
# Installs what is missing, builds everything, and runs every test.
# Ends with the line "N passed, N failed, N skipped"; exits non-zero on any failure.
set -eu
cd "$(dirname "$0")/.."
bash scripts/deps.sh test
bash scripts/build.sh
exec bash tests/run "$@"
