package daemonset

import (
	appsv1 "k8s.io/api/apps/v1"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestShouldRun(t *testing.T) {
	node := func(lbls map[string]string, taints ...corev1.Taint) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: lbls}, Spec: corev1.NodeSpec{Taints: taints}}
	}
	spec := func(sel map[string]string, tol ...corev1.Toleration) *corev1.PodSpec {
		s := &corev1.PodSpec{NodeSelector: sel, Tolerations: tol}
		withDefaultTolerations(s)
		return s
	}
	affinity := spec(nil)
	affinity.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "gpu", Operator: corev1.NodeSelectorOpGt, Values: []string{"1"}}}}}}}}
	noExec := corev1.Taint{Key: "evict", Effect: corev1.TaintEffectNoExecute}
	tests := []struct {
		name      string
		node      *corev1.Node
		spec      *corev1.PodSpec
		run, keep bool
	}{
		{"plain", node(nil), spec(nil), true, true},
		{"selector mismatch", node(map[string]string{"os": "win"}), spec(map[string]string{"os": "linux"}), false, false},
		{"unschedulable tolerated by default", node(nil, corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}), spec(nil), true, true},
		{"not-ready NoExecute tolerated by default", node(nil, corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute}), spec(nil), true, true},
		{"NoSchedule: no new pod, existing stays", node(nil, corev1.Taint{Key: "x", Effect: corev1.TaintEffectNoSchedule}), spec(nil), false, true},
		{"NoExecute: evicted", node(nil, noExec), spec(nil), false, false},
		{"NoExecute tolerated", node(nil, noExec), spec(nil, corev1.Toleration{Key: "evict", Operator: corev1.TolerationOpExists}), true, true},
		{"affinity Gt matches", node(map[string]string{"gpu": "2"}), affinity, true, true},
		{"affinity Gt fails", node(map[string]string{"gpu": "1"}), affinity, false, false},
	}
	for _, tc := range tests {
		run, keep := shouldRun(tc.node, tc.spec)
		if run != tc.run || keep != tc.keep {
			t.Errorf("%s: run=%v keep=%v, want %v %v", tc.name, run, keep, tc.run, tc.keep)
		}
	}
}

func TestPinToNode(t *testing.T) {
	spec := &corev1.PodSpec{}
	pinToNode(spec, "n1")
	p := &corev1.Pod{Spec: *spec}
	if got := targetNode(p); got != "n1" {
		t.Fatalf("targetNode = %q", got)
	}
	pinToNode(spec, "n2") // re-pinning replaces
	if got := targetNode(&corev1.Pod{Spec: *spec}); got != "n2" {
		t.Fatalf("targetNode after re-pin = %q", got)
	}
	if len(spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchFields) != 1 {
		t.Fatalf("duplicate name terms: %+v", spec.Affinity)
	}
}

func TestTemplateGeneration_FromTheAnnotationElseGeneration(t *testing.T) {
	ds := &appsv1.DaemonSet{}
	ds.Generation = 7
	if got := templateGeneration(ds); got != "7" {
		t.Errorf("without the annotation: %q, want 7", got)
	}
	ds.Annotations = map[string]string{appsv1.DeprecatedTemplateGeneration: "3"}
	if got := templateGeneration(ds); got != "3" {
		t.Errorf("with the annotation: %q, want 3", got)
	}
}
