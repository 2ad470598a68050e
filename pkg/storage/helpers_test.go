package storage

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kstack/kstack/api"
	"github.com/kstack/kstack/internal/testetcd"
)

// podConfig is the pods store as the REST layer builds it.
func podConfig(t testing.TB) Config {
	t.Helper()
	info, ok := runtime.SerializerInfoForMediaType(api.Codecs.SupportedMediaTypes(), runtime.ContentTypeProtobuf)
	if !ok {
		t.Fatal("no protobuf serializer")
	}
	codec := api.Codecs.CodecForVersions(info.Serializer, info.Serializer, corev1.SchemeGroupVersion, corev1.SchemeGroupVersion)
	return Config{
		Prefix:        "/registry/pods",
		GroupResource: corev1.Resource("pods"),
		Namespaced:    true,
		Codec:         codec,
		NewFunc:       func() runtime.Object { return &corev1.Pod{} },
		NewListFunc:   func() runtime.Object { return &corev1.PodList{} },
	}
}

// newStore starts a fresh etcd and returns a pods store on it.
func newStore(t testing.TB) (*Store, *clientv3.Client) {
	t.Helper()
	_, client := testetcd.Start(t)
	return NewStore(client, podConfig(t)), client
}

// pod is a fixture pod with optional labels "k=v".
func pod(ns, name string, kv ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + ns + "-" + name)},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	if len(kv) > 0 {
		p.Labels = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			p.Labels[kv[i]] = kv[i+1]
		}
	}
	return p
}

func mustCreate(t testing.TB, s Interface, p *corev1.Pod) *corev1.Pod {
	t.Helper()
	out := &corev1.Pod{}
	cfg := s.(interface{ Config() Config }).Config()
	if err := s.Create(context.Background(), cfg.ObjectKey(p.Namespace, p.Name), p, out); err != nil {
		t.Fatalf("create %s/%s: %v", p.Namespace, p.Name, err)
	}
	return out
}

func rvOf(t testing.TB, obj runtime.Object) int64 {
	t.Helper()
	rv, err := objectRV(obj)
	if err != nil {
		t.Fatal(err)
	}
	return rv
}

// setLabel returns an UpdateFunc that sets label k=v.
func setLabel(k, v string) UpdateFunc {
	return func(existing runtime.Object) (runtime.Object, error) {
		p := existing.(*corev1.Pod)
		if p.Labels == nil {
			p.Labels = map[string]string{}
		}
		p.Labels[k] = v
		return p, nil
	}
}

// recv reads one event from w, failing the test after a generous timeout
// (a hang guard, not a latency assertion).
func recv(t testing.TB, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("watch closed")
		}
		return ev
	case <-time.After(20 * time.Second):
		t.Fatal("no watch event in 20s")
	}
	return watch.Event{}
}

// eventString is "TYPE ns/name@rv" for comparing event sequences.
func eventString(ev watch.Event) string {
	switch o := ev.Object.(type) {
	case *corev1.Pod:
		return fmt.Sprintf("%s %s/%s@%s", ev.Type, o.Namespace, o.Name, o.ResourceVersion)
	case *metav1.Status:
		return fmt.Sprintf("%s %d %s", ev.Type, o.Code, o.Message)
	}
	return fmt.Sprintf("%s %T", ev.Type, ev.Object)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func fieldsOne(k, v string) fields.Selector { return fields.OneTermEqualSelector(k, v) }

func clientv3WithRev(rev int64) clientv3.OpOption { return clientv3.WithRev(rev) }
