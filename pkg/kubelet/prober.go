package kubelet

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/kstack/kstack/pkg/kubelet/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// prober runs exec probes in containers (package runtime).
type prober interface {
	Exec(ctx context.Context, id string, cmd []string, timeout time.Duration) (int, error)
}

// probeState is one probe of one container instance, kept across syncs.
type probeState struct {
	last                time.Time
	successes, failures int
	ok                  bool
}

// runProbe runs p against a running container instance when it is due
// (after initialDelaySeconds, every periodSeconds) and returns whether the
// probe currently passes: readiness starts failing, liveness passing;
// failureThreshold consecutive failures flip it to failing and
// successThreshold successes back.
func (s *podSync) runProbe(ctx context.Context, kind string, p *v1.Probe, c *v1.Container, inst runtime.Container, podIP string) bool {
	key := inst.ID + "/" + kind
	s.k.mu.Lock()
	states := s.k.probes[s.pod.UID]
	if states == nil {
		states = map[string]*probeState{}
		s.k.probes[s.pod.UID] = states
	}
	st := states[key]
	if st == nil {
		st = &probeState{ok: kind == "liveness"}
		states[key] = st
	}
	s.k.mu.Unlock()

	period := time.Duration(max(p.PeriodSeconds, 1)) * time.Second
	if p.PeriodSeconds == 0 {
		period = 10 * time.Second
	}
	now := s.k.clock.Now()
	if start := inst.StartedAt.Add(time.Duration(p.InitialDelaySeconds) * time.Second); now.Before(start) {
		s.requeueIn(start.Sub(now))
		return st.ok
	}
	if !st.last.IsZero() && now.Sub(st.last) < period {
		s.requeueIn(period - now.Sub(st.last))
		return st.ok
	}
	st.last = now
	s.requeueIn(period)
	timeout := time.Duration(max(p.TimeoutSeconds, 1)) * time.Second
	err := s.probeOnce(ctx, p, c, inst, podIP, timeout)
	failureThreshold, successThreshold := int(p.FailureThreshold), int(p.SuccessThreshold)
	if failureThreshold == 0 {
		failureThreshold = 3
	}
	if successThreshold == 0 {
		successThreshold = 1
	}
	if err == nil {
		st.successes++
		st.failures = 0
		if st.successes >= successThreshold {
			st.ok = true
		}
	} else {
		s.k.containerEvent(s.pod, c.Name, v1.EventTypeWarning, eventUnhealthy, "%s probe failed: %v", probeName(kind), err)
		st.failures++
		st.successes = 0
		if st.failures >= failureThreshold {
			st.ok = false
		}
	}
	return st.ok
}

// startupProbe runs c's startup probe until it first succeeds (then never
// again for this instance); failed is failureThreshold consecutive
// failures.
func (s *podSync) startupProbe(ctx context.Context, c *v1.Container, inst runtime.Container, podIP string) (started, failed bool) {
	key := inst.ID + "/startup"
	s.k.mu.Lock()
	st := s.k.probes[s.pod.UID][key]
	s.k.mu.Unlock()
	if st != nil && st.ok {
		return true, false
	}
	if s.runProbe(ctx, "startup", c.StartupProbe, c, inst, podIP) {
		return true, false
	}
	s.k.mu.Lock()
	st = s.k.probes[s.pod.UID][key]
	s.k.mu.Unlock()
	threshold := int(c.StartupProbe.FailureThreshold)
	if threshold == 0 {
		threshold = 3
	}
	return false, st != nil && st.failures >= threshold
}

func (s *podSync) probeOnce(ctx context.Context, p *v1.Probe, c *v1.Container, inst runtime.Container, podIP string, timeout time.Duration) error {
	if s.k.hollow {
		return nil // nothing listens in a fake container: probes pass
	}
	switch {
	case p.Exec != nil:
		code, err := s.k.prober.Exec(ctx, inst.ID, p.Exec.Command, timeout)
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("command %q exited with %d", p.Exec.Command, code)
		}
		return nil
	case p.HTTPGet != nil:
		port, err := probePort(p.HTTPGet.Port, c)
		if err != nil {
			return err
		}
		host := p.HTTPGet.Host
		if host == "" {
			host = podIP
		}
		scheme := "http"
		if p.HTTPGet.Scheme == v1.URISchemeHTTPS {
			scheme = "https"
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+net.JoinHostPort(host, strconv.Itoa(port))+p.HTTPGet.Path, nil)
		if err != nil {
			return err
		}
		for _, h := range p.HTTPGet.HTTPHeaders {
			req.Header.Add(h.Name, h.Value)
		}
		req.Header.Set("User-Agent", "kube-probe/1.37")
		resp, err := (&http.Client{Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return fmt.Errorf("HTTP probe failed with statuscode: %d", resp.StatusCode)
		}
		return nil
	case p.TCPSocket != nil:
		port, err := probePort(p.TCPSocket.Port, c)
		if err != nil {
			return err
		}
		host := p.TCPSocket.Host
		if host == "" {
			host = podIP
		}
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), timeout)
		if err != nil {
			return err
		}
		return conn.Close()
	case p.GRPC != nil:
		host := podIP
		conn, err := grpc.NewClient(net.JoinHostPort(host, strconv.Itoa(int(p.GRPC.Port))), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return err
		}
		defer conn.Close()
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		service := ""
		if p.GRPC.Service != nil {
			service = *p.GRPC.Service
		}
		resp, err := healthpb.NewHealthClient(conn).Check(cctx, &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			return fmt.Errorf("gRPC health check: %w", err)
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("service unhealthy (responded with %q)", resp.GetStatus())
		}
		return nil
	}
	return fmt.Errorf("probe has no supported handler (exec, httpGet, tcpSocket, grpc)")
}

// probePort resolves a number or a named container port.
func probePort(port intstr.IntOrString, c *v1.Container) (int, error) {
	if port.Type == intstr.Int {
		return port.IntValue(), nil
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return int(p.ContainerPort), nil
		}
	}
	if n, err := strconv.Atoi(port.StrVal); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("container %s has no port named %q", c.Name, port.StrVal)
}
