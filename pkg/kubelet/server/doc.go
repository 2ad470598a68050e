// Package server is the kubelet's HTTPS API on port 10250, which the
// apiserver proxies pods/log, pods/exec, pods/attach, pods/portforward and
// nodes/proxy to.
//
// Request flow: TLS (client certificates verified against --client-ca-file)
// -> authenticate (certificate CN/O, else anonymous when allowed) ->
// authorize (AlwaysAllow, or Webhook: a SubjectAccessReview on nodes/<sub>
// of this node, verb from the method, decisions cached briefly) -> handler:
//
//	/containerLogs/{ns}/{pod}/{container}   CRI log files (runtime.ReadLogs)
//	/exec/{ns}/{pod}/{container}            containerd exec (SPDY or WebSocket)
//	/attach/{ns}/{pod}/{container}          the container's output (and stdin)
//	/portForward/{ns}/{pod}                 TCP in the pod's network namespace
//	/pods                                   this node's pods
//	/stats/summary, /metrics/resource       cgroup CPU and memory
//	/healthz, /metrics                      pkg/daemon's health and metrics
package server
