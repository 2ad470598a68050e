package kubelet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/kstack/kstack/pkg/kubelet/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// prober runs exec probes and exec hooks in containers (package runtime).
// Exec returns the command's exit code and its output (stdout then stderr,
// at most runtime.MaxExecOutput bytes); an error wrapping
// runtime.ErrExecTimedOut when it outlived timeout (it was killed), any
// other error when it could not be run.
type prober interface {
	Exec(ctx context.Context, id string, cmd []string, timeout time.Duration) (int, []byte, error)
}

// probeResult is the outcome of one probe, as upstream's probe.Result
// (its string is what the "errored" event prints).
type probeResult string

const (
	probeSuccess probeResult = "success"
	probeWarning probeResult = "warning" // passed, with a note for a ProbeWarning event
	probeFailure probeResult = "failure"
	probeUnknown probeResult = "unknown" // the probe could not run; comes with an error
)

// eventProbeWarning is the reason of the event a probe that passed with a
// warning records (upstream's events.ContainerProbeWarning).
const eventProbeWarning = "ProbeWarning"

// maxProbeRetries is how often a probe that errored (could not run) is
// tried at once before it counts as failed, as upstream's.
const maxProbeRetries = 3

// maxProbeBody bounds the response body an httpGet probe reads (upstream's
// maxRespBodyLength).
const maxProbeBody = 10 << 10

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
	var (
		result probeResult
		output string
		err    error
	)
	for range maxProbeRetries {
		if result, output, err = s.probeHandler(ctx, p, c, inst, podIP, timeout); err == nil {
			break
		}
	}
	// The events as upstream's prober records them.
	passed := false
	switch {
	case err != nil:
		s.k.containerEvent(s.pod, c.Name, v1.EventTypeWarning, eventUnhealthy, "%s probe errored and resulted in %s state: %s", probeName(kind), result, err)
	case result == probeSuccess:
		passed = true
	case result == probeWarning:
		s.k.containerEvent(s.pod, c.Name, v1.EventTypeWarning, eventProbeWarning, "%s probe warning: %s", probeName(kind), output)
		passed = true
	case result == probeFailure:
		s.k.containerEvent(s.pod, c.Name, v1.EventTypeWarning, eventUnhealthy, "%s probe failed: %s", probeName(kind), output)
	}
	failureThreshold, successThreshold := int(p.FailureThreshold), int(p.SuccessThreshold)
	if failureThreshold == 0 {
		failureThreshold = 3
	}
	if successThreshold == 0 {
		successThreshold = 1
	}
	if passed {
		st.successes++
		st.failures = 0
		if st.successes >= successThreshold {
			st.ok = true
		}
	} else {
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

// probeOnce runs handler p once for a lifecycle hook: nil when it passed
// (a warning included), else what failed.
func (s *podSync) probeOnce(ctx context.Context, p *v1.Probe, c *v1.Container, inst runtime.Container, podIP string, timeout time.Duration) error {
	result, output, err := s.probeHandler(ctx, p, c, inst, podIP, timeout)
	switch {
	case err != nil:
		return err
	case result == probeSuccess || result == probeWarning:
		return nil
	}
	return errors.New(output)
}

// probeHandler runs p's handler once against container instance inst, as
// upstream's prober: a result with the output to report (what a failure
// or warning event says), or probeUnknown and an error when the probe
// could not run at all. In hollow mode every probe passes.
func (s *podSync) probeHandler(ctx context.Context, p *v1.Probe, c *v1.Container, inst runtime.Container, podIP string, timeout time.Duration) (probeResult, string, error) {
	if s.k.hollow {
		return probeSuccess, "", nil // nothing listens in a fake container
	}
	switch {
	case p.Exec != nil:
		return s.execProbe(ctx, p.Exec, c, inst, timeout)
	case p.HTTPGet != nil:
		return httpProbe(ctx, p.HTTPGet, c, podIP, timeout)
	case p.TCPSocket != nil:
		port, err := probePort(p.TCPSocket.Port, c)
		if err != nil {
			return probeUnknown, "", err
		}
		host := p.TCPSocket.Host
		if host == "" {
			host = podIP
		}
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), timeout)
		if err != nil {
			return probeFailure, err.Error(), nil
		}
		_ = conn.Close()
		return probeSuccess, "", nil
	case p.GRPC != nil:
		conn, err := grpc.NewClient(net.JoinHostPort(podIP, strconv.Itoa(int(p.GRPC.Port))), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return probeFailure, err.Error(), nil
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
			return probeFailure, fmt.Sprintf("gRPC health check: %v", err), nil
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			return probeFailure, fmt.Sprintf("service unhealthy (responded with %q)", resp.GetStatus()), nil
		}
		return probeSuccess, "", nil
	}
	return probeUnknown, "", fmt.Errorf("missing probe handler for %s:%s", podString(s.pod), c.Name)
}

