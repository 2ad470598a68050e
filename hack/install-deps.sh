#!/usr/bin/env bash
# install-deps.sh installs what kstack needs on a Debian 12 host: a recent etcd server
# (built from the Go module proxy, Debian's 3.4 is too old), and the Debian packages the
# node agent, kube-proxy and the HA setup use. Idempotent: a second run does no apt work
# and no build. Run as root.
set -euo pipefail

ETCD_VERSION="${ETCD_VERSION:-3.7.3}"
GO_MIN_MINOR=26 # Go 1.26 or newer
PREFIX="${PREFIX:-/usr/local/bin}"
APT_PACKAGES=(
	containerd
	runc
	containernetworking-plugins
	iptables
	conntrack
	haproxy
	busybox-static
	iproute2
	openssl
	curl # hack/local-up.sh readiness checks
)

log() { echo "install-deps: $*"; }
die() {
	echo "install-deps: ERROR: $*" >&2
	exit 1
}

check_go() {
	command -v go >/dev/null 2>&1 || {
		[[ -x /usr/local/go/bin/go ]] && export PATH="/usr/local/go/bin:$PATH"
	}
	command -v go >/dev/null 2>&1 || die "go not found (install Go >= 1.${GO_MIN_MINOR} into /usr/local/go)"
	local v
	v="$(go env GOVERSION)" # e.g. go1.26.8
	local major minor
	major="$(echo "${v#go}" | cut -d. -f1)"
	minor="$(echo "${v#go}" | cut -d. -f2)"
	if [[ "$major" -lt 1 ]] || { [[ "$major" -eq 1 ]] && [[ "$minor" -lt "$GO_MIN_MINOR" ]]; }; then
		die "need Go >= 1.${GO_MIN_MINOR}, have ${v}"
	fi
	log "go: ${v} ok"
}

install_apt_packages() {
	local missing=()
	local p
	for p in "${APT_PACKAGES[@]}"; do
		if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]]; then
			missing+=("$p")
		fi
	done
	if [[ ${#missing[@]} -eq 0 ]]; then
		log "apt packages: all present"
		return
	fi
	[[ $EUID -eq 0 ]] || die "apt packages missing (${missing[*]}): run as root"
	log "apt packages: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	# The Debian containerd package starts a system daemon; kstack runs its own instances
	# with their own sockets, so the system one is left as the distribution configures it.
	log "apt packages: done"
}

# go_build_tool builds a Go main package from the module proxy into $PREFIX/<name>.
# $1 name, $2 module@version to require, $3 package to import in tools.go, $4 package to build.
go_build_tool() {
	local name="$1" modver="$2" imp="$3" pkg="$4"
	local tmp
	tmp="$(mktemp -d)"
	# shellcheck disable=SC2064
	trap "rm -rf '$tmp'" RETURN
	log "${name}: building ${modver} from the Go module proxy (takes a minute or two)"
	(
		cd "$tmp"
		cat >go.mod <<GOMOD
module kstack.local/tools/${name}

go 1.26
GOMOD
		cat >tools.go <<GOSRC
//go:build tools

package tools

import _ "${imp}"
GOSRC
		export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
		go get "${modver}" >/dev/null 2>&1 || go get "${modver}"
		go mod tidy >/dev/null 2>&1 || go mod tidy
		CGO_ENABLED=0 go build -trimpath -o "${tmp}/${name}" "${pkg}"
	)
	install -m 0755 "${tmp}/${name}" "${PREFIX}/${name}"
	log "${name}: installed ${PREFIX}/${name}"
}

# version_of prints the first line of "BINARY ARGS..." output, or nothing if it fails.
version_of() {
	local out
	out="$("$@" 2>/dev/null)" || return 0
	echo "${out%%$'\n'*}"
}

install_etcd() {
	local want_etcd="etcd Version: ${ETCD_VERSION}" want_ctl="etcdctl version: ${ETCD_VERSION}"
	if [[ "$(version_of "${PREFIX}/etcd" --version)" == "$want_etcd" ]]; then
		log "etcd: ${PREFIX}/etcd is ${ETCD_VERSION} ok"
	else
		go_build_tool etcd "go.etcd.io/etcd/server/v3@v${ETCD_VERSION}" \
			go.etcd.io/etcd/server/v3/etcdmain go.etcd.io/etcd/server/v3
		[[ "$(version_of "${PREFIX}/etcd" --version)" == "$want_etcd" ]] ||
			die "etcd: ${PREFIX}/etcd does not report ${want_etcd}"
	fi
	if [[ "$(version_of "${PREFIX}/etcdctl" version)" == "$want_ctl" ]]; then
		log "etcdctl: ${PREFIX}/etcdctl is ${ETCD_VERSION} ok"
	else
		go_build_tool etcdctl "go.etcd.io/etcd/etcdctl/v3@v${ETCD_VERSION}" \
			go.etcd.io/etcd/etcdctl/v3 go.etcd.io/etcd/etcdctl/v3
		[[ "$(version_of "${PREFIX}/etcdctl" version)" == "$want_ctl" ]] ||
			die "etcdctl: ${PREFIX}/etcdctl does not report ${want_ctl}"
	fi
}

main() {
	local start=$SECONDS
	check_go
	install_apt_packages
	install_etcd
	log "done in $((SECONDS - start))s"
}

main "$@"
