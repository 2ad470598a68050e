#!/usr/bin/env bash
# local-up.sh starts (up), stops (down) or shows (status) a one-node kstack control plane
# on this machine, from the binaries in _output/bin (make build). State, certificates,
# logs and the admin kubeconfig live in _output/local (LOCAL_DIR).
#
#   hack/local-up.sh up       # etcd (if /usr/local/bin/etcd exists, else embedded), apiserver,
#                             # controller-manager, scheduler
#   hack/local-up.sh status
#   hack/local-up.sh down
#
# NODES=N (N > 1) runs N worker nodes instead of the host node, each in its own
# network namespace (hack/local-cluster.sh); the apiserver then listens on the
# nodes' host bridge (NODE_NET_PREFIX.1, default 10.88.0.1).
#
# Ports: API_PORT (6443), ETCD_CLIENT_PORT (2379), ETCD_PEER_PORT (2380).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOG_NAME=local-up
# shellcheck source=hack/lib/local.sh
source "${ROOT}/hack/lib/local.sh"

ETCD_CLIENT_PORT="${ETCD_CLIENT_PORT:-2379}"
ETCD_PEER_PORT="${ETCD_PEER_PORT:-2380}"
ETCD_BIN="${ETCD_BIN:-/usr/local/bin/etcd}"
SERVICE_CIDR="${SERVICE_CIDR:-10.96.0.0/16}"
CM_PORT="${CM_PORT:-10257}"
NODE_NAME="${NODE_NAME:-$(hostname)}"
# The node's address: the source address of the default route, else loopback.
NODE_IP="${NODE_IP:-$(ip -4 route get 1.1.1.1 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "src") { print $(i + 1); exit }}')}"
NODE_IP="${NODE_IP:-127.0.0.1}"
CONTAINERD_DIR="${CONTAINERD_DIR:-/run/kstack}"
CONTAINERD_SOCK="${CONTAINERD_DIR}/containerd.sock"
CONTAINERD_NS="${CONTAINERD_NS:-kstack}"
CNI_BRIDGE="${CNI_BRIDGE:-kstack0}"
SCHEDULER_PORT="${SCHEDULER_PORT:-10259}"
SERVICE_IP="${SERVICE_IP:-10.96.0.1}" # the kubernetes Service's ClusterIP, a SAN
KUBECONFIG_OUT="${LOCAL_DIR}/admin.conf"
NODES="${NODES:-1}"
API_HOST=127.0.0.1
if ((NODES > 1)); then
	API_HOST="${NODE_NET_PREFIX:-10.88.0}.1"
fi
# Components stop in the reverse of this order.
COMPONENTS=(etcd apiserver controller-manager scheduler containerd kubelet kube-proxy)

# cluster runs hack/local-cluster.sh with this cluster's settings.
cluster() {
	BIN="$BIN" LOCAL_DIR="$LOCAL_DIR" API_PORT="$API_PORT" CLUSTER_CIDR="$CLUSTER_CIDR" NODES="$NODES" \
		"${ROOT}/hack/local-cluster.sh" "$@"
}

