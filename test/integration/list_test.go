package integration

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/kstack/kstack/test/integration/framework"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// TestList_PaginatesWithLimitAndContinue pages through 120 config maps
// 25 at a time: every object once, in name order, with remainingItemCount
// counting down and one resourceVersion for all pages.
func TestList_PaginatesWithLimitAndContinue(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	ns := createNamespace(t, s.Client, "paging")
	cms := s.Client.CoreV1().ConfigMaps(ns)
	// Every namespace gets the cluster CA in kube-root-ca.crt; count only ours.
	if err := cms.Delete(ctx, "kube-root-ca.crt", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 120)
	for w := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < 120; i += 10 {
				_, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%03d", i)}}, metav1.CreateOptions{})
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// The namespace may hold objects of its own (kube-root-ca.crt).
	all, err := cms.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	total := len(all.Items)
	if total < 120 {
		t.Fatalf("%d config maps after creating 120", total)
	}
	var names []string
	cont, rv := "", ""
	pages := 0
	for {
		list, err := cms.List(ctx, metav1.ListOptions{Limit: 25, Continue: cont})
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		pages++
		if rv == "" {
			rv = list.ResourceVersion
		} else if list.ResourceVersion != rv {
			t.Fatalf("page %d at rv %s, first page at %s", pages, list.ResourceVersion, rv)
		}
		for _, cm := range list.Items {
			names = append(names, cm.Name)
		}
		remaining := total - len(names)
		if list.Continue == "" {
			if list.RemainingItemCount != nil {
				t.Fatalf("last page has remainingItemCount %d", *list.RemainingItemCount)
			}
			break
		}
		if len(list.Items) != 25 {
			t.Fatalf("page %d has %d items", pages, len(list.Items))
		}
		if list.RemainingItemCount == nil || *list.RemainingItemCount != int64(remaining) {
			t.Fatalf("page %d remainingItemCount %v, want %d", pages, list.RemainingItemCount, remaining)
		}
		cont = list.Continue
	}
	if pages != (total+24)/25 || len(names) != total || !sort.StringsAreSorted(names) {
		t.Fatalf("%d pages, %d names of %d, sorted %v", pages, len(names), total, sort.StringsAreSorted(names))
	}
	var ours []string
	for _, n := range names {
		if strings.HasPrefix(n, "cm-") {
			ours = append(ours, n)
		}
	}
	for i, n := range ours {
		if n != fmt.Sprintf("cm-%03d", i) {
			t.Fatalf("item %d is %s", i, n)
		}
	}
	// resourceVersion=0 serves from the cache, unpaged is fine too.
	list, err := cms.List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != total || list.ResourceVersion == "" {
		t.Fatalf("rv=0 list: %d items rv %q", len(list.Items), list.ResourceVersion)
	}
}

func podNames(l *corev1.PodList) string {
	var names []string
	for _, p := range l.Items {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// TestList_LabelAndFieldSelectors filters pods with every label selector
// operator and the supported field selectors, from etcd and from the
// cache (resourceVersion=0).
func TestList_LabelAndFieldSelectors(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	ns := createNamespace(t, s.Client, "selectors")
	other := createNamespace(t, s.Client, "selectors-other")
	pods := []struct {
		name, node string
		labels     map[string]string
	}{
		{"web-1", "n1", map[string]string{"app": "web", "tier": "front"}},
		{"web-2", "n2", map[string]string{"app": "web", "tier": "front", "canary": "true"}},
		{"db-1", "n1", map[string]string{"app": "db", "tier": "back"}},
		{"batch-1", "", map[string]string{"app": "batch"}},
	}
	for _, p := range pods {
		pod := newPod(p.name, p.labels)
		pod.Spec.NodeName = p.node
		if _, err := s.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Client.CoreV1().Pods(other).Create(ctx, newPod("web-1", map[string]string{"app": "web"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// One pod gets a status phase other than Pending.
	p, err := s.Client.CoreV1().Pods(ns).Get(ctx, "db-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Status.Phase = corev1.PodRunning
	if _, err := s.Client.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		label, field string
		want         string
	}{
		{label: "app=web", want: "web-1,web-2"},
		{label: "app==db", want: "db-1"},
		{label: "app!=web", want: "batch-1,db-1"},
		{label: "tier in (front,back)", want: "db-1,web-1,web-2"},
		{label: "app notin (web,db)", want: "batch-1"},
		{label: "canary", want: "web-2"},
		{label: "!tier", want: "batch-1"},
		{label: "app=web,!canary", want: "web-1"},
		{field: "metadata.name=web-2", want: "web-2"},
		{field: "metadata.name!=web-2", want: "batch-1,db-1,web-1"},
		{field: "metadata.namespace=" + ns, want: "batch-1,db-1,web-1,web-2"},
		{field: "spec.nodeName=n1", want: "db-1,web-1"},
		{field: "spec.nodeName=", want: "batch-1"},
		{field: "status.phase=Running", want: "db-1"},
		{field: "status.phase!=Running,spec.nodeName!=", want: "web-1,web-2"},
		{label: "tier=front", field: "spec.nodeName=n2", want: "web-2"},
	}
	for _, tc := range cases {
		for _, rv := range []string{"", "0"} {
			t.Run(fmt.Sprintf("%s|%s|rv=%s", tc.label, tc.field, rv), func(t *testing.T) {
				l, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: tc.label, FieldSelector: tc.field, ResourceVersion: rv})
				if err != nil {
					t.Fatal(err)
				}
				if got := podNames(l); got != tc.want {
					t.Fatalf("got %s, want %s", got, tc.want)
				}
			})
		}
	}
	t.Run("all namespaces by field", func(t *testing.T) {
		l, err := s.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=web-1"})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) != 2 || l.Items[0].Namespace == l.Items[1].Namespace {
			t.Fatalf("got %d pods: %s", len(l.Items), podNames(l))
		}
	})
	t.Run("unsupported field label", func(t *testing.T) {
		_, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{FieldSelector: "spec.containers=x"})
		se := wantStatus(t, err, 400)
		if !strings.Contains(se.ErrStatus.Message, "field label not supported") {
			t.Fatalf("message %q", se.ErrStatus.Message)
		}
		_, err = s.Client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=n1"})
		se = wantStatus(t, err, 400)
		if !strings.Contains(se.ErrStatus.Message, "field label not supported") {
			t.Fatalf("message %q", se.ErrStatus.Message)
		}
	})
	t.Run("bad label selector", func(t *testing.T) {
		_, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app in (web"})
		wantStatus(t, err, 400)
	})
}

// TestList_FieldSelectorsOfOtherKinds covers the field labels kubectl and
// controllers use beyond pods: secrets by type, nodes by
// spec.unschedulable, namespaces by status.phase, services by spec.type,
// events by involvedObject (core) and regarding (events.k8s.io).
func TestList_FieldSelectorsOfOtherKinds(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	c := s.Client
	ns := createNamespace(t, c, "fields")
	mustNil := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mustNil(c.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tls"}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{"tls.crt": []byte("c"), "tls.key": []byte("k")}}, metav1.CreateOptions{}))
	mustNil(c.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "plain"}}, metav1.CreateOptions{}))
	mustNil(c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "cordoned"}, Spec: corev1.NodeSpec{Unschedulable: true}}, metav1.CreateOptions{}))
	mustNil(c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "open"}}, metav1.CreateOptions{}))
	mustNil(c.CoreV1().Services(ns).Create(ctx, newService("np", corev1.ServiceTypeNodePort, 0), metav1.CreateOptions{}))
	mustNil(c.CoreV1().Services(ns).Create(ctx, newService("cip", "", 0), metav1.CreateOptions{}))
	for _, name := range []string{"web-0", "web-1"} {
		mustNil(c.CoreV1().Events(ns).Create(ctx, &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: name + ".ev"},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: name, UID: types.UID("uid-" + name)},
			Reason:         "Pulled", Message: "m", Type: corev1.EventTypeNormal, Source: corev1.EventSource{Component: "kubelet"}}, metav1.CreateOptions{}))
	}
	names := func(items any) string {
		l, _ := meta.ExtractList(items.(runtime.Object))
		var out []string
		for _, o := range l {
			out = append(out, o.(metav1.Object).GetName())
		}
		sort.Strings(out)
		return strings.Join(out, ",")
	}
	type lister func(metav1.ListOptions) (runtime.Object, error)
	cases := []struct {
		name, field, want string
		list              lister
	}{
		{"secrets by type", "type=kubernetes.io/tls", "tls", func(o metav1.ListOptions) (runtime.Object, error) { return c.CoreV1().Secrets(ns).List(ctx, o) }},
		{"nodes by unschedulable", "spec.unschedulable=true", "cordoned", func(o metav1.ListOptions) (runtime.Object, error) { return c.CoreV1().Nodes().List(ctx, o) }},
		{"namespaces by phase and name", "status.phase=Active,metadata.name=" + ns, ns, func(o metav1.ListOptions) (runtime.Object, error) { return c.CoreV1().Namespaces().List(ctx, o) }},
		{"services by type", "spec.type=NodePort", "np", func(o metav1.ListOptions) (runtime.Object, error) { return c.CoreV1().Services(ns).List(ctx, o) }},
		{"core events by involvedObject", "involvedObject.name=web-1,involvedObject.kind=Pod", "web-1.ev", func(o metav1.ListOptions) (runtime.Object, error) { return c.CoreV1().Events(ns).List(ctx, o) }},
		{"core events by involvedObject.uid", "involvedObject.uid=uid-web-0", "web-0.ev", func(o metav1.ListOptions) (runtime.Object, error) { return c.CoreV1().Events(ns).List(ctx, o) }},
		{"events.k8s.io by regarding", "regarding.name=web-0", "web-0.ev", func(o metav1.ListOptions) (runtime.Object, error) { return c.EventsV1().Events(ns).List(ctx, o) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, rv := range []string{"", "0"} {
				got, err := tc.list(metav1.ListOptions{FieldSelector: tc.field, ResourceVersion: rv})
				if err != nil {
					t.Fatalf("rv=%q: %v", rv, err)
				}
				if n := names(got); n != tc.want {
					t.Fatalf("rv=%q: got %s, want %s", rv, n, tc.want)
				}
			}
		})
	}
}

