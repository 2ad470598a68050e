# shellcheck shell=bash
# hack/lib/local.sh is what hack/local-up.sh and hack/local-cluster.sh share:
# the paths of the local cluster's state, logging, and starting, waiting for
# and stopping its daemons (a pid file each under PIDS, a log each under
# LOGS). Source it after setting ROOT (the repository) and LOG_NAME (the
# prefix of log and die lines).

BIN="${BIN:-${ROOT}/_output/bin}"
LOCAL_DIR="${LOCAL_DIR:-${ROOT}/_output/local}"
PKI="${LOCAL_DIR}/pki"
LOGS="${LOCAL_DIR}/logs"
PIDS="${LOCAL_DIR}/pids"
API_PORT="${API_PORT:-6443}"
CLUSTER_CIDR="${CLUSTER_CIDR:-10.244.0.0/16}"

log() { echo "${LOG_NAME}: $*"; }
die() {
	echo "${LOG_NAME}: ERROR: $*" >&2
	exit 1
}

running() { # running NAME -> 0 when its pid file names a live process
	local f="${PIDS}/$1.pid"
	[[ -s "$f" ]] && kill -0 "$(cat "$f")" 2>/dev/null
}

# start_bg [--append] NAME ARGS... runs ARGS in the background, logging to
# LOGS/NAME.log: a new log, or with --append after what an earlier run of
# NAME wrote there.
start_bg() {
	local append=false
	if [[ "$1" == --append ]]; then
		append=true
		shift
	fi
	local name="$1"
	shift
	if running "$name"; then
		log "${name} already running (pid $(cat "${PIDS}/${name}.pid"))"
		return
	fi
	if "$append"; then
		nohup "$@" >>"${LOGS}/${name}.log" 2>&1 </dev/null &
	else
		nohup "$@" >"${LOGS}/${name}.log" 2>&1 </dev/null &
	fi
	echo $! >"${PIDS}/${name}.pid"
	log "${name} started (pid $!, log ${LOGS}/${name}.log)"
}

stop_bg() { # stop_bg NAME...: SIGTERM to all at once, then SIGKILL after 10 s
	local name pid
	local -A pids=()
	for name in "$@"; do
		if running "$name"; then
			pids[$name]="$(cat "${PIDS}/${name}.pid")"
			kill -TERM "${pids[$name]}" 2>/dev/null || true
		fi
	done
	for name in "${!pids[@]}"; do
		pid="${pids[$name]}"
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "${name} (pid ${pid}) ignored SIGTERM for 10s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
		log "${name} stopped"
	done
	for name in "$@"; do
		rm -f "${PIDS}/${name}.pid"
	done
}

wait_for() { # wait_for NAME SECONDS CMD... retries CMD until it succeeds
	local name="$1" secs="$2"
	shift 2
	local deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		running "$name" || die "${name} exited; last log lines:$(echo; tail -n 30 "${LOGS}/${name}.log")"
		((SECONDS < deadline)) || die "${name} not ready after ${secs}s; see ${LOGS}/${name}.log"
		sleep 0.2
	done
	log "${name} ready"
}

# node_ready NAME succeeds once the node reports Ready=True (asked of the
# apiserver at API_HOST:API_PORT with the admin certificate; no kubectl
# needed). API_HOST is the sourcing script's.
# shellcheck disable=SC2153
node_ready() {
	curl -fsS --cacert "${PKI}/ca.crt" --cert "${PKI}/admin.crt" --key "${PKI}/admin.key" \
		"https://${API_HOST}:${API_PORT}/api/v1/nodes/$1" | grep -q '"type":"Ready","status":"True"'
}

# CONTAINERD_GOGC is the Go GC target of the nodes' containerd, which its
# shims inherit (containerd starts them with its own environment). At 400
# instead of Go's 100, a shim does not collect while its pod starts and
# containerd collects 2.5 times less often: ~10% less node CPU per pod started
# (docs/benchmarks.md, kubelet) for ~35 MiB more containerd RSS; the shims'
# RSS is the same.
CONTAINERD_GOGC="${CONTAINERD_GOGC:-400}"

# containerd_config ROOT STATE SOCKET prints the config of a node's own
# containerd (no CRI plugin: the kubelet talks to containerd's API).
containerd_config() {
	cat <<TOML
version = 2
root = "$1"
state = "$2"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$3"
[ttrpc]
  address = "$3.ttrpc"
TOML
}

# umount_under DIR... unmounts whatever is mounted below the DIRs (pod
# volumes, pod netns bind mounts, rootfs overlays), deepest first.
umount_under() {
	local m
	while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done < <(awk -v dirs="$(printf '%s\n' "$@")" 'BEGIN { n = split(dirs, d, "\n") }
		{ for (i = 1; i <= n; i++) if (d[i] != "" && index($2, d[i] "/") == 1) { print $2; next } }' /proc/self/mounts | sort -r)
}

# run_tmpfs DIR... makes each DIR a tmpfs of its own when the filesystem it
# is on is not one. A node's runtime state (containerd's state and runc's
# root, the kubelet's --state-dir, the pods' network namespace files) lives
# under /run, a tmpfs on a usual Linux machine; where /run is a directory
# of the root disk, each of those short-lived files would cost the disk an
# inode (on ext4 without a journal, a scan past every inode freed in the
# last minutes: see docs/benchmarks.md).
run_tmpfs() {
	local dir
	for dir in "$@"; do
		mkdir -p "$dir"
		[[ "$(stat -f -c %T "$dir")" == tmpfs ]] && continue
		mount -t tmpfs -o mode=0755 kstack-run "$dir" || die "mount a tmpfs on ${dir}"
	done
}

# release_run_tmpfs DIR... unmounts the tmpfs run_tmpfs mounted on each DIR
# (once nothing of the node runs) and removes the directory if empty.
release_run_tmpfs() {
	local dir
	for dir in "$@"; do
		if [[ "$(findmnt -n -o SOURCE --mountpoint "$dir" 2>/dev/null)" == kstack-run ]]; then
			umount "$dir" 2>/dev/null || umount -l "$dir" 2>/dev/null || true
		fi
		rmdir "$dir" 2>/dev/null || true
	done
}
