package integration

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/kstack/kstack/test/integration/framework"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// podEvents starts a pod informer whose list options tweak filters and
// returns the stream of "add:<name>", "update:<name>", "delete:<name>".
func podEvents(t *testing.T, client kubernetes.Interface, tweak func(*metav1.ListOptions)) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTweakListOptions(tweak))
	inf := factory.Core().V1().Pods().Informer()
	events := make(chan string, 100)
	name := func(obj any) string {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		return obj.(*corev1.Pod).Name
	}
	inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { events <- "add:" + name(obj) },
		UpdateFunc: func(_, obj any) { events <- "update:" + name(obj) },
		DeleteFunc: func(obj any) { events <- "delete:" + name(obj) },
	})
	t.Cleanup(factory.Shutdown)
	t.Cleanup(cancel) // runs first: stop the informers before Shutdown waits
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("informer did not sync")
	}
	return events
}

// expectEvents reads the wanted events in order, then checks nothing else
// comes for a moment.
func expectEvents(t *testing.T, events <-chan string, want ...string) {
	t.Helper()
	for _, w := range want {
		select {
		case got := <-events:
			if got != w {
				t.Fatalf("event %q, want %q", got, w)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no event %q", w)
		}
	}
	select {
	case got := <-events:
		t.Fatalf("unexpected event %q", got)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestInformer_SelectorFilteredPodInformersSeeOnlyTheirPods runs a
// label-selector informer (app=web) and a field-selector informer
// (spec.nodeName=n1) over protobuf: objects entering the selection are
// added, leaving it deleted, and everything else is invisible.
func TestInformer_SelectorFilteredPodInformersSeeOnlyTheirPods(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	client, err := kubernetes.NewForConfig(s.ProtobufConfig())
	if err != nil {
		t.Fatal(err)
	}
	ns := createNamespace(t, client, "informers")
	pods := client.CoreV1().Pods(ns)
	// Present before the informers start: must come from the initial list.
	pre := newPod("pre-web", map[string]string{"app": "web"})
	pre.Spec.NodeName = "n1"
	if _, err := pods.Create(ctx, pre, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	byLabel := podEvents(t, client, func(o *metav1.ListOptions) { o.LabelSelector = "app=web" })
	byNode := podEvents(t, client, func(o *metav1.ListOptions) { o.FieldSelector = "spec.nodeName=n1" })
	expectEvents(t, byLabel, "add:pre-web")
	expectEvents(t, byNode, "add:pre-web")

	// A web pod, unscheduled: label informer only.
	if _, err := pods.Create(ctx, newPod("web-a", map[string]string{"app": "web"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A db pod: neither.
	if _, err := pods.Create(ctx, newPod("db-a", map[string]string{"app": "db"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	expectEvents(t, byLabel, "add:web-a")
	expectEvents(t, byNode)

	// Binding web-a and db-a to n1 brings them into the node informer.
	for _, name := range []string{"web-a", "db-a"} {
		b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: name}, Target: corev1.ObjectReference{Kind: "Node", Name: "n1"}}
		if err := pods.Bind(ctx, b, metav1.CreateOptions{}); err != nil {
			t.Fatalf("bind %s: %v", name, err)
		}
	}
	expectEvents(t, byNode, "add:web-a", "add:db-a")
	expectEvents(t, byLabel, "update:web-a")

	// Relabelling web-a out of app=web is a delete for the label informer.
	p, err := pods.Get(ctx, "web-a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Labels["app"] = "api"
	if _, err := pods.Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	expectEvents(t, byLabel, "delete:web-a")
	expectEvents(t, byNode, "update:web-a")

	// Deleting a bound pod with no grace period removes it.
	if err := pods.Delete(ctx, "pre-web", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}); err != nil {
		t.Fatal(err)
	}
	expectEvents(t, byLabel, "delete:pre-web")
	expectEvents(t, byNode, "delete:pre-web")
}

// TestInformer_SyncsByWatchListWithoutAList: client-go's reflectors
// stream their initial state with a watch-list (sendInitialEvents) by
// default; the informer syncs with every object and never LISTs.
func TestInformer_SyncsByWatchListWithoutAList(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ns := createNamespace(t, s.Client, "watchlist")
	// Every namespace gets the cluster CA in kube-root-ca.crt; count only ours.
	if err := s.Client.CoreV1().ConfigMaps(ns).Delete(ctx, "kube-root-ca.crt", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b", "c"} {
		if _, err := s.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	factory := informers.NewSharedInformerFactoryWithOptions(s.Client, 0, informers.WithNamespace(ns))
	lister := factory.Core().V1().ConfigMaps().Lister()
	inf := factory.Core().V1().ConfigMaps().Informer()
	defer factory.Shutdown()
	defer cancel()
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("informer did not sync")
	}
	for _, n := range []string{"a", "b", "c"} {
		if _, err := lister.ConfigMaps(ns).Get(n); err != nil {
			t.Fatalf("lister after sync misses %s: %v", n, err)
		}
	}
	_, _, metrics := rawGet(t, s, "/metrics", "")
	if regexp.MustCompile(`(?m)^apiserver_request_total\{[^}]*resource="configmaps"[^}]*verb="LIST"`).MatchString(metrics) {
		t.Fatalf("the informer fell back to LIST: the watch-list was refused")
	}
}
