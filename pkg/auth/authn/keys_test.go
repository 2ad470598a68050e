package authn

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"strings"
	"testing"
)

func TestParsePublicKeysPEM(t *testing.T) {
	rsa1, rsa2, ec256, _ := testKeys(t)
	ca := newTestCA(t, "ca")
	pkcs8, err := x509.MarshalPKCS8PrivateKey(rsa2)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(ec256)
	if err != nil {
		t.Fatal(err)
	}
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	edPKCS8, _ := x509.MarshalPKCS8PrivateKey(edPriv)

	tests := []struct {
		name     string
		data     []byte
		wantKeys []crypto.PublicKey
		wantErr  string
	}{
		{name: "PKIX public key", data: pemBlock("PUBLIC KEY", mustPKIX(t, rsa1.Public())), wantKeys: []crypto.PublicKey{rsa1.Public()}},
		{name: "PKCS#1 public key", data: pemBlock("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rsa1.PublicKey)), wantKeys: []crypto.PublicKey{rsa1.Public()}},
		{name: "PKCS#1 private key", data: pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsa1)), wantKeys: []crypto.PublicKey{rsa1.Public()}},
		{name: "PKCS#8 private key", data: pemBlock("PRIVATE KEY", pkcs8), wantKeys: []crypto.PublicKey{rsa2.Public()}},
		{name: "EC private key", data: pemBlock("EC PRIVATE KEY", ecDER), wantKeys: []crypto.PublicKey{ec256.Public()}},
		{name: "certificate", data: pemBlock("CERTIFICATE", ca.cert.Raw), wantKeys: []crypto.PublicKey{ca.cert.PublicKey}},
		{
			name:     "several keys, other blocks skipped",
			data:     bytes.Join([][]byte{pemBlock("PUBLIC KEY", mustPKIX(t, rsa1.Public())), pemBlock("EC PARAMETERS", []byte{6, 8}), pemBlock("PUBLIC KEY", mustPKIX(t, ec256.Public()))}, nil),
			wantKeys: []crypto.PublicKey{rsa1.Public(), ec256.Public()},
		},
		{name: "no PEM", data: []byte("hello"), wantErr: "does not contain any valid"},
		{name: "only other blocks", data: pemBlock("EC PARAMETERS", []byte{6, 8}), wantErr: "does not contain any valid"},
		{name: "corrupt key", data: pemBlock("PUBLIC KEY", []byte{1, 2, 3}), wantErr: "parse PUBLIC KEY block"},
		{name: "ed25519 is not supported", data: pemBlock("PRIVATE KEY", edPKCS8), wantErr: "unsupported key type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := ParsePublicKeysPEM(tc.data)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != len(tc.wantKeys) {
				t.Fatalf("got %d keys, want %d", len(keys), len(tc.wantKeys))
			}
			for i, k := range keys {
				if !k.(interface{ Equal(crypto.PublicKey) bool }).Equal(tc.wantKeys[i]) {
					t.Errorf("key %d differs", i)
				}
			}
		})
	}
}

func TestLoadPublicKeys_SeveralFiles(t *testing.T) {
	rsa1, _, ec256, _ := testKeys(t)
	a := writeFile(t, "a.pub", pemBlock("PUBLIC KEY", mustPKIX(t, rsa1.Public())))
	b := writeFile(t, "b.pub", pemBlock("PUBLIC KEY", mustPKIX(t, ec256.Public())))
	keys, err := LoadPublicKeys(a, b)
	if err != nil || len(keys) != 2 {
		t.Fatalf("got %d keys, err %v", len(keys), err)
	}
	if _, err := LoadPublicKeys(a, "/nonexistent"); err == nil {
		t.Error("missing file accepted")
	}
	if _, err := LoadPublicKeys(writeFile(t, "empty", nil)); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty file: err = %v, want the path in it", err)
	}
}

func TestParsePrivateKeyPEM(t *testing.T) {
	rsa1, _, ec256, _ := testKeys(t)
	ecDER, _ := x509.MarshalECPrivateKey(ec256)
	tests := []struct {
		name    string
		data    []byte
		want    crypto.PublicKey
		wantErr bool
	}{
		{name: "RSA after a certificate", data: append(pemBlock("CERTIFICATE", []byte{1}), pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsa1))...), want: rsa1.Public()},
		{name: "EC", data: pemBlock("EC PRIVATE KEY", ecDER), want: ec256.Public()},
		{name: "public key only", data: pemBlock("PUBLIC KEY", mustPKIX(t, rsa1.Public())), wantErr: true},
		{name: "corrupt", data: pemBlock("RSA PRIVATE KEY", []byte{1}), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParsePrivateKeyPEM(tc.data)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil && !k.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(tc.want) {
				t.Error("wrong key")
			}
		})
	}
}