// TestList_PaginationWithASelectorFillsPages pages 25 at a time through
// the 60 of 120 config maps a label selects: full pages until the last,
// every selected object once, and no remainingItemCount (upstream cannot
// count what a selector would drop).
func TestList_PaginationWithASelectorFillsPages(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	ns := createNamespace(t, s.Client, "paging-sel")
	cms := s.Client.CoreV1().ConfigMaps(ns)
	for i := range 120 {
		l := map[string]string{"parity": "odd"}
		if i%2 == 0 {
			l["parity"] = "even"
		}
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%03d", i), Labels: l}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	cont := ""
	var sizes []int
	for {
		list, err := cms.List(ctx, metav1.ListOptions{Limit: 25, Continue: cont, LabelSelector: "parity=even"})
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(list.Items))
		for _, cm := range list.Items {
			names = append(names, cm.Name)
		}
		if list.RemainingItemCount != nil {
			t.Fatalf("remainingItemCount %d with a label selector", *list.RemainingItemCount)
		}
		if list.Continue == "" {
			break
		}
		cont = list.Continue
	}
	if fmt.Sprint(sizes) != "[25 25 10]" || len(names) != 60 {
		t.Fatalf("page sizes %v, %d names", sizes, len(names))
	}
	for i, n := range names {
		if n != fmt.Sprintf("cm-%03d", 2*i) {
			t.Fatalf("item %d is %s", i, n)
		}
	}
}
