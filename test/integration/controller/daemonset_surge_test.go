package controller

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
)

// TestDaemonSet_NodeEligibility: required node affinity picks the nodes;
// the DaemonSet's default tolerations (not-ready and unreachable
// NoExecute, memory-pressure and unschedulable NoSchedule) let daemons
// land on such nodes, other taints keep them off; a NoExecute taint added
// later evicts the daemon, a NoSchedule one leaves it running; a node
// whose labels come to match gets one.
func TestDaemonSet_NodeEligibility(t *testing.T) {
	c := startCluster(t, []string{"daemonset"})
	ctx := t.Context()
	ns := c.namespace(t, "ds-eligible")
	ssd := map[string]string{"disk": "ssd"}
	mkNode := func(name string, lbls map[string]string, taints ...corev1.Taint) {
		if _, err := c.client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls},
			Spec: corev1.NodeSpec{Taints: taints}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	taint := func(key string, effect corev1.TaintEffect) corev1.Taint {
		return corev1.Taint{Key: key, Effect: effect}
	}
	mkNode("plain", ssd)
	mkNode("hdd", map[string]string{"disk": "hdd"})
	mkNode("notready", ssd, taint(corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute))
	mkNode("unreachable", ssd, taint(corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute))
	mkNode("pressure", ssd, taint(corev1.TaintNodeMemoryPressure, corev1.TaintEffectNoSchedule))
	mkNode("cordoned", ssd, taint(corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule))
	mkNode("dedicated", ssd, corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule})
	mkNode("draining", ssd, taint("drain", corev1.TaintEffectNoExecute))
	c.autoReady(t, ns)
	labels := map[string]string{"app": "agent"}
	tmpl := podTemplate(labels, "agent:v1")
	tmpl.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
			{Key: "disk", Operator: corev1.NodeSelectorOpIn, Values: []string{"ssd"}}}}}}}}
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent"}, Spec: appsv1.DaemonSetSpec{
		Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl}}
	if _, err := c.client.AppsV1().DaemonSets(ns).Create(ctx, ds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	on := func() string {
		got := daemonNodes(c.pods(t, ns, "app=agent"))
		var names []string
		for n, k := range got {
			names = append(names, fmt.Sprintf("%s:%d", n, k))
		}
		sort.Strings(names)
		return fmt.Sprint(names)
	}
	want := func(s string) func() (bool, error) {
		return func() (bool, error) { return on() == s, nil }
	}
	eventually(t, 20*time.Second, "daemons on the eligible nodes", want("[cordoned:1 notready:1 plain:1 pressure:1 unreachable:1]"))
	eventually(t, 20*time.Second, "status counts the eligible nodes", func() (bool, error) {
		d, err := c.client.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return d.Status.DesiredNumberScheduled == 5 && d.Status.CurrentNumberScheduled == 5 && d.Status.NumberReady == 5, nil
	})
	// Each daemon carries the default tolerations and keeps the user's
	// affinity alongside the pin to its node.
	for _, p := range activePods(c.pods(t, ns, "app=agent")) {
		tol := map[string]bool{}
		for _, tl := range p.Spec.Tolerations {
			if tl.Operator == corev1.TolerationOpExists {
				tol[tl.Key+"/"+string(tl.Effect)] = true
			}
		}
		for _, k := range []string{corev1.TaintNodeNotReady + "/NoExecute", corev1.TaintNodeUnreachable + "/NoExecute",
			corev1.TaintNodeDiskPressure + "/NoSchedule", corev1.TaintNodeMemoryPressure + "/NoSchedule",
			corev1.TaintNodePIDPressure + "/NoSchedule", corev1.TaintNodeUnschedulable + "/NoSchedule"} {
			if !tol[k] {
				t.Errorf("pod %s lacks the default toleration %s: %v", p.Name, k, p.Spec.Tolerations)
			}
		}
		terms := p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
		if len(terms) != 1 || len(terms[0].MatchExpressions) != 1 || terms[0].MatchExpressions[0].Key != "disk" {
			t.Errorf("pod %s lost the template's affinity: %+v", p.Name, terms)
		}
	}

	updateNode := func(name string, f func(*corev1.Node)) {
		t.Helper()
		n, err := c.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		f(n)
		if _, err := c.client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// A NoSchedule taint added later: the daemon already there stays, and
	// stops being desired. A NoExecute one: the daemon goes.
	updateNode("plain", func(n *corev1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule})
	})
	updateNode("pressure", func(n *corev1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, taint("drain", corev1.TaintEffectNoExecute))
	})
	// hdd becomes ssd: a daemon arrives.
	updateNode("hdd", func(n *corev1.Node) { n.Labels["disk"] = "ssd" })
	eventually(t, 20*time.Second, "evicted from the NoExecute node, kept on the NoSchedule one, added to the relabelled one",
		want("[cordoned:1 hdd:1 notready:1 plain:1 unreachable:1]"))
	eventually(t, 20*time.Second, "status after the node changes", func() (bool, error) {
		d, err := c.client.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		st := d.Status
		return st.DesiredNumberScheduled == 4 && st.CurrentNumberScheduled == 4 && st.NumberMisscheduled == 1, nil
	})
}

