package upstream

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"github.com/kstack/kstack/test/e2e/e2eutil"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

const (
	// runFor is how long both components must run without an authorization error.
	runFor = 60 * time.Second
	// stepTimeout bounds each behaviour check.
	stepTimeout = 45 * time.Second
	// nodeName is the fake node the scheduler binds pods to.
	nodeName = "upstream-node-1"
	// namespace holds the test's workload.
	namespace = "upstream-e2e"
)

// authzError matches the log lines of an authentication or authorization failure:
// client-go's "... is forbidden: User ... cannot list resource ..." and "Unauthorized".
var authzError = regexp.MustCompile(`(?i)forbidden|unauthorized|cannot (get|list|watch|create|update|patch|delete)`)

// flagLine matches the components' start-up dump of their flags, whose names
// (--authorization-webhook-cache-unauthorized-ttl) would match authzError.
var flagLine = regexp.MustCompile(`flags\.go:\d+\] FLAG: --`)

// klogError matches a klog error line ("E1128 12:00:00.000000 ...") and our
// daemons' slog warnings and errors ("time=... level=WARN ...").
var klogError = regexp.MustCompile(`^E\d{4} | level=(WARN|ERROR) `)

func TestUpstreamControlPlane_RunsWithoutAuthorizationErrors(t *testing.T) {
	c := startCluster(t)
	runControlPlane(t, c, c.startScheduler, c.startControllerManager)
}

// TestOwnControlPlane_RunsWithoutAuthorizationErrors runs the same scenario
// with kstack's own scheduler and controller-manager binaries, each with
// its own identity: they must log no authorization error either.
func TestOwnControlPlane_RunsWithoutAuthorizationErrors(t *testing.T) {
	c := startCluster(t)
	root := e2eutil.RepoRoot(t)
	own := func(name string) string {
		bin := filepath.Join(root, "_output", "bin", name)
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("%s is missing (make build): %v", bin, err)
		}
		return bin
	}
	sched, kcm := own("scheduler"), own("controller-manager")
	runControlPlane(t, c,
		func(t *testing.T) *process {
			return startOwnScheduler(t, sched, c.kubeconfig("scheduler"), c.path("scheduler.log"))
		},
		func(t *testing.T) *process {
			return startOwnControllerManager(t, kcm, c.kubeconfig("controller-manager"), c.path("sa.key"), c.path("ca.crt"), c.path("controller-manager.log"))
		})
}

