package integration

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kstack/kstack/test/integration/framework"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// TestClients_MetadataAndDynamicInformers: the garbage collector's and
// namespace controller's kinds of informers (metadata-only watch, and
// unstructured) sync and see changes.
func TestClients_MetadataAndDynamicInformers(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ns := createNamespace(t, s.Client, "meta-inf")
	if _, err := s.Client.AppsV1().Deployments(ns).Create(ctx, newDeployment("before", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	gvr := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	mc, err := metadata.NewForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := dynamic.NewForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	mf := metadatainformer.NewSharedInformerFactory(mc, 0)
	df := dynamicinformer.NewDynamicSharedInformerFactory(dc, 0)
	events := make(chan string, 20)
	handler := func(kind string) cache.ResourceEventHandlerFuncs {
		name := func(obj any) string {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			return obj.(metav1.Object).GetName()
		}
		return cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { events <- kind + " add " + name(obj) },
			UpdateFunc: func(_, obj any) { events <- kind + " update " + name(obj) },
			DeleteFunc: func(obj any) { events <- kind + " delete " + name(obj) },
		}
	}
	mi := mf.ForResource(gvr).Informer()
	mi.AddEventHandler(handler("meta"))
	di := df.ForResource(gvr).Informer()
	di.AddEventHandler(handler("dyn"))
	defer mf.Shutdown()
	defer df.Shutdown()
	defer cancel()
	mf.Start(ctx.Done())
	df.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), mi.HasSynced, di.HasSynced) {
		t.Fatal("informers did not sync")
	}
	if _, err := s.Client.AppsV1().Deployments(ns).Create(ctx, newDeployment("after", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Client.AppsV1().Deployments(ns).Delete(ctx, "before", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	deadline := time.After(10 * time.Second)
	for len(got) < 6 {
		select {
		case e := <-events:
			got[e] = true
		case <-deadline:
			t.Fatalf("events so far: %v", got)
		}
	}
	for _, want := range []string{"meta add before", "meta add after", "meta delete before", "dyn add before", "dyn add after", "dyn delete before"} {
		if !got[want] {
			t.Errorf("missing %q in %v", want, got)
		}
	}
	// The dynamic cache holds the full object, the metadata one only metadata.
	obj, ok, err := di.GetStore().GetByKey(ns + "/after")
	if err != nil || !ok {
		t.Fatalf("dynamic store: %v %v", ok, err)
	}
	if n, _, _ := unstructured.NestedInt64(obj.(*unstructured.Unstructured).Object, "spec", "replicas"); n != 1 {
		t.Fatalf("dynamic object replicas %d", n)
	}
	mobj, ok, err := mi.GetStore().GetByKey(ns + "/after")
	if err != nil || !ok || mobj.(*metav1.PartialObjectMetadata).Labels["app"] != "after" {
		t.Fatalf("metadata store: %v %v %+v", ok, err, mobj)
	}
}

// TestClients_LeaderElectionOverLeases runs two client-go leader electors
// on one Lease: exactly one leads, and the other takes over when the
// leader steps down.
func TestClients_LeaderElectionOverLeases(t *testing.T) {
	s := framework.Start(t, framework.Options{})
	var mu sync.Mutex
	var leaders []string
	run := func(ctx context.Context, id string, release bool) {
		lock := &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Name: "controller", Namespace: "kube-system"},
			Client:     s.Client.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: id},
		}
		leaderelection.RunOrDie(ctx, leaderelection.LeaderElectionConfig{
			Lock: lock, ReleaseOnCancel: release,
			LeaseDuration: 2 * time.Second, RenewDeadline: 1500 * time.Millisecond, RetryPeriod: 200 * time.Millisecond,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(ctx context.Context) {
					mu.Lock()
					leaders = append(leaders, id)
					mu.Unlock()
					<-ctx.Done()
				},
				OnStoppedLeading: func() {},
			},
		})
	}
	ctxA, stopA := context.WithCancel(t.Context())
	doneA := make(chan struct{})
	go func() { run(ctxA, "a", true); close(doneA) }()
	eventually(t, "a leads", func(context.Context) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		return len(leaders) == 1, nil
	})
	ctxB, stopB := context.WithCancel(t.Context())
	defer stopB()
	doneB := make(chan struct{})
	go func() { run(ctxB, "b", true); close(doneB) }()
	time.Sleep(500 * time.Millisecond) // b tries and must not lead
	mu.Lock()
	if fmt.Sprint(leaders) != "[a]" {
		t.Fatalf("leaders %v while a holds the lease", leaders)
	}
	mu.Unlock()
	stopA()
	<-doneA
	eventually(t, "b takes over", func(context.Context) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprint(leaders) == "[a b]", nil
	})
	lease, err := s.Client.CoordinationV1().Leases("kube-system").Get(t.Context(), "controller", metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != "b" || lease.Spec.LeaseTransitions == nil || *lease.Spec.LeaseTransitions < 1 {
		t.Fatalf("lease: %v %+v", err, lease)
	}
	stopB()
	<-doneB
}

// TestClients_EventRecorderWritesEventsV1 records events with client-go's
// events.k8s.io/v1 broadcaster, as controllers do; they read back through
// core/v1 too.
func TestClients_EventRecorderWritesEventsV1(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ns := createNamespace(t, s.Client, "recorder")
	pod, err := s.Client.CoreV1().Pods(ns).Create(ctx, newPod("web-0", nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b := events.NewBroadcaster(&events.EventSinkImpl{Interface: s.Client.EventsV1()})
	b.StartRecordingToSink(ctx.Done())
	defer b.Shutdown()
	rec := b.NewRecorder(scheme.Scheme, "kstack-test")
	rec.Eventf(pod, nil, corev1.EventTypeWarning, "BackOff", "Restart", "Back-off restarting failed container %s", "app")
	eventually(t, "event recorded", func(ctx context.Context) (bool, error) {
		l, err := s.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=web-0,involvedObject.kind=Pod"})
		if err != nil {
			return false, err
		}
		for _, e := range l.Items {
			if e.Reason == "BackOff" && e.Type == corev1.EventTypeWarning && e.Message == "Back-off restarting failed container app" && e.InvolvedObject.UID == pod.UID {
				return true, nil
			}
		}
		return false, nil
	})
}
