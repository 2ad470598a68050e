package scheduler

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kstack/kstack/pkg/scheduler"
)

func TestScheduler_ResourceFitMixedNodeSizes(t *testing.T) {
	e := newEnv(t)
	e.addNode(t, nodeSpec{name: "small", cpu: "1", memory: "2Gi"})
	e.addNode(t, nodeSpec{name: "big", cpu: "4", memory: "8Gi"})
	e.defaultScheduler(t)

	for _, name := range []string{"wide-1", "wide-2"} {
		e.createPod(t, pod(name, "1500m", "1Gi", nil))
	}
	for _, name := range []string{"wide-1", "wide-2"} {
		if node := e.waitScheduled(t, name); node != "big" {
			t.Errorf("pod %s (1.5 cpu) on %s, want big (the only node with room)", name, node)
		}
	}
	// 1 cpu left on each node: a 2-cpu pod fits nowhere.
	e.createPod(t, pod("too-wide", "2", "", nil))
	msg := e.waitUnschedulable(t, "too-wide")
	want := "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod."
	if msg != want {
		t.Errorf("message = %q\nwant      %q", msg, want)
	}
	if note := e.waitEvent(t, "too-wide", "FailedScheduling"); note != want {
		t.Errorf("FailedScheduling note = %q, want %q", note, want)
	}
	// A memory-heavy pod goes to big too, the small node lacking memory.
	e.createPod(t, pod("mem", "100m", "3Gi", nil))
	if node := e.waitScheduled(t, "mem"); node != "big" {
		t.Errorf("pod mem (3Gi) on %s, want big", node)
	}
	e.waitEvent(t, "mem", "Scheduled")
}

func TestScheduler_TaintsAndTolerations(t *testing.T) {
	e := newEnv(t)
	e.addNode(t, nodeSpec{name: "gpu", labels: map[string]string{"kind": "gpu"},
		taints: []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}})
	e.addNode(t, nodeSpec{name: "soft", taints: []corev1.Taint{{Key: "spot", Effect: corev1.TaintEffectPreferNoSchedule}}})
	e.addNode(t, nodeSpec{name: "plain"})
	e.defaultScheduler(t)

	// Without tolerations: never gpu; plain preferred over the soft taint.
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("plain-%d", i)
		e.createPod(t, pod(name, "100m", "", nil))
		if node := e.waitScheduled(t, name); node != "plain" {
			t.Errorf("pod %s on %s, want plain (gpu tainted NoSchedule, soft PreferNoSchedule)", name, node)
		}
	}
	tol := pod("tolerant", "100m", "", nil)
	tol.Spec.NodeSelector = map[string]string{"kind": "gpu"}
	tol.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}
	e.createPod(t, tol)
	if node := e.waitScheduled(t, "tolerant"); node != "gpu" {
		t.Errorf("tolerating pod on %s, want gpu", node)
	}
	intol := pod("intolerant", "100m", "", nil)
	intol.Spec.NodeSelector = map[string]string{"kind": "gpu"}
	e.createPod(t, intol)
	msg := e.waitUnschedulable(t, "intolerant")
	if !contains(msg, "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 node(s) didn't match Pod's node affinity/selector.") {
		t.Errorf("message = %q", msg)
	}
	if !contains(msg, "3 Preemption is not helpful for scheduling.") {
		t.Errorf("message = %q, want preemption not helpful", msg)
	}
}

func TestScheduler_NodeAffinityRequiredAndPreferred(t *testing.T) {
	e := newEnv(t)
	for _, z := range []string{"a", "b", "c"} {
		e.addNode(t, nodeSpec{name: "node-" + z, labels: map[string]string{corev1.LabelTopologyZone: "zone-" + z}})
	}
	e.defaultScheduler(t)
	for i := 0; i < 4; i++ {
		p := pod(fmt.Sprintf("aff-%d", i), "100m", "", nil)
		p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelTopologyZone, Operator: corev1.NodeSelectorOpIn, Values: []string{"zone-a", "zone-b"}}},
			}}},
			PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{Weight: 100, Preference: corev1.NodeSelectorTerm{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelTopologyZone, Operator: corev1.NodeSelectorOpIn, Values: []string{"zone-b"}}},
			}}},
		}}
		e.createPod(t, p)
		if node := e.waitScheduled(t, p.Name); node != "node-b" {
			t.Errorf("pod %s on %s, want node-b (required a|b, preferred b)", p.Name, node)
		}
	}
	p := pod("nowhere", "", "", nil)
	p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelTopologyZone, Operator: corev1.NodeSelectorOpIn, Values: []string{"zone-z"}}},
		}}},
	}}
	e.createPod(t, p)
	if msg := e.waitUnschedulable(t, "nowhere"); !contains(msg, "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.") {
		t.Errorf("message = %q", msg)
	}
}

