// Package proxy holds kube-proxy's backend-neutral half: the tracker that
// turns Services and EndpointSlices (fed by client-go informers) into
// per-service-port state, the bounded-frequency runner that drives the one
// sync function, health and metrics.
//
// Data flow:
//
//	informers -> Tracker (maps under a lock, marks services changed)
//	          -> Runner.Request() -> sync: Tracker.Snapshot() -> backend renders
//	             and applies the rules (pkg/proxy/iptables) -> Health.Synced()
package proxy

import (
	"strconv"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// ServicePortName names one port of a Service: "namespace/name:port".
type ServicePortName struct {
	types.NamespacedName
	Port     string
	Protocol v1.Protocol
}

// String is upstream's form: "ns/name:port", or "ns/name" for an unnamed
// port. It feeds the chain-name hashes, so it must not change.
func (n ServicePortName) String() string {
	if n.Port == "" {
		return n.Namespace + "/" + n.Name
	}
	return n.Namespace + "/" + n.Name + ":" + n.Port
}

// ServicePort is what a backend needs to know about one Service port.
type ServicePort struct {
	Name      ServicePortName
	ClusterIP string // "" for headless or non-IPv4 Services
	Port      int32
	Protocol  v1.Protocol
	NodePort  int32
	// ExternalIPs are spec.externalIPs; LoadBalancerIPs come from
	// status.loadBalancer.ingress.
	ExternalIPs     []string
	LoadBalancerIPs []string
	// LoadBalancerSourceRanges are the IPv4 CIDRs allowed to reach the
	// LoadBalancerIPs (spec.loadBalancerSourceRanges, else upstream's
	// service.beta.kubernetes.io/load-balancer-source-ranges annotation);
	// empty allows every source.
	LoadBalancerSourceRanges []string
	// StickyMaxAgeSeconds > 0 means sessionAffinity ClientIP with that
	// timeout.
	StickyMaxAgeSeconds int32
	// ExternalPolicyLocal is externalTrafficPolicy: Local (for a Service
	// reachable from outside); InternalPolicyLocal is
	// internalTrafficPolicy: Local.
	ExternalPolicyLocal bool
	InternalPolicyLocal bool
	HealthCheckNodePort int32
}

// ExternallyAccessible says whether the port takes traffic from outside
// the cluster (NodePort, externalIPs or load-balancer IPs).
func (p *ServicePort) ExternallyAccessible() bool {
	return p.NodePort != 0 || len(p.ExternalIPs) > 0 || len(p.LoadBalancerIPs) > 0
}

// Endpoint is one backend of a Service port.
type Endpoint struct {
	IP       string
	Port     int32
	NodeName string
	// IsLocal: the endpoint runs on this node.
	IsLocal     bool
	Ready       bool
	Serving     bool
	Terminating bool
}

// String is "ip:port", as in upstream's chain-name hash and comments.
func (e Endpoint) String() string { return e.IP + ":" + strconv.Itoa(int(e.Port)) }

// Snapshot is the tracker's view handed to a sync. Its maps are shared
// with the tracker: valid until the next Tracker.Snapshot, read-only.
type Snapshot struct {
	// Services has every Service port that has a cluster IP.
	Services map[ServicePortName]*ServicePort
	// Endpoints holds each Service port's endpoints from all its slices,
	// sorted by IP then port.
	Endpoints map[ServicePortName][]Endpoint
	// Ports has each Service's ports (the values of Services grouped by
	// Service), so a backend finds a changed Service's ports without
	// walking all of them.
	Ports map[types.NamespacedName][]*ServicePort
	// Changed are the Services (namespace/name) whose Service or
	// EndpointSlices changed since the previous snapshot.
	Changed map[types.NamespacedName]bool
	// TriggerTimes are the EndpointSlices' last-change-trigger-time
	// annotations of the changes in this snapshot, for the network
	// programming latency metric.
	TriggerTimes []int64 // unix nanoseconds
}

// CategorizeEndpoints picks, as upstream does, the endpoints of the
// cluster traffic policy (cluster: every endpoint), of the local policy
// (local: this node's endpoints, when internal- or externalTrafficPolicy
// is Local) and all endpoints reachable from this node (all, which get
// KUBE-SEP chains). Ready endpoints are used;
// serving-but-terminating ones only when no ready one exists in that set.
func CategorizeEndpoints(eps []Endpoint, svc *ServicePort) (cluster, local, all []Endpoint) {
	pick := func(onlyLocal bool) []Endpoint {
		var ready, terminating []Endpoint
		for _, ep := range eps {
			if onlyLocal && !ep.IsLocal {
				continue
			}
			if ep.Ready {
				ready = append(ready, ep)
			} else if ep.Serving && ep.Terminating {
				terminating = append(terminating, ep)
			}
		}
		if len(ready) > 0 {
			return ready
		}
		return terminating
	}
	cluster = pick(false)
	if svc.ExternalPolicyLocal || svc.InternalPolicyLocal {
		local = pick(true)
	}
	in := map[string]bool{}
	for _, ep := range cluster {
		in[ep.String()] = true
	}
	for _, ep := range local {
		in[ep.String()] = true
	}
	for _, ep := range eps {
		if in[ep.String()] {
			all = append(all, ep)
			delete(in, ep.String())
		}
	}
	return cluster, local, all
}
