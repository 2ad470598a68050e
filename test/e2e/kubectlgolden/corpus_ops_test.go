package kubectlgolden

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// opsCorpus covers rollout history and undo, wait, drain and events. Like
// troubleCorpus, a case that changes the cluster resets it before each
// kubectl and reads the state it left.
func opsCorpus() []troubleCase {
	d := func(args ...string) troubleCase {
		return troubleCase{goldenCase: goldenCase{args: args, maskLines: rfc1123Times}}
	}
	undo := func(args ...string) troubleCase { return m(resetWorkloads, workloadState, args...) }
	return []troubleCase{
		// rollout history: ReplicaSets' revisions for a Deployment,
		// ControllerRevisions for a DaemonSet and a StatefulSet.
		d("rollout", "history", "deployment/app"),
		d("rollout", "history", "deployment", "app", "--revision=1"),
		d("rollout", "history", "deployment/app", "--revision=7"),
		d("rollout", "history", "deployment/app", "--revision=-1"),
		d("rollout", "history", "deployment/app", "-o", "name"),
		d("rollout", "history", "deployment/app", "--revision=2", "-o", "jsonpath={.spec.template.spec.containers[0].image}"),
		d("rollout", "history", "ds/agent"),
		d("rollout", "history", "ds/agent", "--revision=1"),
		d("rollout", "history", "sts/store"),
		d("rollout", "history", "deployment/lonely"),
		d("rollout", "history", "svc/front"),
		d("rollout", "history", "deployment/missing"),
		d("rollout", "history"),
		// rollout undo: previous revision, --to-revision, dry runs, skips.
		undo("rollout", "undo", "deployment/app"),
		undo("rollout", "undo", "deployment/app", "--to-revision=1"),
		undo("rollout", "undo", "deployment/app", "--to-revision=3"),
		undo("rollout", "undo", "deployment/app", "--to-revision=9"),
		undo("rollout", "undo", "deployment/app", "--dry-run=client"),
		undo("rollout", "undo", "deployment/app", "--dry-run=server"),
		undo("rollout", "undo", "deployment/lonely"),
		undo("rollout", "undo", "ds/agent"),
		undo("rollout", "undo", "ds/agent", "--to-revision=2"),
		undo("rollout", "undo", "ds/agent", "--dry-run=client"),
		undo("rollout", "undo", "sts/store"),
		undo("rollout", "undo", "svc/front"),
		undo("rollout", "undo"),
		// wait: conditions, jsonpath, create, delete, timeouts, errors.
		d("wait", "--for=condition=Ready", "pod/ready"),
		d("wait", "--for=condition=ready=TRUE", "pod/ready", "-o", "name"),
		d("wait", "--for=condition=Ready=false", "pod/notready"),
		d("wait", "--for=condition=Ready", "pod/notready", "--timeout=1s"),
		d("wait", "--for=condition=Ready", "pod/notready", "--timeout=0"),
		d("wait", "--for=condition=Ready", "pods", "-l", "role=waiter", "--timeout=1s"),
		d("wait", "--for=jsonpath={.status.phase}=Running", "pod/ready"),
		d("wait", "--for=jsonpath={.status.phase}", "pod/ready"),
		d("wait", "--for=jsonpath=.status.phase=Pending", "pod/ready", "--timeout=0"),
		d("wait", "--for=jsonpath={.status.conditions}=x", "pod/ready"),
		d("wait", "--for=jsonpath={.status.phase}=", "pod/ready"),
		d("wait", "--for=create", "pod/ready"),
		d("wait", "--for=create", "--for=condition=Ready", "pod/ready"),
		d("wait", "--for=delete", "pod/missing"),
		d("wait", "--for=delete", "pod/ready", "--timeout=0"),
		d("wait", "--for=delete", "pod/ready", "--timeout=1s"),
		d("wait", "--for=condition=Ready", "pod/missing"),
		d("wait", "--for=condition=Ready", "pods", "--all", "-n", "other"),
		d("wait", "--for=sideways", "pod/ready"),
		d("wait", "pod/ready"),
		// events: sorted oldest first, filters, other formats.
		d("events"),
		d("events", "-A"),
		d("events", "--for", "pod/ready"),
		d("events", "--for", "deployment.apps/app"),
		d("events", "--for", "ready"),
		d("events", "--types=Warning"),
		d("events", "--types=warning,normal", "--no-headers"),
		d("events", "--types=Fatal"),
		d("events", "-n", "other"),
		d("events", "-o", "name"),
		d("events", "--for", "pod/ready", "-o", "jsonpath={.items[*].reason}"),
		d("events", "--for", "nosuch/x"),
		// logs, exec, port-forward, cp: argument and lookup errors (the
		// streams themselves need a kubelet: test/e2e/node).
		d("logs"),
		d("logs", "missing"),
		d("logs", "ready", "-l", "role=waiter"),
		d("logs", "ready", "--since=1s", "--since-time=2026-01-01T00:00:00Z"),
		d("logs", "ready", "-c", "main", "--all-containers"),
		d("logs", "ready", "nosuch"),
		d("logs", "ready", "--tail=-5"),
		d("exec", "ready"),
		d("exec", "missing", "--", "date"),
		d("port-forward", "pod/ready"),
		d("cp", "a", "b"),
		// drain: one pod per case (upstream evicts in parallel and groups
		// messages in a map, so several would print in any order).
		dr("drain", "node-c"),
		dr("drain", "-l", "kubernetes.io/hostname=node-c"),
		dr("drain", "node-a", "--pod-selector=tier=web", "--grace-period=0"),
		dr("drain", "node-a", "--pod-selector=tier=web", "--grace-period=0", "--disable-eviction"),
		dr("drain", "node-a", "--pod-selector=tier=web", "--dry-run=client"),
		dr("drain", "node-a", "--pod-selector=tier=web", "--dry-run=server"),
		dr("drain", "node-a", "--pod-selector=tier=solo"),
		dr("drain", "node-a", "--pod-selector=tier=solo", "--force", "--grace-period=0"),
		dr("drain", "node-a", "--pod-selector=tier=cache"),
		dr("drain", "node-a", "--pod-selector=tier=cache", "--delete-emptydir-data", "--grace-period=0"),
		dr("drain", "node-a", "--pod-selector=tier=sys"),
		dr("drain", "node-a", "--pod-selector=tier=sys", "--ignore-daemonsets"),
		dr("drain", "node-a", "--pod-selector=tier in (", "--force"),
		dr("drain", "node-b", "--grace-period=0", "--timeout=2s"),
		dr("drain"),
		dr("drain", "nope"),
		dr("drain", "node-c", "-l", "x=y"),
	}
}

