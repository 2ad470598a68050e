package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/kstack/kstack/pkg/auth"
)

// policyAt is a policy auditing everything at level l.
func policyAt(t *testing.T, l Level, extra string) *Policy {
	t.Helper()
	p, err := ParsePolicy([]byte("apiVersion: audit.k8s.io/v1\nkind: Policy\n" + extra + "rules: [{level: " + string(l) + "}]"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// lockedBuffer is an io.Writer tests can read while handlers write.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// events decodes the JSON lines written so far.
func (b *lockedBuffer) events(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("audit line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, ev)
	}
	return out
}

var alice = &auth.User{Name: "alice", UID: "u-1", Groups: []string{"dev", "system:authenticated"}}

// createPod is what the apiserver tells the auditor about POST .../pods.
func createPod(*http.Request) Attrs {
	return Attrs{User: alice, Verb: "create", ResourceRequest: true, APIVersion: "v1",
		Namespace: "default", Resource: "pods"}
}

const podBody = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","managedFields":[{"manager":"kubectl"}]}}`

// podHandler authorizes, checks it still gets the whole body, and answers 201.
func podHandler(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		AddAnnotation(r.Context(), AnnotationDecision, "allow")
		AddAnnotation(r.Context(), AnnotationReason, `RBAC: allowed by ClusterRoleBinding "edit"`)
		body, _ := io.ReadAll(r.Body)
		if string(body) != podBody {
			t.Errorf("handler read body %q", body)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","managedFields":[{"manager":"kubectl"}]}}`))
	})
}

func serve(h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "kubectl/v1.37.2")
	r.Header.Set("X-Forwarded-For", "10.0.0.7")
	r.RemoteAddr = "192.0.2.1:5555"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// decoded is s as a JSON value (maps marshal with sorted keys).
func decoded(s string) any {
	var v any
	_ = json.Unmarshal([]byte(s), &v)
	return v
}

var microTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)

func TestHandler_EachLevelRecordsItsFields(t *testing.T) {
	tests := []struct {
		level            Level
		wantEvents       int
		wantRequestBody  bool
		wantResponseBody bool
	}{
		{LevelNone, 0, false, false},
		{LevelMetadata, 2, false, false},
		{LevelRequest, 2, true, false},
		{LevelRequestResponse, 2, true, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.level), func(t *testing.T) {
			var log lockedBuffer
			h := New(policyAt(t, tt.level, ""), &log).Handler(podHandler(t), createPod)
			w := serve(h, "POST", "/api/v1/namespaces/default/pods?fieldManager=kubectl", podBody)
			if w.Code != http.StatusCreated {
				t.Fatalf("response %d", w.Code)
			}
			evs := log.events(t)
			if len(evs) != tt.wantEvents {
				t.Fatalf("%d events, want %d: %v", len(evs), tt.wantEvents, evs)
			}
			if tt.wantEvents == 0 {
				if w.Header().Get(HeaderAuditID) != "" {
					t.Error("an unaudited request got an Audit-ID")
				}
				return
			}
			received, complete := evs[0], evs[1]
			if received["stage"] != "RequestReceived" || complete["stage"] != "ResponseComplete" {
				t.Fatalf("stages %v, %v", received["stage"], complete["stage"])
			}
			if received["auditID"] != complete["auditID"] || received["auditID"] != w.Header().Get(HeaderAuditID) || received["auditID"] == "" {
				t.Errorf("audit IDs %v %v, header %q", received["auditID"], complete["auditID"], w.Header().Get(HeaderAuditID))
			}
			want := map[string]any{
				"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": string(tt.level),
				"verb": "create", "requestURI": "/api/v1/namespaces/default/pods?fieldManager=kubectl",
				"userAgent": "kubectl/v1.37.2",
			}
			for k, v := range want {
				if complete[k] != v {
					t.Errorf("%s = %v, want %v", k, complete[k], v)
				}
			}
			js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
			for field, wantJSON := range map[string]string{
				"user":           `{"groups":["dev","system:authenticated"],"uid":"u-1","username":"alice"}`,
				"sourceIPs":      `["10.0.0.7","192.0.2.1"]`,
				"objectRef":      `{"apiVersion":"v1","namespace":"default","resource":"pods"}`,
				"responseStatus": `{"code":201,"metadata":{}}`,
				"annotations":    `{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \"edit\""}`,
			} {
				if got := js(complete[field]); got != wantJSON {
					t.Errorf("%s = %s, want %s", field, got, wantJSON)
				}
			}
			for _, ts := range []string{"requestReceivedTimestamp", "stageTimestamp"} {
				if s, _ := complete[ts].(string); !microTime.MatchString(s) {
					t.Errorf("%s = %v, want a MicroTime", ts, complete[ts])
				}
			}
			if _, ok := received["requestObject"]; ok {
				t.Error("RequestReceived carries the request body")
			}
			if _, ok := complete["requestObject"]; ok != tt.wantRequestBody {
				t.Errorf("requestObject present=%v, want %v", ok, tt.wantRequestBody)
			} else if sent := decoded(podBody); ok && js(complete["requestObject"]) != js(sent) {
				t.Errorf("requestObject %s", js(complete["requestObject"]))
			}
			if _, ok := complete["responseObject"]; ok != tt.wantResponseBody {
				t.Errorf("responseObject present=%v, want %v", ok, tt.wantResponseBody)
			}
		})
	}
}

