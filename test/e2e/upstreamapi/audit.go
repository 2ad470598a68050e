package upstreamapi

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// auditPolicy records every request at level Metadata (who, what, outcome; no
// bodies), once it completed.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
`

// writeAuditPolicy writes the audit policy into dir and returns its path.
func writeAuditPolicy(t testing.TB, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(path, []byte(auditPolicy), 0o600); err != nil {
		t.Fatalf("upstreamapi: write audit policy: %v", err)
	}
	return path
}

// AuditEvent is the part of an audit.k8s.io/v1 Event the tests read.
type AuditEvent struct {
	Stage      string `json:"stage"`
	Verb       string `json:"verb"`
	RequestURI string `json:"requestURI"`
	User       struct {
		Username string   `json:"username"`
		Groups   []string `json:"groups"`
	} `json:"user"`
	UserAgent      string `json:"userAgent"`
	ResponseStatus *struct {
		Code    int32  `json:"code"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	} `json:"responseStatus"`
	Annotations map[string]string `json:"annotations"`
}

// Code is the response's HTTP status code (0 when the event has none).
func (e AuditEvent) Code() int32 {
	if e.ResponseStatus == nil {
		return 0
	}
	return e.ResponseStatus.Code
}

// String is one line for a test log: user, verb, URI, code and why.
func (e AuditEvent) String() string {
	why := e.Annotations["authorization.k8s.io/reason"]
	if e.ResponseStatus != nil && e.ResponseStatus.Message != "" {
		why += " " + e.ResponseStatus.Message
	}
	return fmt.Sprintf("%s %s %s -> %d %s (user agent %q)", e.User.Username, e.Verb, e.RequestURI, e.Code(), why, e.UserAgent)
}

// AuditEvents reads the audit log so far.
func (s *Server) AuditEvents(t testing.TB) []AuditEvent {
	t.Helper()
	f, err := os.Open(s.AuditLogPath)
	if err != nil {
		t.Fatalf("upstreamapi: open audit log: %v", err)
	}
	defer f.Close()
	var events []AuditEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		var e AuditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// The server may be writing the last line right now.
			continue
		}
		events = append(events, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("upstreamapi: read audit log: %v", err)
	}
	return events
}

// Denials returns the audited requests the server refused to authenticate (401)
// or authorize (the authorizer's "forbid" decision), for users that pass keep
// (nil keeps every user). Admission refusals (403 for a terminating namespace,
// say) are not denials.
func (s *Server) Denials(t testing.TB, keep func(username string) bool) []AuditEvent {
	t.Helper()
	var out []AuditEvent
	for _, e := range s.AuditEvents(t) {
		denied := e.Code() == 401 || e.Annotations["authorization.k8s.io/decision"] == "forbid"
		if denied && (keep == nil || keep(e.User.Username)) {
			out = append(out, e)
		}
	}
	return out
}
