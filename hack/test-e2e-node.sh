#!/usr/bin/env bash
# Runs the kubelet's end-to-end tests (root; real containerd, runc and CNI
# plugins): builds the test images, then go test -tags e2e ./test/e2e/node/...
# Extra arguments go to go test (e.g. -run TestPod_CrashingContainerBacksOff).
set -euo pipefail
cd "$(dirname "$0")/.."
hack/images.sh
export KSTACK_REQUIRE_E2E=${KSTACK_REQUIRE_E2E:-1}
go test -tags e2e -count=1 -timeout 20m "$@" ./test/e2e/node/... ./pkg/kubelet/runtime/
