package deployment

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestResolveFenceposts(t *testing.T) {
	p := func(s string) *intstr.IntOrString { v := intstr.FromString(s); return &v }
	n := func(i int32) *intstr.IntOrString { v := intstr.FromInt32(i); return &v }
	tests := []struct {
		surge, unavail         *intstr.IntOrString
		desired                int32
		wantSurge, wantUnavail int32
	}{
		{p("25%"), p("25%"), 10, 3, 2}, // surge rounds up, unavailable down
		{p("25%"), p("25%"), 1, 1, 0},
		{n(0), n(0), 5, 0, 1}, // both zero: one may be unavailable
		{n(2), n(1), 3, 2, 1},
		{p("100%"), p("0%"), 4, 4, 0},
		{p("10%"), p("10%"), 3, 1, 0},
	}
	for _, tc := range tests {
		s, u, err := ResolveFenceposts(tc.surge, tc.unavail, tc.desired)
		if err != nil || s != tc.wantSurge || u != tc.wantUnavail {
			t.Errorf("ResolveFenceposts(%v, %v, %d) = %d, %d, %v; want %d, %d", tc.surge, tc.unavail, tc.desired, s, u, err, tc.wantSurge, tc.wantUnavail)
		}
	}
}

func rolling(replicas int32, surge, unavail intstr.IntOrString) *appsv1.Deployment {
	return &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: &replicas,
		Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
			RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavail}}}}
}

func rs(name string, replicas int32, ann map[string]string) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name), Annotations: ann},
		Spec: appsv1.ReplicaSetSpec{Replicas: &replicas}}
}

func TestNewRSNewReplicas(t *testing.T) {
	d := rolling(10, intstr.FromInt32(3), intstr.FromInt32(2))
	tests := []struct {
		name     string
		old, cur int32
		want     int32
	}{
		{"start: surge 3", 10, 0, 3},
		{"room after old scaled down", 7, 3, 6},
		{"no room", 10, 3, 3},
		{"never above desired", 0, 9, 10},
	}
	for _, tc := range tests {
		newRS := rs("new", tc.cur, nil)
		all := []*appsv1.ReplicaSet{rs("old", tc.old, nil), newRS}
		if got := newRSNewReplicas(d, all, newRS); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	recreate := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: d.Spec.Replicas, Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}}}
	if got := newRSNewReplicas(recreate, nil, rs("new", 0, nil)); got != 10 {
		t.Errorf("recreate: %d, want 10", got)
	}
}

func TestProportionalScaling(t *testing.T) {
	// A rollout in flight (old 8, new 5 of 10+3 surge) scaled to 20: the
	// 10 extra (20+3-13) split in proportion to each ReplicaSet's size.
	d := rolling(20, intstr.FromInt32(3), intstr.FromInt32(2))
	ann := map[string]string{MaxReplicasAnnotation: "13"}
	old, cur := rs("old", 8, ann), rs("new", 5, ann)
	toAdd := int32(20+3) - (8 + 5)
	a := proportion(old, d, toAdd, 0)
	b := proportion(cur, d, toAdd, a)
	if a != 6 || b != 4 {
		t.Errorf("proportions = %d, %d; want 6, 4 (8*23/13=14.15, 5*23/13=8.85)", a, b)
	}
	// Scaling to zero takes everything.
	zero := rolling(0, intstr.FromInt32(3), intstr.FromInt32(2))
	if got := fraction(old, zero); got != -8 {
		t.Errorf("fraction to zero = %d, want -8", got)
	}
}

func TestTemplateHashAndEquality(t *testing.T) {
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "v1"}}}}
	h1 := ComputeHash(&tmpl, nil)
	if h1 != ComputeHash(tmpl.DeepCopy(), nil) {
		t.Fatal("hash not stable")
	}
	one := int32(1)
	if h1 == ComputeHash(&tmpl, &one) {
		t.Fatal("collisionCount must change the hash")
	}
	labelled := tmpl.DeepCopy()
	labelled.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = h1
	if !EqualIgnoreHash(&tmpl, labelled) {
		t.Fatal("templates differing only by pod-template-hash must be equal")
	}
	changed := tmpl.DeepCopy()
	changed.Spec.Containers[0].Image = "v2"
	if EqualIgnoreHash(&tmpl, changed) || ComputeHash(changed, nil) == h1 {
		t.Fatal("an image change must make a new template")
	}
}

func TestSetRevisionKeepsHistory(t *testing.T) {
	r := rs("x", 0, map[string]string{RevisionAnnotation: "1"})
	if !setRevision(r, "3") || r.Annotations[RevisionAnnotation] != "3" || r.Annotations[RevisionHistoryAnnotation] != "1" {
		t.Fatalf("annotations = %v", r.Annotations)
	}
	if setRevision(r, "2") {
		t.Fatal("revision must not go backwards")
	}
}
