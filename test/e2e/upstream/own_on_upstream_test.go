package upstream

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/kstack/kstack/test/e2e/e2eutil"
	"github.com/kstack/kstack/test/e2e/upstreamapi"
)

// ownBinary returns _output/bin/<name>; when it is missing the test skips, or
// fails when KSTACK_REQUIRE_UPSTREAM is set.
func ownBinary(t *testing.T, name string) string {
	t.Helper()
	bin := filepath.Join(e2eutil.RepoRoot(t), "_output", "bin", name)
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv(requireEnv) != "" {
			t.Fatalf("%s is set but %s is missing (make build): %v", requireEnv, bin, err)
		}
		t.Skipf("skipping: %s is missing (make build; set %s=1 to make this a failure)", bin, requireEnv)
	}
	return bin
}

// TestOwnControlPlane_AgainstUpstreamAPIServer runs kstack's scheduler and
// controller-manager against upstream kube-apiserver v1.37 (Node,RBAC
// authorization, upstream's bootstrap roles), each with its own client
// certificate, for a minute: they must log no authorization error, be refused
// nothing (the server's audit log), write nothing upstream's validation
// rejects, hold their leader Leases, and do their job through upstream's API:
// a Deployment gets its ReplicaSet and 3 pods, the pods are bound to fake
// heartbeating Nodes, pods the test marks Ready make the Deployment Available
// and fill a Service's EndpointSlices, and deleting the namespace empties and
// removes it.
func TestOwnControlPlane_AgainstUpstreamAPIServer(t *testing.T) {
	sched, kcm := ownBinary(t, "scheduler"), ownBinary(t, "controller-manager")
	s := upstreamapi.Start(t)
	cs := s.AdminClient(t)
	ctx := t.Context()
	const ns = "own-on-upstream"
	nodes := []string{"upstream-node-1", "upstream-node-2"}
	for _, n := range nodes {
		createNode(t, cs, n)
	}
	startHeartbeat(t, cs, nodes...)

	started := time.Now()
	schedProc := startOwnScheduler(t, sched, s.Kubeconfig(t, "scheduler", "system:kube-scheduler"),
		filepath.Join(s.Dir, "scheduler-on-upstream.log"))
	kcmProc := startOwnControllerManager(t, kcm, s.Kubeconfig(t, "controller-manager", "system:kube-controller-manager"),
		s.PKI.SAKeyFile, s.CAFile, filepath.Join(s.Dir, "controller-manager-on-upstream.log"))
	components := []*process{schedProc, kcmProc}
	// Registered after the processes' own cleanups, this runs first: the logs
	// are checked even when a behaviour check below failed.
	t.Cleanup(func() {
		checkComponentLogs(t, components, " against upstream kube-apiserver")
		// The server's side: no request of anyone (the components, their
		// controllers' service accounts, the test) was refused, logged or not.
		if denials := s.Denials(t, nil); len(denials) > 0 {
			lines := make([]string, len(denials))
			for i, d := range denials {
				lines[i] = d.String()
			}
			t.Errorf("upstream kube-apiserver refused %d requests (audit log %s):\n%s", len(denials), s.AuditLogPath, strings.Join(lines, "\n"))
		}
		// Nor did upstream's validation reject what our components wrote.
		var invalid []string
		for _, e := range s.AuditEvents(t) {
			if (e.Code() == 400 || e.Code() == 422) && e.User.Username != "kubernetes-admin" {
				invalid = append(invalid, e.String())
			}
		}
		if len(invalid) > 0 {
			t.Errorf("upstream kube-apiserver rejected %d requests as bad or invalid:\n%s", len(invalid), strings.Join(invalid, "\n"))
		}
	})
	alive := func(t *testing.T) {
		t.Helper()
		for _, p := range components {
			if err := p.exitErr(); err != nil {
				t.Fatalf("%v; log:\n%s", err, e2eutil.Tail(p.logPath, 40))
			}
		}
		if err := s.Err(); err != nil {
			t.Fatalf("%v; log:\n%s", err, e2eutil.Tail(s.LogPath, 40))
		}
	}
	steps := stepper{ctx: ctx, alive: alive}
	waitFor := steps.waitFor

	// Both elect themselves leader through a Lease in kube-system.
	leases := map[string]metav1.MicroTime{}
	for _, name := range []string{"kube-scheduler", "kube-controller-manager"} {
		waitFor(t, "leader-election Lease kube-system/"+name, func(ctx context.Context) (bool, error) {
			l, err := cs.CoordinationV1().Leases("kube-system").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" || l.Spec.RenewTime == nil {
				return false, fmt.Errorf("lease %s has no holder yet", name)
			}
			leases[name] = *l.Spec.RenewTime
			return true, nil
		})
	}

	// Node IPAM against upstream's node validation.
	for _, n := range nodes {
		waitFor(t, "spec.podCIDR of node "+n, func(ctx context.Context) (bool, error) {
			node, err := cs.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return node.Spec.PodCIDR != "", nil
		})
	}

	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", ns, err)
	}
	waitFor(t, "ServiceAccount "+ns+"/default", func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	})
	waitFor(t, "ConfigMap "+ns+"/kube-root-ca.crt", func(ctx context.Context) (bool, error) {
		cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return cm.Data["ca.crt"] == string(s.CAData), nil
	})

	// A Deployment of 3: ReplicaSet, pods, bindings to the fake nodes.
	d := deployment("web", 3)
	// The test plays the kubelet: a short grace period keeps the namespace
	// deletion below quick.
	d.Spec.Template.Spec.TerminationGracePeriodSeconds = ptr.To[int64](1)
	deploy, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	rs := steps.controlledReplicaSet(t, cs, ns, "web", deploy.UID)
	var pods []corev1.Pod
	waitFor(t, "3 pods of the ReplicaSet bound to the fake nodes", func(ctx context.Context) (bool, error) {
		list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return false, err
		}
		bound := 0
		for _, p := range list.Items {
			if ref := metav1.GetControllerOf(&p); ref == nil || ref.UID != rs.UID {
				return false, fmt.Errorf("pod %s is not controlled by ReplicaSet %s", p.Name, rs.Name)
			}
			if p.Spec.NodeName == nodes[0] || p.Spec.NodeName == nodes[1] {
				bound++
			}
		}
		if len(list.Items) != 3 || bound != 3 {
			return false, fmt.Errorf("%d pods, %d bound", len(list.Items), bound)
		}
		pods = list.Items
		return true, nil
	})

	// The scheduler reports each binding as an events.k8s.io/v1 Event.
	waitFor(t, "a Scheduled event from the scheduler", func(ctx context.Context) (bool, error) {
		evs, err := cs.EventsV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.Reason == "Scheduled" && e.Regarding.Kind == "Pod" {
				return true, nil
			}
		}
		return false, fmt.Errorf("%d events, none Scheduled", len(evs.Items))
	})

	// The test plays the kubelet: the pods run and are Ready.
	var podIPs []string
	for i, p := range pods {
		ip := fmt.Sprintf("10.244.%d.%d", i, 10+i)
		podIPs = append(podIPs, ip)
		markPodReady(t, cs, ns, p.Name, ip)
	}
	sort.Strings(podIPs)
	waitFor(t, "deployment web Available with 3 ready replicas", func(ctx context.Context) (bool, error) {
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		st := d.Status
		if st.ObservedGeneration < d.Generation || st.Replicas != 3 || st.UpdatedReplicas != 3 || st.ReadyReplicas != 3 || st.AvailableReplicas != 3 {
			return false, fmt.Errorf("status %+v at generation %d", st, d.Generation)
		}
		for _, c := range st.Conditions {
			if c.Type == appsv1.DeploymentAvailable {
				if c.Status != corev1.ConditionTrue {
					return false, fmt.Errorf("condition Available=%s: %s", c.Status, c.Message)
				}
				return true, nil
			}
		}
		return false, fmt.Errorf("no Available condition in %+v", st.Conditions)
	})

	// A Service over the pods: EndpointSlices with the 3 ready addresses.
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}},
		},
	}
	if _, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create service: %v", err)
	}
	waitFor(t, "EndpointSlices of service web with the 3 ready pod addresses", func(ctx context.Context) (bool, error) {
		list, err := cs.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=web"})
		if err != nil {
			return false, err
		}
		var ready []string
		for _, sl := range list.Items {
			if len(sl.Ports) != 1 || sl.Ports[0].Port == nil || *sl.Ports[0].Port != 8080 {
				return false, fmt.Errorf("slice %s ports %+v, want one port 8080", sl.Name, sl.Ports)
			}
			for _, ep := range sl.Endpoints {
				if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
					ready = append(ready, ep.Addresses...)
				}
			}
		}
		sort.Strings(ready)
		if strings.Join(ready, ",") != strings.Join(podIPs, ",") {
			return false, fmt.Errorf("%d slices, ready addresses %v, want %v", len(list.Items), ready, podIPs)
		}
		return true, nil
	})

	// Deleting the namespace: the namespace controller deletes its content
	// (through upstream's discovery: every namespaced resource upstream serves),
	// the test's kubelet finishes the pods' graceful deletion, and the namespace
	// goes away.
	if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete namespace: %v", err)
	}
	waitFor(t, "namespace "+ns+" emptied and removed", func(ctx context.Context) (bool, error) {
		n, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		finishPodDeletions(ctx, cs, ns)
		return false, fmt.Errorf("namespace %s: phase %s, conditions %+v", ns, n.Status.Phase, n.Status.Conditions)
	})

	// Run out the minute, then: still alive, still leaders, still renewing.
	steps.runOut(t, started)
	for name, first := range leases {
		l, err := cs.CoordinationV1().Leases("kube-system").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("get Lease kube-system/%s: %v", name, err)
			continue
		}
		if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" || l.Spec.RenewTime == nil || !first.Before(l.Spec.RenewTime) {
			t.Errorf("Lease kube-system/%s not held and renewed: holder %v, renewTime %v (first seen %v)", name, ptr.Deref(l.Spec.HolderIdentity, ""), l.Spec.RenewTime, first)
		}
	}
	for _, p := range components {
		checkHealthz(t, p)
	}
}

