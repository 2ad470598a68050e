package controller

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// daemonNodes maps each active daemon pod to the node its affinity pins.
func daemonNodes(pods []corev1.Pod) map[string]int {
	out := map[string]int{}
	for _, p := range activePods(pods) {
		a := p.Spec.Affinity
		if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
			out["<unpinned>"]++
			continue
		}
		for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			for _, f := range term.MatchFields {
				out[f.Values[0]]++
			}
		}
	}
	return out
}

func TestDaemonSet_FollowsNodesAndRollsOut(t *testing.T) {
	c := startCluster(t, []string{"daemonset"})
	ctx := t.Context()
	ns := c.namespace(t, "ds")
	mkNode := func(name string, lbls map[string]string, taints ...corev1.Taint) {
		if _, err := c.client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls},
			Spec: corev1.NodeSpec{Taints: taints}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	linux := map[string]string{"os": "linux"}
	mkNode("a", linux)
	mkNode("b", linux, corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}) // tolerated by default
	mkNode("c", map[string]string{"os": "other"})                                                              // not selected
	mkNode("d", linux, corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule})      // not tolerated
	c.autoReady(t, ns)
	labels := map[string]string{"app": "agent"}
	tmpl := podTemplate(labels, "agent:v1")
	tmpl.Spec.NodeSelector = linux
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent"}, Spec: appsv1.DaemonSetSpec{
		Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl}}
	if _, err := c.client.AppsV1().DaemonSets(ns).Create(ctx, ds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	want := func(nodes ...string) func() (bool, error) {
		return func() (bool, error) {
			got := daemonNodes(c.pods(t, ns, "app=agent"))
			if len(got) != len(nodes) {
				return false, nil
			}
			for _, n := range nodes {
				if got[n] != 1 {
					return false, nil
				}
			}
			return true, nil
		}
	}
	eventually(t, 20*time.Second, "one pod on a and b", want("a", "b"))
	mkNode("e", linux)
	eventually(t, 20*time.Second, "a pod on the new node", want("a", "b", "e"))
	if err := c.client.CoreV1().Nodes().Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the deleted node's pod gone", want("b", "e"))
	eventually(t, 20*time.Second, "status", func() (bool, error) {
		d, err := c.client.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		st := d.Status
		return st.DesiredNumberScheduled == 2 && st.CurrentNumberScheduled == 2 && st.NumberReady == 2 && st.NumberAvailable == 2 &&
			st.UpdatedNumberScheduled == 2 && st.NumberMisscheduled == 0, nil
	})
	// A template change rolls out to every node.
	patch := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"agent:v2"}]}}}}`)
	if _, err := c.client.AppsV1().DaemonSets(ns).Patch(ctx, "agent", types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "v2 everywhere", func() (bool, error) {
		pods := activePods(c.pods(t, ns, "app=agent"))
		if len(pods) != 2 {
			return false, nil
		}
		for _, p := range pods {
			if p.Spec.Containers[0].Image != "agent:v2" {
				return false, nil
			}
		}
		return true, nil
	})
}

func TestDaemonSet_ControllerRevisionsRollbackAndHistoryLimit(t *testing.T) {
	c := startCluster(t, []string{"daemonset"})
	ctx := t.Context()
	ns := c.namespace(t, "ds-history")
	for _, n := range []string{"a", "b", "c"} {
		if _, err := c.client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "h-" + n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.client.CoreV1().Nodes().Delete(context.Background(), "h-"+n, metav1.DeleteOptions{}) })
	}
	c.autoReady(t, ns)
	labels := map[string]string{"app": "hist"}
	limit := int32(1)
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "hist"}, Spec: appsv1.DaemonSetSpec{
		Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: podTemplate(labels, "agent:v1"), RevisionHistoryLimit: &limit}}
	if _, err := c.client.AppsV1().DaemonSets(ns).Create(ctx, ds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testRollbackAndHistoryLimit(t, c, ns, historyWorkload{
		image: "agent",
		patch: func(data []byte) error {
			_, err := c.client.AppsV1().DaemonSets(ns).Patch(ctx, "hist", types.StrategicMergePatchType, data, metav1.PatchOptions{})
			return err
		},
		// Every node runs image with the revision's hash and the status
		// says so.
		rolledOut: func(cur *appsv1.ControllerRevision, image string) (bool, error) {
			hash := cur.Labels[appsv1.ControllerRevisionHashLabelKey]
			if hash == "" || cur.Name != "hist-"+hash || cur.Labels["app"] != "hist" || !metav1.IsControlledBy(cur, mustDS(t, c, ns)) {
				return false, nil
			}
			pods := activePods(c.pods(t, ns, "app=hist"))
			if len(pods) != 3 {
				return false, nil
			}
			for _, p := range pods {
				if p.Spec.Containers[0].Image != image || p.Labels[appsv1.ControllerRevisionHashLabelKey] != hash {
					return false, nil
				}
			}
			st := mustDS(t, c, ns).Status
			return st.UpdatedNumberScheduled == 3 && st.NumberAvailable == 3 && st.NumberUnavailable == 0 && st.DesiredNumberScheduled == 3 &&
				st.ObservedGeneration == mustDS(t, c, ns).Generation, nil
		},
	})
}

func mustDS(t *testing.T, c *cluster, ns string) *appsv1.DaemonSet {
	t.Helper()
	d, err := c.client.AppsV1().DaemonSets(ns).Get(t.Context(), "hist", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}
