// Package upstream holds the compatibility test of the apiserver with the upstream
// control plane: it starts the real _output/bin/apiserver (embedded etcd, TLS with a
// throwaway CA) and runs upstream kube-scheduler and kube-controller-manager v1.37
// (_output/tools/, built by hack/build-upstream-control-plane.sh) against it, each with
// its own client certificate and kubeconfig, for a minute. It fails when either logs an
// authorization error or exits, and checks that they do their job through our API: a
// Deployment gets a ReplicaSet and pods, the pods are bound to a (fake, heartbeating)
// Node, and both components hold their leader-election Leases.
//
// The reverse direction, TestOwnControlPlane_AgainstUpstreamAPIServer, runs OUR
// scheduler and controller-manager (_output/bin/) against upstream kube-apiserver v1.37
// (_output/tools/kube-apiserver, started by package test/e2e/upstreamapi on a real etcd
// with Node,RBAC authorization), each with its own client certificate: no authorization
// error in their logs, leader Leases held, a Deployment of 3 scheduled onto two fake
// heartbeating Nodes and Available once the test marks its pods Ready, a Service's
// EndpointSlices with the pods' addresses, and a namespace deletion that empties and
// removes the namespace.
//
// The tests skip when a binary is missing, unless KSTACK_REQUIRE_UPSTREAM is set, in
// which case missing binaries fail them. KSTACK_APISERVER_BIN, KSTACK_KUBE_SCHEDULER_BIN,
// KSTACK_KUBE_CONTROLLER_MANAGER_BIN and KSTACK_KUBE_APISERVER_BIN override the
// binaries' paths; KSTACK_UPSTREAM_ARTIFACTS names a directory to keep the logs in.
// Error lines that are not about authorization are printed in the test log, not failed
// on: they list what our apiserver still lacks (server-side apply, for one).
package upstream