func TestScheduler_PodAntiAffinitySpreadsReplicas(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 3; i++ {
		e.addNode(t, nodeSpec{name: fmt.Sprintf("node-%d", i)})
	}
	e.defaultScheduler(t)
	labels := map[string]string{"app": "web"}
	anti := &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchLabels: labels}, TopologyKey: corev1.LabelHostname,
		}},
	}}
	seen := map[string]string{}
	for i := 0; i < 3; i++ {
		p := pod(fmt.Sprintf("web-%d", i), "100m", "", labels)
		p.Spec.Affinity = anti
		e.createPod(t, p)
	}
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("web-%d", i)
		node := e.waitScheduled(t, name)
		if other, dup := seen[node]; dup {
			t.Errorf("pods %s and %s share node %s despite anti-affinity", other, name, node)
		}
		seen[node] = name
	}
	p := pod("web-3", "100m", "", labels)
	p.Spec.Affinity = anti
	e.createPod(t, p)
	// Both the incoming pod's anti-affinity and the existing pods' hold
	// here; upstream's Filter checks the incoming pod's first, so that is
	// the reason on every node.
	want := "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
	if msg := e.waitUnschedulable(t, "web-3"); msg != want {
		t.Errorf("message = %q\nwant      %q", msg, want)
	}
}

func TestScheduler_TopologySpreadMaxSkewOneAcrossZones(t *testing.T) {
	e := newEnv(t)
	for _, n := range []struct{ name, zone string }{{"a1", "a"}, {"a2", "a"}, {"a3", "a"}, {"b1", "b"}} {
		e.addNode(t, nodeSpec{name: n.name, labels: map[string]string{corev1.LabelTopologyZone: n.zone}})
	}
	e.defaultScheduler(t)
	labels := map[string]string{"app": "spread"}
	perZone := map[string]int{}
	for i := 0; i < 6; i++ {
		p := pod(fmt.Sprintf("spread-%d", i), "100m", "", labels)
		p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.DoNotSchedule,
			LabelSelector: &metav1.LabelSelector{MatchLabels: labels},
		}}
		e.createPod(t, p)
		node := e.waitScheduled(t, p.Name) // one at a time: each sees the last
		perZone[node[:1]]++
		if d := perZone["a"] - perZone["b"]; d > 1 || d < -1 {
			t.Fatalf("after %d pods zones a=%d b=%d: skew above 1", i+1, perZone["a"], perZone["b"])
		}
	}
	if perZone["a"] != 3 || perZone["b"] != 3 {
		t.Errorf("zones a=%d b=%d, want 3/3 (3 nodes in a, 1 in b)", perZone["a"], perZone["b"])
	}
}

func TestScheduler_PendingPodSchedulesWhenNodeAdded(t *testing.T) {
	e := newEnv(t)
	e.addNode(t, nodeSpec{name: "tiny", cpu: "500m"})
	e.defaultScheduler(t)
	e.createPod(t, pod("waiting", "2", "", nil))
	e.waitUnschedulable(t, "waiting")
	e.addNode(t, nodeSpec{name: "roomy", cpu: "8"})
	if node := e.waitScheduled(t, "waiting"); node != "roomy" {
		t.Errorf("pod on %s, want roomy", node)
	}
}

