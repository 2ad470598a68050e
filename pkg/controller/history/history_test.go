package history

import (
	"encoding/json"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
)

// TestPatch_RollbackReplacesTemplateOnly applies a revision's data the way
// kubectl rollout undo does (a strategic-merge patch) and checks that the
// whole template is replaced while the rest of the spec stays.
func TestPatch_RollbackReplacesTemplateOnly(t *testing.T) {
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "a"}}
	old := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "a"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "v1"}}}}
	cur := appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "d"}, Spec: appsv1.DaemonSetSpec{Selector: sel, MinReadySeconds: 7,
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "a", "extra": "x"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "v2"}, {Name: "sidecar", Image: "s"}}}}}}
	data, err := Patch(&old)
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := json.Marshal(cur)
	out, err := strategicpatch.StrategicMergePatch(orig, data, &appsv1.DaemonSet{})
	if err != nil {
		t.Fatalf("apply revision data: %v", err)
	}
	var got appsv1.DaemonSet
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.MinReadySeconds != 7 || got.Spec.Selector == nil || got.Spec.Selector.MatchLabels["app"] != "a" {
		t.Fatalf("rest of the spec lost: %+v", got.Spec)
	}
	if len(got.Spec.Template.Spec.Containers) != 1 || got.Spec.Template.Spec.Containers[0].Image != "v1" || got.Spec.Template.Labels["extra"] != "" {
		t.Fatalf("template not replaced: %+v", got.Spec.Template)
	}
}

func TestHash_DependsOnDataAndCollisionCount(t *testing.T) {
	one := int32(1)
	a, b := Hash([]byte("x"), nil), Hash([]byte("y"), nil)
	if a == b || a != Hash([]byte("x"), nil) || a == Hash([]byte("x"), &one) {
		t.Fatalf("hashes x=%s y=%s x+1=%s", a, b, Hash([]byte("x"), &one))
	}
}
