// Package kubelet tests the kubelet in hollow mode (--runtime=fake,
// --hollow-nodes) in-process against a real apiserver on a real etcd,
// with the real scheduler and controller-manager (deployment, replicaset
// and node IPAM controllers). No root is needed: the containers are fake,
// everything else (registration, leases, node status, pod workers, pod
// status, deletion) is the real kubelet.
package kubelet

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/kstack/kstack/pkg/controllermanager"
	"github.com/kstack/kstack/pkg/kubelet"
	"github.com/kstack/kstack/pkg/scheduler"
	"github.com/kstack/kstack/test/integration/framework"
)

// runInBackground runs f until the test ends and checks it returned
// without error once cancelled.
func runInBackground(t *testing.T, name string, f func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := f(ctx); err != nil && ctx.Err() == nil {
			t.Errorf("%s: %v", name, err)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

func TestHollowNodes_DeploymentRunsWithPodIPsFromEachNodesPodCIDR(t *testing.T) {
	const nodes, replicas = 10, 30
	srv := framework.Start(t, framework.Options{})
	c := srv.Client
	ctx := t.Context()

	cm := controllermanager.Defaults()
	cm.RESTConfig = srv.UserConfig(t, "system:kube-controller-manager")
	cm.Controllers = []string{"deployment", "replicaset", "nodeipam"}
	cm.LeaderElection.Enabled = false
	cm.SecurePort = 0
	cm.UseServiceAccountCredentials = true
	cm.AllocateNodeCIDRs = true
	cm.ClusterCIDR = "10.244.0.0/16"
	cm.NodeCIDRMaskSize = 24
	runInBackground(t, "controller-manager", func(ctx context.Context) error { return controllermanager.Run(ctx, cm) })

	sc := &scheduler.Config{REST: srv.UserConfig(t, "system:kube-scheduler")}
	if err := sc.Validate(); err != nil {
		t.Fatalf("scheduler config: %v", err)
	}
	runInBackground(t, "scheduler", func(ctx context.Context) error { return scheduler.RunDaemon(ctx, sc) })

	kc := kubelet.Config{
		RESTConfig:                srv.Config,
		HollowNodes:               nodes,
		HollowNodePrefix:          "hollow-",
		RootDir:                   t.TempDir(),
		PodLogsDir:                t.TempDir(),
		NodeStatusUpdateFrequency: time.Second,
		SyncFrequency:             5 * time.Second,
	}
	runInBackground(t, "hollow kubelets", func(ctx context.Context) error { return kubelet.Run(ctx, kc) })

	// Every node registers, gets a podCIDR and becomes Ready, with a Lease.
	var nodeList *corev1.NodeList
	poll(t, "10 hollow nodes Ready with a podCIDR", func() (bool, string) {
		var err error
		nodeList, err = c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		ready := 0
		for _, n := range nodeList.Items {
			if n.Spec.PodCIDR != "" && nodeReady(&n) {
				ready++
			}
		}
		return ready == nodes && len(nodeList.Items) == nodes, fmt.Sprintf("%d of %d nodes ready (%d registered)", ready, nodes, len(nodeList.Items))
	})
	cidrs := map[string]*net.IPNet{}
	for _, n := range nodeList.Items {
		_, cidr, err := net.ParseCIDR(n.Spec.PodCIDR)
		if err != nil {
			t.Fatalf("node %s podCIDR %q: %v", n.Name, n.Spec.PodCIDR, err)
		}
		cidrs[n.Name] = cidr
		if n.Status.NodeInfo.ContainerRuntimeVersion == "" || n.Status.Capacity.Pods().Value() == 0 {
			t.Errorf("node %s: status not filled in: %+v", n.Name, n.Status.NodeInfo)
		}
		lease, err := c.CoordinationV1().Leases("kube-node-lease").Get(ctx, n.Name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("lease of %s: %v", n.Name, err)
		} else if lease.Spec.RenewTime == nil || ptr.Deref(lease.Spec.HolderIdentity, "") != n.Name {
			t.Errorf("lease of %s not held by it: %+v", n.Name, lease.Spec)
		}
	}

	ns := "hollow"
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "web", Image: "kstack.local/agnhost:1.0",
					// An HTTP readiness probe: hollow probes pass.
					ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1},
				}}},
			},
		},
	}
	if _, err := c.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment: %v", err)
	}

	var pods *corev1.PodList
	poll(t, "30 pods Running and Ready", func() (bool, string) {
		var err error
		pods, err = c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		running := 0
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" && podReady(&p) {
				running++
			}
		}
		return running == replicas && len(pods.Items) == replicas, fmt.Sprintf("%d of %d pods running and ready (%d exist)", running, replicas, len(pods.Items))
	})
	seen := map[string]string{}
	used := map[string]int{}
	for _, p := range pods.Items {
		cidr := cidrs[p.Spec.NodeName]
		ip := net.ParseIP(p.Status.PodIP)
		if cidr == nil || ip == nil || !cidr.Contains(ip) {
			t.Errorf("pod %s on %s has IP %s, not in the node's podCIDR %v", p.Name, p.Spec.NodeName, p.Status.PodIP, cidr)
		}
		if other, dup := seen[p.Status.PodIP]; dup {
			t.Errorf("pods %s and %s share IP %s", p.Name, other, p.Status.PodIP)
		}
		seen[p.Status.PodIP] = p.Name
		used[p.Spec.NodeName]++
		if p.Status.HostIP == "" || len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].State.Running == nil {
			t.Errorf("pod %s: status incomplete: %+v", p.Name, p.Status)
		}
	}
	if len(used) < 2 {
		t.Errorf("the scheduler put all pods on %v; want them spread over the hollow nodes", used)
	}

	// Scaling to zero deletes the pods gracefully; on hollow nodes the
	// kubelet kills the fake containers at once and removes the objects.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		scale, err := c.AppsV1().Deployments(ns).GetScale(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		scale.Spec.Replicas = 0
		_, err = c.AppsV1().Deployments(ns).UpdateScale(ctx, "web", scale, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("scale to 0: %v", err)
	}
	poll(t, "all pods gone", func() (bool, string) {
		pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		return len(pods.Items) == 0, fmt.Sprintf("%d pods left", len(pods.Items))
	})
	checkNodesReady(ctx, t, c)
}

// checkNodesReady checks the nodes are still Ready after the pods went.
func checkNodesReady(ctx context.Context, t *testing.T, c kubernetes.Interface) {
	t.Helper()
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list nodes: %v", err)
	}
	for _, n := range nodes.Items {
		if !nodeReady(&n) {
			t.Errorf("node %s not Ready after the pods were deleted", n.Name)
		}
	}
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// poll waits up to two minutes for cond, failing with its last message.
func poll(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		ok, msg := cond()
		last = msg
		return ok, nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v (last: %s)", what, err, last)
	}
}
