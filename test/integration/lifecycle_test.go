package integration

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kstack/kstack/test/integration/framework"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

// TestLifecycle_DryRunWritesNothing runs create, update, patch and delete
// with dryRun=All: each answers with the object it would write, and the
// stored state never changes (a dry-run Service takes no ClusterIP).
func TestLifecycle_DryRunWritesNothing(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	ns := createNamespace(t, s.Client, "dryrun")
	cms := s.Client.CoreV1().ConfigMaps(ns)
	dry := []string{metav1.DryRunAll}

	got, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "ghost"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{DryRun: dry})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "ghost" || got.Data["k"] != "v" || got.UID == "" {
		t.Fatalf("dry-run create answer: %+v", got)
	}
	if _, err := cms.Get(ctx, "ghost", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("dry-run create was stored: %v", err)
	}

	real, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "real"}, Data: map[string]string{"k": "v1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	upd := real.DeepCopy()
	upd.Data["k"] = "dry"
	out, err := cms.Update(ctx, upd, metav1.UpdateOptions{DryRun: dry})
	if err != nil || out.Data["k"] != "dry" {
		t.Fatalf("dry-run update: %v %+v", err, out)
	}
	out, err = cms.Patch(ctx, "real", types.MergePatchType, []byte(`{"data":{"k":"patched"}}`), metav1.PatchOptions{DryRun: dry})
	if err != nil || out.Data["k"] != "patched" {
		t.Fatalf("dry-run patch: %v %+v", err, out)
	}
	if err := cms.Delete(ctx, "real", metav1.DeleteOptions{DryRun: dry}); err != nil {
		t.Fatalf("dry-run delete: %v", err)
	}
	after, err := cms.Get(ctx, "real", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("dry-run delete deleted: %v", err)
	}
	if after.Data["k"] != "v1" || after.ResourceVersion != real.ResourceVersion {
		t.Fatalf("dry runs changed the object: %+v", after)
	}

	// A dry-run Service create shows an IP but does not take it: a real
	// create may then request that very IP.
	svcs := s.Client.CoreV1().Services(ns)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}
	dsvc, err := svcs.Create(ctx, svc, metav1.CreateOptions{DryRun: dry})
	if err != nil {
		t.Fatal(err)
	}
	if dsvc.Spec.ClusterIP == "" {
		t.Fatalf("dry-run service has no clusterIP")
	}
	if _, err := svcs.Get(ctx, "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("dry-run service stored: %v", err)
	}
	svc2 := svc.DeepCopy()
	svc2.Name = "web2"
	svc2.Spec.ClusterIP = dsvc.Spec.ClusterIP
	if _, err := svcs.Create(ctx, svc2, metav1.CreateOptions{}); err != nil {
		t.Fatalf("requesting the dry-run IP %s: %v", dsvc.Spec.ClusterIP, err)
	}
}

// TestLifecycle_GenerateNameGivesUniqueNames creates from one
// generateName prefix several times.
func TestLifecycle_GenerateNameGivesUniqueNames(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	seen := map[string]bool{}
	for range 5 {
		cm, err := s.Client.CoreV1().ConfigMaps("default").Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "job-"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(cm.Name, "job-") || len(cm.Name) != len("job-")+5 || seen[cm.Name] || cm.GenerateName != "job-" {
			t.Fatalf("generated name %q (generateName %q), seen %v", cm.Name, cm.GenerateName, seen)
		}
		seen[cm.Name] = true
	}
}

// TestLifecycle_FinalizerHoldsDeletionUntilRemoved deletes an object with
// a finalizer: it stays, marked with deletionTimestamp, until the
// finalizer is removed, and then it is gone.
func TestLifecycle_FinalizerHoldsDeletionUntilRemoved(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	cms := s.Client.CoreV1().ConfigMaps("default")
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held", Finalizers: []string{"example.com/hold"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "held", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	cm, err := cms.Get(ctx, "held", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("object with a finalizer is gone at once: %v", err)
	}
	if cm.DeletionTimestamp == nil || len(cm.Finalizers) != 1 {
		t.Fatalf("deleting object: deletionTimestamp %v finalizers %v", cm.DeletionTimestamp, cm.Finalizers)
	}
	// While deleting, no finalizer may be added.
	add := cm.DeepCopy()
	add.Finalizers = append(add.Finalizers, "example.com/more")
	_, err = cms.Update(ctx, add, metav1.UpdateOptions{})
	wantStatus(t, err, 422)
	cm.Finalizers = nil
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx, "held", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("after removing the last finalizer: %v, want NotFound", err)
	}
}

