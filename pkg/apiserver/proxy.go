package apiserver

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/kstack/kstack/pkg/storage"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// kubeletTransport is the apiserver's HTTPS client to kubelets:
// --kubelet-client-certificate/--kubelet-client-key authenticate it, and
// --kubelet-certificate-authority verifies the kubelet's serving
// certificate (without it the kubelet is not verified, as upstream).
type kubeletTransport struct {
	once sync.Once
	rt   http.RoundTripper
	err  error
}

func (s *Server) kubeletRoundTripper() (http.RoundTripper, error) {
	s.kubeletTransport.once.Do(func() {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if s.cfg.KubeletClientCertificate != "" {
			cert, err := tls.LoadX509KeyPair(s.cfg.KubeletClientCertificate, s.cfg.KubeletClientKey)
			if err != nil {
				s.kubeletTransport.err = fmt.Errorf("--kubelet-client-certificate: %w", err)
				return
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		if s.cfg.KubeletCertificateAuthority != "" {
			data, err := os.ReadFile(s.cfg.KubeletCertificateAuthority)
			if err != nil {
				s.kubeletTransport.err = fmt.Errorf("--kubelet-certificate-authority: %w", err)
				return
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(data) {
				s.kubeletTransport.err = fmt.Errorf("--kubelet-certificate-authority %s: no certificate", s.cfg.KubeletCertificateAuthority)
				return
			}
			tc.RootCAs = pool
		} else {
			tc.InsecureSkipVerify = true
		}
		s.kubeletTransport.rt = &http.Transport{TLSClientConfig: tc, Proxy: nil, ForceAttemptHTTP2: false}
	})
	return s.kubeletTransport.rt, s.kubeletTransport.err
}

// kubeletAddress is where a node's kubelet listens: its InternalIP (else
// Hostname, else any address) and status.daemonEndpoints' port (10250).
func kubeletAddress(node *corev1.Node) (string, error) {
	var host string
	for _, want := range []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeHostName, corev1.NodeExternalIP} {
		for _, a := range node.Status.Addresses {
			if a.Type == want && host == "" {
				host = a.Address
			}
		}
	}
	if host == "" {
		return "", fmt.Errorf("node %s has no address", node.Name)
	}
	port := int(node.Status.DaemonEndpoints.KubeletEndpoint.Port)
	if port == 0 {
		port = 10250
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}

// serveNodeProxy is nodes/<name>/proxy/<path>: the request goes on to the
// node's kubelet over HTTPS with the apiserver's kubelet client identity.
func (s *Server) serveNodeProxy(w http.ResponseWriter, r *http.Request, rs *resourceStore, info *RequestInfo) {
	rt, err := s.kubeletRoundTripper()
	if err != nil {
		writeError(w, r, apierrors.NewInternalError(err))
		return
	}
	node := &corev1.Node{}
	if err := rs.storage.Get(r.Context(), rs.key("", info.Name), storage.GetOptions{ResourceVersion: "0"}, node); err != nil {
		writeError(w, r, err)
		return
	}
	addr, err := kubeletAddress(node)
	if err != nil {
		writeError(w, r, apierrors.NewServiceUnavailable(err.Error()))
		return
	}
	// The path after .../nodes/<name>/proxy.
	rest := "/"
	if i := strings.Index(r.URL.Path, "/proxy"); i >= 0 {
		rest = r.URL.Path[i+len("/proxy"):]
		if rest == "" {
			rest = "/"
		}
	}
	target := &url.URL{Scheme: "https", Host: addr}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.URL.Path = rest
			pr.Out.URL.RawPath = ""
			pr.Out.Host = addr
			// The client's credentials are for the apiserver, not the kubelet.
			pr.Out.Header.Del("Authorization")
			for k := range pr.Out.Header {
				if strings.HasPrefix(k, "Impersonate-") {
					pr.Out.Header.Del(k)
				}
			}
		},
		Transport:     rt,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			writeError(w, r, apierrors.NewServiceUnavailable(fmt.Sprintf("error trying to reach the kubelet of node %s: %v", info.Name, err)))
		},
	}
	proxy.ServeHTTP(w, r)
}
