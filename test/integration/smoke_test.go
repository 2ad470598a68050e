package integration

import (
	"context"
	"testing"
	"time"

	"github.com/kstack/kstack/test/integration/framework"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

func TestSmoke_InformerSeesConfigMapLifecycle(t *testing.T) {
	s := framework.Start(t, framework.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	client, err := kubernetes.NewForConfig(s.ProtobufConfig())
	if err != nil {
		t.Fatal(err)
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	inf := factory.Core().V1().ConfigMaps().Informer()
	events := make(chan string, 10)
	// The server publishes configmaps of its own (kube-system, every
	// namespace's kube-root-ca.crt): follow only the test's.
	mine := func(obj any) bool {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		cm, ok := obj.(*corev1.ConfigMap)
		return ok && cm.Name == "c1"
	}
	inf.AddEventHandler(cache.FilteringResourceEventHandler{FilterFunc: mine, Handler: cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { events <- "add:" + obj.(*corev1.ConfigMap).Name },
		UpdateFunc: func(_, obj any) { events <- "update:" + obj.(*corev1.ConfigMap).Data["k"] },
		DeleteFunc: func(obj any) { events <- "delete" },
	}})
	defer factory.Shutdown()
	defer cancel() // stop the informers before Shutdown waits for them
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("informer did not sync")
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c1"}, Data: map[string]string{"k": "v1"}}
	cm, err = client.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["k"] = "v2"
	if _, err := client.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := client.CoreV1().ConfigMaps("default").Delete(ctx, "c1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"add:c1", "update:v2", "delete"}
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
}
