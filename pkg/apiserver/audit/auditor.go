// Package audit writes the apiserver's audit log: --audit-policy-file (an
// audit.k8s.io/v1 Policy) picks a level for each request, and
// --audit-log-path receives one JSON audit.k8s.io/v1 Event per line and
// stage, rotated by size and age (--audit-log-maxsize, -maxbackup, -maxage).
//
// The apiserver wraps its handler once authentication has run:
//
//	handler = auditor.Handler(handler, func(r *http.Request) audit.Attrs { ... })
//
// and the authorizer adds its decision with audit.AddAnnotation(ctx, ...).
// Stages written: RequestReceived, ResponseComplete, and for long-running
// requests (watch, exec, ...) ResponseStarted; Panic when the handler
// panics. Long-running requests never have their bodies buffered.
package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"gopkg.in/natefinch/lumberjack.v2"
	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/kstack/kstack/pkg/auth"
)

// HeaderAuditID carries a request's audit ID, in the response always and
// in the request when the client chose one.
const HeaderAuditID = "Audit-ID"

// maxBody caps the request and response bodies an event records; a bigger
// body is left out of the event.
const maxBody = 10 << 20

// maxStatusBody caps how much of an error response is kept to read its
// Status when the level does not record response bodies.
const maxStatusBody = 64 << 10

// Attrs describe a request for the policy and the event; the apiserver
// fills them from the authenticated user and its request info.
type Attrs struct {
	// User sent the request (after authentication, before impersonation);
	// nil when the request is not authenticated.
	User *auth.User
	// ImpersonatedUser is the user the request acts as, if impersonating.
	ImpersonatedUser *auth.User
	// Verb is get, list, watch, create, update, patch, delete or
	// deletecollection for resource requests; the lower-cased HTTP method
	// otherwise.
	Verb            string
	ResourceRequest bool
	APIGroup        string
	APIVersion      string
	Namespace       string
	Resource        string
	Subresource     string
	Name            string
	// Path is the URL path; empty means the request's.
	Path string
	// LongRunning requests (watch, exec, attach, portforward, proxy, log
	// follow) get a ResponseStarted event and never have bodies recorded.
	// A watch verb is always long-running.
	LongRunning bool
}

// Auditor evaluates the policy and writes events. A nil *Auditor audits
// nothing: Handler returns next as it is and Begin returns nil.
type Auditor struct {
	policy *Policy
	now    func() time.Time

	mu      sync.Mutex
	w       io.Writer
	closer  io.Closer // nil for stdout and writers the caller owns
	closed  bool
	failing bool // the last write failed (logged once until one succeeds)
}

// New returns an Auditor writing JSON lines to w (the caller closes w).
func New(policy *Policy, w io.Writer) *Auditor {
	return &Auditor{policy: policy, w: w, now: time.Now}
}

// NewFromFlags builds the Auditor of the apiserver's flags:
// --audit-policy-file, --audit-log-path ("-" is stdout),
// --audit-log-maxage (days), --audit-log-maxbackup (files) and
// --audit-log-maxsize (megabytes; 0 is lumberjack's 100), as upstream. It
// returns nil, nil (audit off) when either path is empty, as upstream
// records nothing without a policy or a backend.
func NewFromFlags(policyPath, logPath string, maxAge, maxBackup, maxSize int) (*Auditor, error) {
	for _, f := range []struct {
		name string
		v    int
	}{{"--audit-log-maxage", maxAge}, {"--audit-log-maxbackup", maxBackup}, {"--audit-log-maxsize", maxSize}} {
		if f.v < 0 {
			return nil, fmt.Errorf("%s must be greater than or equal to 0", f.name)
		}
	}
	if policyPath == "" || logPath == "" {
		return nil, nil
	}
	policy, err := LoadPolicy(policyPath)
	if err != nil {
		return nil, err
	}
	if logPath == "-" {
		return New(policy, os.Stdout), nil
	}
	// Fail at start, not on the first request, when the log is not writable.
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		return nil, fmt.Errorf("audit log directory: %w", err)
	}
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	f.Close()
	lj := &lumberjack.Logger{Filename: logPath, MaxAge: maxAge, MaxBackups: maxBackup, MaxSize: maxSize}
	a := New(policy, lj)
	a.closer = lj
	return a, nil
}

// Close flushes and closes the log; later events are dropped.
func (a *Auditor) Close() error {
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	if a.closer != nil {
		return a.closer.Close()
	}
	return nil
}

