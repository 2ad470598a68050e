package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// versionTransformer is a fake Transformer: it writes "v<N>:<key>:" + the
// data reversed with the current version N and reads every version, stale
// when it is not the current one. Binding the key checks the Store passes
// the right key everywhere.
type versionTransformer struct{ current atomic.Int32 }

func (v *versionTransformer) TransformToStorage(_ context.Context, data []byte, key string) ([]byte, error) {
	return append([]byte(fmt.Sprintf("v%d:%s:", v.current.Load(), key)), reversed(data)...), nil
}

func (v *versionTransformer) TransformFromStorage(_ context.Context, data []byte, key string) ([]byte, bool, error) {
	for ver := int32(1); ver <= 9; ver++ {
		prefix := []byte(fmt.Sprintf("v%d:%s:", ver, key))
		if bytes.HasPrefix(data, prefix) {
			return reversed(data[len(prefix):]), ver != v.current.Load(), nil
		}
	}
	return nil, false, errors.New("no version prefix for this key")
}

func reversed(b []byte) []byte {
	out := make([]byte, len(b))
	for i := range b {
		out[len(b)-1-i] = b[i]
	}
	return out
}

// transformedStore is a pods store with a versionTransformer at version 1.
func transformedStore(t *testing.T) (*Store, *versionTransformer, func(key string) []byte) {
	t.Helper()
	s, client := newStore(t)
	vt := &versionTransformer{}
	vt.current.Store(1)
	s.cfg.Transformer = vt
	raw := func(key string) []byte {
		resp, err := client.Get(t.Context(), key)
		if err != nil || len(resp.Kvs) != 1 {
			t.Fatalf("raw get %s: %v (%d kvs)", key, err, len(resp.Kvs))
		}
		return resp.Kvs[0].Value
	}
	return s, vt, raw
}

