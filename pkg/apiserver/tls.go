package apiserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// servingTLS loads --tls-cert-file/--tls-private-key-file, or, as upstream
// does without them, a self-signed certificate kept in --cert-dir
// (apiserver.crt/apiserver.key, made on first start). caData is the PEM a
// client trusts for the self-signed case.
func servingTLS(cfg Config) (*tls.Config, []byte, error) {
	certFile, keyFile := cfg.TLSCertFile, cfg.TLSPrivateKeyFile
	var caData []byte
	if certFile == "" {
		certFile = filepath.Join(cfg.CertDir, "apiserver.crt")
		keyFile = filepath.Join(cfg.CertDir, "apiserver.key")
		if _, err := os.Stat(certFile); os.IsNotExist(err) {
			if err := writeSelfSigned(cfg, certFile, keyFile); err != nil {
				return nil, nil, err
			}
		}
		data, err := os.ReadFile(certFile)
		if err != nil {
			return nil, nil, err
		}
		caData = data
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("load serving certificate %s: %w", certFile, err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"h2", "http/1.1"},
	}, caData, nil
}

func writeSelfSigned(cfg Config, certFile, keyFile string) error {
	if err := os.MkdirAll(cfg.CertDir, 0o700); err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: fmt.Sprintf("%s@%d", host, time.Now().Unix())},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", host},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback},
	}
	if cfg.BindAddress != nil && !cfg.BindAddress.IsUnspecified() {
		tmpl.IPAddresses = append(tmpl.IPAddresses, cfg.BindAddress)
	}
	if cfg.AdvertiseAddress != nil {
		tmpl.IPAddresses = append(tmpl.IPAddresses, cfg.AdvertiseAddress)
	}
	if ip, err := firstServiceIP(cfg.ServiceClusterIPRange); err == nil {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}
