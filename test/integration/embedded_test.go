package integration

import (
	"testing"

	"github.com/kstack/kstack/test/integration/framework"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// TestEmbeddedEtcd_CRUDAndWatch runs the CRUD and watch basics against
// the in-process etcd the apiserver can use instead of the etcd binary.
func TestEmbeddedEtcd_CRUDAndWatch(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{EmbeddedEtcd: true})
	ctx := t.Context()
	client, err := kubernetes.NewForConfig(s.ProtobufConfig())
	if err != nil {
		t.Fatal(err)
	}
	cms := client.CoreV1().ConfigMaps("default")
	list, err := cms.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	exerciseCRUD[*corev1.ConfigMap, *corev1.ConfigMapList](t, cms, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "emb"}, Data: map[string]string{"v": "1"}})
	for _, want := range []string{"ADDED emb=1", "MODIFIED emb=1", "MODIFIED emb=1", "DELETED emb=1"} {
		if got := describeCM(nextEvent(t, w)); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	// Pods with graceful deletion work the same on the embedded store.
	exerciseCRUD[*corev1.Pod, *corev1.PodList](t, client.CoreV1().Pods("default"), newPod("emb", nil))
	if _, err := client.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx, "emb", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("after delete: %v", err)
	}
}