// TestDaemonSet_RollingUpdateWithMaxSurge: maxSurge 1, maxUnavailable 0.
// Watched throughout, no node is ever without a ready daemon, no node
// ever has more than two, at most one node has two at once, and the
// surge is used (a node had two).
func TestDaemonSet_RollingUpdateWithMaxSurge(t *testing.T) {
	c := startCluster(t, []string{"daemonset"})
	ctx := t.Context()
	ns := c.namespace(t, "ds-surge")
	nodes := []string{"s1", "s2", "s3"}
	for _, n := range nodes {
		if _, err := c.client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	c.autoReady(t, ns)
	labels := map[string]string{"app": "surge"}
	one, zero := intstr.FromInt32(1), intstr.FromInt32(0)
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "surge"}, Spec: appsv1.DaemonSetSpec{
		Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: podTemplate(labels, "agent:v1"),
		UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType,
			RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxSurge: &one, MaxUnavailable: &zero}}}}
	if _, err := c.client.AppsV1().DaemonSets(ns).Create(ctx, ds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	allOn := func(image string) func() (bool, error) {
		return func() (bool, error) {
			pods := activePods(c.pods(t, ns, "app=surge"))
			if len(pods) != 3 {
				return false, nil
			}
			for _, p := range pods {
				if p.Spec.Containers[0].Image != image || !isReady(&p) {
					return false, nil
				}
			}
			return true, nil
		}
	}
	eventually(t, 20*time.Second, "v1 ready on every node", allOn("agent:v1"))

	// Track every daemon from here on.
	list, err := c.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	type podState struct {
		node  string
		ready bool
	}
	var mu sync.Mutex
	live := map[string]podState{}
	for _, p := range list.Items {
		live[p.Name] = podState{node: targetNode(&p), ready: isReady(&p)}
	}
	var violations []string
	maxOnANode := 1
	check := func() {
		perNode := map[string]int{}
		readyOn := map[string]bool{}
		for _, s := range live {
			perNode[s.node]++
			readyOn[s.node] = readyOn[s.node] || s.ready
		}
		doubled := 0
		for _, n := range nodes {
			if !readyOn[n] {
				violations = append(violations, "no ready daemon on "+n)
			}
			maxOnANode = max(maxOnANode, perNode[n])
			if perNode[n] > 1 {
				doubled++
			}
		}
		if doubled > 1 || len(live) > 4 {
			violations = append(violations, fmt.Sprintf("%d daemons, %d nodes with two: more than maxSurge", len(live), doubled))
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	w, err := c.client.CoreV1().Pods(ns).Watch(wctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			mu.Lock()
			if ev.Type == watch.Deleted || p.DeletionTimestamp != nil {
				delete(live, p.Name)
			} else {
				live[p.Name] = podState{node: targetNode(p), ready: isReady(p)}
			}
			check()
			mu.Unlock()
		}
	}()
	defer func() { cancel(); w.Stop(); <-done }()

	patch := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"agent:v2"}]}}}}`)
	if _, err := c.client.AppsV1().DaemonSets(ns).Patch(ctx, "surge", types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "v2 ready on every node", allOn("agent:v2"))
	eventually(t, 20*time.Second, "status updated", func() (bool, error) {
		d, err := c.client.AppsV1().DaemonSets(ns).Get(ctx, "surge", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return d.Status.UpdatedNumberScheduled == 3 && d.Status.NumberAvailable == 3 && d.Status.NumberUnavailable == 0, nil
	})
	mu.Lock()
	defer mu.Unlock()
	if len(violations) > 0 {
		t.Errorf("rollout broke its bounds: %v", violations)
	}
	if maxOnANode != 2 {
		t.Errorf("at most %d daemons on a node during the rollout: the surge was not used", maxOnANode)
	}
}

// targetNode is the node a daemon pod is pinned to.
func targetNode(p *corev1.Pod) string {
	if p.Spec.NodeName != "" {
		return p.Spec.NodeName
	}
	for n := range daemonNodes([]corev1.Pod{*p}) {
		return n
	}
	return ""
}