// write appends one event line. A failed write is counted and logged (once
// until writes work again), never returned: audit must not take the
// server down.
func (a *Auditor) write(ev *Event) {
	line, err := json.Marshal(ev)
	if err != nil {
		auditErrors.Inc()
		slog.Error("audit event encoding failed", "auditID", ev.AuditID, "err", err)
		return
	}
	line = append(line, '\n')
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		auditErrors.Inc()
		return
	}
	if _, err := a.w.Write(line); err != nil {
		auditErrors.Inc()
		if !a.failing {
			slog.Error("audit log write failed", "err", err)
		}
		a.failing = true
		return
	}
	a.failing = false
	auditEvents.Inc()
}

// Entry is the audit record of one request in flight.
type Entry struct {
	a           *Auditor
	d           Decision
	longRunning bool

	mu      sync.Mutex
	ev      Event
	started bool // ResponseStarted written or not needed
	ended   bool
}

type entryKey struct{}

// WithEntry returns ctx carrying e (Handler does this for the handlers it
// wraps).
func WithEntry(ctx context.Context, e *Entry) context.Context {
	return context.WithValue(ctx, entryKey{}, e)
}

// EntryFrom returns the request's audit entry, or nil.
func EntryFrom(ctx context.Context) *Entry {
	e, _ := ctx.Value(entryKey{}).(*Entry)
	return e
}

// AddAnnotation records key=value on the request's event (the authorizer's
// AnnotationDecision and AnnotationReason, admission's); a no-op when the
// request is not audited.
func AddAnnotation(ctx context.Context, key, value string) {
	EntryFrom(ctx).AddAnnotation(key, value)
}

// AddAnnotation records key=value on the event; the first value of a key
// wins. Safe on a nil Entry.
func (e *Entry) AddAnnotation(key, value string) {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ev.Annotations == nil {
		e.ev.Annotations = map[string]string{}
	}
	if _, ok := e.ev.Annotations[key]; !ok {
		e.ev.Annotations[key] = value
	}
}

// SetImpersonatedUser records the user the request acts as, for an
// impersonation stage that runs after Begin.
func (e *Entry) SetImpersonatedUser(u *auth.User) {
	if e == nil || u == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ev.ImpersonatedUser = userInfo(u)
}

// SetObjectName completes the event's objectRef with the name of the
// request's object when the URL had none (a create), as upstream does from
// the decoded request object. Safe on a nil Entry.
func (e *Entry) SetObjectName(name string) {
	if e == nil || name == "" {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ev.ObjectRef != nil && e.ev.ObjectRef.Name == "" {
		e.ev.ObjectRef.Name = name
	}
}

// ID returns the event's audit ID.
func (e *Entry) ID() types.UID { return e.ev.AuditID }

// Level returns the level the policy chose.
func (e *Entry) Level() Level { return e.d.Level }

// Begin starts auditing r: it evaluates the policy and, unless the level is
// None (Begin then returns nil), writes the RequestReceived event. At level
// Request and above it reads a non-long-running request's body to record
// it and replaces r.Body with a reader of the same bytes. The caller calls
// End (and ResponseStarted for long-running requests).
func (a *Auditor) Begin(r *http.Request, attrs Attrs) *Entry {
	if a == nil {
		return nil
	}
	if attrs.Path == "" {
		attrs.Path = r.URL.Path
	}
	d := a.policy.Evaluate(&attrs)
	if d.Level == LevelNone || d.Level.rank() < 0 {
		return nil
	}
	e := &Entry{a: a, d: d, longRunning: attrs.LongRunning || attrs.Verb == "watch"}
	e.ev = a.newEvent(r, &attrs, d.Level)
	if d.Level.GreaterOrEqual(LevelRequest) && !e.longRunning && r.Body != nil && r.Body != http.NoBody {
		e.ev.RequestObject = readBody(r, d.OmitManagedFields)
	}
	e.emit(StageRequestReceived)
	return e
}

// newEvent is the event of r before any stage: who, what, when.
func (a *Auditor) newEvent(r *http.Request, attrs *Attrs, level Level) Event {
	id := r.Header.Get(HeaderAuditID)
	if id == "" {
		id = uuid.NewString()
	}
	ev := Event{
		Kind: EventKind, APIVersion: EventAPIVersion,
		Level: level, AuditID: types.UID(id),
		RequestURI: r.URL.RequestURI(), Verb: attrs.Verb,
		SourceIPs: sourceIPs(r), UserAgent: r.UserAgent(),
		RequestReceivedTimestamp: metav1.NewMicroTime(a.now()),
	}
	if attrs.User != nil {
		ev.User = *userInfo(attrs.User)
	}
	ev.ImpersonatedUser = userInfo(attrs.ImpersonatedUser)
	if attrs.ResourceRequest {
		ev.ObjectRef = &ObjectReference{
			Resource: attrs.Resource, Namespace: attrs.Namespace, Name: attrs.Name,
			APIGroup: attrs.APIGroup, APIVersion: attrs.APIVersion, Subresource: attrs.Subresource,
		}
	}
	return ev
}

// FailedAuthentication records a request that failed authentication, as
// upstream's failed-authentication audit does: at the level the policy
// gives the request without a user, one ResponseStarted event (unless
// omitted) with no user, no bodies, the code and message. Safe on a nil
// Auditor.
func (a *Auditor) FailedAuthentication(r *http.Request, attrs Attrs, code int, message string) {
	if a == nil {
		return
	}
	attrs.User, attrs.ImpersonatedUser = nil, nil
	if attrs.Path == "" {
		attrs.Path = r.URL.Path
	}
	d := a.policy.Evaluate(&attrs)
	if d.Level == LevelNone || d.Level.rank() < 0 {
		return
	}
	e := &Entry{a: a, d: d}
	e.ev = a.newEvent(r, &attrs, d.Level)
	e.ev.ResponseStatus = &metav1.Status{Code: int32(code), Message: message}
	e.emit(StageResponseStarted)
}

// readBody reads r's body, puts an equivalent reader back, and returns the
// body as JSON when it is JSON or YAML (nil otherwise, e.g. protobuf, or too
// big).
func readBody(r *http.Request, omitManagedFields bool) json.RawMessage {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	rest := r.Body
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(data), rest), rest}
	if err != nil || len(data) > maxBody {
		return nil
	}
	return asJSON(data, r.Header.Get("Content-Type"), omitManagedFields)
}

