package nodeipam

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

// A second sync of a node before the informer delivers the first patch
// must not allocate (and patch) a second CIDR.
func TestSync_NoSecondCIDRWhileThePatchIsInFlight(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}
	client := fake.NewClientset(node)
	factory := informers.NewSharedInformerFactory(client, 0)
	nodes := factory.Core().V1().Nodes()
	c, err := New(client, nodes, "10.244.0.0/16", 24, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The lister sees the node without a CIDR and is never updated here.
	if err := nodes.Informer().GetIndexer().Add(node); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if err := c.sync(ctx, "n1"); err != nil {
			t.Fatal(err)
		}
	}
	patches := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == "patch" {
			patches++
		}
	}
	if patches != 1 {
		t.Fatalf("%d patches, want 1", patches)
	}
	got, _ := client.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	if got.Spec.PodCIDR != "10.244.0.0/24" {
		t.Fatalf("podCIDR %q", got.Spec.PodCIDR)
	}
	// Once the informer shows the CIDR, the in-flight entry goes and the
	// CIDR stays occupied: the next node gets the next one.
	if err := nodes.Informer().GetIndexer().Update(got); err != nil {
		t.Fatal(err)
	}
	if err := c.sync(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if len(c.assigned) != 0 {
		t.Fatalf("assigned %v, want empty", c.assigned)
	}
	if next, _ := c.cidrs.Allocate(); next != "10.244.1.0/24" {
		t.Fatalf("next CIDR %q, want 10.244.1.0/24", next)
	}
}
