package admission

import (
	"context"
	"sort"
	"strconv"
	"testing"

	"github.com/kstack/kstack/pkg/auth"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// fakeStore is a map of objects by resource, namespace and name.
type fakeStore struct {
	objs map[schema.GroupResource]map[string]runtime.Object
	rv   int
	// conflicts makes the next n quota status writes fail with 409 (and
	// bumps the stored quota's resourceVersion, as a concurrent writer).
	conflicts int
	writes    int
}

func newFakeStore(objs ...runtime.Object) *fakeStore {
	f := &fakeStore{objs: map[schema.GroupResource]map[string]runtime.Object{}}
	for _, o := range objs {
		f.add(o)
	}
	return f
}

func grOf(o runtime.Object) schema.GroupResource {
	switch o.(type) {
	case *corev1.Namespace:
		return grNamespaces
	case *corev1.ServiceAccount:
		return grServiceAccounts
	case *corev1.LimitRange:
		return grLimitRanges
	case *corev1.ResourceQuota:
		return grResourceQuotas
	}
	panic("fakeStore: unknown kind")
}

func (f *fakeStore) add(o runtime.Object) {
	acc, _ := meta.Accessor(o)
	f.rv++
	acc.SetResourceVersion(strconv.Itoa(f.rv))
	gr := grOf(o)
	if f.objs[gr] == nil {
		f.objs[gr] = map[string]runtime.Object{}
	}
	f.objs[gr][acc.GetNamespace()+"/"+acc.GetName()] = o
}

func (f *fakeStore) Get(_ context.Context, gr schema.GroupResource, ns, name string) (runtime.Object, error) {
	o, ok := f.objs[gr][ns+"/"+name]
	if !ok {
		return nil, apierrors.NewNotFound(gr, name)
	}
	return o.DeepCopyObject(), nil
}

func (f *fakeStore) List(_ context.Context, gr schema.GroupResource, ns string) ([]runtime.Object, error) {
	var keys []string
	for k, o := range f.objs[gr] {
		if acc, _ := meta.Accessor(o); acc.GetNamespace() == ns {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := make([]runtime.Object, 0, len(keys))
	for _, k := range keys {
		out = append(out, f.objs[gr][k].DeepCopyObject())
	}
	return out, nil
}

func (f *fakeStore) UpdateQuotaStatus(_ context.Context, q *corev1.ResourceQuota) error {
	f.writes++
	cur, ok := f.objs[grResourceQuotas][q.Namespace+"/"+q.Name].(*corev1.ResourceQuota)
	if !ok {
		return apierrors.NewNotFound(grResourceQuotas, q.Name)
	}
	if f.conflicts > 0 {
		f.conflicts--
		f.rv++
		cur.ResourceVersion = strconv.Itoa(f.rv)
		return apierrors.NewConflict(grResourceQuotas, q.Name, nil)
	}
	if cur.ResourceVersion != q.ResourceVersion {
		return apierrors.NewConflict(grResourceQuotas, q.Name, nil)
	}
	n := cur.DeepCopy()
	n.Status = *q.Status.DeepCopy()
	f.add(n)
	return nil
}

func (f *fakeStore) quota(ns, name string) *corev1.ResourceQuota {
	return f.objs[grResourceQuotas][ns+"/"+name].(*corev1.ResourceQuota)
}

// Fixtures.

var podsGVR = schema.GroupVersionResource{Version: "v1", Resource: "pods"}

func podAttrs(op Operation, pod *corev1.Pod) *Attributes {
	return &Attributes{Operation: op, Resource: podsGVR, Kind: corev1.SchemeGroupVersion.WithKind("Pod"),
		Namespace: pod.Namespace, Name: pod.Name, Object: pod, User: &auth.User{Name: "alice"}}
}

func newPod(name string, containers ...corev1.Container) *corev1.Pod {
	if len(containers) == 0 {
		containers = []corev1.Container{{Name: "c", Image: "busybox"}}
	}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}, Spec: corev1.PodSpec{Containers: containers}}
}

func container(name string, requests, limits corev1.ResourceList) corev1.Container {
	return corev1.Container{Name: name, Image: "busybox", Resources: corev1.ResourceRequirements{Requests: requests, Limits: limits}}
}

// rl builds a resource list from name, quantity pairs.
func rl(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func mustForbidden(t *testing.T, err error, want string) {
	t.Helper()
	if !apierrors.IsForbidden(err) {
		t.Fatalf("want 403 %q, got %v", want, err)
	}
	if err.Error() != want {
		t.Fatalf("message:\n got: %s\nwant: %s", err.Error(), want)
	}
}
