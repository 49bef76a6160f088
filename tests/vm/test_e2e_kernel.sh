#!/usr/bin/env bash
# The namespace end-to-end scenarios (public leaves, NATs, failover) with the
# daemon on the kernel's wireguard.ko, in a qemu VM (vm.sh, guest-e2e.sh):
# prints PASS/FAIL/SKIP lines for tests/run.
exec bash "$(dirname "$0")/vm.sh" e2e
