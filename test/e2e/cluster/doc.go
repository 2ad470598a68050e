// Package cluster runs a multi-node kstack cluster on this machine for e2e
// tests: hack/local-cluster.sh starts the control plane on the host and each
// worker node in its own network namespace (own containerd, kubelet and
// kube-proxy). A test package starts one cluster in TestMain and shares it:
//
//	func TestMain(m *testing.M) { os.Exit(cluster.Main(m, 3, &c)) }
//
// The cluster's names, subnet and ports differ from `make up`'s, so a
// developer's local cluster and the tests' can run side by side. It needs
// root, containerd, runc, the CNI plugins, iptables (nf_tables) and the
// binaries of `make build`.
//
// The tests here are kube-proxy's acceptance tests on 3 nodes (issue #7):
//
//	hack/test-e2e-cluster.sh                       # or make test-e2e
//	KSTACK_E2E_KEEP_CLUSTER=1 hack/test-e2e-cluster.sh -run TestServices
package cluster
