package integration

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/kstack/kstack/api"
	"github.com/kstack/kstack/test/integration/framework"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
)

// rawGet GETs path with the Accept header and returns code, headers, body.
func rawGet(t *testing.T, s *framework.Server, path, accept string) (int, http.Header, string) {
	t.Helper()
	hc, err := rest.HTTPClientFor(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", s.Config.Host+path, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

// TestObservability_HealthMetricsVersion checks the health endpoints, the
// metrics the project promises (including long-running requests while a
// watch is open) and /version.
func TestObservability_HealthMetricsVersion(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	for _, path := range []string{"/healthz", "/livez", "/readyz", "/readyz/etcd", "/livez/etcd", "/healthz/etcd"} {
		code, _, body := rawGet(t, s, path, "")
		if code != 200 || body != "ok" {
			t.Errorf("%s: %d %q", path, code, body)
		}
	}
	code, _, body := rawGet(t, s, "/readyz?verbose", "")
	if code != 200 || !strings.Contains(body, "[+]etcd ok") || !strings.Contains(body, "readyz check passed") {
		t.Errorf("/readyz?verbose: %d %q", code, body)
	}
	if code, _, _ := rawGet(t, s, "/readyz/nonexistent", ""); code != 404 {
		t.Errorf("/readyz/nonexistent: %d", code)
	}

	// Traffic for the request and storage metrics.
	if _, err := s.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "m"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	w, err := s.Client.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var metrics string
	eventually(t, "metrics show the open watch", func(ctx context.Context) (bool, error) {
		_, _, metrics = rawGet(t, s, "/metrics", "")
		return regexp.MustCompile(`(?m)^apiserver_longrunning_requests\{[^}]*resource="pods"[^}]*verb="WATCH"[^}]*\} [1-9]`).MatchString(metrics), nil
	})
	for _, re := range []string{
		`(?m)^apiserver_request_total\{[^}]*code="201"[^}]*resource="configmaps"[^}]*scope="resource"[^}]*verb="POST"[^}]*\} [1-9]`,
		`(?m)^apiserver_request_total\{[^}]*resource="configmaps"[^}]*verb="LIST"[^}]*\} [1-9]`,
		`(?m)^apiserver_request_duration_seconds_bucket\{[^}]*resource="configmaps"[^}]*verb="POST"`,
		`(?m)^apiserver_storage_objects\{resource="configmaps"\} [1-9]`,
		`(?m)^etcd_request_duration_seconds_bucket\{`,
		// The serving certificate and client CA the harness gives it.
		`(?m)^kstack_certificate_expiration_timestamp_seconds\{name="apiserver-serving"\} [1-9]`,
		`(?m)^kstack_certificate_expiration_timestamp_seconds\{name="client-ca"\} [1-9]`,
	} {
		if !regexp.MustCompile(re).MatchString(metrics) {
			t.Errorf("/metrics lacks %s", re)
		}
	}

	v, err := s.Client.Discovery().ServerVersion()
	if err != nil || !strings.HasPrefix(v.GitVersion, "v") || v.Major == "" || v.Minor == "" || v.Platform == "" {
		t.Errorf("/version: %+v %v", v, err)
	}
}

// TestObservability_ServerSidePrintingAndMetadataOnly asks for pods as a
// Table (kubectl get's columns) and as PartialObjectMetadata through the
// metadata client.
func TestObservability_ServerSidePrintingAndMetadataOnly(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	ns := createNamespace(t, s.Client, "printing")
	for _, name := range []string{"web-1", "web-2"} {
		if _, err := s.Client.CoreV1().Pods(ns).Create(ctx, newPod(name, map[string]string{"app": "web"}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	table := &metav1.Table{}
	err := s.Client.CoreV1().RESTClient().Get().Namespace(ns).Resource("pods").
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").Do(ctx).Into(table)
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range table.ColumnDefinitions {
		if c.Priority == 0 {
			cols = append(cols, c.Name)
		}
	}
	if got := strings.Join(cols, " "); got != "Name Ready Status Restarts Age" {
		t.Fatalf("columns %q, want Name Ready Status Restarts Age", got)
	}
	if len(table.Rows) != 2 || table.Rows[0].Cells[0] != "web-1" || table.Rows[0].Cells[1] != "0/1" || table.Rows[0].Cells[2] != "Pending" {
		t.Fatalf("rows %+v", table.Rows)
	}
	if table.ResourceVersion == "" {
		t.Fatalf("table has no resourceVersion")
	}
	// A single object as a Table.
	one := &metav1.Table{}
	if err := s.Client.CoreV1().RESTClient().Get().Namespace(ns).Resource("pods").Name("web-2").
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").Do(ctx).Into(one); err != nil || len(one.Rows) != 1 || one.Rows[0].Cells[0] != "web-2" {
		t.Fatalf("single-object table: %v %+v", err, one.Rows)
	}

	mc, err := metadata.NewForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	pods := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	list, err := mc.Resource(pods).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 || list.Items[0].Name != "web-1" || list.Items[0].Labels["app"] != "web" || list.Items[0].UID == "" {
		t.Fatalf("metadata list: kind %q items %+v", list.Kind, list.Items)
	}
	item, err := mc.Resource(pods).Namespace(ns).Get(ctx, "web-2", metav1.GetOptions{})
	if err != nil || item.Name != "web-2" || item.Namespace != ns || item.Labels["app"] != "web" {
		t.Fatalf("metadata get: %v %+v", err, item)
	}
	// On the wire: kind PartialObjectMetadataList, no spec.
	code, hdr, body := rawGet(t, s, "/api/v1/namespaces/"+ns+"/pods", "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io")
	if code != 200 || !strings.Contains(body, `"kind":"PartialObjectMetadataList"`) || strings.Contains(body, `"containers"`) ||
		!strings.Contains(hdr.Get("Content-Type"), "application/json") {
		t.Fatalf("raw metadata list: %d %q %.300s", code, hdr.Get("Content-Type"), body)
	}
}

// TestObservability_EveryResourcePrintsAsTable lists every listable
// resource as a Table (kubectl get's request), and checks rows for what
// the server bootstraps.
func TestObservability_EveryResourcePrintsAsTable(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	rows := map[string]int{}
	for _, r := range api.Resources() {
		if !r.AllowsVerb("list") {
			continue
		}
		prefix := "/apis/" + r.Group + "/" + r.Version
		if r.Group == "" {
			prefix = "/api/v1"
		}
		table := &metav1.Table{}
		err := s.Client.CoreV1().RESTClient().Get().AbsPath(prefix, r.Resource).
			SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").Do(t.Context()).Into(table)
		if err != nil {
			t.Errorf("%s %s as Table: %v", r.GroupVersion(), r.Resource, err)
			continue
		}
		// Every table has a Name column (events put it last, as upstream).
		hasName := false
		for _, c := range table.ColumnDefinitions {
			hasName = hasName || c.Name == "Name"
		}
		if !hasName {
			t.Errorf("%s %s columns %+v", r.GroupVersion(), r.Resource, table.ColumnDefinitions)
		}
		for _, row := range table.Rows {
			// Upstream's IPAddress printer sends an age cell it has no
			// column for; kstack matches it.
			if len(row.Cells) != len(table.ColumnDefinitions) && r.Resource != "ipaddresses" {
				t.Errorf("%s %s row has %d cells for %d columns", r.GroupVersion(), r.Resource, len(row.Cells), len(table.ColumnDefinitions))
			}
		}
		rows[r.GroupVersion().String()+"/"+r.Resource] = len(table.Rows)
	}
	for _, want := range []string{"v1/namespaces", "v1/services", "v1/endpoints", "scheduling.k8s.io/v1/priorityclasses"} {
		if rows[want] == 0 {
			t.Errorf("%s table has no rows", want)
		}
	}
}
