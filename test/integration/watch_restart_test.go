package integration

import (
	"fmt"
	"testing"
	"time"

	"github.com/kstack/kstack/test/integration/framework"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// nextEvent waits for one event from w.
func nextEvent(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatalf("watch closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatalf("no watch event within 10s")
	}
	return watch.Event{}
}

// noEvent checks that w stays quiet for a short while.
func noEvent(t *testing.T, w watch.Interface, d time.Duration) {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if ok {
			t.Fatalf("unexpected event %s %v", ev.Type, ev.Object)
		}
	case <-time.After(d):
	}
}

func describeCM(ev watch.Event) string {
	cm, ok := ev.Object.(*corev1.ConfigMap)
	if !ok {
		return fmt.Sprintf("%s %T %v", ev.Type, ev.Object, ev.Object)
	}
	return fmt.Sprintf("%s %s=%s", ev.Type, cm.Name, cm.Data["v"])
}

// TestWatch_ResumeAfterRestartMissesAndRepeatsNothing watches config maps,
// stops the apiserver, writes through a second apiserver while the first
// is down, restarts the first and resumes the watch from the last
// resourceVersion seen: exactly the writes made since arrive, in order.
func TestWatch_ResumeAfterRestartMissesAndRepeatsNothing(t *testing.T) {
	t.Parallel()
	a := framework.Start(t, framework.Options{})
	b := framework.Start(t, framework.Options{EtcdEndpoints: a.EtcdEndpoints})
	ctx := t.Context()
	ns := createNamespace(t, a.Client, "resume")
	create := func(s *framework.Server, name, v string) {
		t.Helper()
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"v": v}}
		if _, err := s.Client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	update := func(s *framework.Server, name, v string) {
		t.Helper()
		cm, err := s.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cm.Data["v"] = v
		if _, err := s.Client.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := a.Client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := a.Client.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	create(a, "a", "1")
	create(a, "b", "1")
	lastRV := ""
	for _, want := range []string{"ADDED a=1", "ADDED b=1"} {
		ev := nextEvent(t, w)
		if got := describeCM(ev); got != want {
			t.Fatalf("before restart: got %q, want %q", got, want)
		}
		lastRV = ev.Object.(*corev1.ConfigMap).ResourceVersion
	}
	w.Stop()

	a.Stop()
	update(b, "a", "2")
	create(b, "c", "1")
	if err := b.Client.CoreV1().ConfigMaps(ns).Delete(ctx, "b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	a2 := a.Restart(t, framework.Options{})

	w2, err := a2.Client.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: lastRV})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Stop()
	// A filtered resume sees only its objects (metadata.name=c).
	wc, err := a2.Client.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: lastRV, FieldSelector: "metadata.name=c"})
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Stop()
	update(a2, "c", "2")
	for _, want := range []string{"MODIFIED a=2", "ADDED c=1", "DELETED b=1", "MODIFIED c=2"} {
		if got := describeCM(nextEvent(t, w2)); got != want {
			t.Fatalf("after restart: got %q, want %q", got, want)
		}
	}
	for _, want := range []string{"ADDED c=1", "MODIFIED c=2"} {
		if got := describeCM(nextEvent(t, wc)); got != want {
			t.Fatalf("filtered after restart: got %q, want %q", got, want)
		}
	}
	noEvent(t, w2, 300*time.Millisecond)
	noEvent(t, wc, 100*time.Millisecond)
}