// asJSON returns data as compact JSON when it is JSON (or, for a YAML
// content type, YAML); nil otherwise.
func asJSON(data []byte, contentType string, omitManagedFields bool) json.RawMessage {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil
	}
	if !json.Valid(data) {
		if !strings.Contains(contentType, "yaml") {
			return nil
		}
		j, err := yaml.YAMLToJSON(data)
		if err != nil || !json.Valid(j) {
			return nil
		}
		data = j
	}
	if omitManagedFields {
		data = dropManagedFields(data)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return nil
	}
	return buf.Bytes()
}

// dropManagedFields removes metadata.managedFields from an object or from
// each item of a list.
func dropManagedFields(data []byte) []byte {
	var obj map[string]any
	if json.Unmarshal(data, &obj) != nil {
		return data
	}
	strip := func(o any) {
		if m, ok := o.(map[string]any); ok {
			if md, ok := m["metadata"].(map[string]any); ok {
				delete(md, "managedFields")
			}
		}
	}
	strip(obj)
	if items, ok := obj["items"].([]any); ok {
		for _, it := range items {
			strip(it)
		}
	}
	out, err := json.Marshal(obj)
	if err != nil {
		return data
	}
	return out
}

// ResponseStarted writes the ResponseStarted event of a long-running
// request once its response headers are sent (a no-op otherwise, and after
// the first call).
func (e *Entry) ResponseStarted(code int) {
	if e == nil {
		return
	}
	e.mu.Lock()
	if e.started || !e.longRunning {
		e.mu.Unlock()
		return
	}
	e.started = true
	e.ev.ResponseStatus = &metav1.Status{Code: int32(code)}
	e.mu.Unlock()
	e.emit(StageResponseStarted)
}

// End writes the ResponseComplete event with the response code and body
// (recorded at level RequestResponse when it is JSON; an error Status
// body fills responseStatus' status, message and reason). body may be nil.
// Only the first call counts.
func (e *Entry) End(code int, body []byte, contentType string) {
	if e == nil {
		return
	}
	e.ResponseStarted(code)
	e.mu.Lock()
	if e.ended {
		e.mu.Unlock()
		return
	}
	e.ended = true
	e.ev.ResponseStatus = responseStatus(code, body)
	if e.d.Level.GreaterOrEqual(LevelRequestResponse) && !e.longRunning && len(body) <= maxBody {
		e.ev.ResponseObject = asJSON(body, contentType, e.d.OmitManagedFields)
	}
	e.mu.Unlock()
	e.emit(StageResponseComplete)
}

// panicked writes the Panic event.
func (e *Entry) panicked(v any) {
	e.mu.Lock()
	if e.ended {
		e.mu.Unlock()
		return
	}
	e.ended = true
	e.ev.ResponseStatus = &metav1.Status{Code: http.StatusInternalServerError, Status: metav1.StatusFailure,
		Message: fmt.Sprintf("APIServer panic'd: %v", v)}
	e.mu.Unlock()
	e.emit(StagePanic)
}

// responseStatus is the code, plus an error Status' fields when body is one.
func responseStatus(code int, body []byte) *metav1.Status {
	st := &metav1.Status{Code: int32(code)}
	if code < 300 || len(body) == 0 || len(body) > maxStatusBody || body[0] != '{' {
		return st
	}
	var s metav1.Status
	if json.Unmarshal(body, &s) != nil || s.Kind != "Status" {
		return st
	}
	st.Status, st.Message, st.Reason, st.Details = s.Status, s.Message, s.Reason, s.Details
	return st
}

