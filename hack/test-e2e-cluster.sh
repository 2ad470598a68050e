#!/usr/bin/env bash
# test-e2e-cluster.sh runs the multi-node e2e tests (test/e2e/cluster): a
# 3-node cluster on this machine (hack/local-cluster.sh, with its own names,
# subnet 10.87.0.0/24 and ports, so a `make up` cluster can keep running),
# started once for the run and removed at its end. Needs root, the binaries
# of make build, containerd, runc, the CNI plugins and iptables (nf_tables).
#
#   hack/test-e2e-cluster.sh                      # all
#   hack/test-e2e-cluster.sh -run TestServices/Hairpin
#   KSTACK_E2E_KEEP_CLUSTER=1 hack/test-e2e-cluster.sh   # leave the cluster up to look at
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"

if [[ "$(id -u)" != 0 ]]; then
	echo "test-e2e-cluster: needs root (network namespaces, containerd, iptables)" >&2
	exit 1
fi
if iptables --version | grep -q legacy; then
	echo "test-e2e-cluster: iptables is the legacy backend; use iptables-nft (PLATFORM.md)" >&2
	exit 1
fi
export KSTACK_REQUIRE_E2E="${KSTACK_REQUIRE_E2E:-1}"
exec go test -tags e2e -count=1 -timeout 15m ./test/e2e/cluster/ "$@"
