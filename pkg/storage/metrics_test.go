package storage

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
)

func TestMetrics_CountObjectsAndRequests(t *testing.T) {
	reg := prometheus.NewRegistry()
	if err := RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if err := RegisterMetrics(reg); err == nil {
		t.Fatal("registering twice on one registry should fail")
	}
	c := newCacher(t)
	mustCreate(t, c, pod("ns", "a"))
	mustCreate(t, c, pod("ns", "b"))
	if err := c.GetList(t.Context(), c.cfg.ListKey(""), ListOptions{}, &corev1.PodList{}); err != nil {
		t.Fatal(err)
	}
	var m dto.Metric
	if err := storageObjects.WithLabelValues("pods").Write(&m); err != nil || m.GetGauge().GetValue() != 2 {
		t.Fatalf("apiserver_storage_objects{resource=pods} = %v, %v; want 2", m.GetGauge().GetValue(), err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range families {
		if f.GetName() == "etcd_request_duration_seconds" && len(f.GetMetric()) > 0 {
			found = true
		}
	}
	if !found {
		t.Fatal("etcd_request_duration_seconds has no series")
	}
}

func TestWatch_ObjectKeySeesOnlyThatObject(t *testing.T) {
	c := newCacher(t)
	for name, s := range map[string]Interface{"store": c.store, "cacher": c} {
		t.Run(name, func(t *testing.T) {
			ns := "ns-" + name
			mustCreate(t, s, pod(ns, "a"))
			w, err := s.Watch(t.Context(), c.cfg.ObjectKey(ns, "a"), ListOptions{ResourceVersion: "0"})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			if ev := recv(t, w); ev.Type != "ADDED" || ev.Object.(*corev1.Pod).Name != "a" {
				t.Fatalf("initial event %s", eventString(ev))
			}
			mustCreate(t, s, pod(ns, "ab")) // shares the key's prefix
			out := &corev1.Pod{}
			if err := s.GuaranteedUpdate(t.Context(), c.cfg.ObjectKey(ns, "a"), out, false, nil, setLabel("x", "y")); err != nil {
				t.Fatal(err)
			}
			if got := eventString(recv(t, w)); got != "MODIFIED "+ns+"/a@"+out.ResourceVersion {
				t.Fatalf("got %s, want the update of a only", got)
			}
		})
	}
}