// emit writes the event at stage s unless the policy omits it.
func (e *Entry) emit(s Stage) {
	if e.d.omits(s) {
		return
	}
	e.mu.Lock()
	ev := e.ev
	if len(e.ev.Annotations) > 0 {
		ev.Annotations = make(map[string]string, len(e.ev.Annotations))
		for k, v := range e.ev.Annotations {
			ev.Annotations[k] = v
		}
	}
	e.mu.Unlock()
	ev.Stage = s
	ev.StageTimestamp = metav1.NewMicroTime(e.a.now())
	// As upstream: bodies appear once the request is being answered.
	if s == StageRequestReceived {
		ev.RequestObject = nil
	}
	e.a.write(&ev)
}

func userInfo(u *auth.User) *authnv1.UserInfo {
	if u == nil {
		return nil
	}
	ui := &authnv1.UserInfo{Username: u.Name, UID: u.UID, Groups: u.Groups}
	if len(u.Extra) > 0 {
		ui.Extra = make(map[string]authnv1.ExtraValue, len(u.Extra))
		for k, v := range u.Extra {
			ui.Extra[k] = v
		}
	}
	return ui
}

// sourceIPs lists the client and proxy IPs as upstream: X-Forwarded-For,
// then X-Real-Ip, then the connection's remote address.
func sourceIPs(r *http.Request) []string {
	var ips []net.IP
	has := func(ip net.IP) bool {
		for _, x := range ips {
			if x.Equal(ip) {
				return true
			}
		}
		return false
	}
	for _, part := range strings.Split(r.Header.Get("X-Forwarded-For"), ",") {
		if ip := net.ParseIP(strings.TrimSpace(part)); ip != nil {
			ips = append(ips, ip)
		}
	}
	if ip := net.ParseIP(strings.TrimSpace(r.Header.Get("X-Real-Ip"))); ip != nil && !has(ip) {
		ips = append(ips, ip)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip := net.ParseIP(host); ip != nil && (len(ips) == 0 || !ips[len(ips)-1].Equal(ip)) {
		ips = append(ips, ip)
	}
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	return out
}

// Handler audits every request next serves: info describes the request
// (call it after authentication). The wrapped handlers find the entry with
// EntryFrom / AddAnnotation. The response carries the Audit-ID header.
func (a *Auditor) Handler(next http.Handler, info func(*http.Request) Attrs) http.Handler {
	if a == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e := a.Begin(r, info(r))
		if e == nil {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set(HeaderAuditID, string(e.ID()))
		rw := &responseWriter{ResponseWriter: w, e: e}
		if e.d.Level.GreaterOrEqual(LevelRequestResponse) && !e.longRunning {
			rw.keep = maxBody
		} else if !e.longRunning {
			rw.keep = maxStatusBody
		}
		defer func() {
			if v := recover(); v != nil {
				e.panicked(v)
				panic(v)
			}
			e.End(rw.status(), rw.body(), rw.Header().Get("Content-Type"))
		}()
		next.ServeHTTP(rw, r.WithContext(WithEntry(r.Context(), e)))
	})
}

// responseWriter watches a response for the audit entry: the code, the
// start of a long-running response and, up to keep bytes, the body.
type responseWriter struct {
	http.ResponseWriter
	e        *Entry
	code     int
	keep     int // bytes of body to keep (0: none)
	buf      bytes.Buffer
	overflow bool
}

func (w *responseWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
		w.e.ResponseStarted(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
		w.e.ResponseStarted(http.StatusOK)
	}
	if w.keep > 0 && !w.overflow {
		if w.buf.Len()+len(p) > w.keep {
			w.overflow = true
			w.buf = bytes.Buffer{}
		} else {
			w.buf.Write(p)
		}
	}
	return w.ResponseWriter.Write(p)
}

// status is the response code (200 when the handler wrote nothing).
func (w *responseWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

func (w *responseWriter) body() []byte {
	if w.overflow {
		return nil
	}
	return w.buf.Bytes()
}

// Flush implements http.Flusher for watch streams.
func (w *responseWriter) Flush() {
	if w.code == 0 {
		w.code = http.StatusOK
		w.e.ResponseStarted(http.StatusOK)
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack implements http.Hijacker for upgraded connections (exec,
// port-forward): the response has started with 101.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("audit: the response writer does not support hijacking")
	}
	if w.code == 0 {
		w.code = http.StatusSwitchingProtocols
		w.e.ResponseStarted(http.StatusSwitchingProtocols)
	}
	return h.Hijack()
}

// Unwrap lets http.ResponseController reach the connection.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
