// Package controller tests kstack's controllers against the real apiserver
// on a real etcd, run by the controller-manager under its own identity
// (system:kube-controller-manager, with per-controller service-account
// credentials) so RBAC is exercised. There is no scheduler or kubelet:
// tests set pod status themselves where readiness matters.
package controller

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kstack/kstack/pkg/controllermanager"
	"github.com/kstack/kstack/test/integration/framework"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// cluster is an apiserver plus a running controller-manager.
type cluster struct {
	s      *framework.Server
	client kubernetes.Interface
}

// startCluster starts an apiserver and a controller-manager running the
// given controllers (upstream --controllers syntax) as
// system:kube-controller-manager with --use-service-account-credentials.
func startCluster(t *testing.T, controllers []string, configure ...func(*controllermanager.Config)) *cluster {
	t.Helper()
	s := framework.Start(t, framework.Options{})
	stop := runManager(t, s, controllers, configure...)
	t.Cleanup(stop)
	return &cluster{s: s, client: s.Client}
}

// runManager runs a controller-manager on s until the returned stop (safe
// to call twice) is called.
func runManager(t *testing.T, s *framework.Server, controllers []string, configure ...func(*controllermanager.Config)) func() {
	t.Helper()
	cfg := controllermanager.Defaults()
	cfg.RESTConfig = s.UserConfig(t, "system:kube-controller-manager")
	cfg.Controllers = controllers
	cfg.LeaderElection.Enabled = false
	cfg.SecurePort = 0
	cfg.UseServiceAccountCredentials = true
	for _, f := range configure {
		f(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- controllermanager.Run(ctx, cfg) }()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("controller-manager: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("controller-manager did not stop")
			}
		})
	}
}

// namespace creates a fresh namespace.
func (c *cluster) namespace(t *testing.T, name string) string {
	t.Helper()
	_, err := c.client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	return name
}

// eventually polls cond every 100ms for up to timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		ok, err := cond()
		if err != nil {
			last = err
			return false, nil
		}
		return ok, nil
	})
	if err != nil {
		t.Fatalf("timed out waiting for %s (last error: %v)", what, last)
	}
}

// pods lists the pods of ns matching the label selector.
func (c *cluster) pods(t *testing.T, ns, selector string) []corev1.Pod {
	t.Helper()
	l, err := c.client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatalf("list pods: %v", err)
	}
	return l.Items
}

// activePods are pods not being deleted.
func activePods(pods []corev1.Pod) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// markReady sets pod Running and Ready, as a kubelet would.
func (c *cluster) markReady(ctx context.Context, pod *corev1.Pod) error {
	p := pod.DeepCopy()
	now := metav1.Now()
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}}
	p.Status.PodIP = fmt.Sprintf("10.244.0.%d", 2+len(p.Name)%250)
	_, err := c.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	return err
}

func podTemplate(labels map[string]string, image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
	}
}

func replicaSet(name string, replicas int32, labels map[string]string) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: podTemplate(labels, "busybox:1"),
		},
	}
}

// autoReady plays the kubelet for ns: every pod that appears is marked
// Running and Ready, until the test ends.
func (c *cluster) autoReady(t *testing.T, ns string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w, err := c.client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("watch pods: %v", err)
	}
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok || pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodRunning {
				continue
			}
			_ = c.markReady(ctx, pod)
		}
	}()
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }
