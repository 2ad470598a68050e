// Package scheduler tests the kstack scheduler in-process against a real
// apiserver on a real etcd, with Node objects and no kubelets. Each
// scheduler runs as the system:kube-scheduler user, so RBAC is exercised.
package scheduler

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kstack/kstack/pkg/daemon"
	"github.com/kstack/kstack/pkg/scheduler"
	"github.com/kstack/kstack/test/integration/framework"
)

// env is one apiserver and an admin client with a test namespace.
type env struct {
	srv *framework.Server
	c   kubernetes.Interface
	ns  string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := framework.Start(t, framework.Options{})
	e := &env{srv: srv, c: srv.Client, ns: "sched"}
	if _, err := e.c.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	return e
}

// schedulerConfig is a scheduler as system:kube-scheduler over protobuf.
func (e *env) schedulerConfig(t *testing.T, profiles ...scheduler.Profile) *scheduler.Config {
	rc := e.srv.UserConfig(t, "system:kube-scheduler")
	rc.ContentType = "application/vnd.kubernetes.protobuf"
	rc.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cfg := &scheduler.Config{REST: rc, Component: scheduler.KubeSchedulerConfiguration{Profiles: profiles}}
	return cfg
}

// startScheduler runs a scheduler until the returned stop is called (or
// the test ends).
func (e *env) startScheduler(t *testing.T, cfg *scheduler.Config) (stop func()) {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("scheduler config: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := scheduler.RunDaemon(ctx, cfg); err != nil && ctx.Err() == nil {
			t.Errorf("scheduler: %v", err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

func (e *env) defaultScheduler(t *testing.T) {
	e.startScheduler(t, e.schedulerConfig(t))
}

// nodeSpec describes a fake Ready node.
type nodeSpec struct {
	name     string
	cpu      string
	memory   string
	pods     string
	labels   map[string]string
	taints   []corev1.Taint
	images   []corev1.ContainerImage
	unsched  bool
	extended corev1.ResourceList
}

func (e *env) addNode(t *testing.T, n nodeSpec) *corev1.Node {
	t.Helper()
	if n.cpu == "" {
		n.cpu = "4"
	}
	if n.memory == "" {
		n.memory = "16Gi"
	}
	if n.pods == "" {
		n.pods = "110"
	}
	labels := map[string]string{corev1.LabelHostname: n.name}
	for k, v := range n.labels {
		labels[k] = v
	}
	alloc := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(n.cpu),
		corev1.ResourceMemory: resource.MustParse(n.memory),
		corev1.ResourcePods:   resource.MustParse(n.pods),
	}
	for k, v := range n.extended {
		alloc[k] = v
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: labels},
		Spec:       corev1.NodeSpec{Taints: n.taints, Unschedulable: n.unsched},
		Status: corev1.NodeStatus{
			Capacity: alloc, Allocatable: alloc, Images: n.images,
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: metav1.Now()}},
		},
	}
	created, err := e.c.CoreV1().Nodes().Create(t.Context(), node, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create node %s: %v", n.name, err)
	}
	if len(created.Status.Allocatable) == 0 {
		created.Status = node.Status
		if created, err = e.c.CoreV1().Nodes().UpdateStatus(t.Context(), created, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("node %s status: %v", n.name, err)
		}
	}
	return created
}

// pod is a pending pod requesting cpu and memory ("" for none).
func pod(name, cpu, memory string, labels map[string]string) *corev1.Pod {
	req := corev1.ResourceList{}
	if cpu != "" {
		req[corev1.ResourceCPU] = resource.MustParse(cpu)
	}
	if memory != "" {
		req[corev1.ResourceMemory] = resource.MustParse(memory)
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "busybox:1.36", Resources: corev1.ResourceRequirements{Requests: req}}},
		},
	}
}

func (e *env) createPod(t *testing.T, p *corev1.Pod) *corev1.Pod {
	t.Helper()
	out, err := e.c.CoreV1().Pods(e.ns).Create(t.Context(), p, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s: %v", p.Name, err)
	}
	return out
}

// waitScheduled waits for the pod to be bound and returns its node.
func (e *env) waitScheduled(t *testing.T, name string) string {
	t.Helper()
	var node string
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		p, err := e.c.CoreV1().Pods(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		node = p.Spec.NodeName
		return node != "", nil
	})
	if err != nil {
		t.Fatalf("pod %s not scheduled: %v", name, err)
	}
	return node
}

// waitUnschedulable waits for PodScheduled=False/Unschedulable and
// returns its message.
func (e *env) waitUnschedulable(t *testing.T, name string) string {
	t.Helper()
	var msg string
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		p, err := e.c.CoreV1().Pods(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		if p.Spec.NodeName != "" {
			return false, fmt.Errorf("pod %s was scheduled to %s", name, p.Spec.NodeName)
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				msg = c.Message
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("pod %s not reported unschedulable: %v", name, err)
	}
	return msg
}

// waitEvent waits for an event about the pod with reason and returns its
// note.
func (e *env) waitEvent(t *testing.T, podName, reason string) string {
	t.Helper()
	var note string
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		evs, err := e.c.EventsV1().Events(e.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		for _, ev := range evs.Items {
			if ev.Regarding.Name == podName && ev.Reason == reason {
				note = ev.Note
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no %s event for pod %s: %v", reason, podName, err)
	}
	return note
}

// waitEventNote waits for an event of reason about podName with note want
// (a pod may have several events of one reason with different notes).
func (e *env) waitEventNote(t *testing.T, podName, reason, want string) {
	t.Helper()
	var seen []string
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		evs, err := e.c.EventsV1().Events(e.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		seen = seen[:0]
		for _, ev := range evs.Items {
			if ev.Regarding.Name == podName && ev.Reason == reason {
				if ev.Note == want {
					return true, nil
				}
				seen = append(seen, ev.Note)
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no %s event for pod %s with note %q: %v (saw %q)", reason, podName, want, err, seen)
	}
}

func (e *env) nodeOf(t *testing.T, name string) string {
	t.Helper()
	p, err := e.c.CoreV1().Pods(e.ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get pod %s: %v", name, err)
	}
	return p.Spec.NodeName
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

var _ = daemon.LeaderElection{}
