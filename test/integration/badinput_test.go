package integration

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/kstack/kstack/test/integration/framework"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// rawResponse is one raw HTTP exchange with the apiserver.
type rawResponse struct {
	code    int
	header  http.Header
	body    []byte
	status  metav1.Status
	decoded bool // body is a metav1.Status
}

// doRaw sends method path with body and Content-Type over the server's
// TLS config and decodes a Status body if there is one.
func doRaw(t *testing.T, s *framework.Server, method, path, contentType string, body []byte) rawResponse {
	t.Helper()
	hc, err := rest.HTTPClientFor(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, s.Config.Host+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	out := rawResponse{code: resp.StatusCode, header: resp.Header, body: data}
	if json.Unmarshal(data, &out.status) == nil && out.status.Kind == "Status" && out.status.APIVersion == "v1" {
		out.decoded = true
	}
	return out
}

// TestBadInput_ErrorsAreStatusesWithTheRightCodes sends malformed,
// oversized, mismatched and invalid requests: each gets the upstream
// code, and its body is a metav1.Status carrying that code.
func TestBadInput_ErrorsAreStatusesWithTheRightCodes(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	const cms = "/api/v1/namespaces/default/configmaps"
	big := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"k":"` + strings.Repeat("x", 3*1024*1024+10) + `"}}`
	cases := []struct {
		name, method, path, ct, body string
		code                         int
		reason                       metav1.StatusReason
		contains                     string
	}{
		{"body over 3MiB", "POST", cms, "application/json", big, 413, metav1.StatusReasonRequestEntityTooLarge, ""},
		{"malformed JSON", "POST", cms, "application/json", `{"apiVersion":"v1","kind":"ConfigMap",`, 400, metav1.StatusReasonBadRequest, ""},
		{"malformed YAML", "POST", cms, "application/yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: [name: x\n", 400, metav1.StatusReasonBadRequest, ""},
		{"unknown resource", "GET", "/api/v1/namespaces/default/widgets", "", "", 404, metav1.StatusReasonNotFound, ""},
		{"unknown group", "GET", "/apis/example.com/v1/widgets", "", "", 404, metav1.StatusReasonNotFound, ""},
		{"kind disagrees with URL", "POST", cms, "application/json", `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}`, 400, metav1.StatusReasonBadRequest, ""},
		{"apiVersion disagrees with URL", "POST", cms, "application/json", `{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"x"}}`, 400, metav1.StatusReasonBadRequest, ""},
		{"namespace mismatch", "POST", cms, "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"kube-system"}}`, 400, metav1.StatusReasonBadRequest, "does not match the namespace"},
		{"name mismatch on update", "PUT", cms + "/a", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}}`, 400, metav1.StatusReasonBadRequest, "does not match"},
		{"invalid object", "POST", cms, "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Not_Valid"},"data":{"bad key!":"v"}}`, 422, metav1.StatusReasonInvalid, ""},
		{"strict unknown field", "POST", cms + "?fieldValidation=Strict", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"strict"},"dta":{"k":"v"}}`, 400, metav1.StatusReasonBadRequest, `unknown field "dta"`},
		{"strict duplicate field", "POST", cms + "?fieldValidation=Strict", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup"},"data":{"k":"v"},"data":{"k":"w"}}`, 400, metav1.StatusReasonBadRequest, "duplicate field"},
		{"apply patch without fieldManager", "PATCH", cms + "/a", "application/apply-patch+yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n", 400, metav1.StatusReasonBadRequest, "must specify a fieldManager"},
		{"unknown patch type", "PATCH", cms + "/a", "application/x-patch", "{}", 415, metav1.StatusReasonUnsupportedMediaType, ""},
		{"unknown content type", "POST", cms, "text/plain", "hello", 415, metav1.StatusReasonUnsupportedMediaType, ""},
		{"bad fieldValidation", "POST", cms + "?fieldValidation=Loose", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}`, 400, metav1.StatusReasonBadRequest, ""},
		{"bad dryRun", "POST", cms + "?dryRun=Some", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}`, 400, metav1.StatusReasonBadRequest, ""},
		{"bad limit", "GET", cms + "?limit=-1", "", "", 400, metav1.StatusReasonBadRequest, ""},
		{"get missing", "GET", cms + "/missing", "", "", 404, metav1.StatusReasonNotFound, ""},
		{"verb not allowed", "DELETE", "/api/v1/namespaces", "", "", 405, metav1.StatusReasonMethodNotAllowed, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := doRaw(t, s, tc.method, tc.path, tc.ct, []byte(tc.body))
			if r.code != tc.code {
				t.Fatalf("code %d, want %d: %.300s", r.code, tc.code, r.body)
			}
			if !r.decoded {
				t.Fatalf("body is not a v1 Status: %.300s", r.body)
			}
			if int(r.status.Code) != tc.code || r.status.Status != metav1.StatusFailure || r.status.Reason != tc.reason {
				t.Fatalf("status code %d status %q reason %q, want %d Failure %q (%s)", r.status.Code, r.status.Status, r.status.Reason, tc.code, tc.reason, r.status.Message)
			}
			if !strings.Contains(r.status.Message, tc.contains) {
				t.Fatalf("message %q does not say %q", r.status.Message, tc.contains)
			}
		})
	}
	// Nothing of the above was written.
	list, err := s.Client.CoreV1().ConfigMaps("default").List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, cm := range list.Items {
		if cm.Name != "kube-root-ca.crt" {
			t.Errorf("bad request stored %s", cm.Name)
		}
	}
}

