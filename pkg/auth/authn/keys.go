package authn

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// LoadPublicKeys reads the service-account verification keys from PEM
// files, as --service-account-key-file does upstream: each file may hold
// any number of RSA or ECDSA public keys ("PUBLIC KEY", "RSA PUBLIC KEY"),
// private keys ("PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"; their
// public half is used) or certificates ("CERTIFICATE"; the subject key is
// used). A file without a usable key is an error.
func LoadPublicKeys(paths ...string) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read service account key file: %w", err)
		}
		fileKeys, err := ParsePublicKeysPEM(data)
		if err != nil {
			return nil, fmt.Errorf("service account key file %s: %w", path, err)
		}
		keys = append(keys, fileKeys...)
	}
	return keys, nil
}

// ParsePublicKeysPEM returns every RSA or ECDSA public key found in data
// (see LoadPublicKeys for the accepted blocks). Blocks of other types are
// skipped; data without any key is an error.
func ParsePublicKeysPEM(data []byte) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		key, err := publicKeyFromBlock(block)
		if err != nil {
			return nil, err
		}
		if key != nil {
			keys = append(keys, key)
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("data does not contain any valid RSA or ECDSA public keys")
	}
	return keys, nil
}

// publicKeyFromBlock returns the public key a PEM block holds, nil for a
// block type that holds no key.
func publicKeyFromBlock(block *pem.Block) (crypto.PublicKey, error) {
	var key any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		cert, err = x509.ParseCertificate(block.Bytes)
		if err == nil {
			key = cert.PublicKey
		}
	case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
		var priv crypto.Signer
		priv, err = parsePrivateKeyBlock(block)
		if err == nil {
			key = priv.Public()
		}
	default:
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("parse %s block: %w", block.Type, err)
	}
	switch k := key.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey:
		return k, nil
	default:
		return nil, fmt.Errorf("%s block holds an unsupported key type %T (want RSA or ECDSA)", block.Type, key)
	}
}

// LoadPrivateKey reads the service-account signing key
// (--service-account-signing-key-file): the first RSA or ECDSA private key
// in a PEM file.
func LoadPrivateKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read service account signing key file: %w", err)
	}
	key, err := ParsePrivateKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("service account signing key file %s: %w", path, err)
	}
	return key, nil
}

// ParsePrivateKeyPEM returns the first RSA or ECDSA private key in data.
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("data does not contain a valid RSA or ECDSA private key")
		}
		switch block.Type {
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
			return parsePrivateKeyBlock(block)
		}
	}
}

func parsePrivateKeyBlock(block *pem.Block) (crypto.Signer, error) {
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("parse %s block: %w", block.Type, err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	default:
		return nil, fmt.Errorf("%s block holds an unsupported key type %T (want RSA or ECDSA)", block.Type, key)
	}
}

// KeyID is the "kid" upstream gives a service-account key: the unpadded
// base64url encoding of the SHA-256 of the key's PKIX DER form.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("marshal public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// signingAlgorithm is the JWS algorithm upstream signs with for a key:
// RS256 for RSA, ES256/ES384/ES512 by ECDSA curve.
func signingAlgorithm(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return "RS256", nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return "ES256", nil
		case elliptic.P384():
			return "ES384", nil
		case elliptic.P521():
			return "ES512", nil
		}
		return "", fmt.Errorf("unsupported ECDSA curve %s", k.Curve.Params().Name)
	}
	return "", fmt.Errorf("unsupported key type %T (want RSA or ECDSA)", pub)
}
