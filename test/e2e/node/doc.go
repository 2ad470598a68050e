// Package node holds the kubelet's end-to-end tests (build tag e2e, run as
// root): each test starts its own containerd (own root, state, socket and
// namespace), an in-process apiserver on an embedded etcd, imports the
// project's images (_output/images, built by hack/images.sh) and runs the
// kubelet in-process with its own CNI bridge, podCIDR and directories, so
// tests neither share state nor depend on the machine's containerd.
//
//	hack/test-e2e-node.sh
package node