// TestBadInput_InvalidObjectListsFieldCauses checks the 422 body names
// each invalid field.
func TestBadInput_InvalidObjectListsFieldCauses(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	body := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":-1,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"other"}},"spec":{"containers":[{"name":"app"}]}}}}`
	r := doRaw(t, s, "POST", "/apis/apps/v1/namespaces/default/deployments", "application/json", []byte(body))
	if r.code != 422 || !r.decoded {
		t.Fatalf("code %d: %.300s", r.code, r.body)
	}
	d := r.status.Details
	if d == nil || d.Kind != "Deployment" || d.Group != "apps" || d.Name != "web" {
		t.Fatalf("details %+v", d)
	}
	fields := map[string]bool{}
	for _, c := range d.Causes {
		fields[c.Field] = true
	}
	for _, want := range []string{"spec.replicas", "spec.template.metadata.labels", "spec.template.spec.containers[0].image"} {
		if !fields[want] {
			t.Errorf("no cause for %s in %+v", want, d.Causes)
		}
	}
}

// TestBadInput_FieldValidationWarnAcceptsWithWarningHeader creates with an
// unknown field under Warn (the default): 201 with a Warning header.
func TestBadInput_FieldValidationWarnAcceptsWithWarningHeader(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	for _, q := range []string{"?fieldValidation=Warn", ""} {
		name := "warn" + strings.TrimPrefix(strings.ToLower(q), "?fieldvalidation=")
		body := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"` + name + `"},"dta":{"k":"v"}}`
		r := doRaw(t, s, "POST", "/api/v1/namespaces/default/configmaps"+q, "application/json", []byte(body))
		if r.code != 201 {
			t.Fatalf("%q: code %d: %.300s", q, r.code, r.body)
		}
		if w := r.header.Get("Warning"); !strings.Contains(w, `unknown field \"dta\"`) || !strings.HasPrefix(w, "299 ") {
			t.Fatalf("%q: Warning header %q", q, w)
		}
	}
	// Ignore: no warning.
	r := doRaw(t, s, "POST", "/api/v1/namespaces/default/configmaps?fieldValidation=Ignore", "application/json",
		[]byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"ignore"},"dta":{"k":"v"}}`))
	if r.code != 201 || r.header.Get("Warning") != "" {
		t.Fatalf("Ignore: code %d Warning %q", r.code, r.header.Get("Warning"))
	}
}