func TestHandler_OmitStagesAndManagedFields(t *testing.T) {
	var log lockedBuffer
	p := policyAt(t, LevelRequestResponse, "omitStages: [RequestReceived]\nomitManagedFields: true\n")
	serve(New(p, &log).Handler(podHandler(t), createPod), "POST", "/api/v1/namespaces/default/pods", podBody)
	evs := log.events(t)
	if len(evs) != 1 || evs[0]["stage"] != "ResponseComplete" {
		t.Fatalf("events %v, want ResponseComplete only", evs)
	}
	for _, f := range []string{"requestObject", "responseObject"} {
		b, _ := json.Marshal(evs[0][f])
		if !strings.Contains(string(b), `"name":"p"`) || strings.Contains(string(b), "managedFields") {
			t.Errorf("%s = %s, want the object without managedFields", f, b)
		}
	}
}

// flushRecorder is a ResponseRecorder that notes flushes.
type flushRecorder struct {
	*httptest.ResponseRecorder
	flushes int
}

func (f *flushRecorder) Flush() { f.flushes++; f.ResponseRecorder.Flush() }

func TestHandler_WatchLogsStartAndEndWithoutBodies(t *testing.T) {
	var log lockedBuffer
	a := New(policyAt(t, LevelRequestResponse, ""), &log)
	watch := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := w.(http.Flusher)
		if !ok {
			t.Fatal("the audit writer hides http.Flusher")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		f.Flush()
		if n := len(log.events(t)); n != 2 {
			t.Errorf("%d events once the watch started, want RequestReceived and ResponseStarted", n)
		}
		for range 3 {
			_, _ = w.Write([]byte(`{"type":"ADDED","object":{"kind":"Pod"}}` + "\n"))
			f.Flush()
		}
	})
	info := func(*http.Request) Attrs {
		return Attrs{User: alice, Verb: "watch", ResourceRequest: true, APIVersion: "v1", Resource: "pods"}
	}
	rec := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
	a.Handler(watch, info).ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/pods?watch=true", nil))
	if rec.flushes != 4 {
		t.Errorf("%d flushes reached the client, want 4", rec.flushes)
	}
	evs := log.events(t)
	var stages []string
	for _, ev := range evs {
		stages = append(stages, ev["stage"].(string))
		if _, ok := ev["responseObject"]; ok {
			t.Errorf("%s event has the watch stream as responseObject", ev["stage"])
		}
	}
	if strings.Join(stages, ",") != "RequestReceived,ResponseStarted,ResponseComplete" {
		t.Fatalf("stages %v", stages)
	}
}

