package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// PEM block types, as kubeadm and openssl write them.
const (
	certificateBlock  = "CERTIFICATE"
	ecKeyBlock        = "EC PRIVATE KEY"
	rsaKeyBlock       = "RSA PRIVATE KEY"
	pkcs8KeyBlock     = "PRIVATE KEY"
	publicKeyBlock    = "PUBLIC KEY"
	rsaPublicKeyBlock = "RSA PUBLIC KEY"
)

// EncodeCertsPEM returns certs as concatenated CERTIFICATE blocks.
func EncodeCertsPEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: certificateBlock, Bytes: c.Raw})...)
	}
	return out
}

// EncodePrivateKeyPEM returns key as an "EC PRIVATE KEY" (SEC 1) or "RSA
// PRIVATE KEY" (PKCS #1) block, the forms kubeadm writes.
func EncodePrivateKeyPEM(key crypto.Signer) ([]byte, error) {
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return nil, fmt.Errorf("marshal EC private key: %w", err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: ecKeyBlock, Bytes: der}), nil
	case *rsa.PrivateKey:
		return pem.EncodeToMemory(&pem.Block{Type: rsaKeyBlock, Bytes: x509.MarshalPKCS1PrivateKey(k)}), nil
	default:
		return nil, fmt.Errorf("unsupported private key type %T", key)
	}
}

// EncodePublicKeyPEM returns pub as a PKIX "PUBLIC KEY" block (sa.pub).
func EncodePublicKeyPEM(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: publicKeyBlock, Bytes: der}), nil
}

// ParseCertsPEM returns every CERTIFICATE block in data, in order. Blocks of
// other types are skipped; data without any certificate is an error.
func ParseCertsPEM(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for i := 0; ; i++ {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != certificateBlock || len(block.Headers) != 0 {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", i, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no CERTIFICATE PEM block found")
	}
	return certs, nil
}

// ParsePrivateKeyPEM returns the first private key in data: SEC 1 ("EC
// PRIVATE KEY"), PKCS #1 ("RSA PRIVATE KEY") or PKCS #8 ("PRIVATE KEY")
// holding an ECDSA or RSA key.
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no private key PEM block found")
		}
		switch block.Type {
		case ecKeyBlock:
			k, err := x509.ParseECPrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse EC private key: %w", err)
			}
			return k, nil
		case rsaKeyBlock:
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse RSA private key: %w", err)
			}
			return k, nil
		case pkcs8KeyBlock:
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse PKCS #8 private key: %w", err)
			}
			switch k := k.(type) {
			case *ecdsa.PrivateKey:
				return k, nil
			case *rsa.PrivateKey:
				return k, nil
			default:
				return nil, fmt.Errorf("unsupported PKCS #8 private key type %T", k)
			}
		}
	}
}

// ParsePublicKeyPEM returns the first ECDSA or RSA public key in data: a
// PKIX "PUBLIC KEY", a PKCS #1 "RSA PUBLIC KEY", or the key of a
// "CERTIFICATE" (the forms --service-account-key-file accepts upstream).
func ParsePublicKeyPEM(data []byte) (crypto.PublicKey, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no public key PEM block found")
		}
		var pub any
		var err error
		switch block.Type {
		case publicKeyBlock:
			pub, err = x509.ParsePKIXPublicKey(block.Bytes)
		case rsaPublicKeyBlock:
			pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case certificateBlock:
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(block.Bytes); err == nil {
				pub = c.PublicKey
			}
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s block: %w", block.Type, err)
		}
		switch pub := pub.(type) {
		case *ecdsa.PublicKey:
			return pub, nil
		case *rsa.PublicKey:
			return pub, nil
		default:
			return nil, fmt.Errorf("unsupported public key type %T", pub)
		}
	}
}
