package controller

import (
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestGarbageCollector_DeploymentDeletionPropagation(t *testing.T) {
	c := startCluster(t, []string{"deployment", "replicaset", "garbagecollector"})
	ctx := t.Context()
	for _, tc := range []struct {
		policy metav1.DeletionPropagation
		// orphaned: ReplicaSets and pods outlive the Deployment.
		orphaned bool
	}{
		{metav1.DeletePropagationBackground, false},
		{metav1.DeletePropagationForeground, false},
		{metav1.DeletePropagationOrphan, true},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			ns := c.namespace(t, "gc-"+strings.ToLower(string(tc.policy)))
			if _, err := c.client.AppsV1().Deployments(ns).Create(ctx, deployment("web", 3, "web:v1"), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			eventually(t, 30*time.Second, "3 pods", func() (bool, error) {
				return len(activePods(c.pods(t, ns, "app=web"))) == 3, nil
			})
			policy := tc.policy
			if err := c.client.AppsV1().Deployments(ns).Delete(ctx, "web", metav1.DeleteOptions{PropagationPolicy: &policy}); err != nil {
				t.Fatal(err)
			}
			if tc.policy == metav1.DeletePropagationForeground {
				// The Deployment is still there, waiting for its dependents.
				d, err := c.client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
				if err == nil && (d.DeletionTimestamp == nil || len(d.Finalizers) == 0) {
					t.Errorf("foreground deletion: deployment without deletionTimestamp/finalizer: %+v", d.ObjectMeta)
				}
			}
			eventually(t, 30*time.Second, "deployment gone", func() (bool, error) {
				_, err := c.client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
				return apierrors.IsNotFound(err), nil
			})
			if tc.orphaned {
				// Give the collector time to (wrongly) act, then check that
				// nothing went and the owner references are gone.
				time.Sleep(2 * time.Second)
				rss, _ := c.client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
				if len(rss.Items) != 1 || len(rss.Items[0].OwnerReferences) != 0 {
					t.Fatalf("orphaned ReplicaSets: %+v", rss.Items)
				}
				if n := len(activePods(c.pods(t, ns, "app=web"))); n != 3 {
					t.Fatalf("orphan deletion left %d pods, want 3", n)
				}
				return
			}
			eventually(t, 30*time.Second, "replicasets and pods gone", func() (bool, error) {
				rss, err := c.client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
				if err != nil {
					return false, err
				}
				return len(rss.Items) == 0 && len(c.pods(t, ns, "app=web")) == 0, nil
			})
		})
	}
}

func TestGarbageCollector_DanglingOwnerAndMismatchedUID(t *testing.T) {
	c := startCluster(t, []string{"garbagecollector"})
	ns := c.namespace(t, "dangling")
	ctx := t.Context()
	owner, err := c.client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owner"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(name string, refs ...metav1.OwnerReference) {
		_, err := c.client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: refs}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	live := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "owner", UID: owner.UID}
	wrongUID := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "owner", UID: "00000000-0000-0000-0000-000000000001"}
	missing := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "nobody", UID: "00000000-0000-0000-0000-000000000002"}
	mk("kept", live)
	mk("mismatch", wrongUID)
	mk("dangling", missing)
	mk("mixed", live, missing)
	for _, name := range []string{"mismatch", "dangling"} {
		eventually(t, 20*time.Second, name+" collected", func() (bool, error) {
			_, err := c.client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
	}
	eventually(t, 20*time.Second, "dangling reference removed from mixed", func() (bool, error) {
		cm, err := c.client.CoreV1().ConfigMaps(ns).Get(ctx, "mixed", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return len(cm.OwnerReferences) == 1 && cm.OwnerReferences[0].UID == owner.UID, nil
	})
	if _, err := c.client.CoreV1().ConfigMaps(ns).Get(ctx, "kept", metav1.GetOptions{}); err != nil {
		t.Fatalf("dependent of a live owner: %v", err)
	}
	// Deleting the owner collects its dependents.
	if err := c.client.CoreV1().ConfigMaps(ns).Delete(ctx, "owner", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"kept", "mixed"} {
		eventually(t, 20*time.Second, fmt.Sprintf("%s collected after its owner", name), func() (bool, error) {
			_, err := c.client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
	}
}

func TestNamespace_DeletionEmptiesAndRemovesIt(t *testing.T) {
	c := startCluster(t, []string{"namespace", "replicaset", "deployment", "garbagecollector"})
	ns := c.namespace(t, "doomed")
	ctx := t.Context()
	// 200 objects in 10 resource types.
	labels := map[string]string{"app": "x"}
	for i := 0; i < 20; i++ {
		name := fmt.Sprintf("o%d", i)
		must := func(_ any, err error) {
			if err != nil {
				t.Fatalf("create %s: %v", name, err)
			}
		}
		must(c.client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}))
		must(c.client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}))
		must(c.client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}))
		must(c.client.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{}))
		must(c.client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: podTemplate(nil, "x").Spec}, metav1.CreateOptions{}))
		must(c.client.CoreV1().Endpoints(ns).Create(ctx, &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}))
		must(c.client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: mustQuantity("1Gi")}}}}, metav1.CreateOptions{}))
		must(c.client.CoreV1().PodTemplates(ns).Create(ctx, &corev1.PodTemplate{ObjectMeta: metav1.ObjectMeta{Name: name}, Template: podTemplate(labels, "x")}, metav1.CreateOptions{}))
		must(c.client.CoreV1().ReplicationControllers(ns).Create(ctx, &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.ReplicationControllerSpec{Replicas: new(int32), Selector: labels, Template: ptrTemplate(podTemplate(labels, "x"))}}, metav1.CreateOptions{}))
		rs := replicaSet(name, 0, map[string]string{"rs": name})
		must(c.client.AppsV1().ReplicaSets(ns).Create(ctx, rs, metav1.CreateOptions{}))
	}
	if err := c.client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "namespace removed", func() (bool, error) {
		_, err := c.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	for _, check := range []func() (int, error){
		func() (int, error) {
			l, err := c.client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
			return lenOr(l, err)
		},
		func() (int, error) {
			l, err := c.client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
			return lenOr(l, err)
		},
	} {
		if n, err := check(); err != nil || n != 0 {
			t.Errorf("left in the removed namespace: %d (%v)", n, err)
		}
	}
}

