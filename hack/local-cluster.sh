#!/usr/bin/env bash
# local-cluster.sh runs a multi-node kstack cluster on one machine: the control
# plane on the host (hack/local-up.sh), each worker node a network namespace
# joined to a host bridge, with its own containerd, kubelet and kube-proxy
# started inside it with `nsenter --net` (PLATFORM.md: not `ip netns exec`).
#
#   hack/local-cluster.sh up             # NODES (default 3) nodes + the control plane
#   hack/local-cluster.sh down           # everything, nodes first
#   hack/local-cluster.sh status
#   hack/local-cluster.sh stop N [kubelet|kube-proxy|containerd]...   # one node's daemons
#   hack/local-cluster.sh start N [kubelet|kube-proxy|containerd]...
#   hack/local-cluster.sh cut N          # the node's link down (a network partition)
#   hack/local-cluster.sh heal N
#   hack/local-cluster.sh netns N        # prints the node's network namespace path
#
# hack/local-up.sh calls `net-up` before the control plane, `nodes-up` after it,
# and on the way down `nodes-down` first and `net-down` last.
#
# Layout (CLUSTER_NAME=kstack, the default):
#   host bridge kstack-nodes 10.88.0.1/24 (NODE_NET_PREFIX=10.88.0), the apiserver on it
#   node i: name node-i, netns /run/netns/kstack-node-i, eth0 10.88.0.(10+i),
#           host veth kstack-v<i>, containerd socket and pod netns under /run/kstack/node-i,
#           containerd namespace kstack-node-i, files under _output/local/nodes/node-i,
#           CNI bridge kcni<i>, logs _output/local/logs/node-i-<daemon>.log
# CLUSTER_NAME, NODE_NET_PREFIX and the ports of local-up.sh let a second
# cluster (the e2e tests') coexist with a developer's `make up`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOG_NAME=local-cluster
# shellcheck source=hack/lib/local.sh
source "${ROOT}/hack/lib/local.sh"

NODES="${NODES:-3}"
CLUSTER_NAME="${CLUSTER_NAME:-kstack}"
NODE_NET_PREFIX="${NODE_NET_PREFIX:-10.88.0}"
API_HOST="${NODE_NET_PREFIX}.1"
HOST_BRIDGE="${CLUSTER_NAME}-nodes"
RUN_DIR="/run/${CLUSTER_NAME}"
IMAGES_OUT="${IMAGES_OUT:-${ROOT}/_output/images}"
NODE_COMPONENTS=(containerd kubelet kube-proxy) # stop in reverse

# Per-node names.
node_name() { echo "node-$1"; }
node_ip() { echo "${NODE_NET_PREFIX}.$((10 + $1))"; }
node_netns() { echo "${CLUSTER_NAME}-node-$1"; }
node_veth() { echo "${CLUSTER_NAME}-v$1"; }
node_dir() { echo "${LOCAL_DIR}/nodes/node-$1"; }
node_run() { echo "${RUN_DIR}/node-$1"; }
node_sock() { echo "$(node_run "$1")/containerd.sock"; }
node_ctrns() { echo "${CLUSTER_NAME}-node-$1"; }
in_node() { # in_node N CMD... runs CMD in node N's network namespace
	local n="$1"
	shift
	nsenter --net="/run/netns/$(node_netns "$n")" -- "$@"
}

# The node count of the running cluster (recorded by nodes-up).
recorded_nodes() {
	if [[ -s "${LOCAL_DIR}/nodes/count" ]]; then cat "${LOCAL_DIR}/nodes/count"; else echo 0; fi
}

net_up() {
	if ! ip link show "${HOST_BRIDGE}" >/dev/null 2>&1; then
		ip link add "${HOST_BRIDGE}" type bridge
		ip addr add "${API_HOST}/24" dev "${HOST_BRIDGE}"
	fi
	ip link set "${HOST_BRIDGE}" up
	log "host bridge ${HOST_BRIDGE} ${API_HOST}/24"
}

# node_net N: the node's namespace, joined to the host bridge.
node_net() {
	local n="$1" ns veth
	ns="$(node_netns "$n")"
	veth="$(node_veth "$n")"
	if [[ ! -e "/run/netns/${ns}" ]]; then
		ip netns add "$ns"
	fi
	if ! ip link show "$veth" >/dev/null 2>&1; then
		ip link add "$veth" type veth peer name eth0 netns "$ns"
		ip link set "$veth" master "${HOST_BRIDGE}" up
		in_node "$n" ip link set lo up
		in_node "$n" ip addr add "$(node_ip "$n")/24" dev eth0
		in_node "$n" ip link set eth0 up
		in_node "$n" ip route add default via "${API_HOST}"
	fi
	in_node "$n" sysctl -qw net.ipv4.ip_forward=1
}