// execProbe runs an exec probe as upstream's: $(VAR) in the command
// expands to the container's static env values; a non-zero exit fails
// with the command's output (stdout then stderr, at most
// runtime.MaxExecOutput bytes) as the message, even when empty; a timeout
// fails with the timeout as the message; a command that could not run is
// an error.
func (s *podSync) execProbe(ctx context.Context, e *v1.ExecAction, c *v1.Container, inst runtime.Container, timeout time.Duration) (probeResult, string, error) {
	vars := make(map[string]string, len(c.Env))
	for _, env := range c.Env {
		vars[env.Name] = env.Value
	}
	code, out, err := s.k.prober.Exec(ctx, inst.ID, expandAll(e.Command, vars), timeout)
	switch {
	case errors.Is(err, runtime.ErrExecTimedOut):
		return probeFailure, err.Error(), nil
	case err != nil:
		return probeUnknown, "", err
	case code != 0:
		return probeFailure, string(out[:min(len(out), runtime.MaxExecOutput)]), nil
	}
	return probeSuccess, string(out[:min(len(out), runtime.MaxExecOutput)]), nil
}

// httpProbe GETs the probe's URL as upstream's HTTP prober: redirects
// are followed on the same host only (up to 10); 2xx passes; a 3xx it
// stopped at passes with a warning that quotes the body (at most
// maxProbeBody bytes); other codes and transport errors fail.
func httpProbe(ctx context.Context, g *v1.HTTPGetAction, c *v1.Container, podIP string, timeout time.Duration) (probeResult, string, error) {
	port, err := probePort(g.Port, c)
	if err != nil {
		return probeUnknown, "", err
	}
	host := g.Host
	if host == "" {
		host = podIP
	}
	req, err := probeRequest(ctx, g, host, port)
	if err != nil {
		return probeUnknown, "", err
	}
	resp, err := (&http.Client{Timeout: timeout, CheckRedirect: localRedirectsOnly, Transport: probeTransport}).Do(req)
	if err != nil {
		return probeFailure, err.Error(), nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxProbeBody))
	if err != nil {
		return probeFailure, "", err
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return probeSuccess, string(body), nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return probeWarning, fmt.Sprintf("Probe terminated redirects, Response body: %s", body), nil
	}
	// The body stays out of the message, as upstream's (kubernetes#99425).
	return probeFailure, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode), nil
}

// probeTransport is the HTTP probes' transport, as upstream's prober's: a
// container's certificate is not verified (probes check liveness, not
// identity), the node's proxy settings do not apply, every probe opens its
// own connection (no idle connections kept to thousands of containers),
// and no compression is asked for.
var probeTransport = &http.Transport{
	TLSClientConfig:    &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // as upstream's prober
	Proxy:              nil,
	DisableKeepAlives:  true,
	DisableCompression: true,
	DialContext:        (&net.Dialer{}).DialContext,
}

// probeRequest is the GET of an httpGet probe or hook at host:port, with
// upstream's headers: the probe's own (a Host header sets the request's
// host), a kube-probe User-Agent and Accept: */* unless the probe sets them
// (an empty Accept removes it). The path may carry a query.
func probeRequest(ctx context.Context, g *v1.HTTPGetAction, host string, port int) (*http.Request, error) {
	scheme := "http"
	if g.Scheme == v1.URISchemeHTTPS {
		scheme = "https"
	}
	u, err := url.Parse(g.Path)
	if err != nil {
		// Kept as it is, as upstream's: the path was accepted at creation.
		u = &url.URL{Path: g.Path}
	}
	u.Scheme, u.Host = scheme, net.JoinHostPort(host, strconv.Itoa(port))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	for _, hh := range g.HTTPHeaders {
		h.Add(hh.Name, hh.Value)
	}
	if _, ok := h["User-Agent"]; !ok {
		h.Set("User-Agent", "kube-probe/1.37")
	}
	if _, ok := h["Accept"]; !ok {
		h.Set("Accept", "*/*")
	} else if h.Get("Accept") == "" {
		h.Del("Accept")
	}
	req.Header = h
	req.Host = h.Get("Host")
	return req, nil
}

// localRedirectsOnly follows a probe's redirects while they stay on the
// first request's host, at most 10, as upstream's; a redirect elsewhere
// ends the probe at the 3xx response.
func localRedirectsOnly(req *http.Request, via []*http.Request) error {
	if req.URL.Hostname() != via[0].URL.Hostname() {
		return http.ErrUseLastResponse
	}
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	return nil
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
