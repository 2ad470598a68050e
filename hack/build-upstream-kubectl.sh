#!/usr/bin/env bash
# build-upstream-kubectl.sh builds the upstream kubectl (module test/tools, pinned
# k8s.io/kubectl) into _output/tools/kubectl for the acceptance tests. It does nothing
# when the binary is newer than every file of test/tools.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="/usr/local/go/bin:${PATH}"
OUT="${PWD}/_output/tools"
BIN="${OUT}/kubectl"

if [[ -x "$BIN" ]] && [[ -z "$(find test/tools -type f -newer "$BIN" -print -quit)" ]]; then
	echo "build-upstream-kubectl: ${BIN} is up to date"
	exit 0
fi

# The Kubernetes release matching k8s.io/kubectl v0.X.Y is v1.X.Y; stamp it into the
# binary so `kubectl version` reports it, as a release build would.
modver="$(cd test/tools && go list -m -f '{{.Version}}' k8s.io/kubectl)"
kver="v1.${modver#v0.}"
minor="$(echo "$kver" | cut -d. -f2)"
ldflags="-s -w"
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
	ldflags+=" -X ${pkg}.gitVersion=${kver} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor}"
	ldflags+=" -X ${pkg}.gitTreeState=clean"
done

echo "build-upstream-kubectl: building k8s.io/kubectl ${modver} (${kver}) into ${BIN}"
start=$SECONDS
mkdir -p "$OUT"
(cd test/tools && CGO_ENABLED=0 GOTOOLCHAIN=local go build -trimpath -ldflags "$ldflags" -o "$BIN" ./cmd/kubectl)
echo "build-upstream-kubectl: done in $((SECONDS - start))s"
