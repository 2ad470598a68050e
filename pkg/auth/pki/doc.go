// Package pki issues the certificates, keys and kubeconfigs a kstack cluster
// runs on: nothing in kstack talks to the apiserver or etcd without TLS.
//
// The layout follows kubeadm's /etc/kubernetes/pki so that operators and
// tools find what they expect:
//
//	ca.crt, ca.key                          cluster CA (signs everything but etcd)
//	apiserver.crt/key                       apiserver serving cert (VIP, masters, service IP)
//	apiserver-kubelet-client.crt/key        apiserver -> kubelet client (system:masters)
//	apiserver-etcd-client.crt/key           apiserver -> etcd client (etcd CA)
//	sa.key, sa.pub                          service-account token signing key pair
//	admin, controller-manager, scheduler,
//	kube-proxy .crt/key                     component client certs
//	kubelet-<node>.crt/key                  kubelet serving cert
//	kubelet-<node>-client.crt/key           kubelet client cert (system:node:<node>)
//	etcd/ca.crt, etcd/ca.key                etcd CA (separate from the cluster CA by default)
//	etcd/server-<member>.crt/key            etcd serving cert per member
//	etcd/peer-<member>.crt/key              etcd peer cert per member
//	etcd/healthcheck-client.crt/key         etcd client for health checks
//	*.conf                                  kubeconfigs embedding CA, cert and key
//
// Data flow: Generate(ClusterConfig) builds the list of wanted files
// (plan.go), and for each one reuses what is on disk when it still satisfies
// the request (same subject, SANs and usages, signed by the current CA, key
// matches, not near expiry), reissues the certificate with the existing key
// when it does not, and creates what is missing. Running it twice changes
// nothing. NewTestCluster writes a minimal set fast for tests, and
// RegisterCertExpiry exports a certificate's expiry as a Prometheus gauge.
//
// Keys are ECDSA P-256 by default: as widely supported as RSA 2048 by Go, etcd
// and client-go, much faster to generate, and smaller handshakes. RSA 2048
// (upstream's default) is available with KeyAlgorithm RSA2048. The
// service-account key is RSA 2048 by default, as kubeadm, because RS256 is the
// JWT algorithm every token verifier supports.
package pki
