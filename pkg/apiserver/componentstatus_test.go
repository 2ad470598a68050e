package apiserver

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestHTTPComponentCheck(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			_, _ = w.Write([]byte("ok"))
		case "/redirect":
			http.Redirect(w, r, "/healthz", http.StatusFound)
		default:
			http.Error(w, "secret detail", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	closed := httptest.NewTLSServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	tests := []struct {
		url         string
		status      corev1.ConditionStatus
		message     string // prefix
		messageHasn string
	}{
		{srv.URL + "/healthz", corev1.ConditionTrue, "ok", ""},
		{srv.URL + "/broken", corev1.ConditionFalse, "HTTP probe failed with statuscode: 500", "secret detail"},
		{srv.URL + "/redirect", corev1.ConditionUnknown, "Probe terminated redirects", ""},
		{closedURL + "/healthz", corev1.ConditionFalse, "Get \"" + closedURL + "/healthz\": dial tcp", ""},
	}
	for _, tt := range tests {
		c := httpComponentCheck(tt.url)(t.Context())
		if c.Type != corev1.ComponentHealthy || c.Status != tt.status || !strings.HasPrefix(c.Message, tt.message) || c.Error != "" {
			t.Errorf("%s: got %+v, want status %s, message starting %q", tt.url, c, tt.status, tt.message)
		}
		if tt.messageHasn != "" && strings.Contains(c.Message, tt.messageHasn) {
			t.Errorf("%s: message %q shows the response body", tt.url, c.Message)
		}
	}
}

func TestDeprecationWarnings(t *testing.T) {
	tests := []struct {
		gvr  string
		want string
	}{
		{"/v1/endpoints", "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"},
		{"/v1/componentstatuses", "v1 ComponentStatus is deprecated in v1.19+"},
		{"/v1/pods", ""},
		{"discovery.k8s.io/v1/endpointslices", ""},
	}
	for _, tt := range tests {
		found := ""
		for gvr, msg := range deprecationWarnings {
			if gvr.Group+"/"+gvr.Version+"/"+gvr.Resource == tt.gvr {
				found = msg
			}
		}
		if found != tt.want {
			t.Errorf("%s: warning %q, want %q", tt.gvr, found, tt.want)
		}
	}
}
