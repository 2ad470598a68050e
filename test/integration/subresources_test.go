package integration

import (
	"testing"

	"github.com/kstack/kstack/test/integration/framework"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/scale"
)

// TestSubresources_StatusAndMainUpdatesTouchOnlyTheirHalf: a status write
// keeps spec, a main write keeps status, and generation counts spec
// changes only.
func TestSubresources_StatusAndMainUpdatesTouchOnlyTheirHalf(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	deps := s.Client.AppsV1().Deployments("default")
	d, err := deps.Create(ctx, newDeployment("web", 2), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Generation != 1 {
		t.Fatalf("generation on create %d", d.Generation)
	}
	// Status write: replicas in spec change too, but only status sticks.
	st := d.DeepCopy()
	st.Status.Replicas, st.Status.ReadyReplicas, st.Status.ObservedGeneration = 2, 1, 1
	st.Spec.Replicas = ptr(int32(9))
	d, err = deps.UpdateStatus(ctx, st, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *d.Spec.Replicas != 2 || d.Status.ReadyReplicas != 1 || d.Generation != 1 {
		t.Fatalf("after status update: spec.replicas %d status.ready %d generation %d", *d.Spec.Replicas, d.Status.ReadyReplicas, d.Generation)
	}
	// Main write: status changes are dropped, spec change bumps generation.
	m := d.DeepCopy()
	m.Status.ReadyReplicas = 7
	m.Spec.Replicas = ptr(int32(3))
	d, err = deps.Update(ctx, m, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *d.Spec.Replicas != 3 || d.Status.ReadyReplicas != 1 || d.Generation != 2 {
		t.Fatalf("after main update: spec.replicas %d status.ready %d generation %d", *d.Spec.Replicas, d.Status.ReadyReplicas, d.Generation)
	}
	// A metadata-only change keeps the generation.
	d.Labels["team"] = "a"
	d, err = deps.Update(ctx, d, metav1.UpdateOptions{})
	if err != nil || d.Generation != 2 {
		t.Fatalf("label update: %v generation %d", err, d.Generation)
	}
	// Status patch.
	d, err = deps.Patch(ctx, "web", types.MergePatchType, []byte(`{"status":{"availableReplicas":1},"spec":{"replicas":5}}`), metav1.PatchOptions{}, "status")
	if err != nil || d.Status.AvailableReplicas != 1 || *d.Spec.Replicas != 3 {
		t.Fatalf("status patch: %v available %d replicas %d", err, d.Status.AvailableReplicas, *d.Spec.Replicas)
	}
	got, err := deps.Get(ctx, "web", metav1.GetOptions{})
	if err != nil || got.Status.AvailableReplicas != 1 || got.Generation != 2 {
		t.Fatalf("stored after status patch: %v %+v", err, got.Status)
	}
}

// TestSubresources_ScaleOfDeploymentsReplicaSetsStatefulSets reads and
// writes replicas through the scale subresource, with typed clients and
// client-go's polymorphic scale client.
func TestSubresources_ScaleOfDeploymentsReplicaSetsStatefulSets(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	ns := "default"
	d := newDeployment("web", 2)
	if _, err := s.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-rs"}, Spec: appsv1.ReplicaSetSpec{Replicas: ptr(int32(1)), Selector: d.Spec.Selector, Template: d.Spec.Template}}
	if _, err := s.Client.AppsV1().ReplicaSets(ns).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db"}, Spec: appsv1.StatefulSetSpec{Replicas: ptr(int32(3)), ServiceName: "db", Selector: d.Spec.Selector, Template: d.Spec.Template}}
	if _, err := s.Client.AppsV1().StatefulSets(ns).Create(ctx, sts, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// Typed GetScale/UpdateScale on the deployment.
	sc, err := s.Client.AppsV1().Deployments(ns).GetScale(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sc.Spec.Replicas != 2 || sc.Status.Selector != "app=web" || sc.Name != "web" {
		t.Fatalf("deployment scale: %+v", sc)
	}
	sc.Spec.Replicas = 4
	if _, err := s.Client.AppsV1().Deployments(ns).UpdateScale(ctx, "web", sc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if *got.Spec.Replicas != 4 || got.Generation != 2 {
		t.Fatalf("deployment after scale: replicas %d generation %d", *got.Spec.Replicas, got.Generation)
	}
	// A stale scale resourceVersion conflicts.
	_, err = s.Client.AppsV1().Deployments(ns).UpdateScale(ctx, "web", sc, metav1.UpdateOptions{})
	wantStatus(t, err, 409)

	// client-go's scale client, as kubectl scale and the HPA use it.
	dc, err := discovery.NewDiscoveryClientForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	scales, err := scale.NewForConfig(s.Config, mapper, dynamic.LegacyAPIPathResolverFunc, scale.NewDiscoveryScaleKindResolver(dc))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		gr       schema.GroupResource
		name     string
		from, to int32
		replicas func() int32
	}{
		{schema.GroupResource{Group: "apps", Resource: "replicasets"}, "web-rs", 1, 3, func() int32 {
			o, _ := s.Client.AppsV1().ReplicaSets(ns).Get(ctx, "web-rs", metav1.GetOptions{})
			return *o.Spec.Replicas
		}},
		{schema.GroupResource{Group: "apps", Resource: "statefulsets"}, "db", 3, 1, func() int32 {
			o, _ := s.Client.AppsV1().StatefulSets(ns).Get(ctx, "db", metav1.GetOptions{})
			return *o.Spec.Replicas
		}},
		{schema.GroupResource{Group: "apps", Resource: "deployments"}, "web", 4, 0, func() int32 {
			o, _ := s.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
			return *o.Spec.Replicas
		}},
	} {
		sc, err := scales.Scales(ns).Get(ctx, tc.gr, tc.name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s get scale: %v", tc.gr, err)
		}
		if sc.Spec.Replicas != tc.from {
			t.Fatalf("%s scale replicas %d, want %d", tc.gr, sc.Spec.Replicas, tc.from)
		}
		sc.Spec.Replicas = tc.to
		if _, err := scales.Scales(ns).Update(ctx, tc.gr, sc, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("%s update scale: %v", tc.gr, err)
		}
		if got := tc.replicas(); got != tc.to {
			t.Fatalf("%s replicas %d after scale, want %d", tc.gr, got, tc.to)
		}
		if _, err := scales.Scales(ns).Patch(ctx, tc.gr.WithVersion("v1"), tc.name, types.MergePatchType, []byte(`{"spec":{"replicas":2}}`), metav1.PatchOptions{}); err != nil {
			t.Fatalf("%s patch scale: %v", tc.gr, err)
		}
		if got := tc.replicas(); got != 2 {
			t.Fatalf("%s replicas %d after scale patch, want 2", tc.gr, got)
		}
	}
	// No scale for a resource without one.
	_, err = s.Client.CoreV1().RESTClient().Get().Namespace(ns).Resource("configmaps").Name("x").SubResource("scale").Do(ctx).Get()
	wantStatus(t, err, 404)
}

// TestSubresources_PodBindingTwiceConflicts binds a pod, and a second
// binding is a 409 that leaves the first node.
func TestSubresources_PodBindingTwiceConflicts(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	pods := s.Client.CoreV1().Pods("default")
	if _, err := pods.Create(ctx, newPod("p", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bind := func(node string) error {
		return pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Target: corev1.ObjectReference{Kind: "Node", Name: node}}, metav1.CreateOptions{})
	}
	if err := bind("n1"); err != nil {
		t.Fatal(err)
	}
	p, err := pods.Get(ctx, "p", metav1.GetOptions{})
	if err != nil || p.Spec.NodeName != "n1" {
		t.Fatalf("after binding: %v node %q", err, p.Spec.NodeName)
	}
	scheduled := false
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionTrue {
			scheduled = true
		}
	}
	if !scheduled {
		t.Fatalf("no PodScheduled=True condition: %+v", p.Status.Conditions)
	}
	wantStatus(t, bind("n2"), 409)
	p, _ = pods.Get(ctx, "p", metav1.GetOptions{})
	if p.Spec.NodeName != "n1" {
		t.Fatalf("second binding moved the pod to %q", p.Spec.NodeName)
	}
	// Binding a missing pod is 404.
	wantStatus(t, pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "nope"}, Target: corev1.ObjectReference{Kind: "Node", Name: "n1"}}, metav1.CreateOptions{}), 404)
}

// TestSubresources_EvictionHonoursPodDisruptionBudget evicts a pod
// without a budget (deleted), then one covered by a budget allowing no
// disruption (429), then allowing one (deleted, budget spent).
func TestSubresources_EvictionHonoursPodDisruptionBudget(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	ns := createNamespace(t, s.Client, "evict")
	pods := s.Client.CoreV1().Pods(ns)
	evict := func(name string) error {
		return pods.EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}})
	}
	if _, err := pods.Create(ctx, newPod("free", map[string]string{"app": "other"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := evict("free"); err != nil {
		t.Fatalf("evict without a budget: %v", err)
	}
	if _, err := pods.Get(ctx, "free", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("evicted pod still there: %v", err)
	}

	guarded, err := pods.Create(ctx, newPod("guarded", map[string]string{"app": "web"}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A Pending pod is evicted whatever its budget says (as upstream): the
	// budget guards running, ready pods.
	guarded.Status.Phase = corev1.PodRunning
	guarded.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	if _, err := pods.UpdateStatus(ctx, guarded, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	pdbs := s.Client.PolicyV1().PodDisruptionBudgets(ns)
	pdb, err := pdbs.Create(ctx, &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: policyv1.PodDisruptionBudgetSpec{
		MinAvailable: ptr(intstr.FromInt32(1)), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pdb.Status = policyv1.PodDisruptionBudgetStatus{ObservedGeneration: pdb.Generation, DisruptionsAllowed: 0, CurrentHealthy: 1, DesiredHealthy: 1, ExpectedPods: 1}
	if pdb, err = pdbs.UpdateStatus(ctx, pdb, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = evict("guarded")
	se := wantStatus(t, err, 429)
	if se.ErrStatus.Reason != metav1.StatusReasonTooManyRequests {
		t.Fatalf("reason %q", se.ErrStatus.Reason)
	}
	if _, err := pods.Get(ctx, "guarded", metav1.GetOptions{}); err != nil {
		t.Fatalf("refused eviction deleted the pod: %v", err)
	}

	pdb.Status.DisruptionsAllowed, pdb.Status.CurrentHealthy = 1, 2
	if _, err := pdbs.UpdateStatus(ctx, pdb, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := evict("guarded"); err != nil {
		t.Fatalf("evict with an allowed disruption: %v", err)
	}
	if _, err := pods.Get(ctx, "guarded", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("evicted pod still there: %v", err)
	}
	pdb, err = pdbs.Get(ctx, "web", metav1.GetOptions{})
	if err != nil || pdb.Status.DisruptionsAllowed != 0 {
		t.Fatalf("budget after eviction: %v allowed %d", err, pdb.Status.DisruptionsAllowed)
	}
	if _, ok := pdb.Status.DisruptedPods["guarded"]; !ok {
		t.Fatalf("disruptedPods misses the evicted pod: %v", pdb.Status.DisruptedPods)
	}
}

// TestSubresources_NodeStatusAsTheKubeletWritesIt: a node registers with
// its status, heartbeats with a strategic-merge patch of nodes/status
// (conditions merge by type), and a spec update (cordon) keeps status.
func TestSubresources_NodeStatusAsTheKubeletWritesIt(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	nodes := s.Client.CoreV1().Nodes()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{
		Capacity:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourcePods: resource.MustParse("110")},
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionFalse, Reason: "KubeletNotReady"}},
		Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.11"}},
	}}
	created, err := nodes.Create(ctx, n, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if created.Status.Capacity.Cpu().String() != "2" || len(created.Status.Conditions) != 1 {
		t.Fatalf("status on register: %+v", created.Status)
	}
	patch := `{"status":{"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady"},{"type":"MemoryPressure","status":"False","reason":"KubeletHasSufficientMemory"}]}}`
	got, err := nodes.Patch(ctx, "n1", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "status")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Status.Conditions) != 2 || got.Status.Conditions[0].Type != corev1.NodeReady || got.Status.Conditions[0].Status != corev1.ConditionTrue ||
		len(got.Status.Addresses) != 1 {
		t.Fatalf("status after heartbeat: %+v", got.Status)
	}
	got.Spec.Unschedulable = true
	got.Status = corev1.NodeStatus{}
	cordoned, err := nodes.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !cordoned.Spec.Unschedulable || len(cordoned.Status.Conditions) != 2 || cordoned.Status.Capacity.Pods().Value() != 110 {
		t.Fatalf("cordon: unschedulable %v status %+v", cordoned.Spec.Unschedulable, cordoned.Status)
	}
}
