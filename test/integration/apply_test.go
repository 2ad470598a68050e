package integration

import (
	"testing"

	"github.com/kstack/kstack/test/integration/framework"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
)

func TestServerSideApply_CreatesMergesAndReportsConflicts(t *testing.T) {
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	cms := s.Client.CoreV1().ConfigMaps("default")

	// Apply creates the object and records the manager's fields.
	cm, err := cms.Apply(ctx, corev1ac.ConfigMap("ssa", "default").WithData(map[string]string{"a": "1"}),
		metav1.ApplyOptions{FieldManager: "alice"})
	if err != nil {
		t.Fatalf("apply (create): %v", err)
	}
	if cm.Data["a"] != "1" || len(cm.ManagedFields) != 1 || cm.ManagedFields[0].Manager != "alice" ||
		cm.ManagedFields[0].Operation != metav1.ManagedFieldsOperationApply {
		t.Fatalf("after create: data %v, managedFields %+v", cm.Data, cm.ManagedFields)
	}

	// Another manager adds its own field: both survive.
	cm, err = cms.Apply(ctx, corev1ac.ConfigMap("ssa", "default").WithData(map[string]string{"b": "2"}),
		metav1.ApplyOptions{FieldManager: "bob"})
	if err != nil {
		t.Fatalf("apply (bob): %v", err)
	}
	if cm.Data["a"] != "1" || cm.Data["b"] != "2" {
		t.Fatalf("merge lost a field: %v", cm.Data)
	}

	// Changing alice's field as bob is a conflict...
	_, err = cms.Apply(ctx, corev1ac.ConfigMap("ssa", "default").WithData(map[string]string{"a": "9", "b": "2"}),
		metav1.ApplyOptions{FieldManager: "bob"})
	if !apierrors.IsConflict(err) {
		t.Fatalf("conflicting apply: err = %v, want 409 Conflict", err)
	}
	// ...unless forced, which moves the field to bob.
	cm, err = cms.Apply(ctx, corev1ac.ConfigMap("ssa", "default").WithData(map[string]string{"a": "9", "b": "2"}),
		metav1.ApplyOptions{FieldManager: "bob", Force: true})
	if err != nil {
		t.Fatalf("forced apply: %v", err)
	}
	if cm.Data["a"] != "9" {
		t.Fatalf("forced apply did not take: %v", cm.Data)
	}

	// Alice drops her (now lost) field from her configuration: nothing she
	// no longer owns is removed, and a field only she owned goes away.
	if _, err := cms.Apply(ctx, corev1ac.ConfigMap("ssa", "default").WithData(map[string]string{"c": "3"}),
		metav1.ApplyOptions{FieldManager: "alice"}); err != nil {
		t.Fatal(err)
	}
	cm, err = cms.Apply(ctx, corev1ac.ConfigMap("ssa", "default").WithData(map[string]string{}),
		metav1.ApplyOptions{FieldManager: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if cm.Data["a"] != "9" || cm.Data["b"] != "2" {
		t.Fatalf("bob's fields must stay: %v", cm.Data)
	}
	if _, ok := cm.Data["c"]; ok {
		t.Fatalf("alice's removed field c should be gone: %v", cm.Data)
	}

	// A manager is required.
	_, err = cms.Apply(ctx, corev1ac.ConfigMap("ssa", "default"), metav1.ApplyOptions{})
	if !apierrors.IsBadRequest(err) {
		t.Fatalf("apply without fieldManager: err = %v, want 400", err)
	}
}