start_containerd() {
	local n="$1" dir run
	dir="$(node_dir "$n")"
	run="$(node_run "$n")"
	mkdir -p "${dir}/containerd" "$run"
	containerd_config "${dir}/containerd/root" "${run}/containerd-state" "$(node_sock "$n")" \
		>"${dir}/containerd/config.toml"
	start_bg --append "node-${n}-containerd" nsenter --net="/run/netns/$(node_netns "$n")" -- \
		env GOGC="${CONTAINERD_GOGC}" containerd --config "${dir}/containerd/config.toml"
	wait_for "node-${n}-containerd" 30 ctr --address "$(node_sock "$n")" version
}

import_images() {
	local n="$1" f
	for f in "${IMAGES_OUT}"/*.tar; do
		ctr --address "$(node_sock "$n")" --namespace "$(node_ctrns "$n")" \
			images import --no-unpack "$f" >>"${LOGS}/node-${n}-images.log" 2>&1
	done
}

start_kubelet() {
	local n="$1" dir
	dir="$(node_dir "$n")"
	mkdir -p "${dir}/kubelet" "${dir}/pod-logs" "${dir}/cni/net.d"
	start_bg --append "node-${n}-kubelet" nsenter --net="/run/netns/$(node_netns "$n")" -- \
		"${BIN}/kubelet" \
		--kubeconfig="${LOCAL_DIR}/kubelet-$(node_name "$n").conf" \
		--hostname-override="$(node_name "$n")" --node-ip="$(node_ip "$n")" \
		--container-runtime-endpoint="$(node_sock "$n")" --containerd-namespace="$(node_ctrns "$n")" \
		--root-dir="${dir}/kubelet" --state-dir="$(node_run "$n")/kubelet" --pod-logs-dir="${dir}/pod-logs" \
		--cni-conf-dir="${dir}/cni/net.d" --cni-bridge="kcni${n}" \
		--netns-dir="$(node_run "$n")/netns" --port=10250
}

start_kube_proxy() {
	local n="$1"
	start_bg --append "node-${n}-kube-proxy" nsenter --net="/run/netns/$(node_netns "$n")" -- \
		"${BIN}/kube-proxy" \
		--kubeconfig="${LOCAL_DIR}/kube-proxy.conf" --hostname-override="$(node_name "$n")" \
		--cluster-cidr="${CLUSTER_CIDR}" --pod-routes
	wait_for "node-${n}-kube-proxy" 30 in_node "$n" curl -fsS "http://127.0.0.1:10256/healthz"
}

start_node() { # start_node N [COMPONENT...]
	local n="$1" c
	shift
	local comps=("$@")
	((${#comps[@]})) || comps=("${NODE_COMPONENTS[@]}")
	for c in "${comps[@]}"; do
		case "$c" in
		containerd) start_containerd "$n" ;;
		kubelet) start_kubelet "$n" ;;
		kube-proxy) start_kube_proxy "$n" ;;
		*) die "unknown node component ${c}" ;;
		esac
	done
}

stop_node() { # stop_node N [COMPONENT...]
	local n="$1" i
	shift
	local comps=("$@")
	((${#comps[@]})) || comps=("${NODE_COMPONENTS[@]}")
	for ((i = ${#comps[@]} - 1; i >= 0; i--)); do
		stop_bg "node-${n}-${comps[$i]}"
	done
}

nodes_up() {
	[[ -x "${BIN}/kubelet" && -x "${BIN}/kube-proxy" ]] || die "${BIN}/kubelet or kube-proxy missing: run make build"
	command -v containerd >/dev/null || die "containerd not found: run make deps"
	mkdir -p "${LOCAL_DIR}/nodes" "$LOGS" "$PIDS"
	run_tmpfs "$RUN_DIR"
	echo "$NODES" >"${LOCAL_DIR}/nodes/count"
	net_up
	"${ROOT}/hack/images.sh" >"${LOGS}/images.log" 2>&1 || die "building the test images failed; see ${LOGS}/images.log"
	local n
	for ((n = 1; n <= NODES; n++)); do
		node_net "$n"
		run_tmpfs "/run/containerd/runc/$(node_ctrns "$n")"
		chmod 0700 "/run/containerd/runc/$(node_ctrns "$n")" # as runc makes its root
		start_containerd "$n"
		import_images "$n"
		start_kubelet "$n"
	done
	# The kubelets register and get their podCIDRs in parallel.
	for ((n = 1; n <= NODES; n++)); do
		wait_for "node-${n}-kubelet" 90 node_ready "$(node_name "$n")"
	done
	for ((n = 1; n <= NODES; n++)); do
		start_kube_proxy "$n"
	done
	log "${NODES} nodes up: $(for ((n = 1; n <= NODES; n++)); do printf '%s=%s ' "$(node_name "$n")" "$(node_ip "$n")"; done)"
}

# remove_containers N deletes node N's pod containers and their snapshots
# (its kubelet already stopped, its containerd still running).
remove_containers() {
	local n="$1" sock ns c
	sock="$(node_sock "$n")"
	ns="$(node_ctrns "$n")"
	if [[ -S "$sock" ]] && running "node-${n}-containerd"; then
		for c in $(ctr --address "$sock" -n "$ns" tasks ls -q 2>/dev/null); do
			ctr --address "$sock" -n "$ns" tasks kill -s SIGKILL "$c" >/dev/null 2>&1 || true
		done
		for c in $(ctr --address "$sock" -n "$ns" containers ls -q 2>/dev/null); do
			for _ in 1 2 3 4 5 6 7 8 9 10; do
				ctr --address "$sock" -n "$ns" tasks rm -f "$c" >/dev/null 2>&1 || true
				ctr --address "$sock" -n "$ns" tasks ls -q 2>/dev/null | grep -qx "$c" || break
				sleep 0.2
			done
			ctr --address "$sock" -n "$ns" containers rm "$c" >/dev/null 2>&1 || true
		done
	fi
}

# remove_node N removes the rest of node N once its daemons are gone: its
# pods' network namespaces and leftover mounts, the node's namespace (with
# its CNI bridge, routes and iptables rules), veth, runc state and cgroups.
remove_node() {
	local n="$1" ns
	ns="$(node_ctrns "$n")"
	# Whatever is still mounted under the node's directories (pod netns
	# bind mounts, rootfs overlays of a containerd that died).
	umount_under "$(node_run "$n")" "$(node_dir "$n")"
	rm -rf "$(node_run "$n")"
	if [[ -e "/run/netns/$(node_netns "$n")" ]]; then
		ip netns del "$(node_netns "$n")" 2>/dev/null || true
	fi
	ip link del "$(node_veth "$n")" 2>/dev/null || true
	# runc's per-namespace state dir and cgroup parents (PLATFORM.md: both
	# are host-global, named after the containerd namespace).
	release_run_tmpfs "/run/containerd/runc/${ns}"
	local d
	for d in /sys/fs/cgroup/*/"${ns}"; do
		[[ -d "$d" ]] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	true
}

