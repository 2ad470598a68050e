package integration

import (
	"slices"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kstack/kstack/pkg/apiserver"
	"github.com/kstack/kstack/test/integration/framework"
)

// TestUpstreamParity covers differences the kubectl golden corpus found
// between our apiserver and upstream kube-apiserver v1.37, one subtest each,
// on one server (with upstream's default admission plugins, including
// TaintNodesByCondition, which the framework otherwise turns off).
func TestUpstreamParity(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{Configure: func(c *apiserver.Config) {
		c.DisableAdmissionPlugins = nil
	}})
	c := s.Client
	ctx := t.Context()
	ns := createNamespace(t, c, "parity")

	t.Run("secret stringData merges into data", func(t *testing.T) {
		sec, err := c.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "s"},
			Data:       map[string][]byte{"a": []byte("from-data"), "b": []byte("kept")},
			StringData: map[string]string{"a": "from-stringData", "c": "new"},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"a": "from-stringData", "b": "kept", "c": "new"}
		check := func(sec *corev1.Secret, want map[string]string) {
			t.Helper()
			if sec.StringData != nil {
				t.Errorf("stringData returned: %v", sec.StringData)
			}
			got := map[string]string{}
			for k, v := range sec.Data {
				got[k] = string(v)
			}
			if len(got) != len(want) {
				t.Errorf("data = %v, want %v", got, want)
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("data[%s] = %q, want %q", k, got[k], v)
				}
			}
		}
		check(sec, want)
		stored, err := c.CoreV1().Secrets(ns).Get(ctx, "s", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		check(stored, want)
		stored.StringData = map[string]string{"b": "updated"}
		upd, err := c.CoreV1().Secrets(ns).Update(ctx, stored, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want["b"] = "updated"
		check(upd, want)
	})

	t.Run("generation only for kinds that track it", func(t *testing.T) {
		svc, err := c.CoreV1().Services(ns).Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "svc"},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if svc.Generation != 0 {
			t.Errorf("service generation = %d, want 0", svc.Generation)
		}
		svc.Spec.Ports[0].Port = 81
		if svc, err = c.CoreV1().Services(ns).Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		} else if svc.Generation != 0 {
			t.Errorf("service generation after a spec change = %d, want 0", svc.Generation)
		}
		lease, err := c.CoordinationV1().Leases(ns).Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: "l"},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr("me")},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if lease.Generation != 0 {
			t.Errorf("lease generation = %d, want 0", lease.Generation)
		}
		pc, err := c.SchedulingV1().PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{
			ObjectMeta: metav1.ObjectMeta{Name: "parity-pc"}, Value: 10,
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.SchedulingV1().PriorityClasses().Delete(ctx, "parity-pc", metav1.DeleteOptions{}) })
		if pc.Generation != 1 {
			t.Errorf("priorityclass generation = %d, want 1", pc.Generation)
		}
		d, err := c.AppsV1().Deployments(ns).Create(ctx, newDeployment("d", 1), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Generation != 1 {
			t.Errorf("deployment generation = %d, want 1", d.Generation)
		}
		d.Spec.Replicas = ptr(int32(2))
		if d, err = c.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		} else if d.Generation != 2 {
			t.Errorf("deployment generation after a spec change = %d, want 2", d.Generation)
		}
	})

	t.Run("job selector and labels generated", func(t *testing.T) {
		job, err := c.BatchV1().Jobs(ns).Create(ctx, &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: "j"},
			Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "c", Image: "busybox"}},
			}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		uid := string(job.UID)
		for k, v := range map[string]string{"batch.kubernetes.io/controller-uid": uid, "controller-uid": uid, "batch.kubernetes.io/job-name": "j", "job-name": "j"} {
			if got := job.Spec.Template.Labels[k]; got != v {
				t.Errorf("template label %s = %q, want %q", k, got, v)
			}
		}
		if job.Spec.Selector == nil || job.Spec.Selector.MatchLabels["batch.kubernetes.io/controller-uid"] != uid {
			t.Errorf("selector = %v, want batch.kubernetes.io/controller-uid=%s", job.Spec.Selector, uid)
		}
	})

	t.Run("daemonset template generation annotation", func(t *testing.T) {
		labels := map[string]string{"app": "ds"}
		ds, err := c.AppsV1().DaemonSets(ns).Create(ctx, &appsv1.DaemonSet{
			ObjectMeta: metav1.ObjectMeta{Name: "ds"},
			Spec: appsv1.DaemonSetSpec{
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: newPod("", nil).Spec},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		const key = "deprecated.daemonset.template.generation"
		if got := ds.Annotations[key]; got != "1" {
			t.Fatalf("%s = %q on create, want 1", key, got)
		}
		ds.Spec.Template.Spec.Containers[0].Image = "busybox:1.37"
		ds.Annotations[key] = "7" // an update may not set it
		if ds, err = c.AppsV1().DaemonSets(ns).Update(ctx, ds, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := ds.Annotations[key]; got != "2" {
			t.Errorf("%s = %q after a template change, want 2", key, got)
		}
		ds.Spec.MinReadySeconds = 5
		if ds, err = c.AppsV1().DaemonSets(ns).Update(ctx, ds, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := ds.Annotations[key]; got != "2" {
			t.Errorf("%s = %q after a change outside the template, want 2", key, got)
		}
	})

	t.Run("statefulset maxUnavailable defaults to 1", func(t *testing.T) {
		labels := map[string]string{"app": "sts"}
		sts, err := c.AppsV1().StatefulSets(ns).Create(ctx, &appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Name: "sts"},
			Spec: appsv1.StatefulSetSpec{
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: newPod("", nil).Spec},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ru := sts.Spec.UpdateStrategy.RollingUpdate
		if ru == nil || ru.MaxUnavailable == nil || *ru.MaxUnavailable != intstr.FromInt32(1) {
			t.Errorf("rollingUpdate = %+v, want maxUnavailable 1", ru)
		}
	})

	t.Run("new node gets the not-ready NoSchedule taint", func(t *testing.T) {
		node, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "parity-node"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.CoreV1().Nodes().Delete(ctx, "parity-node", metav1.DeleteOptions{}) })
		want := corev1.Taint{Key: "node.kubernetes.io/not-ready", Effect: corev1.TaintEffectNoSchedule}
		if len(node.Spec.Taints) != 1 || !node.Spec.Taints[0].MatchTaint(&want) {
			t.Errorf("taints = %v, want [%v]", node.Spec.Taints, want)
		}
		// A node that brings the taint keeps just the one.
		node2, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "parity-node2"},
			Spec: corev1.NodeSpec{Taints: []corev1.Taint{want}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.CoreV1().Nodes().Delete(ctx, "parity-node2", metav1.DeleteOptions{}) })
		if len(node2.Spec.Taints) != 1 {
			t.Errorf("taints = %v, want the one it brought", node2.Spec.Taints)
		}
	})

	t.Run("self subject review has a creation timestamp", func(t *testing.T) {
		r, err := c.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r.CreationTimestamp.IsZero() {
			t.Error("no creationTimestamp")
		}
		if r.Status.UserInfo.Username == "" {
			t.Error("no username")
		}
	})

	t.Run("rules review lists each rule of the admin once", func(t *testing.T) {
		r, err := c.AuthorizationV1().SelfSubjectRulesReviews().Create(ctx, &authorizationv1.SelfSubjectRulesReview{
			Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: ns}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		stars := 0
		for _, rule := range r.Status.NonResourceRules {
			if slices.Equal(rule.NonResourceURLs, []string{"*"}) && slices.Equal(rule.Verbs, []string{"*"}) {
				stars++
			}
		}
		if stars != 1 {
			t.Errorf("non-resource rule [*] listed %d times, want once: %+v", stars, r.Status.NonResourceRules)
		}
		stars = 0
		for _, rule := range r.Status.ResourceRules {
			if slices.Equal(rule.Resources, []string{"*"}) && slices.Equal(rule.APIGroups, []string{"*"}) {
				stars++
			}
		}
		if stars != 1 {
			t.Errorf("resource rule *.* listed %d times, want once", stars)
		}
	})

	t.Run("eviction of pods a budget does not guard", func(t *testing.T) {
		pods := c.CoreV1().Pods(ns)
		pdbs := c.PolicyV1().PodDisruptionBudgets(ns)
		policy := policyv1.AlwaysAllow
		pdb, err := pdbs.Create(ctx, &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "ev"}, Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: ptr(intstr.FromInt32(1)), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "ev"}},
			UnhealthyPodEvictionPolicy: &policy}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pdb.Status = policyv1.PodDisruptionBudgetStatus{ObservedGeneration: pdb.Generation, CurrentHealthy: 1, DesiredHealthy: 1, ExpectedPods: 2}
		if _, err = pdbs.UpdateStatus(ctx, pdb, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		evict := func(name string) error {
			return pods.EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}})
		}
		setStatus := func(name string, phase corev1.PodPhase, ready corev1.ConditionStatus) {
			t.Helper()
			p, err := pods.Create(ctx, newPod(name, map[string]string{"app": "ev"}), metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			p.Status.Phase = phase
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: ready}}
			if _, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		gone := func(name string) {
			t.Helper()
			if _, err := pods.Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("evicted pod %s still there: %v", name, err)
			}
		}
		// Pending: evicted although the budget allows no disruption.
		if _, err := pods.Create(ctx, newPod("pending", map[string]string{"app": "ev"}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := evict("pending"); err != nil {
			t.Fatalf("evict a Pending pod: %v", err)
		}
		gone("pending")
		// Finished: likewise.
		setStatus("done", corev1.PodSucceeded, corev1.ConditionFalse)
		if err := evict("done"); err != nil {
			t.Fatalf("evict a Succeeded pod: %v", err)
		}
		gone("done")
		// Running but unready, budget policy AlwaysAllow: evicted.
		setStatus("unready", corev1.PodRunning, corev1.ConditionFalse)
		if err := evict("unready"); err != nil {
			t.Fatalf("evict an unready pod under AlwaysAllow: %v", err)
		}
		gone("unready")
		// Running and ready: the budget refuses, saying why.
		setStatus("ready", corev1.PodRunning, corev1.ConditionTrue)
		se := wantStatus(t, evict("ready"), 429)
		if causes := se.ErrStatus.Details.Causes; len(causes) != 1 || causes[0].Message != "The disruption budget ev needs 1 healthy pods and has 1 currently" {
			t.Errorf("causes = %+v", causes)
		}
		if _, err := pods.Get(ctx, "ready", metav1.GetOptions{}); err != nil {
			t.Errorf("refused eviction deleted the pod: %v", err)
		}
		after, err := pdbs.Get(ctx, "ev", metav1.GetOptions{})
		if err != nil || after.Status.DisruptionsAllowed != 0 || len(after.Status.DisruptedPods) != 0 {
			t.Errorf("budget spent by evictions it did not guard: %v %+v", err, after.Status)
		}
	})

	t.Run("json patch on a missing key is upstream's generic 422", func(t *testing.T) {
		if _, err := c.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "jp"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err := c.CoreV1().ConfigMaps(ns).Patch(ctx, "jp", types.JSONPatchType, []byte(`[{"op":"remove","path":"/data/nope"}]`), metav1.PatchOptions{})
		se := wantStatus(t, err, 422)
		st := se.ErrStatus
		if st.Reason != metav1.StatusReasonInvalid || st.Message != "the server rejected our request due to an error in our request" {
			t.Errorf("status = %+v", st)
		}
		if st.Details == nil || st.Details.Name != "" || st.Details.Kind != "" || len(st.Details.Causes) != 0 {
			t.Errorf("details = %+v, want empty", st.Details)
		}
	})

	t.Run("discovery: podcertificaterequests without short names, componentstatuses", func(t *testing.T) {
		core, err := c.Discovery().ServerResourcesForGroupVersion("v1")
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range core.APIResources {
			if r.Name == "componentstatuses" {
				found = true
				if r.Namespaced || !slices.Equal(r.ShortNames, []string{"cs"}) || !slices.Equal(r.Verbs, []string{"get", "list"}) || r.Kind != "ComponentStatus" {
					t.Errorf("componentstatuses = %+v", r)
				}
			}
		}
		if !found {
			t.Error("componentstatuses not served")
		}
		certs, err := c.Discovery().ServerResourcesForGroupVersion("certificates.k8s.io/v1")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range certs.APIResources {
			if r.Name == "podcertificaterequests" && len(r.ShortNames) > 0 {
				t.Errorf("podcertificaterequests short names %v, upstream has none", r.ShortNames)
			}
		}
	})

	t.Run("componentstatuses and deprecation warnings", func(t *testing.T) {
		wc, warnings := warningClient(t, s.Config)
		list, err := wc.CoreV1().ComponentStatuses().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, cs := range list.Items {
			names = append(names, cs.Name)
			if len(cs.Conditions) != 1 || cs.Conditions[0].Type != corev1.ComponentHealthy {
				t.Errorf("%s conditions = %+v", cs.Name, cs.Conditions)
			}
		}
		if !slices.Equal(names, []string{"controller-manager", "etcd-0", "scheduler"}) {
			t.Errorf("componentstatuses = %v", names)
		}
		etcd, err := wc.CoreV1().ComponentStatuses().Get(ctx, "etcd-0", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if cond := etcd.Conditions[0]; cond.Status != corev1.ConditionTrue || cond.Message != "ok" {
			t.Errorf("etcd-0 = %+v, want healthy", cond)
		}
		_, err = wc.CoreV1().ComponentStatuses().Get(ctx, "nope", metav1.GetOptions{})
		wantStatus(t, err, 404)
		if got := warnings(); !slices.Contains(got, "v1 ComponentStatus is deprecated in v1.19+") {
			t.Errorf("warnings %q lack the ComponentStatus deprecation", got)
		}
		if _, err := wc.CoreV1().Endpoints(ns).List(ctx, metav1.ListOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := warnings(); !slices.Contains(got, "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice") {
			t.Errorf("warnings %q lack the Endpoints deprecation", got)
		}
		if _, err := wc.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := warnings(); len(got) != 0 {
			t.Errorf("configmaps list warned %q", got)
		}
	})
}

// warningClient is a clientset on cfg that records the warnings of each
// response; warnings returns and forgets those received so far.
func warningClient(t *testing.T, cfg *rest.Config) (kubernetes.Interface, func() []string) {
	t.Helper()
	rec := &warningRecorder{}
	cfg = rest.CopyConfig(cfg)
	cfg.WarningHandler = rec
	return clientFor(t, cfg), rec.take
}

type warningRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *warningRecorder) HandleWarningHeader(code int, agent, msg string) {
	if code != 299 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, msg)
}

func (r *warningRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.msgs
	r.msgs = nil
	return out
}
