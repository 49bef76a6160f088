#!/usr/bin/env bash
# The kernel WireGuard backend against the real wireguard module, in a
# qemu VM (see vm.sh): prints PASS/FAIL/SKIP lines for tests/run.
exec bash "$(dirname "$0")/vm.sh" test
