package admission

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func quota(name string, hard, used corev1.ResourceList, scopes ...corev1.ResourceQuotaScope) *corev1.ResourceQuota {
	q := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Spec: corev1.ResourceQuotaSpec{Hard: hard, Scopes: scopes}}
	if used != nil {
		q.Status = corev1.ResourceQuotaStatus{Hard: hard.DeepCopy(), Used: used}
	}
	return q
}

func createAttrs(resource, group string, obj runtime.Object) *Attributes {
	return &Attributes{Operation: Create, Resource: schema.GroupVersionResource{Group: group, Version: "v1", Resource: resource},
		Namespace: "ns", Name: "x", Object: obj}
}

func TestResourceQuota_ExceededAndCharged(t *testing.T) {
	withRequests := func() *corev1.Pod {
		return newPod("p", container("c", rl("cpu", "500m", "memory", "1Gi"), rl("cpu", "1", "memory", "1Gi")))
	}
	tests := []struct {
		name     string
		quota    *corev1.ResourceQuota
		pod      *corev1.Pod
		want     string
		wantUsed corev1.ResourceList // after the charge
	}{
		{"pods at the limit", quota("q", rl("pods", "2"), rl("pods", "2")), newPod("p"),
			`pods "p" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2`, nil},
		{"pods below the limit", quota("q", rl("pods", "2"), rl("pods", "1")), newPod("p"), "", rl("pods", "2")},
		{"cpu requests over", quota("q", rl("requests.cpu", "1", "pods", "10"), rl("requests.cpu", "600m", "pods", "1")), withRequests(),
			`pods "p" is forbidden: exceeded quota: q, requested: requests.cpu=500m, used: requests.cpu=600m, limited: requests.cpu=1`, nil},
		{"compute charged", quota("q", rl("requests.cpu", "2", "limits.memory", "4Gi", "count/pods", "5"), rl()), withRequests(),
			"", rl("requests.cpu", "500m", "limits.memory", "1Gi", "count/pods", "1")},
		{"missing requests", quota("q", rl("requests.cpu", "2", "limits.memory", "4Gi"), rl()), newPod("p", container("c", nil, nil), container("d", rl("cpu", "1"), nil)),
			`pods "p" is forbidden: failed quota: q: must specify limits.memory for: c,d; requests.cpu for: c`, nil},
		{"status not synced: spec.hard is enforced", quota("q", rl("pods", "0"), nil), newPod("p"),
			`pods "p" is forbidden: exceeded quota: q, requested: pods=1, used: pods=0, limited: pods=0`, nil},
		{"status not synced: first charge sets status.hard", quota("q", rl("pods", "3", "services", "1"), nil), newPod("p"),
			"", rl("pods", "1", "services", "0")},
		{"BestEffort scope skips a pod with requests", quota("q", rl("pods", "0"), rl("pods", "0"), corev1.ResourceQuotaScopeBestEffort), withRequests(), "", nil},
		{"NotBestEffort scope counts it", quota("q", rl("pods", "0"), rl("pods", "0"), corev1.ResourceQuotaScopeNotBestEffort), withRequests(),
			`pods "p" is forbidden: exceeded quota: q, requested: pods=1, used: pods=0, limited: pods=0`, nil},
		{"Terminating scope skips a pod without a deadline", quota("q", rl("pods", "0"), rl("pods", "0"), corev1.ResourceQuotaScopeTerminating), newPod("p"), "", nil},
		{"unrelated resources do not match", quota("q", rl("services", "0"), rl("services", "0")), newPod("p"), "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newFakeStore(tt.quota)
			err := NewResourceQuota(store).Validate(context.Background(), podAttrs(Create, tt.pod))
			if tt.want != "" {
				mustForbidden(t, err, tt.want)
				if store.writes != 0 {
					t.Errorf("a refused request charged the quota")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			q := store.quota("ns", "q")
			if tt.wantUsed == nil {
				if store.writes != 0 {
					t.Errorf("quota written: %v", q.Status.Used)
				}
				return
			}
			if prettyPrint(q.Status.Used) != prettyPrint(tt.wantUsed) {
				t.Errorf("used = %s, want %s", prettyPrint(q.Status.Used), prettyPrint(tt.wantUsed))
			}
			if prettyPrint(q.Status.Hard) != prettyPrint(q.Spec.Hard) {
				t.Errorf("status.hard = %s, want spec.hard %s", prettyPrint(q.Status.Hard), prettyPrint(q.Spec.Hard))
			}
		})
	}
}

func TestResourceQuota_CountsOtherResources(t *testing.T) {
	tests := []struct {
		name            string
		resource, group string
		obj             runtime.Object
		hard            corev1.ResourceList
		want            string
	}{
		{"configmaps legacy name", "configmaps", "", &corev1.ConfigMap{}, rl("configmaps", "0"),
			`configmaps "x" is forbidden: exceeded quota: q, requested: configmaps=1, used: configmaps=0, limited: configmaps=0`},
		{"count/secrets", "secrets", "", &corev1.Secret{}, rl("count/secrets", "0"),
			`secrets "x" is forbidden: exceeded quota: q, requested: count/secrets=1, used: count/secrets=0, limited: count/secrets=0`},
		{"count/deployments.apps", "deployments", "apps", &corev1.Pod{}, rl("count/deployments.apps", "0"),
			`deployments.apps "x" is forbidden: exceeded quota: q, requested: count/deployments.apps=1, used: count/deployments.apps=0, limited: count/deployments.apps=0`},
		{"node ports", "services", "", &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80}, {Port: 443}}}},
			rl("services.nodeports", "1"),
			`services "x" is forbidden: exceeded quota: q, requested: services.nodeports=2, used: services.nodeports=0, limited: services.nodeports=1`},
		{"load balancers", "services", "", &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}},
			rl("services.loadbalancers", "0"),
			`services "x" is forbidden: exceeded quota: q, requested: services.loadbalancers=1, used: services.loadbalancers=0, limited: services.loadbalancers=0`},
		{"claim storage", "persistentvolumeclaims", "", &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{
			Resources: corev1.VolumeResourceRequirements{Requests: rl("storage", "5Gi")}}}, rl("requests.storage", "4Gi"),
			`persistentvolumeclaims "x" is forbidden: exceeded quota: q, requested: requests.storage=5Gi, used: requests.storage=0, limited: requests.storage=4Gi`},
		{"a ClusterIP service is not a node port", "services", "", &corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}},
			rl("services.nodeports", "0"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newFakeStore(quota("q", tt.hard, nil))
			err := NewResourceQuota(store).Validate(context.Background(), createAttrs(tt.resource, tt.group, tt.obj))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			mustForbidden(t, err, tt.want)
		})
	}
}

