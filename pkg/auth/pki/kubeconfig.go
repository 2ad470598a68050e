package pki

import (
	"fmt"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// KubeconfigSpec is one identity's kubeconfig: a cluster (server and the CA
// that signed its serving cert) and a user authenticating with a client cert.
type KubeconfigSpec struct {
	ClusterName string
	Server      string
	CAData      []byte
	UserName    string
	CertData    []byte
	KeyData     []byte
}

// NewKubeconfig returns a kubeconfig with one cluster, one user and one
// current context "<user>@<cluster>", as kubeadm names them; the CA, cert and
// key are embedded so the file stands alone.
func NewKubeconfig(s KubeconfigSpec) *clientcmdapi.Config {
	contextName := s.UserName + "@" + s.ClusterName
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[s.ClusterName] = &clientcmdapi.Cluster{
		Server:                   s.Server,
		CertificateAuthorityData: s.CAData,
	}
	cfg.AuthInfos[s.UserName] = &clientcmdapi.AuthInfo{
		ClientCertificateData: s.CertData,
		ClientKeyData:         s.KeyData,
	}
	cfg.Contexts[contextName] = &clientcmdapi.Context{
		Cluster:  s.ClusterName,
		AuthInfo: s.UserName,
	}
	cfg.CurrentContext = contextName
	return cfg
}

// WriteKubeconfig writes s to path (mode 0600) unless the file already holds
// the same bytes; it reports whether it wrote and whether the file existed.
func WriteKubeconfig(path string, s KubeconfigSpec) (wrote, existed bool, err error) {
	data, err := clientcmd.Write(*NewKubeconfig(s))
	if err != nil {
		return false, false, fmt.Errorf("encode kubeconfig %s: %w", path, err)
	}
	return writeIfChanged(path, data, privateMode)
}
