package controller

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kstack/kstack/pkg/controllermanager"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
)

// eventFor returns the message of the first Event in ns about the named
// object with reason, or "" when there is none.
func (c *cluster) eventFor(t *testing.T, ns, object, reason string) string {
	t.Helper()
	l, err := c.client.CoreV1().Events(ns).List(t.Context(), metav1.ListOptions{
		FieldSelector: "involvedObject.name=" + object + ",reason=" + reason})
	if err != nil {
		t.Fatalf("list events: %v", err)
	}
	if len(l.Items) == 0 {
		return ""
	}
	return l.Items[0].Message
}

// TestCronJob_SawCompletedJobEvent: when a Job the CronJob tracked as
// active finishes, the CronJob gets a SawCompletedJob event naming it and
// its condition, and status.active empties.
func TestCronJob_SawCompletedJobEvent(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Now())
	c := startCluster(t, []string{"cronjob", "job"}, func(cfg *controllermanager.Config) { cfg.Clock = clk })
	ctx := t.Context()
	ns := c.namespace(t, "cron-events")
	cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "tick"}, Spec: batchv1.CronJobSpec{
		Schedule: "*/5 * * * *",
		JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "x"}}}}}},
	}}
	created, err := c.client.BatchV1().CronJobs(ns).Create(ctx, cj, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	next := created.CreationTimestamp.Time.Truncate(5 * time.Minute).Add(5 * time.Minute)
	clk.SetTime(next.Add(10 * time.Second))
	// Poke the CronJob so the controller looks at the moved clock.
	poke := []byte(`{"metadata":{"labels":{"poke":"1"}}}`)
	if _, err := c.client.BatchV1().CronJobs(ns).Patch(ctx, "tick", types.MergePatchType, poke, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	jobName := fmt.Sprintf("tick-%d", next.Unix()/60)
	eventually(t, 20*time.Second, "the job tracked as active", func() (bool, error) {
		cur, err := c.client.BatchV1().CronJobs(ns).Get(ctx, "tick", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return len(cur.Status.Active) == 1 && cur.Status.Active[0].Name == jobName, nil
	})
	if msg := c.eventFor(t, ns, "tick", "SuccessfulCreate"); msg != "Created job "+jobName {
		t.Errorf("SuccessfulCreate event %q, want %q", msg, "Created job "+jobName)
	}
	c.finishPods(t, ns, corev1.PodSucceeded)
	eventually(t, 30*time.Second, "SawCompletedJob and no active job", func() (bool, error) {
		msg := c.eventFor(t, ns, "tick", "SawCompletedJob")
		if msg == "" {
			return false, nil
		}
		if want := "Saw completed job: " + jobName + ", condition: Complete"; msg != want {
			t.Fatalf("SawCompletedJob message %q, want %q", msg, want)
		}
		cur, err := c.client.BatchV1().CronJobs(ns).Get(ctx, "tick", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return len(cur.Status.Active) == 0 && cur.Status.LastSuccessfulTime != nil, nil
	})
}

// TestNodeLifecycle_RemovingNodeEvent: a deleted node gets a RemovingNode
// event (in the default namespace, as every node event), after its
// RegisteredNode one.
func TestNodeLifecycle_RemovingNodeEvent(t *testing.T) {
	c := startCluster(t, []string{"nodelifecycle"})
	ctx := t.Context()
	c.readyNode(t, "leaving")
	eventually(t, 20*time.Second, "RegisteredNode", func() (bool, error) {
		return c.eventFor(t, "default", "leaving", "RegisteredNode") != "", nil
	})
	if err := c.client.CoreV1().Nodes().Delete(ctx, "leaving", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "RemovingNode", func() (bool, error) {
		msg := c.eventFor(t, "default", "leaving", "RemovingNode")
		if msg != "" && msg != "Node leaving event: Removing Node leaving from Controller" {
			t.Fatalf("RemovingNode message %q", msg)
		}
		return msg != "", nil
	})
}

// TestNodeIPAM_PodCIDRIsNeverReassigned: the apiserver refuses to change
// a node's podCIDR once set (so no node can hold two), a node registered
// with a podCIDR keeps it and nobody else gets it.
func TestNodeIPAM_PodCIDRIsNeverReassigned(t *testing.T) {
	c := startCluster(t, []string{"nodeipam"}, func(cfg *controllermanager.Config) {
		cfg.AllocateNodeCIDRs = true
		cfg.ClusterCIDR = "10.244.0.0/22" // four /24s
	})
	ctx := t.Context()
	// A node that brings its own podCIDR: the first of the range.
	pre := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "pre"},
		Spec: corev1.NodeSpec{PodCIDR: "10.244.0.0/24", PodCIDRs: []string{"10.244.0.0/24"}}}
	if _, err := c.client.CoreV1().Nodes().Create(ctx, pre, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := c.client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("n%d", i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 20*time.Second, "the other three /24s handed out", func() (bool, error) {
		l, err := c.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		seen := map[string]string{}
		for _, n := range l.Items {
			if n.Spec.PodCIDR == "" {
				return false, nil
			}
			if other, dup := seen[n.Spec.PodCIDR]; dup {
				t.Fatalf("%s and %s share %s", other, n.Name, n.Spec.PodCIDR)
			}
			seen[n.Spec.PodCIDR] = n.Name
		}
		return len(seen) == 4 && seen["10.244.0.0/24"] == "pre", nil
	})
	// Changing a set podCIDR (or podCIDRs) is refused.
	n, err := c.client.CoreV1().Nodes().Get(ctx, "n0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	orig := n.Spec.PodCIDR
	n.Spec.PodCIDR, n.Spec.PodCIDRs = "10.244.9.0/24", []string{"10.244.9.0/24"}
	_, err = c.client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.podCIDR") {
		t.Fatalf("changing podCIDR: %v, want Invalid naming spec.podCIDR", err)
	}
	patch := []byte(`{"spec":{"podCIDRs":["` + orig + `","fd00::/64"]}}`)
	if _, err := c.client.CoreV1().Nodes().Patch(ctx, "n0", types.MergePatchType, patch, metav1.PatchOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("adding to podCIDRs: %v, want Invalid", err)
	}
	// Clearing it is a change too.
	patch = []byte(`{"spec":{"podCIDR":null,"podCIDRs":null}}`)
	if _, err := c.client.CoreV1().Nodes().Patch(ctx, "n0", types.MergePatchType, patch, metav1.PatchOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("clearing podCIDR: %v, want Invalid", err)
	}
	// The range is full: a fifth node gets nothing, and nobody's CIDR moved.
	if _, err := c.client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "extra"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "CIDRNotAvailable for the node beyond the range", func() (bool, error) {
		return c.eventFor(t, "default", "extra", "CIDRNotAvailable") != "", nil
	})
	got, err := c.client.CoreV1().Nodes().Get(ctx, "extra", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.PodCIDR != "" {
		t.Errorf("node beyond the range got %s", got.Spec.PodCIDR)
	}
	if n, _ := c.client.CoreV1().Nodes().Get(ctx, "n0", metav1.GetOptions{}); n.Spec.PodCIDR != orig {
		t.Errorf("n0 podCIDR moved from %s to %s", orig, n.Spec.PodCIDR)
	}
}