func TestResourceQuota_ServiceUpdateChargesTheDelta(t *testing.T) {
	store := newFakeStore(quota("q", rl("services.nodeports", "3", "services", "5"), rl("services.nodeports", "1", "services", "1")))
	old := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "ns", ResourceVersion: "7"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80}}}}
	svc := old.DeepCopy()
	svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Port: 443})
	a := createAttrs("services", "", svc)
	a.Operation, a.OldObject = Update, old
	if err := NewResourceQuota(store).Validate(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if got := prettyPrint(store.quota("ns", "q").Status.Used); got != "services=1,services.nodeports=2" {
		t.Errorf("used = %s, want services=1,services.nodeports=2", got)
	}
}

func TestResourceQuota_DryRunDoesNotCharge(t *testing.T) {
	store := newFakeStore(quota("q", rl("pods", "1"), rl("pods", "0")))
	a := podAttrs(Create, newPod("p"))
	a.DryRun = true
	if err := NewResourceQuota(store).Validate(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if store.writes != 0 {
		t.Errorf("dry run wrote the quota")
	}
}

func TestResourceQuota_RetriesConflicts(t *testing.T) {
	store := newFakeStore(quota("a", rl("pods", "5"), rl("pods", "1")), quota("b", rl("pods", "5"), rl("pods", "3")))
	store.conflicts = 2 // a concurrent writer beats the first two writes
	if err := NewResourceQuota(store).Validate(context.Background(), podAttrs(Create, newPod("p"))); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"a": "pods=2", "b": "pods=4"} {
		if got := prettyPrint(store.quota("ns", name).Status.Used); got != want {
			t.Errorf("quota %s used = %s, want %s (charged exactly once)", name, got, want)
		}
	}
	store.conflicts = 1000
	err := NewResourceQuota(store).Validate(context.Background(), podAttrs(Create, newPod("p2")))
	if !apierrors.IsConflict(err) {
		t.Errorf("endless conflicts: want 409, got %v", err)
	}
}

func TestResourceQuota_PriorityClassScopeSelector(t *testing.T) {
	q := quota("q", rl("pods", "0"), rl("pods", "0"))
	q.Spec.ScopeSelector = &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{{
		ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"high"}}}}
	for class, refused := range map[string]bool{"high": true, "low": false, "": false} {
		pod := newPod("p")
		pod.Spec.PriorityClassName = class
		err := NewResourceQuota(newFakeStore(q.DeepCopy())).Validate(context.Background(), podAttrs(Create, pod))
		if got := apierrors.IsForbidden(err); got != refused {
			t.Errorf("priority class %q: refused = %v (%v), want %v", class, got, err, refused)
		}
	}
}