func dr(args ...string) troubleCase { return m(resetDrain, drainState, args...) }

// drainPods are the pods on node-a (one per kind of owner) and node-b
// (guarded by a budget that allows no disruption).
func drainPods(t *testing.T, cs kubernetes.Interface) []*corev1.Pod {
	t.Helper()
	ctx := context.Background()
	rs, err := cs.AppsV1().ReplicaSets("golden").Get(ctx, "app-h3", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := cs.AppsV1().DaemonSets("golden").Get(ctx, "agent", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rsRef := *metav1.NewControllerRef(rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"))
	dsRef := *metav1.NewControllerRef(ds, appsv1.SchemeGroupVersion.WithKind("DaemonSet"))
	pod := func(name, node, tier string, owner *metav1.OwnerReference, emptyDir bool) *corev1.Pod {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "golden", Labels: map[string]string{"tier": tier}},
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{
				Name: "main", Image: "kstack.local/busybox:1.0", Command: []string{"sleep", "3600"},
			}}},
		}
		if owner != nil {
			p.OwnerReferences = []metav1.OwnerReference{*owner}
		}
		if emptyDir {
			p.Spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		}
		return p
	}
	return []*corev1.Pod{
		pod("web-1", "node-a", "web", &rsRef, false),
		pod("loner", "node-a", "solo", nil, false),
		pod("scratch", "node-a", "cache", &rsRef, true),
		pod("agent-1", "node-a", "sys", &dsRef, false),
		pod("guarded", "node-b", "guarded", &rsRef, false),
	}
}

