#!/usr/bin/env bash
# Builds kstack's test images (pause, busybox, testserver) as OCI archives
# in _output/images/*.tar, without docker. With --import, also imports them
# into a containerd: CONTAINERD_ADDRESS (default /run/containerd/containerd.sock)
# and CONTAINERD_NAMESPACE (default k8s.io), with ctr.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${IMAGES_OUT:-_output/images}
go run ./hack/images -out "$out"
if [[ "${1:-}" == "--import" ]]; then
  addr=${CONTAINERD_ADDRESS:-/run/containerd/containerd.sock}
  ns=${CONTAINERD_NAMESPACE:-k8s.io}
  for f in "$out"/*.tar; do
    ctr --address "$addr" --namespace "$ns" images import --no-unpack "$f"
  done
fi