nodes_down() {
	local n count
	count="$(recorded_nodes)"
	# Also any namespace of this cluster a crashed run left behind.
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${CLUSTER_NAME}-node-[0-9]*$" || true); do
		n="${ns##*-}"
		((n > count)) && count="$n"
	done
	# Every node's kubelet and kube-proxy at once (each takes a moment to
	# stop), then the pods' containers, then every containerd, then the rest.
	local agents=()
	local runtimes=()
	for ((n = 1; n <= count; n++)); do
		agents+=("node-${n}-kubelet" "node-${n}-kube-proxy")
		runtimes+=("node-${n}-containerd")
	done
	((count == 0)) || stop_bg "${agents[@]}"
	for ((n = 1; n <= count; n++)); do
		remove_containers "$n"
	done
	((count == 0)) || stop_bg "${runtimes[@]}"
	for ((n = 1; n <= count; n++)); do
		remove_node "$n"
	done
	release_run_tmpfs "$RUN_DIR"
	rm -f "${LOCAL_DIR}/nodes/count"
	((count == 0)) || log "${count} nodes removed"
}

# net_down removes the host bridge: after the control plane has stopped,
# since the apiserver listens on it.
net_down() {
	if ip link show "${HOST_BRIDGE}" >/dev/null 2>&1; then
		ip link del "${HOST_BRIDGE}"
		log "host bridge ${HOST_BRIDGE} removed"
	fi
}

status() {
	local n c count
	count="$(recorded_nodes)"
	for ((n = 1; n <= count; n++)); do
		for c in "${NODE_COMPONENTS[@]}"; do
			if running "node-${n}-${c}"; then
				echo "node-${n} ${c}: running (pid $(cat "${PIDS}/node-${n}-${c}.pid"))"
			else
				echo "node-${n} ${c}: stopped"
			fi
		done
	done
}

node_arg() { # node_arg N: validates a node number
	[[ "${1:-}" =~ ^[0-9]+$ ]] || die "want a node number, got '${1:-}'"
	echo "$1"
}

cmd="${1:-}"
shift || true
case "$cmd" in
up)
	((NODES > 1)) || die "NODES must be > 1 (NODES=1 is hack/local-up.sh's one-node cluster)"
	NODES="$NODES" exec "${ROOT}/hack/local-up.sh" up
	;;
down) NODES="$NODES" exec "${ROOT}/hack/local-up.sh" down ;;
net-up) net_up ;;
nodes-up) nodes_up ;;
nodes-down) nodes_down ;;
net-down) net_down ;;
status) status ;;
start)
	n="$(node_arg "${1:-}")"
	shift
	start_node "$n" "$@"
	;;
stop)
	n="$(node_arg "${1:-}")"
	shift
	stop_node "$n" "$@"
	;;
cut) ip link set "$(node_veth "$(node_arg "${1:-}")")" down ;;
heal) ip link set "$(node_veth "$(node_arg "${1:-}")")" up ;;
netns) echo "/run/netns/$(node_netns "$(node_arg "${1:-}")")" ;;
*) die "usage: $0 up|down|status|start N [daemon...]|stop N [daemon...]|cut N|heal N|netns N" ;;
esac
