#!/usr/bin/env bash
# build-upstream-control-plane.sh builds upstream kube-apiserver, kube-scheduler and
# kube-controller-manager (module test/tools/upstream, pinned k8s.io/kubernetes) into
# _output/tools/ (or $UPSTREAM_TOOLS_OUT) for the compatibility tests test/e2e/upstream:
# upstream components against our apiserver, and our components against upstream's.
# A binary is rebuilt only when a file of test/tools/upstream is newer than it. A cold
# build (empty GOCACHE, modules downloaded) takes about 10 CPU-minutes, 5-10 minutes on
# 2 cores; kube-apiserver adds little to it (kube-controller-manager compiles all but 8 of
# its ~2,100 packages): about 10 s with a warm cache.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="/usr/local/go/bin:${PATH}"
MOD="test/tools/upstream"
OUT="${UPSTREAM_TOOLS_OUT:-${PWD}/_output/tools}"

# Stamp the release version into the binaries, as a release build would, so
# `--version` and the User-Agent report it.
kver="$(cd "$MOD" && GOTOOLCHAIN=local go list -m -f '{{.Version}}' k8s.io/kubernetes)"
minor="$(echo "$kver" | cut -d. -f2)"
ldflags="-s -w"
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
	ldflags+=" -X ${pkg}.gitVersion=${kver} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor}"
	ldflags+=" -X ${pkg}.gitTreeState=clean"
done

mkdir -p "$OUT"
total=$SECONDS
for cmd in kube-apiserver kube-scheduler kube-controller-manager; do
	bin="${OUT}/${cmd}"
	if [[ -x "$bin" ]] && [[ -z "$(find "$MOD" -type f -newer "$bin" -print -quit)" ]]; then
		echo "build-upstream-control-plane: ${bin} is up to date"
		continue
	fi
	echo "build-upstream-control-plane: building ${cmd} ${kver} into ${bin}"
	start=$SECONDS
	(cd "$MOD" && CGO_ENABLED=0 GOTOOLCHAIN=local go build -trimpath -ldflags "$ldflags" \
		-o "$bin" "k8s.io/kubernetes/cmd/${cmd}")
	echo "build-upstream-control-plane: ${cmd} done in $((SECONDS - start))s"
done
echo "build-upstream-control-plane: total $((SECONDS - total))s"
