package pki

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File modes: private keys and kubeconfigs (which embed keys) are readable by
// their owner only.
const (
	privateMode = 0o600
	publicMode  = 0o644
	dirMode     = 0o755
)

// writeFile replaces path with data atomically (a temporary file renamed into
// place), so a daemon reading it never sees half a file.
func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
		return fmt.Errorf("create directory for %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writeIfChanged writes data to path unless the file already holds exactly
// data (and has mode). It reports whether it wrote and whether the file
// existed before.
func writeIfChanged(path string, data []byte, mode os.FileMode) (wrote, existed bool, err error) {
	old, err := os.ReadFile(path)
	switch {
	case err == nil:
		existed = true
		if bytes.Equal(old, data) {
			if st, err := os.Stat(path); err == nil && st.Mode().Perm() == mode {
				return false, true, nil
			}
		}
	case !errors.Is(err, fs.ErrNotExist):
		return false, false, fmt.Errorf("read %s: %w", path, err)
	}
	return true, existed, writeFile(path, data, mode)
}

// exists reports whether path exists; other stat errors are returned.
func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, fmt.Errorf("stat %s: %w", path, err)
}

// LoadCertFile returns the certificates in a PEM file.
func LoadCertFile(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	certs, err := ParseCertsPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return certs, nil
}

// LoadKeyFile returns the private key in a PEM file.
func LoadKeyFile(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, err := ParsePrivateKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

// LoadCA reads a CA certificate and its key from certPath and keyPath and
// checks that they belong together.
func LoadCA(certPath, keyPath string) (*CA, error) {
	certs, err := LoadCertFile(certPath)
	if err != nil {
		return nil, err
	}
	key, err := LoadKeyFile(keyPath)
	if err != nil {
		return nil, err
	}
	cert := certs[0]
	if !cert.IsCA {
		return nil, fmt.Errorf("%s is not a CA certificate", certPath)
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, fmt.Errorf("%s does not match key %s", certPath, keyPath)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// writeCertAndKey writes cert and key PEM files (the key with private mode).
func writeCertAndKey(certPath, keyPath string, cert *x509.Certificate, key crypto.Signer) error {
	keyPEM, err := EncodePrivateKeyPEM(key)
	if err != nil {
		return err
	}
	if err := writeFile(keyPath, keyPEM, privateMode); err != nil {
		return err
	}
	return writeFile(certPath, EncodeCertsPEM(cert), publicMode)
}