// resetDrain makes node-a, node-b and node-c schedulable and puts their
// pods back.
func resetDrain(t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	ctx := context.Background()
	for _, name := range []string{"node-a", "node-b", "node-c"} {
		n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n.Spec.Unschedulable = false
		if _, err := cs.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range drainPods(t, cs) {
		_, err := cs.CoreV1().Pods("golden").Get(ctx, p.Name, metav1.GetOptions{})
		if err == nil {
			continue
		}
		if _, err := cs.CoreV1().Pods("golden").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

func drainState(t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, name := range []string{"node-a", "node-b", "node-c"} {
		n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s unschedulable=%v\n", name, n.Spec.Unschedulable)
	}
	for _, p := range drainPods(t, cs) {
		_, err := cs.CoreV1().Pods("golden").Get(ctx, p.Name, metav1.GetOptions{})
		fmt.Fprintf(&b, "pod %s present=%v\n", p.Name, err == nil)
	}
	return b.String()
}

func image(name string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "app"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "main", Image: name, Command: []string{"sleep", "3600"},
		}}},
	}
}

// resetWorkloads puts the Deployment, DaemonSet and StatefulSet back on
// their latest revision.
func resetWorkloads(t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	ctx := context.Background()
	d, err := cs.AppsV1().Deployments("golden").Get(ctx, "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Spec.Template = image("kstack.local/app:v3")
	d.Annotations = map[string]string{"deployment.kubernetes.io/revision": "3", "team": "a"}
	if _, err := cs.AppsV1().Deployments("golden").Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	ds, err := cs.AppsV1().DaemonSets("golden").Get(ctx, "agent", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ds.Spec.Template = agentTemplate("kstack.local/agent:v2")
	if _, err := cs.AppsV1().DaemonSets("golden").Update(ctx, ds, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func workloadState(t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	ctx := context.Background()
	d, err := cs.AppsV1().Deployments("golden").Get(ctx, "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := cs.AppsV1().DaemonSets("golden").Get(ctx, "agent", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("deployment image=%s labels=%v annotations=%v\ndaemonset image=%s\n",
		d.Spec.Template.Spec.Containers[0].Image, d.Spec.Template.Labels, d.Annotations,
		ds.Spec.Template.Spec.Containers[0].Image)
}

func agentTemplate(img string) corev1.PodTemplateSpec {
	t := image(img)
	t.Labels = map[string]string{"app": "agent"}
	return t
}

// revisionData is what the DaemonSet and StatefulSet controllers record
// in a ControllerRevision: the template, replaced whole.
func revisionData(t *testing.T, tmpl corev1.PodTemplateSpec) runtime.RawExtension {
	t.Helper()
	data, err := json.Marshal(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	raw["$patch"] = "replace"
	out, err := json.Marshal(map[string]any{"spec": map[string]any{"template": raw}})
	if err != nil {
		t.Fatal(err)
	}
	return runtime.RawExtension{Raw: out}
}

// createOpsFixtures makes the workloads with history (as their
// controllers would have left them), nodes and pods to drain, and events.
func createOpsFixtures(t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	ctx := context.Background()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("create %s: %v", what, err)
		}
	}
	for _, ns := range []string{"golden", "other"} {
		_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		must("namespace "+ns, err)
	}
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "app"}}
	dep, err := cs.AppsV1().Deployments("golden").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Annotations: map[string]string{"deployment.kubernetes.io/revision": "3", "team": "a"}},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: sel, Template: image("kstack.local/app:v3")},
	}, metav1.CreateOptions{})
	must("deployment", err)
	for i, cause := range []string{"kubectl set image first", "", ""} {
		rev := i + 1
		hash := fmt.Sprintf("h%d", rev)
		tmpl := image(fmt.Sprintf("kstack.local/app:v%d", rev))
		tmpl.Labels["pod-template-hash"] = hash
		ann := map[string]string{"deployment.kubernetes.io/revision": fmt.Sprint(rev), "deployment.kubernetes.io/desired-replicas": "1", "deployment.kubernetes.io/max-replicas": "2"}
		if cause != "" {
			ann["kubernetes.io/change-cause"] = cause
		}
		if rev == 2 {
			ann["rs-note"] = "from two"
		}
		replicas := int32(0)
		if rev == 3 {
			replicas = 1
		}
		_, err := cs.AppsV1().ReplicaSets("golden").Create(ctx, &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: "app-" + hash, Labels: tmpl.Labels, Annotations: ann,
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(dep, appsv1.SchemeGroupVersion.WithKind("Deployment"))}},
			Spec: appsv1.ReplicaSetSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: tmpl.Labels}, Template: tmpl},
		}, metav1.CreateOptions{})
		must("replicaset", err)
	}
	lonelySel := map[string]string{"app": "lonely"}
	lonelyTmpl := image("kstack.local/lonely:v1")
	lonelyTmpl.Labels = lonelySel
	_, err = cs.AppsV1().Deployments("golden").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "lonely"},
		Spec:       appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: lonelySel}, Template: lonelyTmpl},
	}, metav1.CreateOptions{})
	must("deployment lonely", err)

	agentSel := map[string]string{"app": "agent"}
	ds, err := cs.AppsV1().DaemonSets("golden").Create(ctx, &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent"},
		Spec:       appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: agentSel}, Template: agentTemplate("kstack.local/agent:v2")},
	}, metav1.CreateOptions{})
	must("daemonset", err)
	for rev := int64(1); rev <= 2; rev++ {
		ann := map[string]string{}
		if rev == 2 {
			ann["kubernetes.io/change-cause"] = "upgrade agent"
		}
		_, err := cs.AppsV1().ControllerRevisions("golden").Create(ctx, &appsv1.ControllerRevision{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("agent-r%d", rev), Labels: agentSel, Annotations: ann,
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ds, appsv1.SchemeGroupVersion.WithKind("DaemonSet"))}},
			Revision: rev,
			Data:     revisionData(t, agentTemplate(fmt.Sprintf("kstack.local/agent:v%d", rev))),
		}, metav1.CreateOptions{})
		must("controllerrevision", err)
	}
	storeSel := map[string]string{"app": "store"}
	storeTmpl := image("kstack.local/store:v1")
	storeTmpl.Labels = storeSel
	sts, err := cs.AppsV1().StatefulSets("golden").Create(ctx, &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "store"},
		Spec:       appsv1.StatefulSetSpec{Replicas: ptr.To[int32](1), ServiceName: "store", Selector: &metav1.LabelSelector{MatchLabels: storeSel}, Template: storeTmpl},
	}, metav1.CreateOptions{})
	must("statefulset", err)
	_, err = cs.AppsV1().ControllerRevisions("golden").Create(ctx, &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{Name: "store-r1", Labels: storeSel,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(sts, appsv1.SchemeGroupVersion.WithKind("StatefulSet"))}},
		Revision: 1,
		Data:     revisionData(t, storeTmpl),
	}, metav1.CreateOptions{})
	must("controllerrevision store", err)
	_, err = cs.CoreV1().Services("golden").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "front"},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "app"}, Ports: []corev1.ServicePort{{Port: 80}}},
	}, metav1.CreateOptions{})
	must("service", err)

	// wait: a ready pod and one that is not.
	for _, name := range []string{"ready", "notready"} {
		p, err := cs.CoreV1().Pods("golden").Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"role": "waiter"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "main", Image: "kstack.local/busybox:1.0", Command: []string{"sleep", "3600"},
			}}},
		}, metav1.CreateOptions{})
		must("pod "+name, err)
		status := corev1.ConditionTrue
		if name == "notready" {
			status = corev1.ConditionFalse
		}
		p.Status = corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
			{Type: corev1.PodReady, Status: status},
		}}
		_, err = cs.CoreV1().Pods("golden").UpdateStatus(ctx, p, metav1.UpdateOptions{})
		must("pod status "+name, err)
	}

	// events: several objects, types, repeats, a series, one elsewhere.
	now := time.Now()
	ready, err := cs.CoreV1().Pods("golden").Get(ctx, "ready", metav1.GetOptions{})
	must("get pod", err)
	ev := func(ns, name, kind, apiVersion, obj, reason, typ, msg string, ago time.Duration, count int32) {
		t.Helper()
		ts := metav1.NewTime(now.Add(-ago))
		e := &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: name, Namespace: ns},
			InvolvedObject: corev1.ObjectReference{Kind: kind, APIVersion: apiVersion, Namespace: ns, Name: obj},
			Reason:         reason, Message: msg, Type: typ, Count: count,
			FirstTimestamp: metav1.NewTime(ts.Add(-time.Duration(count) * time.Minute)), LastTimestamp: ts,
			Source: corev1.EventSource{Component: "kubelet"},
		}
		if kind == "Pod" && obj == "ready" {
			e.InvolvedObject.UID = ready.UID
		}
		_, err := cs.CoreV1().Events(ns).Create(ctx, e, metav1.CreateOptions{})
		must("event "+name, err)
	}
	ev("golden", "ready.pulled", "Pod", "v1", "ready", "Pulled", "Normal", "Container image pulled", 50*time.Minute, 1)
	ev("golden", "ready.backoff", "Pod", "v1", "ready", "BackOff", "Warning", "Back-off restarting failed container  ", 3*time.Minute, 7)
	ev("golden", "app.scaled", "Deployment", "apps/v1", "app", "ScalingReplicaSet", "Normal", "Scaled up replica set app-h3 from 0 to 1", 20*time.Minute, 1)
	ev("golden", "node.x", "Node", "v1", "node-a", "NodeNotReady", "Warning", "Node node-a status is now: NodeNotReady", 90*time.Second, 1)
	ev("other", "other.started", "Pod", "v1", "elsewhere", "Started", "Normal", "Started container main", 2*time.Hour, 1)
	series := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "ready.series", Namespace: "golden"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: "golden", Name: "ready", UID: ready.UID},
		Reason:         "Unhealthy", Message: "Readiness probe failed", Type: "Warning",
		EventTime:           metav1.NewMicroTime(now.Add(-30 * time.Minute)),
		Series:              &corev1.EventSeries{Count: 4, LastObservedTime: metav1.NewMicroTime(now.Add(-10 * time.Minute))},
		ReportingController: "kubelet", ReportingInstance: "node-a", Action: "Probe",
	}
	_, err = cs.CoreV1().Events("golden").Create(ctx, series, metav1.CreateOptions{})
	must("event series", err)

	// drain: three nodes; node-b's pod is covered by a budget with no
	// disruptions allowed.
	for _, name := range []string{"node-a", "node-b", "node-c"} {
		_, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name,
			Labels: map[string]string{"kubernetes.io/hostname": name}}}, metav1.CreateOptions{})
		must("node "+name, err)
	}
	pdb, err := cs.PolicyV1().PodDisruptionBudgets("golden").Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "guard"},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromInt32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "guarded"}}},
	}, metav1.CreateOptions{})
	must("pdb", err)
	pdb.Status = policyv1.PodDisruptionBudgetStatus{ObservedGeneration: pdb.Generation, DisruptionsAllowed: 0,
		CurrentHealthy: 1, DesiredHealthy: 1, ExpectedPods: 1}
	_, err = cs.PolicyV1().PodDisruptionBudgets("golden").UpdateStatus(ctx, pdb, metav1.UpdateOptions{})
	must("pdb status", err)
	resetDrain(t, cs)
}

// TestGolden_OpsVerbs runs rollout history and undo, wait, drain and
// events with both kubectls on a cluster of its own.
func TestGolden_OpsVerbs(t *testing.T) {
	upstream := upstreamKubectl(t)
	e, s := startEnv(t)
	createOpsFixtures(t, s.Client)
	runStatefulCorpus(t, e, s.Client, upstream, opsCorpus(), flatCaseName)
}
