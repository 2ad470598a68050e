package podgc

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestCollect(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := metav1.NewTime(t0)
	pod := func(name, node string, phase corev1.PodPhase, age int, deleting bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name),
			CreationTimestamp: metav1.NewTime(t0.Add(-time.Duration(age) * time.Minute))},
			Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Phase: phase}}
		if deleting {
			p.DeletionTimestamp = &now
		}
		return p
	}
	objs := []runtime.Object{
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "live"}},
		pod("done-old", "live", corev1.PodSucceeded, 30, false),
		pod("done-mid", "live", corev1.PodFailed, 20, false),
		pod("done-new", "live", corev1.PodSucceeded, 10, false),
		pod("running", "live", corev1.PodRunning, 40, false),
		pod("on-gone-node", "gone", corev1.PodRunning, 5, false),
		pod("unscheduled-terminating", "", corev1.PodPending, 5, true),
		pod("unscheduled", "", corev1.PodPending, 5, false),
	}
	client := fake.NewClientset(objs...)
	f := informers.NewSharedInformerFactory(client, 0)
	c := New(client, f.Core().V1().Pods(), f.Core().V1().Nodes(), 2)
	clk := clocktesting.NewFakeClock(t0)
	c.clock = clk
	for _, o := range objs {
		switch o := o.(type) {
		case *corev1.Pod:
			_ = f.Core().V1().Pods().Informer().GetIndexer().Add(o)
		case *corev1.Node:
			_ = f.Core().V1().Nodes().Informer().GetIndexer().Add(o)
		}
	}
	deleted := func() []string {
		var out []string
		for _, a := range client.Actions() {
			if d, ok := a.(k8stesting.DeleteAction); ok {
				out = append(out, d.GetName())
			}
		}
		sort.Strings(out)
		return out
	}
	if err := c.collect(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The oldest finished pod beyond the threshold of 2 and the unscheduled
	// terminating pod go; the pod on the missing node waits out the
	// quarantine.
	if got := fmt.Sprint(deleted()); got != "[done-old unscheduled-terminating]" {
		t.Fatalf("first pass deleted %s", got)
	}
	clk.Step(quarantine + time.Second)
	if err := c.collect(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := deleted(); !contains(got, "on-gone-node") || contains(got, "running") || contains(got, "unscheduled") {
		t.Fatalf("after quarantine deleted %v", got)
	}
	// Pods that had not finished were marked Failed first; the orphan
	// with upstream's DisruptionTarget condition.
	patched := map[string]string{}
	for _, a := range client.Actions() {
		if pa, ok := a.(k8stesting.PatchAction); ok && pa.GetSubresource() == "status" {
			patched[pa.GetName()] = string(pa.GetPatch())
		}
	}
	if len(patched) != 2 {
		t.Fatalf("status patches %v, want the orphan's and the unscheduled terminating pod's", patched)
	}
	for _, want := range []string{`"phase":"Failed"`, `"type":"DisruptionTarget"`, `"reason":"DeletionByPodGC"`, `"message":"PodGC: node no longer exists"`} {
		if !strings.Contains(patched["on-gone-node"], want) {
			t.Errorf("orphan's status patch %s lacks %s", patched["on-gone-node"], want)
		}
	}
	if p := patched["unscheduled-terminating"]; !strings.Contains(p, `"phase":"Failed"`) || strings.Contains(p, "DisruptionTarget") {
		t.Errorf("unscheduled terminating pod's status patch %s, want phase Failed only", p)
	}
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}
