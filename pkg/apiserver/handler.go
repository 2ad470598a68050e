package apiserver

import (
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Handler is the apiserver's HTTP handler: non-resource paths through a
// router, resource paths through the REST pipeline, all behind the
// in-flight limits and request timeout.
func (s *Server) Handler() http.Handler {
	m := mux.NewRouter()
	m.HandleFunc("/healthz", s.serveHealth("healthz"))
	m.HandleFunc("/healthz/{check}", s.serveHealth("healthz"))
	m.HandleFunc("/livez", s.serveHealth("livez"))
	m.HandleFunc("/livez/{check:.+}", s.serveHealth("livez"))
	m.HandleFunc("/readyz", s.serveHealth("readyz"))
	m.HandleFunc("/readyz/{check:.+}", s.serveHealth("readyz"))
	m.Handle("/metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	m.HandleFunc("/version", s.serveVersion)
	m.HandleFunc("/openapi/v2", s.openapi.ServeV2)
	m.HandleFunc("/openapi/v3", s.openapi.ServeV3Index)
	m.HandleFunc("/openapi/v3/{path:.+}", func(w http.ResponseWriter, r *http.Request) {
		s.openapi.ServeV3GroupVersion(w, r, mux.Vars(r)["path"])
	})
	if s.cfg.Profiling {
		m.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		m.HandleFunc("/debug/pprof/profile", pprof.Profile)
		m.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		m.HandleFunc("/debug/pprof/trace", pprof.Trace)
		m.PathPrefix("/debug/pprof/").HandlerFunc(pprof.Index)
	}
	m.HandleFunc("/", s.serveRoot)
	m.PathPrefix("/api").HandlerFunc(s.serveAPI)
	m.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, errNoSuchPath)
	})
	m.HandleFunc("/.well-known/openid-configuration", s.serveOIDC)
	m.HandleFunc("/openid/v1/jwks", s.serveOIDC)
	h := s.withAuthorization(m)
	h = s.auditor.Handler(h, auditAttrs)
	h = s.withAuthentication(h)
	return s.withLimits(h)
}

// serveAPI handles everything under /api and /apis.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	info := requestInfoFrom(r.Context())
	if info == nil {
		info = parseRequestInfo(r)
	}
	if !info.IsResourceRequest {
		s.serveDiscovery(w, r, info)
		return
	}
	if !s.isReady() {
		writeError(w, r, errNotReady)
		return
	}
	r = r.WithContext(withRequestInfo(r.Context(), info))
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	s.serveResource(rec, r, info)
	s.metrics.observe(info, rec.code, time.Since(start))
}

// withLimits applies --max-requests-inflight / --max-mutating-requests-inflight
// (429 with Retry-After past them; watches and health checks are exempt) and
// --request-timeout (504 for requests that run over; watches excepted).
func (s *Server) withLimits(next http.Handler) http.Handler {
	var readOnly, mutating chan struct{}
	if n := s.cfg.MaxRequestsInflight; n > 0 {
		readOnly = make(chan struct{}, n)
	}
	if n := s.cfg.MaxMutatingRequestsInflight; n > 0 {
		mutating = make(chan struct{}, n)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isLongRunning(r) || !strings.HasPrefix(r.URL.Path, "/api") {
			next.ServeHTTP(w, r)
			return
		}
		sem := readOnly
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			sem = mutating
		}
		if sem != nil {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			default:
				err := apierrors.NewTooManyRequests("Too many requests, please try again later.", 1)
				w.Header().Set("Retry-After", "1")
				writeError(w, r, err)
				return
			}
		}
		timeout := s.cfg.RequestTimeout
		if v := r.URL.Query().Get("timeout"); v != "" {
			if d, err := time.ParseDuration(v); err == nil && d > 0 && d < timeout {
				timeout = d
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// isLongRunning reports watches and proxied requests, which the
// in-flight limits and the request timeout leave alone (as upstream).
func isLongRunning(r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/api/v1/nodes/") && strings.Contains(r.URL.Path, "/proxy") {
		return true
	}
	if strings.HasPrefix(r.URL.Path, "/api/v1/namespaces/") && strings.Contains(r.URL.Path, "/pods/") {
		switch r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:] {
		case "log", "exec", "attach", "portforward":
			return true
		}
	}
	if r.Method != http.MethodGet {
		return false
	}
	if w := r.URL.Query().Get("watch"); w == "true" || w == "1" {
		return true
	}
	p := r.URL.Path
	return strings.HasPrefix(p, "/api/v1/watch/") || (strings.HasPrefix(p, "/apis/") && strings.Contains(p, "/watch/"))
}

// statusRecorder remembers the response code for metrics.
type statusRecorder struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.code, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// serveRoot lists the server's paths, as upstream's "/" does.
func (s *Server) serveRoot(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		writeError(w, r, errNoSuchPath)
		return
	}
	paths := []string{"/api", "/api/v1", "/apis"}
	for _, gv := range s.discovery.groupVersions {
		if gv.Group != "" {
			paths = append(paths, "/apis/"+gv.Group, "/apis/"+gv.String())
		}
	}
	paths = append(paths, "/healthz", "/livez", "/readyz", "/metrics", "/openapi/v2", "/openapi/v3", "/version")
	writeJSON(w, http.StatusOK, map[string][]string{"paths": dedupe(paths)})
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	out := in[:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// randomString returns n characters from upstream's generateName alphabet
// (no vowels, no confusable digits).
func randomString(n int) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// readBodyOptional reads a body that may be empty (DELETE's options).
func readBodyOptional(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, apierrors.NewBadRequest("read request body: " + err.Error())
	}
	if len(data) > maxBodyBytes {
		return nil, apierrors.NewRequestEntityTooLargeError("limit is " + strconv.Itoa(maxBodyBytes))
	}
	return data, nil
}