// TestLifecycle_GracefulPodDeletion: a pod bound to a node is only marked
// on delete (deletionTimestamp, grace period) until deleted again with
// gracePeriodSeconds=0; an unbound pod goes at once.
func TestLifecycle_GracefulPodDeletion(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	ns := createNamespace(t, s.Client, "graceful")
	pods := s.Client.CoreV1().Pods(ns)
	bound := newPod("bound", nil)
	bound.Spec.TerminationGracePeriodSeconds = ptr(int64(45))
	if _, err := pods.Create(ctx, bound, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "bound"}, Target: corev1.ObjectReference{Kind: "Node", Name: "n1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "bound", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err := pods.Get(ctx, "bound", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("bound pod gone at once: %v", err)
	}
	if p.DeletionTimestamp == nil || p.DeletionGracePeriodSeconds == nil || *p.DeletionGracePeriodSeconds != 45 {
		t.Fatalf("bound pod after delete: deletionTimestamp %v grace %v", p.DeletionTimestamp, p.DeletionGracePeriodSeconds)
	}
	if d := p.DeletionTimestamp.Sub(p.CreationTimestamp.Time).Seconds(); d < 40 || d > 60 {
		t.Fatalf("deletionTimestamp %v is not about now+45s (created %v)", p.DeletionTimestamp, p.CreationTimestamp)
	}
	// A shorter grace period shortens it.
	if err := pods.Delete(ctx, "bound", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(10))}); err != nil {
		t.Fatal(err)
	}
	p, err = pods.Get(ctx, "bound", metav1.GetOptions{})
	if err != nil || *p.DeletionGracePeriodSeconds != 10 {
		t.Fatalf("after delete with grace 10: %v %v", err, p.DeletionGracePeriodSeconds)
	}
	if err := pods.Delete(ctx, "bound", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(ctx, "bound", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("bound pod after delete with grace 0: %v", err)
	}

	if _, err := pods.Create(ctx, newPod("unbound", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "unbound", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(ctx, "unbound", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("unbound pod after delete: %v", err)
	}
}

// TestLifecycle_PropagationPolicyAddsFinalizers deletes with Orphan and
// Foreground: the object stays with the garbage collector's finalizer.
func TestLifecycle_PropagationPolicyAddsFinalizers(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	ns := createNamespace(t, s.Client, "propagation")
	deps := s.Client.AppsV1().Deployments(ns)
	for policy, fin := range map[metav1.DeletionPropagation]string{
		metav1.DeletePropagationOrphan:     metav1.FinalizerOrphanDependents,
		metav1.DeletePropagationForeground: metav1.FinalizerDeleteDependents,
	} {
		name := strings.ToLower(string(policy))
		if _, err := deps.Create(ctx, newDeployment(name, 1), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := deps.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &policy}); err != nil {
			t.Fatal(err)
		}
		d, err := deps.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s: gone at once: %v", policy, err)
		}
		if d.DeletionTimestamp == nil || len(d.Finalizers) != 1 || d.Finalizers[0] != fin {
			t.Fatalf("%s: deletionTimestamp %v finalizers %v, want [%s]", policy, d.DeletionTimestamp, d.Finalizers, fin)
		}
	}
	// Background (the default for apps) deletes at once.
	bg := metav1.DeletePropagationBackground
	if _, err := deps.Create(ctx, newDeployment("bg", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := deps.Delete(ctx, "bg", metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil {
		t.Fatal(err)
	}
	if _, err := deps.Get(ctx, "bg", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("background delete: %v", err)
	}
}

// TestLifecycle_DeletePreconditions: a UID or resourceVersion that does
// not match is 409 and nothing is deleted.
func TestLifecycle_DeletePreconditions(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	cms := s.Client.CoreV1().ConfigMaps("default")
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "pre"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = cms.Delete(ctx, "pre", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr(types.UID("not-the-uid"))}})
	wantStatus(t, err, 409)
	err = cms.Delete(ctx, "pre", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: ptr("1")}})
	wantStatus(t, err, 409)
	if _, err := cms.Get(ctx, "pre", metav1.GetOptions{}); err != nil {
		t.Fatalf("deleted despite failed preconditions: %v", err)
	}
	if err := cms.Delete(ctx, "pre", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &cm.UID, ResourceVersion: &cm.ResourceVersion}}); err != nil {
		t.Fatalf("delete with matching preconditions: %v", err)
	}
}