func TestScheduler_PreemptionEvictsLowerPriorityPod(t *testing.T) {
	e := newEnv(t)
	for _, pc := range []struct {
		name  string
		value int32
	}{{"low", 10}, {"high", 1000}} {
		_, err := e.c.SchedulingV1().PriorityClasses().Create(t.Context(), &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: pc.name}, Value: pc.value}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create priority class %s: %v", pc.name, err)
		}
	}
	e.addNode(t, nodeSpec{name: "only", cpu: "1"})
	e.defaultScheduler(t)
	low := pod("low", "800m", "", nil)
	low.Spec.PriorityClassName = "low"
	low = e.createPod(t, low)
	e.waitScheduled(t, "low")

	high := pod("high", "800m", "", nil)
	high.Spec.PriorityClassName = "high"
	e.createPod(t, high)
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		p, err := e.c.CoreV1().Pods(e.ns).Get(ctx, "low", metav1.GetOptions{})
		return apierrors.IsNotFound(err) || (err == nil && p.DeletionTimestamp != nil), nil
	})
	if err != nil {
		hp, _ := e.c.CoreV1().Pods(e.ns).Get(t.Context(), "high", metav1.GetOptions{})
		t.Fatalf("low-priority pod not preempted: %v; high pod priority %v status %+v", err, hp.Spec.Priority, hp.Status)
	}
	// The victim is marked as upstream's preemption marks it, and the
	// preemptor waits nominated to the node.
	victim, err := e.c.CoreV1().Pods(e.ns).Get(t.Context(), "low", metav1.GetOptions{})
	if err == nil && !hasCondition(victim, corev1.DisruptionTarget, corev1.PodReasonPreemptionByScheduler) {
		t.Errorf("victim conditions %+v, want DisruptionTarget/PreemptionByScheduler", victim.Status.Conditions)
	}
	if note := e.waitEvent(t, "low", "Preempted"); !contains(note, "Preempted by pod ") || !contains(note, " on node only") {
		t.Errorf("Preempted note = %q", note)
	}
	wantMsg := "0/1 nodes are available: 1 Insufficient cpu. preemption: found a potential placement for pod on node only, preempting 1 victims"
	e.waitEventNote(t, "high", "FailedScheduling", wantMsg)
	err = wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		p, err := e.c.CoreV1().Pods(e.ns).Get(ctx, "high", metav1.GetOptions{})
		return err == nil && p.Status.NominatedNodeName == "only", nil
	})
	if err != nil {
		t.Fatalf("preemptor not nominated to only: %v", err)
	}
	// No kubelet: finish the graceful deletion as the kubelet would.
	zero := int64(0)
	if err := e.c.CoreV1().Pods(e.ns).Delete(t.Context(), "low", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("force delete victim: %v", err)
	}
	if node := e.waitScheduled(t, "high"); node != "only" {
		t.Errorf("high-priority pod on %s, want only", node)
	}
}

func hasCondition(p *corev1.Pod, typ corev1.PodConditionType, reason string) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == typ && c.Status == corev1.ConditionTrue && c.Reason == reason {
			return true
		}
	}
	return false
}