up() {
	[[ -x "${BIN}/apiserver" ]] || die "${BIN}/apiserver missing: run make build"
	mkdir -p "$PKI" "$LOGS" "$PIDS"
	local api_ips=127.0.0.1 nodes="${NODE_NAME}=${NODE_IP}" n
	if ((NODES > 1)); then
		cluster net-up
		api_ips="127.0.0.1,${API_HOST}"
		nodes="$(for ((n = 1; n <= NODES; n++)); do printf 'node-%d=%s.%d,' "$n" "${API_HOST%.*}" $((10 + n)); done)"
		nodes="${nodes%,}"
	fi

	# The cluster PKI (CA, serving and client certs, etcd certs, service-account
	# keys, kubeconfigs): created once, reused after.
	"${BIN}/pki" --out "$PKI" --kubeconfig-dir "$LOCAL_DIR" \
		--server "https://${API_HOST}:${API_PORT}" --apiserver-ips "${api_ips}" \
		--apiserver-names "$(hostname)" --service-cidr "$SERVICE_CIDR" \
		--etcd-members local=127.0.0.1 --nodes "${nodes}" >"${LOGS}/pki.log"
	log "PKI in ${PKI} (see ${LOGS}/pki.log)"

	local etcd_args=()
	if [[ -x "$ETCD_BIN" ]]; then
		start_bg etcd "$ETCD_BIN" --name local --data-dir "${LOCAL_DIR}/etcd" \
			--listen-client-urls "https://127.0.0.1:${ETCD_CLIENT_PORT}" \
			--advertise-client-urls "https://127.0.0.1:${ETCD_CLIENT_PORT}" \
			--listen-peer-urls "https://127.0.0.1:${ETCD_PEER_PORT}" \
			--initial-advertise-peer-urls "https://127.0.0.1:${ETCD_PEER_PORT}" \
			--initial-cluster "local=https://127.0.0.1:${ETCD_PEER_PORT}" \
			--cert-file "${PKI}/etcd/server-local.crt" --key-file "${PKI}/etcd/server-local.key" \
			--peer-cert-file "${PKI}/etcd/peer-local.crt" --peer-key-file "${PKI}/etcd/peer-local.key" \
			--trusted-ca-file "${PKI}/etcd/ca.crt" --peer-trusted-ca-file "${PKI}/etcd/ca.crt" \
			--client-cert-auth --peer-client-cert-auth
		wait_for etcd 30 curl -fsS --cacert "${PKI}/etcd/ca.crt" \
			--cert "${PKI}/etcd/healthcheck-client.crt" --key "${PKI}/etcd/healthcheck-client.key" \
			"https://127.0.0.1:${ETCD_CLIENT_PORT}/health"
		etcd_args=(--etcd-servers="https://127.0.0.1:${ETCD_CLIENT_PORT}"
			--etcd-cafile="${PKI}/etcd/ca.crt"
			--etcd-certfile="${PKI}/apiserver-etcd-client.crt" --etcd-keyfile="${PKI}/apiserver-etcd-client.key")
	else
		log "no ${ETCD_BIN} (run make deps): the apiserver runs an embedded etcd"
	fi

	start_bg apiserver "${BIN}/apiserver" \
		--bind-address="${API_HOST}" --secure-port="${API_PORT}" \
		--tls-cert-file="${PKI}/apiserver.crt" --tls-private-key-file="${PKI}/apiserver.key" \
		--client-ca-file="${PKI}/ca.crt" \
		--service-account-issuer=https://kubernetes.default.svc.cluster.local \
		--service-account-key-file="${PKI}/sa.pub" --service-account-signing-key-file="${PKI}/sa.key" \
		--authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
		--kubelet-client-certificate="${PKI}/apiserver-kubelet-client.crt" \
		--kubelet-client-key="${PKI}/apiserver-kubelet-client.key" \
		"${etcd_args[@]}" --data-dir="${LOCAL_DIR}/apiserver" \
		--service-cluster-ip-range="${SERVICE_CIDR}"
	wait_for apiserver 60 curl -fsS --cacert "${PKI}/ca.crt" "https://${API_HOST}:${API_PORT}/readyz"

	# The control loops and the scheduler, each with its own identity.
	if [[ -x "${BIN}/controller-manager" ]]; then
		start_bg controller-manager "${BIN}/controller-manager" \
			--kubeconfig="${LOCAL_DIR}/controller-manager.conf" \
			--bind-address=127.0.0.1 --secure-port="${CM_PORT}" --client-ca-file="${PKI}/ca.crt" \
			--use-service-account-credentials \
			--service-account-private-key-file="${PKI}/sa.key" --root-ca-file="${PKI}/ca.crt" \
			--cluster-cidr="${CLUSTER_CIDR}" --allocate-node-cidrs
		wait_for controller-manager 60 curl -fsSk "https://127.0.0.1:${CM_PORT}/healthz"
	fi
	if [[ -x "${BIN}/scheduler" ]]; then
		start_bg scheduler "${BIN}/scheduler" \
			--kubeconfig="${LOCAL_DIR}/scheduler.conf" \
			--bind-address=127.0.0.1 --secure-port="${SCHEDULER_PORT}" --client-ca-file="${PKI}/ca.crt"
		wait_for scheduler 60 curl -fsSk "https://127.0.0.1:${SCHEDULER_PORT}/healthz"
	fi

	# The node: its own containerd instance, the test images, the kubelet and
	# kube-proxy (which programs this host's iptables; make down removes it all).
	if ((NODES > 1)); then
		cluster nodes-up
	elif [[ -x "${BIN}/kubelet" ]] && command -v containerd >/dev/null; then
		run_tmpfs "${CONTAINERD_DIR}" "/run/containerd/runc/${CONTAINERD_NS}"
		chmod 0700 "/run/containerd/runc/${CONTAINERD_NS}" # as runc makes its root
		mkdir -p "${LOCAL_DIR}/containerd"
		containerd_config "${LOCAL_DIR}/containerd/root" "${CONTAINERD_DIR}/state" "${CONTAINERD_SOCK}" \
			>"${LOCAL_DIR}/containerd/config.toml"
		start_bg containerd env GOGC="${CONTAINERD_GOGC}" containerd --config "${LOCAL_DIR}/containerd/config.toml"
		wait_for containerd 30 ctr --address "${CONTAINERD_SOCK}" version
		"${ROOT}/hack/images.sh" >"${LOGS}/images.log" 2>&1
		CONTAINERD_ADDRESS="${CONTAINERD_SOCK}" CONTAINERD_NAMESPACE="${CONTAINERD_NS}" \
			"${ROOT}/hack/images.sh" --import >>"${LOGS}/images.log" 2>&1
		log "test images imported (kstack.local/pause:1.0, kstack.local/busybox:1.0, kstack.local/testserver:1.0)"
		start_bg kubelet "${BIN}/kubelet" \
			--kubeconfig="${LOCAL_DIR}/kubelet-${NODE_NAME}.conf" \
			--hostname-override="${NODE_NAME}" --node-ip="${NODE_IP}" \
			--container-runtime-endpoint="${CONTAINERD_SOCK}" --containerd-namespace="${CONTAINERD_NS}" \
			--root-dir="${LOCAL_DIR}/kubelet" --state-dir="${CONTAINERD_DIR}/kubelet" \
			--cni-conf-dir="${LOCAL_DIR}/cni/net.d" \
			--cni-bridge="${CNI_BRIDGE}" --netns-dir="${CONTAINERD_DIR}/netns" --port=10250
		wait_for kubelet 90 node_ready "${NODE_NAME}"
		if [[ -x "${BIN}/kube-proxy" ]]; then
			start_bg kube-proxy "${BIN}/kube-proxy" \
				--kubeconfig="${LOCAL_DIR}/kube-proxy.conf" --hostname-override="${NODE_NAME}" \
				--cluster-cidr="${CLUSTER_CIDR}"
			wait_for kube-proxy 30 curl -fsS "http://127.0.0.1:10256/healthz"
		fi
	else
		log "no kubelet binary or containerd: the cluster has no node (run make deps and make build)"
	fi

	echo
	echo "kstack is up. Use it with:"
	echo "  export KUBECONFIG=${KUBECONFIG_OUT}"
	echo "Logs: ${LOGS}/   Stop: make down"
}

