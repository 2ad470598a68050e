package authn

import (
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func TestChain_CountsAttempts(t *testing.T) {
	if err := RegisterMetrics(prometheus.NewRegistry()); err != nil {
		t.Fatal(err)
	}
	tf, err := ParseTokenFile([]byte("admin-token,admin,1\nmail-token,a@b.c,2\nother-token,tina,3\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		anonymous bool
		authz     string
		result    string
		username  string // "" when no user
	}{
		{name: "known username", authz: "Bearer admin-token", result: "success", username: "admin"},
		{name: "e-mail username", authz: "Bearer mail-token", result: "success", username: "email_id"},
		{name: "other username", authz: "Bearer other-token", result: "success", username: "other"},
		{name: "anonymous", anonymous: true, result: "success", username: "other"},
		{name: "bad token", authz: "Bearer nope", result: "error"},
		{name: "no credentials", result: "failure"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			attempts := counterValue(t, authenticationAttempts.WithLabelValues(tc.result))
			var users float64
			if tc.username != "" {
				users = counterValue(t, authenticatedUserRequests.WithLabelValues(tc.username))
			}
			r := httptest.NewRequest("GET", "/", nil)
			if tc.authz != "" {
				r.Header.Set("Authorization", tc.authz)
			}
			_, _ = NewChain(tc.anonymous, tf).Authenticate(r)
			if got := counterValue(t, authenticationAttempts.WithLabelValues(tc.result)); got != attempts+1 {
				t.Errorf("authentication_attempts{result=%q} = %v, want %v", tc.result, got, attempts+1)
			}
			if tc.username != "" {
				if got := counterValue(t, authenticatedUserRequests.WithLabelValues(tc.username)); got != users+1 {
					t.Errorf("authenticated_user_requests{username=%q} = %v, want %v", tc.username, got, users+1)
				}
			}
		})
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
