package proxy

import (
	"context"
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
)

func TestTracker_RegisterSyncedMeansEveryObjectReachedTheTracker(t *testing.T) {
	var objs []runtime.Object
	for i := 0; i < 200; i++ {
		name := fmt.Sprintf("s%d", i)
		objs = append(objs, svc(name), eslice(name, name+"-1", 8080))
	}
	factory := informers.NewSharedInformerFactory(fake.NewClientset(objs...), 0)
	tr := NewTracker("me", nil)
	synced, err := tr.Register(factory.Core().V1().Services().Informer(), factory.Discovery().V1().EndpointSlices().Informer())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	factory.Start(ctx.Done())
	defer factory.Shutdown() // after cancel: it waits for the informers to stop
	defer cancel()
	if !cache.WaitForCacheSync(ctx.Done(), synced) {
		t.Fatal("tracker never synced")
	}
	snap := tr.Snapshot()
	if len(snap.Services) != 200 || len(snap.Changed) != 200 {
		t.Errorf("after sync the tracker has %d Service ports, %d changed; want 200", len(snap.Services), len(snap.Changed))
	}
}