# remove_portmap_chains removes the nat chains the portmap CNI plugin made
# for hostPort pods (it never removes them) and their jumps, once no
# mapping is left in them.
remove_portmap_chains() {
	local nat
	nat="$(iptables-save -t nat 2>/dev/null)" || return 0
	grep -q '^:CNI-HOSTPORT-DNAT ' <<<"$nat" || return 0
	grep -q '^-A CNI-HOSTPORT-DNAT ' <<<"$nat" && return 0
	# One iptables-restore, which parses the saved rules' quoting itself:
	# the jumps to the chains, then the chains.
	local chains c
	mapfile -t chains < <(grep -o '^:CNI-HOSTPORT-[A-Z]*' <<<"$nat" | cut -c2-)
	{
		echo '*nat'
		grep -- '-j CNI-HOSTPORT-' <<<"$nat" | grep -v '^-A CNI-HOSTPORT-' | sed 's/^-A /-D /'
		for c in "${chains[@]}"; do echo "-F $c"; done
		for c in "${chains[@]}"; do echo "-X $c"; done
		echo COMMIT
	} | iptables-restore --noflush 2>/dev/null || true
}

# node_cleanup removes what the node made: pod containers and their
# snapshots, network namespaces, the CNI bridge and kube-proxy's rules.
node_cleanup() {
	if [[ -S "${CONTAINERD_SOCK}" ]] && running containerd; then
		local c
		for c in $(ctr --address "${CONTAINERD_SOCK}" -n "${CONTAINERD_NS}" tasks ls -q 2>/dev/null); do
			ctr --address "${CONTAINERD_SOCK}" -n "${CONTAINERD_NS}" tasks kill -s SIGKILL "$c" >/dev/null 2>&1 || true
		done
		sleep 0.5
		for c in $(ctr --address "${CONTAINERD_SOCK}" -n "${CONTAINERD_NS}" tasks ls -q 2>/dev/null); do
			ctr --address "${CONTAINERD_SOCK}" -n "${CONTAINERD_NS}" tasks rm -f "$c" >/dev/null 2>&1 || true
		done
		for c in $(ctr --address "${CONTAINERD_SOCK}" -n "${CONTAINERD_NS}" containers ls -q 2>/dev/null); do
			ctr --address "${CONTAINERD_SOCK}" -n "${CONTAINERD_NS}" containers rm "$c" >/dev/null 2>&1 || true
		done
	fi
	local ns
	for ns in "${CONTAINERD_DIR}"/netns/*; do
		[[ -e "$ns" ]] || continue
		umount "$ns" 2>/dev/null || true
		rm -f "$ns"
	done
	# Pod volumes the kubelet left mounted (projected token and secret
	# tmpfs).
	umount_under "${LOCAL_DIR}/kubelet" "${CONTAINERD_DIR}/kubelet"
	ip link del "${CNI_BRIDGE}" 2>/dev/null || true
	remove_portmap_chains
	if [[ -x "${BIN}/kube-proxy" ]]; then
		"${BIN}/kube-proxy" --cleanup >/dev/null 2>&1 || true
	fi
}

down() {
	local i
	if ((NODES > 1)) || [[ -s "${LOCAL_DIR}/nodes/count" ]]; then
		# NODES > 1: no host node, so leave the host's netns, bridge and
		# iptables alone (another cluster on this machine may own them).
		cluster nodes-down
	else
		running kubelet && { kill -TERM "$(cat "${PIDS}/kubelet.pid")" 2>/dev/null || true; }
		node_cleanup
	fi
	# One at a time, so that each stops before what it depends on.
	for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
		stop_bg "${COMPONENTS[$i]}"
	done
	if ! ((NODES > 1)); then
		release_run_tmpfs "${CONTAINERD_DIR}" "/run/containerd/runc/${CONTAINERD_NS}"
	fi
	cluster net-down
}

status() {
	local name
	for name in "${COMPONENTS[@]}"; do
		if running "$name"; then
			echo "${name}: running (pid $(cat "${PIDS}/${name}.pid"))"
		else
			echo "${name}: stopped"
		fi
	done
	cluster status
}

case "${1:-up}" in
up) up ;;
down) down ;;
status) status ;;
*) die "usage: $0 up|down|status" ;;
esac
