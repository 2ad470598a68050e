package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kstack/kstack/test/integration/framework"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
)

// TestSemantics_UpstreamRESTRules checks the smaller REST rules clients
// rely on, one subtest each, on one server.
func TestSemantics_UpstreamRESTRules(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ns := createNamespace(t, s.Client, "semantics")
	cms := s.Client.CoreV1().ConfigMaps(ns)
	pods := s.Client.CoreV1().Pods(ns)

	t.Run("create existing name is 409 AlreadyExists", func(t *testing.T) {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "dup"}}
		if _, err := cms.Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err := cms.Create(t.Context(), cm, metav1.CreateOptions{})
		if !apierrors.IsAlreadyExists(err) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("update or patch of a missing object is 404", func(t *testing.T) {
		_, err := cms.Update(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "ghost"}}, metav1.UpdateOptions{})
		if !apierrors.IsNotFound(err) {
			t.Fatalf("update: %v", err)
		}
		_, err = cms.Patch(t.Context(), "ghost", types.MergePatchType, []byte(`{"data":{"a":"b"}}`), metav1.PatchOptions{})
		if !apierrors.IsNotFound(err) {
			t.Fatalf("patch: %v", err)
		}
	})
	t.Run("patch with a stale resourceVersion is 409", func(t *testing.T) {
		cm, err := cms.Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "pv"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cms.Patch(t.Context(), "pv", types.MergePatchType, []byte(`{"data":{"a":"2"}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err = cms.Patch(t.Context(), "pv", types.MergePatchType, []byte(`{"metadata":{"resourceVersion":"`+cm.ResourceVersion+`"},"data":{"a":"3"}}`), metav1.PatchOptions{})
		if !apierrors.IsConflict(err) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("json patch test failure is 422 and strategic merge patch merges containers", func(t *testing.T) {
		p := newPod("smp", nil)
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "side", Image: "busybox:1.36"})
		if _, err := pods.Create(t.Context(), p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err := pods.Patch(t.Context(), "smp", types.JSONPatchType, []byte(`[{"op":"test","path":"/metadata/name","value":"other"}]`), metav1.PatchOptions{})
		wantStatus(t, err, 422)
		got, err := pods.Patch(t.Context(), "smp", types.StrategicMergePatchType, []byte(`{"spec":{"containers":[{"name":"side","image":"busybox:1.37"}]}}`), metav1.PatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Spec.Containers) != 2 || got.Spec.Containers[0].Image != "busybox:1.36" || got.Spec.Containers[1].Image != "busybox:1.37" {
			t.Fatalf("containers after SMP: %+v", got.Spec.Containers)
		}
	})
	t.Run("immutable fields are 422", func(t *testing.T) {
		p, err := pods.Get(t.Context(), "smp", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Spec.RestartPolicy = corev1.RestartPolicyNever
		_, err = pods.Update(t.Context(), p, metav1.UpdateOptions{})
		wantStatus(t, err, 422)
		svc, err := s.Client.CoreV1().Services(ns).Create(t.Context(), newService("imm", "", 0), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = "10.96.77.77", []string{"10.96.77.77"}
		_, err = s.Client.CoreV1().Services(ns).Update(t.Context(), svc, metav1.UpdateOptions{})
		wantStatus(t, err, 422)
	})
	t.Run("deletecollection with a label selector", func(t *testing.T) {
		for _, n := range []string{"dc-a", "dc-b", "dc-keep"} {
			l := map[string]string{"dc": "yes"}
			if n == "dc-keep" {
				l["dc"] = "no"
			}
			if _, err := cms.Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: l}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if err := cms.DeleteCollection(t.Context(), metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "dc=yes"}); err != nil {
			t.Fatal(err)
		}
		l, err := cms.List(t.Context(), metav1.ListOptions{LabelSelector: "dc"})
		if err != nil || len(l.Items) != 1 || l.Items[0].Name != "dc-keep" {
			t.Fatalf("after deletecollection: %v %+v", err, l)
		}
	})
	t.Run("YAML create and YAML response", func(t *testing.T) {
		body := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yaml\ndata:\n  k: v\n"
		var out []byte
		err := s.Client.CoreV1().RESTClient().Post().Namespace(ns).Resource("configmaps").
			SetHeader("Content-Type", "application/yaml").SetHeader("Accept", "application/yaml").Body([]byte(body)).Do(t.Context()).Error()
		if err != nil {
			t.Fatal(err)
		}
		out, err = s.Client.CoreV1().RESTClient().Get().Namespace(ns).Resource("configmaps").Name("yaml").SetHeader("Accept", "application/yaml").DoRaw(t.Context())
		if err != nil || !strings.Contains(string(out), "kind: ConfigMap") || !strings.Contains(string(out), "k: v") {
			t.Fatalf("yaml get: %v %s", err, out)
		}
	})
	t.Run("get and list with resourceVersion 0 and Exact", func(t *testing.T) {
		cm, err := cms.Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "rv"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "rv=0 get sees the object", func(ctx context.Context) (bool, error) {
			_, err := cms.Get(ctx, "rv", metav1.GetOptions{ResourceVersion: "0"})
			return err == nil, nil
		})
		cm.Data["a"] = "2"
		if _, err := cms.Update(t.Context(), cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		// An exact list at the creation's revision sees the old data.
		l, err := cms.List(t.Context(), metav1.ListOptions{ResourceVersion: cm.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchExact, FieldSelector: "metadata.name=rv"})
		if err != nil || len(l.Items) != 1 || l.Items[0].Data["a"] != "1" {
			t.Fatalf("exact list: %v %+v", err, l)
		}
		// A resourceVersion the server has not reached: 504 Timeout with
		// the ResourceVersionTooLarge cause after a short wait (raw: client-go
		// would honour Retry-After and retry ten times).
		r := doRaw(t, s, "GET", "/api/v1/namespaces/"+ns+"/configmaps?resourceVersion=999999999&resourceVersionMatch=NotOlderThan", "", nil)
		if r.code != 504 || !r.decoded || r.status.Reason != metav1.StatusReasonTimeout || r.status.Details == nil ||
			len(r.status.Details.Causes) == 0 || r.status.Details.Causes[0].Type != metav1.CauseTypeResourceVersionTooLarge {
			t.Fatalf("future resourceVersion: %d %.300s", r.code, r.body)
		}
	})
	t.Run("watch with rv 0 starts with the current objects", func(t *testing.T) {
		w, err := cms.Watch(t.Context(), metav1.ListOptions{ResourceVersion: "0", FieldSelector: "metadata.name=dc-keep"})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		ev := nextEvent(t, w)
		if ev.Type != watch.Added || ev.Object.(*corev1.ConfigMap).Name != "dc-keep" {
			t.Fatalf("first event %s %v", ev.Type, ev.Object)
		}
	})
	t.Run("watch with bookmarks and sendInitialEvents", func(t *testing.T) {
		w, err := cms.Watch(t.Context(), metav1.ListOptions{SendInitialEvents: ptr(true), AllowWatchBookmarks: true,
			ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan, LabelSelector: "dc=no"})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		ev := nextEvent(t, w)
		if ev.Type != watch.Added || ev.Object.(*corev1.ConfigMap).Name != "dc-keep" {
			t.Fatalf("first event %s %v", ev.Type, ev.Object)
		}
		ev = nextEvent(t, w)
		if ev.Type != watch.Bookmark || ev.Object.(*corev1.ConfigMap).Annotations[metav1.InitialEventsAnnotationKey] != "true" {
			t.Fatalf("second event %s %v, want the initial-events-end bookmark", ev.Type, ev.Object)
		}
	})
	t.Run("watch as Table, as kubectl get -w asks", func(t *testing.T) {
		hc, err := rest.HTTPClientFor(s.Config)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequestWithContext(t.Context(), "GET", s.Config.Host+"/api/v1/namespaces/"+ns+"/pods?watch=true&resourceVersion=0", nil)
		req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("table watch: %s", resp.Status)
		}
		line := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(nil, 1<<20)
			if sc.Scan() {
				line <- sc.Text()
			}
		}()
		select {
		case l := <-line:
			var ev struct {
				Type   string
				Object metav1.Table
			}
			if err := json.Unmarshal([]byte(l), &ev); err != nil {
				t.Fatalf("table watch event %q: %v", l, err)
			}
			if ev.Type != "ADDED" || ev.Object.Kind != "Table" || len(ev.Object.Rows) != 1 || ev.Object.Rows[0].Cells[0] != "smp" {
				t.Fatalf("table watch event: %s", l)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no table watch event")
		}
	})
	t.Run("Table for deployments", func(t *testing.T) {
		if _, err := s.Client.AppsV1().Deployments(ns).Create(t.Context(), newDeployment("web", 3), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		table := &metav1.Table{}
		if err := s.Client.AppsV1().RESTClient().Get().Namespace(ns).Resource("deployments").
			SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").Do(t.Context()).Into(table); err != nil {
			t.Fatal(err)
		}
		var cols []string
		for _, c := range table.ColumnDefinitions {
			if c.Priority == 0 {
				cols = append(cols, c.Name)
			}
		}
		if got := strings.Join(cols, " "); got != "Name Ready Up-to-date Available Age" || len(table.Rows) != 1 || table.Rows[0].Cells[1] != "0/3" {
			t.Fatalf("deployment table: columns %q rows %+v", got, table.Rows)
		}
	})
	t.Run("watch timeoutSeconds ends the watch", func(t *testing.T) {
		w, err := cms.Watch(t.Context(), metav1.ListOptions{TimeoutSeconds: ptr(int64(1))})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case _, ok := <-w.ResultChan():
				if !ok {
					return
				}
			case <-deadline:
				t.Fatal("watch with timeoutSeconds=1 still open after 10s")
			}
		}
	})
	t.Run("deletecollection of pods is graceful for bound pods", func(t *testing.T) {
		for _, n := range []string{"gc-bound", "gc-free"} {
			p := newPod(n, map[string]string{"gc": "yes"})
			if n == "gc-bound" {
				p.Spec.NodeName = "n1"
			}
			if _, err := pods.Create(t.Context(), p, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if err := pods.DeleteCollection(t.Context(), metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "gc=yes"}); err != nil {
			t.Fatal(err)
		}
		l, err := pods.List(t.Context(), metav1.ListOptions{LabelSelector: "gc=yes"})
		if err != nil || len(l.Items) != 1 || l.Items[0].Name != "gc-bound" || l.Items[0].DeletionTimestamp == nil {
			t.Fatalf("after deletecollection: %v %s", err, podNames(l))
		}
	})
	t.Run("namespaced resource via a cluster path and cluster resource via a namespace are 404", func(t *testing.T) {
		err := s.Client.CoreV1().RESTClient().Get().AbsPath("/api/v1/namespaces/" + ns + "/nodes/n1").Do(t.Context()).Error()
		wantStatus(t, err, 404)
	})
}