// runControlPlane checks a scheduler and controller-manager pair against
// the apiserver for runFor: leader Leases, per-controller service accounts,
// node IPAM, namespace defaults, a Deployment scheduled onto a fake node,
// garbage collection, and no authorization error in their logs.
func runControlPlane(t *testing.T, c *cluster, startScheduler, startControllerManager func(*testing.T) *process) {
	t.Logf("apiserver authentication flags this build accepts: %q", c.apiserverFlags)
	cs := c.adminClient(t)
	ctx := t.Context()

	// As upstream's apiserver, ours publishes its client CA for the components'
	// own authentication of their clients (delegated authentication).
	if c.hasFlag("--client-ca-file") {
		cm, err := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "extension-apiserver-authentication", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get kube-system/extension-apiserver-authentication: %v", err)
		}
		if ca, _ := os.ReadFile(c.path("ca.crt")); cm.Data["client-ca-file"] != string(ca) {
			t.Errorf("extension-apiserver-authentication client-ca-file = %q, want the --client-ca-file contents", cm.Data["client-ca-file"])
		}
	}

	// A node that looks like a healthy kubelet's: Ready, with allocatable resources
	// and a Lease heartbeat, so the node lifecycle controller keeps it schedulable.
	createNode(t, cs, nodeName)
	startHeartbeat(t, cs, nodeName)

	started := time.Now()
	sched := startScheduler(t)
	kcm := startControllerManager(t)
	components := []*process{sched, kcm}
	// Registered after the processes' own cleanups, this runs first: the logs are
	// checked for authorization errors even when a behaviour check below failed.
	t.Cleanup(func() {
		checkComponentLogs(t, components, "")
	})
	alive := func(t *testing.T) {
		t.Helper()
		for _, p := range append(components, c.apiserver) {
			if err := p.exitErr(); err != nil {
				t.Fatalf("%v; log:\n%s", err, e2eutil.Tail(p.logPath, 40))
			}
		}
	}
	steps := stepper{ctx: ctx, alive: alive}
	waitFor := steps.waitFor

	// Both components elect themselves leader through a Lease in kube-system.
	for _, name := range []string{"kube-scheduler", "kube-controller-manager"} {
		waitFor(t, "leader-election Lease kube-system/"+name, func(ctx context.Context) (bool, error) {
			l, err := cs.CoordinationV1().Leases("kube-system").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "", nil
		})
	}

	// With --use-service-account-credentials each controller runs as its own
	// service account in kube-system, with a token from the TokenRequest API.
	for _, sa := range []string{"deployment-controller", "replicaset-controller"} {
		waitFor(t, "ServiceAccount kube-system/"+sa, func(ctx context.Context) (bool, error) {
			_, err := cs.CoreV1().ServiceAccounts("kube-system").Get(ctx, sa, metav1.GetOptions{})
			return err == nil, err
		})
	}

	// The node IPAM controller gives the node a pod CIDR from --cluster-cidr.
	waitFor(t, "node spec.podCIDR from the node IPAM controller", func(ctx context.Context) (bool, error) {
		n, err := cs.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return n.Spec.PodCIDR != "", nil
	})

	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", namespace, err)
	}
	// The serviceaccount and root-ca-cert-publisher controllers populate a new namespace.
	waitFor(t, "ServiceAccount "+namespace+"/default", func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts(namespace).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	})
	waitFor(t, "ConfigMap "+namespace+"/kube-root-ca.crt", func(ctx context.Context) (bool, error) {
		cm, err := cs.CoreV1().ConfigMaps(namespace).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return strings.Contains(cm.Data["ca.crt"], "BEGIN CERTIFICATE"), nil
	})

	// A Deployment: the deployment controller creates a ReplicaSet, the ReplicaSet
	// controller creates pods, the scheduler binds them to the node.
	deploy, err := cs.AppsV1().Deployments(namespace).Create(ctx, deployment("web", 2), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	rs := steps.controlledReplicaSet(t, cs, namespace, "web", deploy.UID)
	waitFor(t, "2 pods of the ReplicaSet bound to "+nodeName, func(ctx context.Context) (bool, error) {
		pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return false, err
		}
		bound := 0
		for _, p := range pods.Items {
			if ref := metav1.GetControllerOf(&p); ref == nil || ref.UID != rs.UID {
				return false, fmt.Errorf("pod %s is not controlled by ReplicaSet %s", p.Name, rs.Name)
			}
			if p.Spec.NodeName == nodeName {
				bound++
			}
		}
		if bound != 2 || len(pods.Items) != 2 {
			return false, fmt.Errorf("%d pods, %d bound to %s", len(pods.Items), bound, nodeName)
		}
		return true, nil
	})
	waitFor(t, "deployment status: 2 replicas, 2 updated, generation observed", func(ctx context.Context) (bool, error) {
		d, err := cs.AppsV1().Deployments(namespace).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		s := d.Status
		if s.ObservedGeneration < d.Generation || s.Replicas != 2 || s.UpdatedReplicas != 2 {
			return false, fmt.Errorf("status %+v at generation %d", s, d.Generation)
		}
		return true, nil
	})
	// The scheduler reports each binding as an event (events.k8s.io/v1).
	waitFor(t, "a Scheduled event", func(ctx context.Context) (bool, error) {
		evs, err := cs.EventsV1().Events(namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.Reason == "Scheduled" {
				return true, nil
			}
		}
		return false, nil
	})

	// Deleting the Deployment lets the garbage collector remove its ReplicaSet.
	if err := cs.AppsV1().Deployments(namespace).Delete(ctx, "web", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)}); err != nil {
		t.Fatalf("delete deployment: %v", err)
	}
	waitFor(t, "the garbage collector deleting ReplicaSet "+rs.Name, func(ctx context.Context) (bool, error) {
		_, err := cs.AppsV1().ReplicaSets(namespace).Get(ctx, rs.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})

	// Run out the minute, watching for exits.
	steps.runOut(t, started)
	for _, p := range components {
		checkHealthz(t, p)
	}

}

// startScheduler runs upstream kube-scheduler with its own kubeconfig, leader election on.
func (c *cluster) startScheduler(t *testing.T) *process {
	t.Helper()
	kc := c.kubeconfig("scheduler")
	port := e2eutil.FreePort(t)
	p := startProcess(t, "kube-scheduler", c.bins.scheduler, []string{
		"--kubeconfig=" + kc,
		"--authentication-kubeconfig=" + kc,
		"--authorization-kubeconfig=" + kc,
		"--leader-elect=true",
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--v=2",
	}, c.path("kube-scheduler.log"))
	p.healthz = "https://127.0.0.1:" + strconv.Itoa(port) + "/healthz"
	return p
}

// startControllerManager runs upstream kube-controller-manager with its own kubeconfig,
// every controller on, leader election on, and each controller under its own service
// account (--use-service-account-credentials=true, as kubeadm runs it): the
// system:kube-controller-manager role alone only reads, and upstream itself logs
// forbidden errors without per-controller credentials.
func (c *cluster) startControllerManager(t *testing.T) *process {
	t.Helper()
	kc := c.kubeconfig("controller-manager")
	port := e2eutil.FreePort(t)
	p := startProcess(t, "kube-controller-manager", c.bins.controllerManager, []string{
		"--kubeconfig=" + kc,
		"--authentication-kubeconfig=" + kc,
		"--authorization-kubeconfig=" + kc,
		"--leader-elect=true",
		"--use-service-account-credentials=true",
		"--controllers=*",
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--service-account-private-key-file=" + c.path("sa.key"),
		"--root-ca-file=" + c.path("ca.crt"),
		"--cluster-signing-cert-file=" + c.path("ca.crt"),
		"--cluster-signing-key-file=" + c.path("ca.key"),
		"--allocate-node-cidrs=true",
		"--cluster-cidr=" + clusterCIDR,
		"--node-cidr-mask-size=24",
		"--service-cluster-ip-range=" + serviceCIDR,
		"--cluster-name=kstack",
		"--v=2",
	}, c.path("kube-controller-manager.log"))
	p.healthz = "https://127.0.0.1:" + strconv.Itoa(port) + "/healthz"
	return p
}

