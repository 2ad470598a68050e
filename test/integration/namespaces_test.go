package integration

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kstack/kstack/test/integration/framework"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestNamespaces_Lifecycle covers the system namespaces, admission of
// content into missing and terminating namespaces, the kubernetes
// finalizer and finalize, and the immortal default namespace.
func TestNamespaces_Lifecycle(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	nss := s.Client.CoreV1().Namespaces()
	for _, name := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		ns, err := nss.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("system namespace %s: %v", name, err)
		}
		if ns.Status.Phase != corev1.NamespaceActive {
			t.Fatalf("%s phase %q", name, ns.Status.Phase)
		}
	}

	_, err := s.Client.CoreV1().ConfigMaps("nowhere").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}}, metav1.CreateOptions{})
	se := wantStatus(t, err, 404)
	if se.ErrStatus.Details == nil || se.ErrStatus.Details.Kind != "namespaces" || se.ErrStatus.Details.Name != "nowhere" {
		t.Fatalf("missing namespace details: %+v", se.ErrStatus.Details)
	}

	ns, err := nss.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "doomed"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ns.Spec.Finalizers) != 1 || ns.Spec.Finalizers[0] != corev1.FinalizerKubernetes || ns.Status.Phase != corev1.NamespaceActive {
		t.Fatalf("new namespace: finalizers %v phase %q", ns.Spec.Finalizers, ns.Status.Phase)
	}
	if _, err := s.Client.CoreV1().ConfigMaps("doomed").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "inside"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := nss.Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ns, err = nss.Get(ctx, "doomed", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("terminating namespace gone at once: %v", err)
	}
	if ns.Status.Phase != corev1.NamespaceTerminating || ns.DeletionTimestamp == nil || len(ns.Spec.Finalizers) != 1 {
		t.Fatalf("after delete: phase %q deletionTimestamp %v finalizers %v", ns.Status.Phase, ns.DeletionTimestamp, ns.Spec.Finalizers)
	}
	_, err = s.Client.CoreV1().ConfigMaps("doomed").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "late"}}, metav1.CreateOptions{})
	se = wantStatus(t, err, 403)
	if !strings.Contains(se.ErrStatus.Message, "is being terminated") {
		t.Fatalf("create in terminating namespace: %q", se.ErrStatus.Message)
	}
	// Existing content can still be changed and deleted (the namespace
	// controller empties it).
	if err := s.Client.CoreV1().ConfigMaps("doomed").Delete(ctx, "inside", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete content of a terminating namespace: %v", err)
	}
	// A plain update cannot drop the finalizer: only finalize can.
	upd := ns.DeepCopy()
	upd.Spec.Finalizers = nil
	if got, err := nss.Update(ctx, upd, metav1.UpdateOptions{}); err != nil || len(got.Spec.Finalizers) != 1 {
		t.Fatalf("update dropping finalizers: %v %v", err, got)
	}
	ns, _ = nss.Get(ctx, "doomed", metav1.GetOptions{})
	ns.Spec.Finalizers = nil
	if _, err := nss.Finalize(ctx, ns, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("finalize: %v", err)
	}
	if _, err := nss.Get(ctx, "doomed", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("after finalize: %v, want NotFound", err)
	}

	for _, name := range []string{"default", "kube-system", "kube-public"} {
		err := nss.Delete(ctx, name, metav1.DeleteOptions{})
		wantStatus(t, err, 403)
		if ns, err := nss.Get(ctx, name, metav1.GetOptions{}); err != nil || ns.DeletionTimestamp != nil {
			t.Fatalf("%s after refused delete: %v %v", name, err, ns.DeletionTimestamp)
		}
	}
}

// TestNamespaces_CreateRightAfterDeleteIsRefused deletes namespaces and
// at once creates content in them: the admission check must see the
// deletion even if its cache has not caught up yet.
func TestNamespaces_CreateRightAfterDeleteIsRefused(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	for i := range 20 {
		name := fmt.Sprintf("race-%d", i)
		createNamespace(t, s.Client, name)
		if err := s.Client.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err := s.Client.CoreV1().ConfigMaps(name).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "late"}}, metav1.CreateOptions{})
		if err == nil {
			t.Fatalf("round %d: created content in a namespace deleted just before", i)
		}
		wantStatus(t, err, 403)
	}
}
