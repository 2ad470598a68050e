package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"

	"github.com/kstack/kstack/pkg/apiserver"
	"github.com/kstack/kstack/test/integration/framework"
)

// auditEvent is the part of an audit.k8s.io/v1 Event the tests read.
type auditEvent struct {
	Kind, APIVersion, Level, AuditID, Stage, RequestURI, Verb string
	User                                                      struct {
		Username string   `json:"username"`
		Groups   []string `json:"groups"`
	} `json:"user"`
	ImpersonatedUser *struct {
		Username string `json:"username"`
	} `json:"impersonatedUser"`
	ObjectRef *struct {
		Resource, Namespace, Name, APIGroup, APIVersion string
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"responseStatus"`
	RequestObject  json.RawMessage   `json:"requestObject"`
	ResponseObject json.RawMessage   `json:"responseObject"`
	Annotations    map[string]string `json:"annotations"`
}

// readAudit parses every line of the audit log.
func readAudit(t *testing.T, path string) []auditEvent {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []auditEvent
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var ev auditEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		out = append(out, ev)
	}
	return out
}

// auditedRequest sends one request with an Audit-ID and returns the code.
func auditedRequest(t *testing.T, cfg *rest.Config, method, path, body, auditID string) int {
	t.Helper()
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, cfg.Host+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Audit-ID", auditID)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Audit-ID"); got != "" && got != auditID {
		t.Errorf("%s %s: response Audit-ID %q, want %q", method, path, got, auditID)
	}
	return resp.StatusCode
}

const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: None
  nonResourceURLs: ["/healthz*", "/readyz*", "/livez*"]
- level: RequestResponse
  resources:
  - group: ""
    resources: ["configmaps"]
- level: Request
  resources:
  - group: ""
    resources: ["pods"]
  verbs: ["create", "update", "patch"]
- level: Metadata
`

func TestSecurity_AuditLogsEveryRequestAtItsLevel(t *testing.T) {
	dir := t.TempDir()
	policyPath, logPath := filepath.Join(dir, "policy.yaml"), filepath.Join(dir, "audit.log")
	if err := os.WriteFile(policyPath, []byte(auditPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	s := framework.Start(t, framework.Options{EmbeddedEtcd: true, Configure: func(c *apiserver.Config) {
		c.AuditPolicyFile, c.AuditLogPath = policyPath, logPath
	}})
	ns := createNamespace(t, s.Client, "audited")
	if _, err := s.Client.CoreV1().Secrets(ns).Create(t.Context(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s1"},
		StringData: map[string]string{"password": "do-not-log-me"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	impersonating := rest.CopyConfig(s.Config)
	impersonating.Impersonate.UserName = "vic"
	badToken := s.AnonymousConfig()
	badToken.BearerToken = "no-such-token"
	cmPath := "/api/v1/namespaces/" + ns + "/configmaps"
	podBody, _ := json.Marshal(newPod("p1", nil))

	tests := []struct {
		name                 string
		cfg                  *rest.Config
		method, path, body   string
		wantCode             int
		wantLevel            string // "" when no event is expected
		wantUser, wantImp    string
		wantVerb             string
		wantResource, wantNm string
		wantReq, wantResp    bool
		wantDecision         string
	}{
		{"create configmap at RequestResponse", s.Config, "POST", cmPath, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c1"},"data":{"k":"logged-value"}}`,
			201, "RequestResponse", "kubernetes-admin", "", "create", "configmaps", "c1", true, true, "allow"},
		{"get configmap at RequestResponse", s.Config, "GET", cmPath + "/c1", "",
			200, "RequestResponse", "kubernetes-admin", "", "get", "configmaps", "c1", false, true, "allow"},
		{"create pod at Request", s.Config, "POST", "/api/v1/namespaces/" + ns + "/pods", string(podBody),
			201, "Request", "kubernetes-admin", "", "create", "pods", "p1", true, false, "allow"},
		{"get pod at Metadata", s.Config, "GET", "/api/v1/namespaces/" + ns + "/pods/p1", "",
			200, "Metadata", "kubernetes-admin", "", "get", "pods", "p1", false, false, "allow"},
		{"get secret at Metadata", s.Config, "GET", "/api/v1/namespaces/" + ns + "/secrets/s1", "",
			200, "Metadata", "kubernetes-admin", "", "get", "secrets", "s1", false, false, "allow"},
		{"forbidden list at Metadata", s.UserConfig(t, "jane"), "GET", "/api/v1/namespaces/" + ns + "/pods", "",
			403, "Metadata", "jane", "", "list", "pods", "", false, false, "forbid"},
		{"impersonated request", impersonating, "GET", "/api/v1/namespaces/" + ns + "/secrets", "",
			403, "Metadata", "kubernetes-admin", "vic", "list", "secrets", "", false, false, "forbid"},
		{"unauthenticated request", badToken, "GET", "/api/v1/namespaces/" + ns + "/pods", "",
			401, "Metadata", "", "", "list", "pods", "", false, false, ""},
		{"anonymous version at Metadata", s.AnonymousConfig(), "GET", "/version", "",
			200, "Metadata", "system:anonymous", "", "get", "", "", false, false, "allow"},
		{"delete configmap at RequestResponse", s.Config, "DELETE", cmPath + "/c1", "",
			200, "RequestResponse", "kubernetes-admin", "", "delete", "configmaps", "c1", false, true, "allow"},
		{"healthz is not audited", s.AnonymousConfig(), "GET", "/healthz", "", 200, "", "", "", "", "", "", false, false, ""},
		{"readyz is not audited", s.Config, "GET", "/readyz", "", 200, "", "", "", "", "", "", false, false, ""},
	}
	ids := map[string]string{}
	for i, tt := range tests {
		id := fmt.Sprintf("audit-test-%02d", i)
		ids[tt.name] = id
		if code := auditedRequest(t, tt.cfg, tt.method, tt.path, tt.body, id); code != tt.wantCode {
			t.Fatalf("%s: %s %s = %d, want %d", tt.name, tt.method, tt.path, code, tt.wantCode)
		}
	}
	// Events are written as responses end: wait for the last expected one.
	var events []auditEvent
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		events = readAudit(t, logPath)
		for _, tt := range tests {
			if tt.wantLevel != "" && findEvent(events, ids[tt.name]) == nil {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		// The subtests below say which events are missing.
		t.Errorf("waiting for the audit events: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mine []auditEvent
			for _, ev := range events {
				if ev.AuditID == ids[tt.name] {
					mine = append(mine, ev)
				}
			}
			if tt.wantLevel == "" {
				if len(mine) != 0 {
					t.Fatalf("got %d events, want none: %+v", len(mine), mine)
				}
				return
			}
			if len(mine) == 0 {
				t.Fatalf("no event for %s %s", tt.method, tt.path)
			}
			if len(mine) != 1 {
				t.Fatalf("got %d events, want one (RequestReceived omitted): %+v", len(mine), mine)
			}
			ev := mine[0]
			// A request that fails authentication has one ResponseStarted
			// event, as upstream's failed-authentication audit writes it.
			wantStage := "ResponseComplete"
			if tt.wantCode == 401 {
				wantStage = "ResponseStarted"
			}
			if ev.Kind != "Event" || ev.APIVersion != "audit.k8s.io/v1" || ev.Stage != wantStage {
				t.Errorf("event %s %s stage %s, want audit.k8s.io/v1 Event stage %s", ev.APIVersion, ev.Kind, ev.Stage, wantStage)
			}
			if tt.wantCode == 401 && ev.ResponseStatus != nil && ev.ResponseStatus.Message != "Authentication failed, attempted: bearer" {
				t.Errorf("401 event message %q", ev.ResponseStatus.Message)
			}
			if ev.Level != tt.wantLevel {
				t.Errorf("level %s, want %s", ev.Level, tt.wantLevel)
			}
			if ev.User.Username != tt.wantUser {
				t.Errorf("user %q, want %q", ev.User.Username, tt.wantUser)
			}
			gotImp := ""
			if ev.ImpersonatedUser != nil {
				gotImp = ev.ImpersonatedUser.Username
			}
			if gotImp != tt.wantImp {
				t.Errorf("impersonated user %q, want %q", gotImp, tt.wantImp)
			}
			if ev.Verb != tt.wantVerb {
				t.Errorf("verb %q, want %q", ev.Verb, tt.wantVerb)
			}
			if ev.RequestURI != tt.path {
				t.Errorf("requestURI %q, want %q", ev.RequestURI, tt.path)
			}
			if tt.wantResource == "" {
				if ev.ObjectRef != nil {
					t.Errorf("objectRef %+v on a non-resource request", ev.ObjectRef)
				}
			} else if ev.ObjectRef == nil {
				t.Errorf("no objectRef")
			} else {
				if ev.ObjectRef.Resource != tt.wantResource || ev.ObjectRef.Namespace != ns || ev.ObjectRef.Name != tt.wantNm || ev.ObjectRef.APIVersion != "v1" {
					t.Errorf("objectRef %+v, want %s %s/%s v1", *ev.ObjectRef, tt.wantResource, ns, tt.wantNm)
				}
			}
			if ev.ResponseStatus == nil || ev.ResponseStatus.Code != tt.wantCode {
				t.Errorf("responseStatus %+v, want code %d", ev.ResponseStatus, tt.wantCode)
			}
			if (len(ev.RequestObject) > 0) != tt.wantReq {
				t.Errorf("requestObject present=%v, want %v", len(ev.RequestObject) > 0, tt.wantReq)
			}
			if (len(ev.ResponseObject) > 0) != tt.wantResp {
				t.Errorf("responseObject present=%v, want %v", len(ev.ResponseObject) > 0, tt.wantResp)
			}
			if tt.wantReq && tt.body != "" && tt.wantResource == "configmaps" && !bytes.Contains(ev.RequestObject, []byte("logged-value")) {
				t.Errorf("requestObject %s lacks the request's data", ev.RequestObject)
			}
			if tt.wantResp && tt.method == "GET" && !bytes.Contains(ev.ResponseObject, []byte(`"uid"`)) {
				t.Errorf("responseObject %s is not the stored object", ev.ResponseObject)
			}
			if got := ev.Annotations["authorization.k8s.io/decision"]; got != tt.wantDecision {
				t.Errorf("decision annotation %q, want %q", got, tt.wantDecision)
			}
		})
	}
	// Secrets are Metadata only: their data never reaches the log.
	raw, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("do-not-log-me")) || bytes.Contains(raw, []byte("ZG8tbm90LWxvZy1tZQ")) {
		t.Error("a secret's value is in the audit log")
	}
}

func findEvent(events []auditEvent, id string) *auditEvent {
	for i := range events {
		if events[i].AuditID == id {
			return &events[i]
		}
	}
	return nil
}