func lenOr[T interface{ GetResourceVersion() string }](l T, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	switch v := any(l).(type) {
	case *corev1.ConfigMapList:
		return len(v.Items), nil
	case *appsv1.ReplicaSetList:
		return len(v.Items), nil
	}
	return 0, nil
}

func ptrTemplate(t corev1.PodTemplateSpec) *corev1.PodTemplateSpec { return &t }

// A namespace held by an object's finalizer reports why, with upstream's
// condition types and reasons, and goes once the finalizer is removed.
func TestNamespace_DeletionConditionsNameWhatRemains(t *testing.T) {
	c := startCluster(t, []string{"namespace"})
	ns := c.namespace(t, "held")
	ctx := t.Context()
	if _, err := c.client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held",
		Finalizers: []string{"example.com/hold"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want := map[corev1.NamespaceConditionType]struct {
		status corev1.ConditionStatus
		reason string
	}{
		corev1.NamespaceDeletionDiscoveryFailure: {corev1.ConditionFalse, "ResourcesDiscovered"},
		corev1.NamespaceDeletionContentFailure:   {corev1.ConditionFalse, "ContentDeleted"},
		corev1.NamespaceContentRemaining:         {corev1.ConditionTrue, "SomeResourcesRemain"},
		corev1.NamespaceFinalizersRemaining:      {corev1.ConditionTrue, "SomeFinalizersRemain"},
	}
	var last []corev1.NamespaceCondition
	eventually(t, 30*time.Second, "the namespace's deletion conditions", func() (bool, error) {
		n, err := c.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = n.Status.Conditions
		got := 0
		for _, cond := range n.Status.Conditions {
			if w, ok := want[cond.Type]; ok && cond.Status == w.status && cond.Reason == w.reason {
				got++
			}
		}
		return n.Status.Phase == corev1.NamespaceTerminating && got == len(want), nil
	})
	for _, cond := range last {
		if cond.Type == corev1.NamespaceFinalizersRemaining && !strings.Contains(cond.Message, "example.com/hold in 1 resource instances") {
			t.Errorf("FinalizersRemaining message %q does not name the finalizer", cond.Message)
		}
		if cond.Type == corev1.NamespaceContentRemaining && !strings.Contains(cond.Message, "configmaps has 1 resource instances") {
			t.Errorf("ContentRemaining message %q does not name the resource", cond.Message)
		}
	}
	cm, err := c.client.CoreV1().ConfigMaps(ns).Get(ctx, "held", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Finalizers = nil
	if _, err := c.client.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "namespace removed once the finalizer goes", func() (bool, error) {
		_, err := c.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}
