#!/usr/bin/env bash
# test-e2e-proxy.sh runs kube-proxy's e2e tests (test/e2e/proxy): the real
# kube-proxy binary inside fresh network namespaces against an in-process
# apiserver. Needs root, iptables (nf_tables backend), nsenter, ip and
# conntrack; the host's own iptables and routes are not touched.
#
#   hack/test-e2e-proxy.sh            # all
#   hack/test-e2e-proxy.sh -run 'TestKubeProxy/NodePort'
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"

if [[ "$(id -u)" != 0 ]]; then
	echo "test-e2e-proxy: needs root (network namespaces, iptables)" >&2
	exit 1
fi
for tool in iptables-restore iptables-save nsenter ip conntrack; do
	command -v "${tool}" >/dev/null || { echo "test-e2e-proxy: ${tool} not found (hack/install-deps.sh)" >&2; exit 1; }
done
if iptables --version | grep -q legacy; then
	echo "test-e2e-proxy: iptables is the legacy backend; use iptables-nft (PLATFORM.md)" >&2
	exit 1
fi

exec go test -tags e2e -count=1 -timeout 10m ./test/e2e/proxy/ "$@"
