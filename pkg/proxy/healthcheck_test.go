package proxy

import (
	"encoding/json"
	"net"
	"net/http"
	"testing"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
)

func TestServiceHealth_AnswersByLocalEndpoints(t *testing.T) {
	addrs := map[int32]string{}
	h := NewServiceHealth(func(port int32) (net.Listener, error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err == nil {
			addrs[port] = ln.Addr().String()
		}
		return ln, err
	})
	t.Cleanup(h.Close)

	tr := NewTracker("me", nil)
	tr.UpdateService(svc("web", func(s *v1.Service) {
		s.Spec.Type = v1.ServiceTypeNodePort
		s.Spec.Ports[0].NodePort = 30001
		s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
		s.Spec.HealthCheckNodePort = 32001
	}))
	tr.UpdateSlice(eslice("web", "web-1", 8080,
		discovery.Endpoint{Addresses: []string{"10.244.0.5"}, NodeName: sp("me")},
		discovery.Endpoint{Addresses: []string{"10.244.1.5"}, NodeName: sp("other")}))
	if err := h.Sync(HealthChecks(tr.Snapshot())); err != nil {
		t.Fatal(err)
	}
	check := func(wantCode int, wantLocal float64) {
		t.Helper()
		resp, err := http.Get("http://" + addrs[32001] + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != wantCode || body["localEndpoints"] != wantLocal {
			t.Errorf("health check: %d %v, want %d with %v local endpoints", resp.StatusCode, body, wantCode, wantLocal)
		}
	}
	check(http.StatusOK, 1)

	// The local endpoint goes: 503.
	tr.UpdateSlice(eslice("web", "web-1", 8080, discovery.Endpoint{Addresses: []string{"10.244.1.5"}, NodeName: sp("other")}))
	if err := h.Sync(HealthChecks(tr.Snapshot())); err != nil {
		t.Fatal(err)
	}
	check(http.StatusServiceUnavailable, 0)

	// The Service goes: the port closes.
	if err := h.Sync(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + addrs[32001] + "/"); err == nil {
		t.Errorf("health check port still open after the Service went")
	}
}