// markPodReady writes the status a kubelet writes for a running, ready pod.
func markPodReady(t *testing.T, cs kubernetes.Interface, ns, name, ip string) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p, err := cs.CoreV1().Pods(ns).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := metav1.Now()
		p.Status.Phase = corev1.PodRunning
		p.Status.HostIP = "10.0.0.10"
		p.Status.HostIPs = []corev1.HostIP{{IP: "10.0.0.10"}}
		p.Status.PodIP = ip
		p.Status.PodIPs = []corev1.PodIP{{IP: ip}}
		p.Status.StartTime = &now
		for _, ct := range []corev1.PodConditionType{corev1.PodInitialized, corev1.PodReady, corev1.ContainersReady, corev1.PodScheduled} {
			setPodCondition(p, ct, now)
		}
		p.Status.ContainerStatuses = nil
		for _, c := range p.Spec.Containers {
			p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
				Name:        c.Name,
				Image:       c.Image,
				ImageID:     c.Image,
				ContainerID: "containerd://" + name + "-" + c.Name,
				Ready:       true,
				Started:     ptr.To(true),
				State:       corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
			})
		}
		_, err = cs.CoreV1().Pods(ns).UpdateStatus(t.Context(), p, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("mark pod %s/%s ready: %v", ns, name, err)
	}
}

// setPodCondition sets condition ct of p to True.
func setPodCondition(p *corev1.Pod, ct corev1.PodConditionType, now metav1.Time) {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == ct {
			p.Status.Conditions[i].Status = corev1.ConditionTrue
			p.Status.Conditions[i].LastTransitionTime = now
			return
		}
	}
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: ct, Status: corev1.ConditionTrue, LastTransitionTime: now})
}

// finishPodDeletions does what a kubelet does once a terminating pod's
// containers are gone: it deletes the pod for good (grace period 0). Errors are
// left to the next poll.
func finishPodDeletions(ctx context.Context, cs kubernetes.Interface, ns string) {
	list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			continue
		}
		_ = cs.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{
			GracePeriodSeconds: ptr.To[int64](0),
			Preconditions:      &metav1.Preconditions{UID: &p.UID},
		})
	}
}
