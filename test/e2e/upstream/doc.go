// Package upstream holds the compatibility test of the apiserver with the upstream
// control plane: it starts the real _output/bin/apiserver (embedded etcd, TLS with a
// throwaway CA) and runs upstream kube-scheduler and kube-controller-manager v1.37
// (_output/tools/, built by hack/build-upstream-control-plane.sh) against it, each with
// its own client certificate and kubeconfig, for a minute. It fails when either logs an
// authorization error or exits, and checks that they do their job through our API: a
// Deployment gets a ReplicaSet and pods, the pods are bound to a (fake, heartbeating)
// Node, and both components hold their leader-election Leases.
//
// The test skips when a binary is missing, unless KSTACK_REQUIRE_UPSTREAM is set, in
// which case missing binaries fail it.
package upstream