// checkHealthz expects 200 "ok" from the component's /healthz (served without
// authentication, as --authorization-always-allow-paths defaults).
func checkHealthz(t *testing.T, p *process) {
	t.Helper()
	client := &http.Client{
		Timeout: 5 * time.Second,
		// The components serve a self-signed certificate (no --tls-cert-file).
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
	}
	resp, err := client.Get(p.healthz)
	if err != nil {
		t.Errorf("%s /healthz: %v", p.name, err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("%s /healthz: %s: %s", p.name, resp.Status, body)
	}
}

// scanLog returns the lines of the log at path that report an authentication or
// authorization failure, and its klog error lines (for the test log).
func scanLog(t *testing.T, path string) (authz, errs []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open log: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if authzError.MatchString(line) && !flagLine.MatchString(line) {
			authz = append(authz, line)
		}
		if klogError.MatchString(line) {
			errs = append(errs, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read log %s: %v", path, err)
	}
	return authz, errs
}

// createNode creates a fake node with a kubelet's status: Ready, no pressure,
// allocatable resources, an InternalIP.
func createNode(t *testing.T, cs kubernetes.Interface, nodeName string) {
	t.Helper()
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: nodeName,
			Labels: map[string]string{
				"kubernetes.io/hostname": nodeName,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
			},
		},
	}
	created, err := cs.CoreV1().Nodes().Create(t.Context(), node, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create node: %v", err)
	}
	resources := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("8"),
		corev1.ResourceMemory: resource.MustParse("16Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	now := metav1.Now()
	created.Status = corev1.NodeStatus{
		Capacity:    resources,
		Allocatable: resources,
		Phase:       corev1.NodeRunning,
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: "10.0.0.10"},
			{Type: corev1.NodeHostName, Address: nodeName},
		},
		NodeInfo: corev1.NodeSystemInfo{
			KubeletVersion: "v1.37.2", OperatingSystem: "linux", Architecture: "amd64",
			ContainerRuntimeVersion: "containerd://1.6.20",
		},
		Conditions: []corev1.NodeCondition{
			{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: now, LastTransitionTime: now},
			{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", LastHeartbeatTime: now, LastTransitionTime: now},
			{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", LastHeartbeatTime: now, LastTransitionTime: now},
			{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID", LastHeartbeatTime: now, LastTransitionTime: now},
		},
	}
	if _, err := cs.CoreV1().Nodes().UpdateStatus(t.Context(), created, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update node status: %v", err)
	}
}

// startHeartbeat renews the nodes' Leases in kube-node-lease and their Ready
// conditions the way a kubelet does, until the test ends.
func startHeartbeat(t *testing.T, cs kubernetes.Interface, nodeNames ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var lastErr error
	record := func(err error) {
		// Errors of a heartbeat cut short by the test's end do not count.
		if err != nil && ctx.Err() == nil {
			mu.Lock()
			lastErr = err
			mu.Unlock()
		}
	}
	beat := func() {
		for _, n := range nodeNames {
			record(renewLease(ctx, cs, n))
			record(renewReady(ctx, cs, n))
		}
	}
	beat()
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				beat()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		if lastErr != nil {
			t.Errorf("node heartbeat: %v", lastErr)
		}
	})
}

func renewLease(ctx context.Context, cs kubernetes.Interface, nodeName string) error {
	leases := cs.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	l, err := leases.Get(ctx, nodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: nodeName},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       ptr.To(nodeName),
				LeaseDurationSeconds: ptr.To[int32](40),
				RenewTime:            &now,
			},
		}, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create node lease: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("get node lease: %w", err)
	}
	l.Spec.RenewTime = &now
	if _, err := leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("renew node lease: %w", err)
	}
	return nil
}

func renewReady(ctx context.Context, cs kubernetes.Interface, nodeName string) error {
	n, err := cs.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get node: %w", err)
	}
	for i := range n.Status.Conditions {
		n.Status.Conditions[i].LastHeartbeatTime = metav1.Now()
	}
	if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil && !apierrors.IsConflict(err) {
		return fmt.Errorf("update node status: %w", err)
	}
	return nil
}

// deployment is a Deployment of n pause pods labelled app=<name>.
func deployment(name string, n int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(n),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{
						Name:  "pause",
						Image: "registry.k8s.io/pause:3.10",
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
							corev1.ResourceCPU:    resource.MustParse("100m"),
							corev1.ResourceMemory: resource.MustParse("64Mi"),
						}},
					}},
				},
			},
		},
	}
}
