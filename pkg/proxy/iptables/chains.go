package iptables

import (
	"crypto/sha256"
	"encoding/base32"
	"strings"
)

// Chains kube-proxy owns outright (flushed and refilled on every sync).
const (
	kubeServices         = "KUBE-SERVICES"
	kubeExternalServices = "KUBE-EXTERNAL-SERVICES"
	kubeNodePorts        = "KUBE-NODEPORTS"
	kubePostrouting      = "KUBE-POSTROUTING"
	kubeMarkMasq         = "KUBE-MARK-MASQ"
	kubeForward          = "KUBE-FORWARD"
	kubeProxyFirewall    = "KUBE-PROXY-FIREWALL"
)

// Prefixes of the per-Service chains.
const (
	prefixSVC = "KUBE-SVC-"
	prefixSVL = "KUBE-SVL-"
	prefixEXT = "KUBE-EXT-"
	prefixFW  = "KUBE-FW-"
	prefixSEP = "KUBE-SEP-"
)

// hash16 is upstream's chain-name hash: the first 16 characters of the
// base32 of the SHA-256 of s.
func hash16(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base32.StdEncoding.EncodeToString(sum[:])[:16]
}

// servicePortChain is KUBE-SVC-/KUBE-SVL-/KUBE-EXT-/KUBE-FW- plus the hash
// of the service port name ("ns/name:port") and lowercase protocol.
func servicePortChain(prefix, servicePortName, protocol string) string {
	return prefix + hash16(servicePortName+strings.ToLower(protocol))
}

// endpointChain is KUBE-SEP- plus the hash of the service port name,
// lowercase protocol and "ip:port".
func endpointChain(servicePortName, protocol, endpoint string) string {
	return prefixSEP + hash16(servicePortName+strings.ToLower(protocol)+endpoint)
}

// ownedChain says whether kube-proxy made the chain (for cleanup and
// stale-chain removal).
func ownedChain(name string) bool {
	switch name {
	case kubeServices, kubeExternalServices, kubeNodePorts, kubePostrouting, kubeMarkMasq, kubeForward, kubeProxyFirewall:
		return true
	}
	return perServiceChain(name)
}

// perServiceChain says whether name is a KUBE-SVC/SVL/EXT/FW/SEP chain.
func perServiceChain(name string) bool {
	for _, p := range []string{prefixSVC, prefixSVL, prefixEXT, prefixFW, prefixSEP} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