func TestScheduler_TwoSchedulersTakeOnlyTheirPods(t *testing.T) {
	e := newEnv(t)
	e.addNode(t, nodeSpec{name: "n1"})
	e.startScheduler(t, e.schedulerConfig(t, scheduler.Profile{SchedulerName: "alpha"}))
	a := pod("for-alpha", "100m", "", nil)
	a.Spec.SchedulerName = "alpha"
	b := pod("for-beta", "100m", "", nil)
	b.Spec.SchedulerName = "beta"
	e.createPod(t, a)
	e.createPod(t, b)
	e.waitScheduled(t, "for-alpha")
	if note := e.waitEvent(t, "for-alpha", "Scheduled"); !contains(note, "Successfully assigned sched/for-alpha to n1") {
		t.Errorf("Scheduled note = %q", note)
	}
	// alpha ignores beta's pod: it has neither a node nor a condition.
	p, err := e.c.CoreV1().Pods(e.ns).Get(t.Context(), "for-beta", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.NodeName != "" || len(p.Status.Conditions) != 0 {
		t.Fatalf("alpha touched beta's pod: node %q conditions %v", p.Spec.NodeName, p.Status.Conditions)
	}
	e.startScheduler(t, e.schedulerConfig(t, scheduler.Profile{SchedulerName: "beta"}))
	e.waitScheduled(t, "for-beta")
	evs, err := e.c.EventsV1().Events(e.ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs.Items {
		if ev.Reason != "Scheduled" {
			continue
		}
		want := map[string]string{"for-alpha": "alpha", "for-beta": "beta"}[ev.Regarding.Name]
		if ev.ReportingController != want {
			t.Errorf("pod %s was scheduled by %q, want %q", ev.Regarding.Name, ev.ReportingController, want)
		}
	}
}

func TestScheduler_LeaderFailoverWithoutDoubleBinding(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 3; i++ {
		e.addNode(t, nodeSpec{name: fmt.Sprintf("n%d", i)})
	}
	start := func(id string) func() {
		cfg := e.schedulerConfig(t)
		cfg.LeaderIdentity = id
		cfg.LeaderElection.Enabled = true
		cfg.LeaderElection.LeaseDuration = 2 * time.Second
		cfg.LeaderElection.RenewDeadline = 1500 * time.Millisecond
		cfg.LeaderElection.RetryPeriod = 200 * time.Millisecond
		cfg.LeaderElection.ResourceNamespace = "kube-system"
		cfg.LeaderElection.ResourceName = "kube-scheduler"
		return e.startScheduler(t, cfg)
	}
	stops := map[string]func(){"one": start("one"), "two": start("two")}
	holder := func() string {
		var h string
		err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			l, err := e.c.CoordinationV1().Leases("kube-system").Get(ctx, "kube-scheduler", metav1.GetOptions{})
			if err != nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
				return false, nil
			}
			h = *l.Spec.HolderIdentity
			return true, nil
		})
		if err != nil {
			t.Fatalf("no leader: %v", err)
		}
		return h
	}
	first := holder()
	for i := 0; i < 5; i++ {
		e.createPod(t, pod(fmt.Sprintf("before-%d", i), "100m", "", nil))
	}
	for i := 0; i < 5; i++ {
		e.waitScheduled(t, fmt.Sprintf("before-%d", i))
	}
	stops[first]() // the leader dies (releases its lease on the way out)
	for i := 0; i < 5; i++ {
		e.createPod(t, pod(fmt.Sprintf("after-%d", i), "100m", "", nil))
	}
	for i := 0; i < 5; i++ {
		e.waitScheduled(t, fmt.Sprintf("after-%d", i))
	}
	if second := holder(); second == first {
		t.Errorf("lease still held by %s after it stopped", first)
	}
	// No pod was bound twice: never more than one Scheduled event per pod.
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		evs, err := e.c.EventsV1().Events(e.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		count := map[string]int{}
		for _, ev := range evs.Items {
			if ev.Reason == "Scheduled" {
				n := 1
				if ev.Series != nil {
					n = int(ev.Series.Count)
				}
				count[ev.Regarding.Name] += n
			}
			if ev.Reason == "FailedScheduling" {
				return false, fmt.Errorf("unexpected FailedScheduling for %s: %s", ev.Regarding.Name, ev.Note)
			}
		}
		for name, n := range count {
			if n > 1 {
				return false, fmt.Errorf("pod %s scheduled %d times", name, n)
			}
		}
		// The stopped leader may not have flushed its last events (events
		// are best effort, as upstream's); the survivor's must all be there.
		for i := 0; i < 5; i++ {
			if count[fmt.Sprintf("after-%d", i)] != 1 {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("scheduled events: %v", err)
	}
}

func TestScheduler_ProfilesFromConfigFileEachWithItsPlugins(t *testing.T) {
	e := newEnv(t)
	e.addNode(t, nodeSpec{name: "x", cpu: "4", memory: "8Gi"})
	e.addNode(t, nodeSpec{name: "y", cpu: "4", memory: "8Gi"})
	path := filepath.Join(t.TempDir(), "config.yaml")
	data := `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
- schedulerName: bin-packer
  plugins:
    score:
      disabled: [{name: NodeResourcesBalancedAllocation}]
      enabled: [{name: NodeResourcesFit, weight: 5}]
  pluginConfig:
  - name: NodeResourcesFit
    args: {scoringStrategy: {type: MostAllocated}}
`
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := scheduler.LoadConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.schedulerConfig(t)
	cfg.Component = *loaded
	e.startScheduler(t, cfg)

	// bin-packer (MostAllocated) stacks its pods on one node.
	first := pod("packed-0", "1", "", nil)
	first.Spec.SchedulerName = "bin-packer"
	e.createPod(t, first)
	packed := e.waitScheduled(t, "packed-0")
	second := pod("packed-1", "1", "", nil)
	second.Spec.SchedulerName = "bin-packer"
	e.createPod(t, second)
	if node := e.waitScheduled(t, "packed-1"); node != packed {
		t.Errorf("bin-packer put packed-1 on %s, want %s with packed-0 (MostAllocated)", node, packed)
	}
	if note := e.waitEvent(t, "packed-1", "Scheduled"); !contains(note, "Successfully assigned sched/packed-1 to "+packed) {
		t.Errorf("Scheduled note = %q", note)
	}
	// default-scheduler (LeastAllocated) goes to the emptier node.
	e.createPod(t, pod("spread-0", "1", "", nil))
	if node := e.waitScheduled(t, "spread-0"); node == packed {
		t.Errorf("default-scheduler put spread-0 on %s with the packed pods, want the empty node (LeastAllocated)", node)
	}
	evs, err := e.c.EventsV1().Events(e.ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs.Items {
		want := map[string]string{"packed-0": "bin-packer", "packed-1": "bin-packer", "spread-0": "default-scheduler"}[ev.Regarding.Name]
		if ev.Reason == "Scheduled" && ev.ReportingController != want {
			t.Errorf("pod %s reported by %q, want profile %q", ev.Regarding.Name, ev.ReportingController, want)
		}
	}
}
