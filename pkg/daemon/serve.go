package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check is a named health check of /healthz, /livez or /readyz.
type Check struct {
	Name string
	// Run returns nil when healthy.
	Run func(ctx context.Context) error
	// ReadyOnly checks count for /readyz only (cache sync, leadership).
	ReadyOnly bool
}

// Server is a daemon's HTTP(S) endpoint for health, metrics and pprof.
type Server struct {
	// Registry holds the daemon's metrics (Go and process collectors are
	// registered by NewServer).
	Registry *prometheus.Registry
	Mux      *http.ServeMux

	mu     sync.Mutex
	checks []Check
}

// NewServer returns a server with /healthz, /livez, /readyz (with
// ?verbose and /<kind>/<check>), /metrics and, when profiling,
// /debug/pprof/.
func NewServer(profiling bool) *Server {
	s := &Server{Registry: prometheus.NewRegistry(), Mux: http.NewServeMux()}
	s.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.Mux.Handle("/metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}))
	for _, kind := range []string{"healthz", "livez", "readyz"} {
		kind := kind
		s.Mux.HandleFunc("/"+kind, func(w http.ResponseWriter, r *http.Request) { s.serveHealth(w, r, kind, "") })
		s.Mux.HandleFunc("/"+kind+"/", func(w http.ResponseWriter, r *http.Request) {
			s.serveHealth(w, r, kind, r.URL.Path[len(kind)+2:])
		})
	}
	if profiling {
		s.Mux.HandleFunc("/debug/pprof/", pprof.Index)
		s.Mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		s.Mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		s.Mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		s.Mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return s
}

// AddCheck adds a health check.
func (s *Server) AddCheck(c Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks = append(s.checks, c)
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request, kind, only string) {
	s.mu.Lock()
	checks := append([]Check{{Name: "ping", Run: func(context.Context) error { return nil }}}, s.checks...)
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	var out []byte
	failed := false
	found := only == ""
	for _, c := range checks {
		if c.ReadyOnly && kind != "readyz" {
			continue
		}
		if only != "" && c.Name != only {
			continue
		}
		found = true
		if err := c.Run(ctx); err != nil {
			failed = true
			out = fmt.Appendf(out, "[-]%s failed: %v\n", c.Name, err)
			continue
		}
		out = fmt.Appendf(out, "[+]%s ok\n", c.Name)
	}
	if !found {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if failed {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write(out)
		fmt.Fprintf(w, "%s check failed\n", kind)
		return
	}
	if _, verbose := r.URL.Query()["verbose"]; verbose {
		_, _ = w.Write(out)
		fmt.Fprintf(w, "%s check passed\n", kind)
		return
	}
	_, _ = w.Write([]byte("ok"))
}

// ServeOptions say where and how to listen.
type ServeOptions struct {
	BindAddress string
	Port        int
	// CertFile/KeyFile serve HTTPS with that certificate; when both are
	// empty a self-signed certificate is made in memory (as upstream's
	// components do without --tls-cert-file). Plain HTTP is not offered.
	CertFile, KeyFile string
	// RequestClientCert asks clients for a certificate (verified by the
	// handler, e.g. DelegatedAuth) without requiring one.
	RequestClientCert bool
}

// ListenAndServe serves s over HTTPS until ctx ends. Port 0 disables it.
func (s *Server) ListenAndServe(ctx context.Context, opts ServeOptions) error {
	if opts.Port == 0 {
		return nil
	}
	cert, err := servingCert(opts)
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(opts.BindAddress, strconv.Itoa(opts.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: s.Mux, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	if opts.RequestClientCert {
		srv.TLSConfig.ClientAuth = tls.RequestClientCert
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	slog.Info("serving health and metrics", "address", ln.Addr().String())
	if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
