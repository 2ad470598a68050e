package daemon

import (
	"log/slog"

	"github.com/kstack/kstack/pkg/auth/pki"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"
)

// RegisterClientCertExpiry exports the expiry of the client certificate a
// daemon talks to the apiserver with (from its kubeconfig, as a file or
// embedded data) as kstack_certificate_expiration_timestamp_seconds{name="client"}.
// A config without a client certificate (a token) registers nothing.
func RegisterClientCertExpiry(reg prometheus.Registerer, cfg *rest.Config) {
	var err error
	switch {
	case cfg.CertFile != "":
		err = pki.RegisterCertExpiry(reg, "client", cfg.CertFile)
	case len(cfg.CertData) > 0:
		err = pki.RegisterCertPEMExpiry(reg, "client", cfg.CertData)
	}
	if err != nil {
		slog.Warn("client certificate expiry metric", "err", err)
	}
}