func TestHandler_ErrorStatusAndPanic(t *testing.T) {
	var log lockedBuffer
	a := New(policyAt(t, LevelMetadata, ""), &log)
	notFound := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \"x\" not found","reason":"NotFound","details":{"name":"x","kind":"pods"},"code":404}`))
	})
	serve(a.Handler(notFound, createPod), "GET", "/api/v1/namespaces/default/pods/x", "")
	evs := log.events(t)
	b, _ := json.Marshal(evs[len(evs)-1]["responseStatus"])
	if want := `{"code":404,"details":{"kind":"pods","name":"x"},"message":"pods \"x\" not found","metadata":{},"reason":"NotFound","status":"Failure"}`; string(b) != want {
		t.Errorf("responseStatus %s, want %s", b, want)
	}

	boom := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Errorf("recovered %v, want the handler's panic to go on", v)
			}
		}()
		serve(a.Handler(boom, createPod), "GET", "/api/v1/namespaces/default/pods/x", "")
	}()
	evs = log.events(t)
	last := evs[len(evs)-1]
	b, _ = json.Marshal(last["responseStatus"])
	if last["stage"] != "Panic" || !strings.Contains(string(b), `"code":500`) || !strings.Contains(string(b), "boom") {
		t.Errorf("last event %v %s, want a Panic with 500", last["stage"], b)
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestHandler_FailedOrClosedLogDoesNotFailRequests(t *testing.T) {
	before := counterValue(t, auditErrors)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	failing := New(policyAt(t, LevelMetadata, ""), failingWriter{})
	if w := serve(failing.Handler(ok, createPod), "GET", "/api/v1/pods", ""); w.Code != http.StatusOK {
		t.Fatalf("failing log: response %d", w.Code)
	}
	if got := counterValue(t, auditErrors) - before; got != 2 {
		t.Errorf("apiserver_audit_error_total grew by %v, want 2", got)
	}

	path := filepath.Join(t.TempDir(), "audit.log")
	policyFile := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(policyFile, []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: Metadata}]"), 0o600); err != nil {
		t.Fatal(err)
	}
	closed, err := NewFromFlags(policyFile, path, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := closed.Close(); err != nil {
		t.Fatal(err)
	}
	if w := serve(closed.Handler(ok, createPod), "GET", "/api/v1/pods", ""); w.Code != http.StatusOK {
		t.Fatalf("closed log: response %d", w.Code)
	}
}

func TestNewFromFlags(t *testing.T) {
	dir := t.TempDir()
	policyFile := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policyFile, []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: Metadata}]"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                       string
		policy, log                string
		maxAge, maxBackup, maxSize int
		wantNil                    bool
		wantErr                    string
	}{
		{"no policy: audit off", "", filepath.Join(dir, "a.log"), 0, 0, 0, true, ""},
		{"no log: audit off", policyFile, "", 0, 0, 0, true, ""},
		{"stdout", policyFile, "-", 0, 0, 0, false, ""},
		{"file in a new directory", policyFile, filepath.Join(dir, "sub", "audit.log"), 30, 10, 100, false, ""},
		{"negative maxage", policyFile, "-", -1, 0, 0, false, "--audit-log-maxage must be greater than or equal to 0"},
		{"missing policy", filepath.Join(dir, "nope.yaml"), "-", 0, 0, 0, false, "read audit policy"},
		{"log path is a directory", policyFile, dir, 0, 0, 0, false, "open audit log"},
	}
	for _, tt := range tests {
		a, err := NewFromFlags(tt.policy, tt.log, tt.maxAge, tt.maxBackup, tt.maxSize)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want %q", tt.name, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case (a == nil) != tt.wantNil:
			t.Errorf("%s: auditor %v, want nil=%v", tt.name, a, tt.wantNil)
		}
		if a != nil {
			a.Close()
		}
	}
	var off *Auditor
	next := http.NotFoundHandler()
	if h := off.Handler(next, createPod); h == nil || off.Begin(httptest.NewRequest("GET", "/", nil), Attrs{}) != nil {
		t.Error("a nil Auditor must pass requests through")
	}
}

func TestNewFromFlags_RotatesBySize(t *testing.T) {
	dir := t.TempDir()
	policyFile := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policyFile, []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: Request}]"), 0o600); err != nil {
		t.Fatal(err)
	}
	logDir := filepath.Join(dir, "log")
	a, err := NewFromFlags(policyFile, filepath.Join(logDir, "audit.log"), 0, 5, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) })
	h := a.Handler(ok, createPod)
	big := `{"data":"` + strings.Repeat("x", 200<<10) + `"}`
	for range 8 { // 8 events of ~200 KiB: more than 1 MB
		serve(h, "POST", "/api/v1/namespaces/default/pods", big)
	}
	entries, err := os.ReadDir(logDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		info, _ := e.Info()
		if info.Size() > 1<<20 {
			t.Errorf("%s is %d bytes, more than --audit-log-maxsize=1 (MB)", e.Name(), info.Size())
		}
	}
	if len(names) < 2 || !strings.Contains(strings.Join(names, " "), "audit.log") {
		t.Fatalf("log directory holds %v, want audit.log and a rotated backup", names)
	}
}

func TestSourceIPs(t *testing.T) {
	tests := []struct {
		xff, realIP, remote string
		want                string
	}{
		{"", "", "192.0.2.1:443", "192.0.2.1"},
		{"10.0.0.1, 10.0.0.2", "", "192.0.2.1:443", "10.0.0.1,10.0.0.2,192.0.2.1"},
		{"10.0.0.1", "10.0.0.1", "10.0.0.1:1", "10.0.0.1"},
		{"junk, 10.0.0.1", "10.0.0.9", "[2001:db8::1]:443", "10.0.0.1,10.0.0.9,2001:db8::1"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		if tt.realIP != "" {
			r.Header.Set("X-Real-Ip", tt.realIP)
		}
		if got := strings.Join(sourceIPs(r), ","); got != tt.want {
			t.Errorf("xff=%q real=%q remote=%q: %s, want %s", tt.xff, tt.realIP, tt.remote, got, tt.want)
		}
	}
}