// TestLifecycle_GracefulPodDeletionAsTheKubeletSeesIt watches a bound pod
// through a graceful delete: MODIFIED with deletionTimestamp, status
// updates still allowed while terminating, then the kubelet's final
// delete (grace 0, UID precondition) is DELETED.
func TestLifecycle_GracefulPodDeletionAsTheKubeletSeesIt(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	pods := s.Client.CoreV1().Pods("default")
	p := newPod("term", nil)
	p.Spec.NodeName = "n1"
	p, err := pods.Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := pods.Watch(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=n1", ResourceVersion: p.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if err := pods.Delete(ctx, "term", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ev := nextEvent(t, w)
	got := ev.Object.(*corev1.Pod)
	if ev.Type != watch.Modified || got.DeletionTimestamp == nil || *got.DeletionGracePeriodSeconds != 30 {
		t.Fatalf("first event %s deletionTimestamp %v grace %v", ev.Type, got.DeletionTimestamp, got.DeletionGracePeriodSeconds)
	}
	got.Status.Phase = corev1.PodSucceeded
	if _, err := pods.UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("status update of a terminating pod: %v", err)
	}
	if ev := nextEvent(t, w); ev.Type != watch.Modified || ev.Object.(*corev1.Pod).Status.Phase != corev1.PodSucceeded {
		t.Fatalf("status event %s %v", ev.Type, ev.Object)
	}
	// A stale UID precondition does not delete.
	err = pods.Delete(ctx, "term", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0)), Preconditions: &metav1.Preconditions{UID: ptr(types.UID("other"))}})
	wantStatus(t, err, 409)
	if err := pods.Delete(ctx, "term", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0)), Preconditions: &metav1.Preconditions{UID: &p.UID}}); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, w); ev.Type != watch.Deleted || ev.Object.(*corev1.Pod).Name != "term" {
		t.Fatalf("final event %s %v", ev.Type, ev.Object)
	}
}

// TestLifecycle_GracefulPodWithFinalizer: a bound pod with a finalizer,
// deleted gracefully and then forced (grace 0), waits for its finalizer;
// removing it deletes the pod.
func TestLifecycle_GracefulPodWithFinalizer(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	pods := s.Client.CoreV1().Pods("default")
	p := newPod("held", nil)
	p.Spec.NodeName = "n1"
	p.Finalizers = []string{"example.com/hold"}
	if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "held", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "held", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}); err != nil {
		t.Fatal(err)
	}
	got, err := pods.Get(ctx, "held", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("finalizer did not hold the pod: %v", err)
	}
	if got.DeletionGracePeriodSeconds == nil || *got.DeletionGracePeriodSeconds != 0 {
		t.Fatalf("forced delete left grace %v", got.DeletionGracePeriodSeconds)
	}
	got.Finalizers = nil
	if _, err := pods.Update(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(ctx, "held", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("after removing the finalizer: %v, want NotFound", err)
	}
}

// TestLifecycle_PodRightAfterItsPriorityClass creates a PriorityClass and
// at once a pod using it: admission must find the class and copy its
// priority, even before its cache has caught up.
func TestLifecycle_PodRightAfterItsPriorityClass(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	for i := range 20 {
		name := fmt.Sprintf("prio-%d", i)
		if _, err := s.Client.SchedulingV1().PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: int32(1000 + i)}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		p := newPod(name, nil)
		p.Spec.PriorityClassName = name
		got, err := s.Client.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if got.Spec.Priority == nil || *got.Spec.Priority != int32(1000+i) {
			t.Fatalf("round %d: priority %v", i, got.Spec.Priority)
		}
	}
	p := newPod("nope", nil)
	p.Spec.PriorityClassName = "missing"
	_, err := s.Client.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
	wantStatus(t, err, 403)
}
