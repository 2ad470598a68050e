package kubelet

import (
	"path/filepath"

	"github.com/kstack/kstack/pkg/daemon"
	"github.com/kstack/kstack/pkg/kubelet/server"
)

// newServer builds the kubelet's HTTPS API (package server) around the
// health and metrics server.
func (k *Kubelet) newServer(health *daemon.Server) (*server.Server, error) {
	return server.New(server.Config{
		NodeName:                       k.cfg.NodeName,
		BindAddress:                    k.cfg.BindAddress,
		Port:                           k.cfg.Port,
		TLSCertFile:                    k.cfg.TLSCertFile,
		TLSPrivateKeyFile:              k.cfg.TLSPrivateKeyFile,
		CertDir:                        filepath.Join(k.cfg.RootDir, "pki"),
		ClientCAFile:                   k.cfg.ClientCAFile,
		AnonymousAuth:                  k.cfg.AnonymousAuth == nil || *k.cfg.AnonymousAuth,
		AuthorizationMode:              k.cfg.AuthorizationMode,
		StreamingConnectionIdleTimeout: k.cfg.StreamingConnectionIdleTimeout,
		Client:                         k.client,
		Pods:                           staticPodLister{k.pods},
		Runtime:                        k.rt,
		Health:                         health,
		ContainerdNamespace:            k.cfg.ContainerdNamespace,
	})
}