func TestStore_TransformerAppliesToEveryReadAndWrite(t *testing.T) {
	s, _, raw := transformedStore(t)
	ctx := t.Context()
	key := s.cfg.ObjectKey("ns", "a")
	created := mustCreate(t, s, pod("ns", "a"))
	if v := raw(key); !bytes.HasPrefix(v, []byte("v1:"+key+":")) {
		t.Fatalf("stored value %q is not transformed", v[:min(len(v), 40)])
	}

	got := &corev1.Pod{}
	if err := s.Get(ctx, key, GetOptions{}, got); err != nil || got.Name != "a" || got.ResourceVersion != created.ResourceVersion {
		t.Fatalf("get: %v %s@%s", err, got.Name, got.ResourceVersion)
	}
	list := &corev1.PodList{}
	if err := s.GetList(ctx, s.cfg.ListKey(""), ListOptions{}, list); err != nil || len(list.Items) != 1 {
		t.Fatalf("list: %v, %d items", err, len(list.Items))
	}

	w, err := s.Watch(ctx, s.cfg.ListKey(""), ListOptions{ResourceVersion: created.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	updated := &corev1.Pod{}
	if err := s.GuaranteedUpdate(ctx, key, updated, false, nil, setLabel("x", "1")); err != nil {
		t.Fatal(err)
	}
	if ev := recv(t, w); ev.Type != watch.Modified || ev.Object.(*corev1.Pod).Labels["x"] != "1" {
		t.Fatalf("watch event %s", eventString(ev))
	}
	out := &corev1.Pod{}
	if err := s.Delete(ctx, key, out, nil, nil); err != nil || out.Labels["x"] != "1" {
		t.Fatalf("delete: %v, last state labels %v", err, out.Labels)
	}
	if ev := recv(t, w); ev.Type != watch.Deleted || ev.Object.(*corev1.Pod).Name != "a" {
		t.Fatalf("watch event %s", eventString(ev))
	}
}

func TestCacher_DecodesTransformedValues(t *testing.T) {
	s, _, _ := transformedStore(t)
	mustCreate(t, s, pod("ns", "before"))
	c, err := NewCacher(s, s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Run(t.Context())
	t.Cleanup(c.Stop)
	if err := c.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	w, err := c.Watch(t.Context(), s.cfg.ListKey(""), ListOptions{ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if ev := recv(t, w); ev.Type != watch.Added || ev.Object.(*corev1.Pod).Name != "before" {
		t.Fatalf("initial event %s", eventString(ev))
	}
	mustCreate(t, c, pod("ns", "after"))
	if ev := recv(t, w); ev.Type != watch.Added || ev.Object.(*corev1.Pod).Name != "after" {
		t.Fatalf("event %s", eventString(ev))
	}
	list := &corev1.PodList{}
	if err := c.GetList(t.Context(), s.cfg.ListKey(""), ListOptions{ResourceVersion: "0"}, list); err != nil || len(list.Items) != 2 {
		t.Fatalf("cached list: %v, %d items", err, len(list.Items))
	}
}

func TestStore_NoOpUpdateRewritesOnlyStaleValues(t *testing.T) {
	s, vt, raw := transformedStore(t)
	ctx := t.Context()
	key := s.cfg.ObjectKey("ns", "a")
	created := mustCreate(t, s, pod("ns", "a"))
	noop := func(existing runtime.Object) (runtime.Object, error) { return existing, nil }

	tests := []struct {
		name      string
		version   int32
		wantWrite bool
	}{
		{"current version: nothing written", 1, false},
		{"new write version: stale value rewritten", 2, true},
		{"rewritten value is current again", 2, false},
	}
	rv := created.ResourceVersion
	for _, tt := range tests {
		vt.current.Store(tt.version)
		out := &corev1.Pod{}
		if err := s.GuaranteedUpdate(ctx, key, out, false, nil, noop); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if wrote := out.ResourceVersion != rv; wrote != tt.wantWrite {
			t.Fatalf("%s: wrote=%v (rv %s -> %s), want %v", tt.name, wrote, rv, out.ResourceVersion, tt.wantWrite)
		}
		if want := fmt.Sprintf("v%d:", tt.version); !bytes.HasPrefix(raw(key), []byte(want)) {
			t.Fatalf("%s: stored value does not start with %s", tt.name, want)
		}
		rv = out.ResourceVersion
	}
}

func TestStore_TransformerErrorIsInternalError(t *testing.T) {
	s, _, _ := transformedStore(t)
	ctx := t.Context()
	key := s.cfg.ObjectKey("ns", "a")
	if _, err := s.client.Put(ctx, key, "not transformed"); err != nil {
		t.Fatal(err)
	}
	err := s.Get(ctx, key, GetOptions{}, &corev1.Pod{})
	if !apierrors.IsInternalError(err) {
		t.Fatalf("get of an untransformable value: %v, want an internal error", err)
	}
	if err := s.GetList(ctx, s.cfg.ListKey(""), ListOptions{}, &corev1.PodList{}); !apierrors.IsInternalError(err) {
		t.Fatalf("list: %v, want an internal error", err)
	}
	if err := s.GuaranteedUpdate(ctx, key, &corev1.Pod{}, false, nil, setLabel("x", "1")); !apierrors.IsInternalError(err) {
		t.Fatalf("update: %v, want an internal error", err)
	}
}

// describedTransformer reads every value as garbage that does not decode
// and says which (fake) key wrote it, as a cipher without authentication
// given another key of the same name can.
type describedTransformer struct{ versionTransformer }

func (d *describedTransformer) TransformFromStorage(context.Context, []byte, string) ([]byte, bool, error) {
	return []byte("\x07garbage"), false, nil
}

func (d *describedTransformer) DescribeStored(data []byte) string {
	if bytes.HasPrefix(data, []byte("v1:")) {
		return `fake key "k1"`
	}
	return ""
}

func TestStore_UndecodableTransformedValueNamesTheKey(t *testing.T) {
	s, _, _ := transformedStore(t)
	ctx := t.Context()
	key := s.cfg.ObjectKey("ns", "a")
	mustCreate(t, s, pod("ns", "a"))
	dt := &describedTransformer{}
	dt.current.Store(1)
	s.cfg.Transformer = dt
	want := `decode pods read with fake key "k1": `
	check := func(what string, err error) {
		t.Helper()
		if !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), want) ||
			!strings.Contains(err.Error(), "was the value written with a different key of that name?") {
			t.Errorf("%s: %v, want an internal error containing %q and the hint", what, err, want)
		}
	}
	check("get", s.Get(ctx, key, GetOptions{}, &corev1.Pod{}))
	check("list", s.GetList(ctx, s.cfg.ListKey(""), ListOptions{}, &corev1.PodList{}))
	check("update", s.GuaranteedUpdate(ctx, key, &corev1.Pod{}, false, nil, setLabel("x", "1")))

	// A value the transformer does not describe: the plain decode error.
	if _, err := s.client.Put(ctx, key, "v2:"+key+":x"); err != nil {
		t.Fatal(err)
	}
	err := s.Get(ctx, key, GetOptions{}, &corev1.Pod{})
	if !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), "decode pods: ") || strings.Contains(err.Error(), "read with") {
		t.Errorf("get of an undescribed value: %v, want the plain decode error", err)
	}
}
