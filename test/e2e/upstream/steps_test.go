package upstream

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kstack/kstack/test/e2e/e2eutil"
)

// The steps both control-plane scenarios (upstream_test.go: components
// against the apiserver under test; own_on_upstream_test.go: kstack's
// components against upstream kube-apiserver) share.

// startOwnScheduler runs kstack's scheduler binary with the kubeconfig of
// its own identity and leader election on.
func startOwnScheduler(t *testing.T, bin, kubeconfig, logPath string) *process {
	t.Helper()
	port := e2eutil.FreePort(t)
	p := startProcess(t, "scheduler", bin, []string{
		"--kubeconfig=" + kubeconfig,
		"--leader-elect=true",
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
	}, logPath)
	p.healthz = "https://127.0.0.1:" + strconv.Itoa(port) + "/healthz"
	return p
}

// startOwnControllerManager runs kstack's controller-manager binary with
// the kubeconfig of its own identity, every controller on, each under its
// own service account, leader election and node IPAM on.
func startOwnControllerManager(t *testing.T, bin, kubeconfig, saKeyFile, rootCAFile, logPath string) *process {
	t.Helper()
	port := e2eutil.FreePort(t)
	p := startProcess(t, "controller-manager", bin, []string{
		"--kubeconfig=" + kubeconfig,
		"--leader-elect=true",
		"--use-service-account-credentials=true",
		"--controllers=*",
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--service-account-private-key-file=" + saKeyFile,
		"--root-ca-file=" + rootCAFile,
		"--allocate-node-cidrs=true",
		"--cluster-cidr=" + clusterCIDR,
		"--node-cidr-mask-size=24",
	}, logPath)
	p.healthz = "https://127.0.0.1:" + strconv.Itoa(port) + "/healthz"
	return p
}

// checkComponentLogs fails the test for every authentication or
// authorization error line in the components' logs (what names the server
// in the message, e.g. " against upstream kube-apiserver") and lists their
// other error lines.
func checkComponentLogs(t *testing.T, components []*process, against string) {
	t.Helper()
	for _, p := range components {
		bad, errs := scanLog(t, p.logPath)
		if len(errs) > 0 {
			t.Logf("%s logged %d error lines (not failing on these alone):\n%s", p.name, len(errs), strings.Join(errs, "\n"))
		}
		if len(bad) > 0 {
			t.Errorf("%s logged %d authentication/authorization errors%s:\n%s", p.name, len(bad), against, strings.Join(bad, "\n"))
		}
	}
}

// stepper polls behaviour checks, failing the test as soon as alive does
// (a process exited).
type stepper struct {
	ctx   context.Context
	alive func(t *testing.T)
}

// waitFor polls cond until it holds, for at most stepTimeout; an error from
// cond is retried and reported when time runs out.
func (s stepper) waitFor(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(s.ctx, 500*time.Millisecond, stepTimeout, true, func(ctx context.Context) (bool, error) {
		s.alive(t)
		ok, err := cond(ctx)
		if err != nil {
			last = err
			return false, nil
		}
		return ok, nil
	})
	if err != nil {
		t.Fatalf("%s: not within %v (last error: %v)", what, stepTimeout, last)
	}
}

// runOut keeps checking alive until runFor has passed since started.
func (s stepper) runOut(t *testing.T, started time.Time) {
	t.Helper()
	for time.Since(started) < runFor {
		s.alive(t)
		select {
		case <-s.ctx.Done():
			t.Fatalf("test context done: %v", s.ctx.Err())
		case <-time.After(time.Second):
		}
	}
	s.alive(t)
}

// controlledReplicaSet waits for the ReplicaSet in ns that the Deployment
// with UID owner controls.
func (s stepper) controlledReplicaSet(t *testing.T, cs kubernetes.Interface, ns, deployName string, owner types.UID) *appsv1.ReplicaSet {
	t.Helper()
	var rs *appsv1.ReplicaSet
	s.waitFor(t, "a ReplicaSet controlled by deployment "+deployName, func(ctx context.Context) (bool, error) {
		list, err := cs.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for i := range list.Items {
			if ref := metav1.GetControllerOf(&list.Items[i]); ref != nil && ref.UID == owner {
				rs = &list.Items[i]
				return true, nil
			}
		}
		return false, nil
	})
	return rs
}
