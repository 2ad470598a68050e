package kubectlgolden

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
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
	}
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
}

// TestGolden_OpsVerbs runs rollout history and undo, wait, drain and
// events with both kubectls on a cluster of its own.
func TestGolden_OpsVerbs(t *testing.T) {
	upstream := upstreamKubectl(t)
	e, s := startEnv(t)
	createOpsFixtures(t, s.Client)
	ourHome, upHome := filepath.Join(e.dir, "home-ours"), filepath.Join(e.dir, "home-upstream")
	for _, h := range []string{ourHome, upHome} {
		if err := os.MkdirAll(h, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range opsCorpus() {
		t.Run(strings.ReplaceAll(caseName(tc.args), "/", "_"), func(t *testing.T) {
			runOne := func(bin, home string) result {
				if tc.reset != nil {
					tc.reset(t, s.Client)
				}
				r := e.runCase(t, bin, home, tc.goldenCase)
				if tc.state != nil {
					r.stdout += "\n--- state after ---\n" + tc.state(t, s.Client)
				}
				return r
			}
			ours := runOne(ourKubectl, ourHome)
			theirs := runOne(upstream, upHome)
			t.Logf("exit %d\n%s%s", ours.code, ours.stdout, ours.stderr)
			compare(t, tc.goldenCase, ours, theirs)
		})
	}
}
