package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/kstack/kstack/api"
	"github.com/kstack/kstack/internal/testetcd"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// startFuzzServer builds a Server on an embedded etcd, runs its watch caches
// and bootstrap, and returns its handler once it is ready. It is the
// in-process server without TLS or a listener: requests go straight to the
// handler.
func startFuzzServer(tb testing.TB) http.Handler {
	tb.Helper()
	endpoints, client := testetcd.StartEmbedded(tb)
	cfg := Config{EtcdServers: endpoints, SecurePort: 6443, CertDir: tb.TempDir(), ServiceClusterIPRange: "10.96.0.0/16"}
	if err := cfg.Validate(); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := newServer(ctx, cfg, client)
	if err != nil {
		cancel()
		tb.Fatalf("newServer: %v", err)
	}
	for _, c := range s.cachers {
		go c.Run(ctx)
	}
	go s.startup(ctx)
	tb.Cleanup(func() {
		cancel()
		for _, c := range s.cachers {
			c.Stop()
		}
		if s.stopBackground != nil {
			s.stopBackground()
		}
	})
	select {
	case <-s.ready:
	case <-time.After(2 * time.Minute):
		tb.Fatalf("apiserver not ready: %v", s.bootstrapErr)
	}
	return s.Handler()
}

// FuzzHandlerWrite sends POST and PUT requests with arbitrary bodies,
// Content-Types and queries through the apiserver's handler for every served
// resource. Whatever the input: no 5xx; an error response is a JSON
// metav1.Status whose code is the HTTP status; a success is the served kind.
// Requests are dry runs unless the fuzzer drops dryRun, so valid objects are
// sometimes really stored.
func FuzzHandlerWrite(f *testing.F) {
	pods := resourceIndex(f, "", "pods")
	configmaps := resourceIndex(f, "", "configmaps")
	deployments := resourceIndex(f, "apps", "deployments")
	namespaces := resourceIndex(f, "", "namespaces")
	for _, seed := range []struct {
		body, contentType, query string
		res                      uint16
		put                      bool
	}{
		{`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fuzz"},"data":{"a":"b"}}`, "application/json", "", configmaps, false},
		{`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fuzz"},"data":{"a":"b"}}`, "application/json", "", configmaps, true},
		{`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fuzz","bogus":1}}`, "application/json", "fieldValidation=Strict", configmaps, false},
		{`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"other"}}`, "application/json", "", configmaps, true},
		{"apiVersion: v1\nkind: Pod\nmetadata:\n  name: fuzz\nspec:\n  containers:\n  - name: c\n    image: busybox\n", "application/yaml", "", pods, false},
		{`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"fuzz"},"spec":{"containers":[]}}`, "application/json", "", pods, false},
		{`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"fuzz"},"spec":{"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"x"}]}}}}`, "application/json", "", deployments, false},
		{`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"fuzz"}}`, "application/json", "", namespaces, false},
		{`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"fuzz"}}`, "application/json", "fieldValidation=Bogus", namespaces, false},
		{`{"apiVersion":"v1","kind":"Pod"}`, "text/plain", "", pods, false},
		{`{`, "application/json", "", pods, true},
		{"", "", "", pods, false},
		{"k8s\x00garbage", "application/vnd.kubernetes.protobuf", "", pods, false},
		{`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fuzz","namespace":"kube-system"}}`, "application/json", "", configmaps, false},
		{`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fuzz","resourceVersion":"abc"}}`, "application/json", "", configmaps, true},
	} {
		f.Add([]byte(seed.body), seed.contentType, seed.query, seed.res, seed.put, true)
	}
	// The server logs every rejected request; a fuzz run makes millions.
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.DiscardHandler))
	f.Cleanup(func() { slog.SetDefault(prev) })
	handler := startFuzzServer(f)
	resources := api.Resources()
	f.Fuzz(func(t *testing.T, body []byte, contentType, query string, resIdx uint16, put, dryRun bool) {
		r := &resources[int(resIdx)%len(resources)]
		p := "/api/" + r.Version
		if r.Group != "" {
			p = "/apis/" + r.Group + "/" + r.Version
		}
		if r.Namespaced {
			p += "/namespaces/default"
		}
		p += "/" + r.Resource
		method := http.MethodPost
		if put {
			method = http.MethodPut
			p += "/fuzz"
		}
		q, err := url.ParseQuery(query)
		if err != nil {
			q = url.Values{}
		}
		q.Del("dryRun")
		q.Del("watch")
		q.Del("timeout")
		if dryRun {
			q.Set("dryRun", metav1.DryRunAll)
		}
		req := httptest.NewRequest(method, p, bytes.NewReader(body))
		req.URL.RawQuery = q.Encode()
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Accept", "application/json")
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		what := method + " " + req.URL.String() + " (" + contentType + ")"
		resp, _ := io.ReadAll(rec.Body)
		if rec.Code >= 500 {
			t.Fatalf("%s with body %q: %d %s", what, body, rec.Code, resp)
		}
		if rec.Code >= 300 {
			var st metav1.Status
			if err := json.Unmarshal(resp, &st); err != nil || st.Kind != "Status" {
				t.Fatalf("%s: %d with a body that is not a Status (%v): %s", what, rec.Code, err, resp)
			}
			if int(st.Code) != rec.Code || st.Status != metav1.StatusFailure {
				t.Fatalf("%s: HTTP %d but Status code %d, status %q: %s", what, rec.Code, st.Code, st.Status, resp)
			}
			return
		}
		if r.Virtual {
			return // reviews answer with their own kind
		}
		var tm metav1.TypeMeta
		if err := json.Unmarshal(resp, &tm); err != nil {
			t.Fatalf("%s: %d with a body that is not JSON: %v: %s", what, rec.Code, err, resp)
		}
		if got := schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind); got != r.GroupVersionKind() {
			t.Fatalf("%s: %d answered a %v, want %v: %s", what, rec.Code, got, r.GroupVersionKind(), resp)
		}
		obj := r.New()
		if err := json.Unmarshal(resp, obj); err != nil {
			t.Fatalf("%s: response does not decode as %T: %v", what, obj, err)
		}
	})
}
