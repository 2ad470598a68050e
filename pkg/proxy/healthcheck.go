package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// ServiceHealth serves the health-check node ports of Services with
// externalTrafficPolicy Local, as upstream: GET on the port answers 200
// while this node has local endpoints for the Service and 503 otherwise,
// so an external load balancer sends traffic only to nodes that can serve
// it locally.
type ServiceHealth struct {
	listen func(port int32) (net.Listener, error)

	mu      sync.Mutex
	servers map[types.NamespacedName]*healthServer
}

type healthServer struct {
	port  int32
	srv   *http.Server
	local atomic.Int64
}

// NewServiceHealth returns a server set listening on all addresses; listen
// (nil for the default) opens a Service's port.
func NewServiceHealth(listen func(port int32) (net.Listener, error)) *ServiceHealth {
	if listen == nil {
		listen = func(port int32) (net.Listener, error) {
			return net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(int(port))))
		}
	}
	return &ServiceHealth{listen: listen, servers: map[types.NamespacedName]*healthServer{}}
}

// HealthChecks computes, from a snapshot, each externalTrafficPolicy Local
// Service's health-check node port and its number of local endpoints.
func HealthChecks(snap *Snapshot) map[types.NamespacedName]HealthCheck {
	out := map[types.NamespacedName]HealthCheck{}
	for name, sp := range snap.Services {
		if !sp.ExternalPolicyLocal || sp.HealthCheckNodePort == 0 {
			continue
		}
		_, local, _ := CategorizeEndpoints(snap.Endpoints[name], sp)
		hc := out[name.NamespacedName]
		hc.Port = sp.HealthCheckNodePort
		hc.LocalEndpoints += len(local)
		out[name.NamespacedName] = hc
	}
	return out
}

// HealthCheck is one Service's health-check node port and local endpoint
// count.
type HealthCheck struct {
	Port           int32
	LocalEndpoints int
}

// Sync opens, updates and closes servers to match want. It returns the
// errors of ports it could not open (tried again next time).
func (h *ServiceHealth) Sync(want map[types.NamespacedName]HealthCheck) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for name, s := range h.servers {
		if hc, ok := want[name]; !ok || hc.Port != s.port {
			_ = s.srv.Close()
			delete(h.servers, name)
		}
	}
	var errs []error
	for name, hc := range want {
		s := h.servers[name]
		if s == nil {
			ln, err := h.listen(hc.Port)
			if err != nil {
				errs = append(errs, fmt.Errorf("health check node port %d of %s: %w", hc.Port, name, err))
				continue
			}
			s = &healthServer{port: hc.Port}
			s.srv = &http.Server{Handler: s.handler(name), ReadHeaderTimeout: 10 * time.Second}
			go func() {
				if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					slog.Error("health check node port server stopped", "service", name.String(), "port", hc.Port, "err", err)
				}
			}()
			h.servers[name] = s
		}
		s.local.Store(int64(hc.LocalEndpoints))
	}
	return errors.Join(errs...)
}

// Close stops every server.
func (h *ServiceHealth) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for name, s := range h.servers {
		_ = s.srv.Close()
		delete(h.servers, name)
	}
}

func (s *healthServer) handler(name types.NamespacedName) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := s.local.Load()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Load-Balancing-Endpoint-Weight", strconv.FormatInt(n, 10))
		if n == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"service":             map[string]string{"namespace": name.Namespace, "name": name.Name},
			"localEndpoints":      n,
			"serviceProxyHealthy": true,
		})
	})
}
