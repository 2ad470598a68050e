package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"testing"
)

func TestPEM_KeysRoundTrip(t *testing.T) {
	for _, alg := range []KeyAlgorithm{ECDSAP256, RSA2048} {
		t.Run(string(alg), func(t *testing.T) {
			key, err := GenerateKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			keyPEM, err := EncodePrivateKeyPEM(key)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParsePrivateKeyPEM(keyPEM)
			if err != nil {
				t.Fatal(err)
			}
			if !got.(interface{ Equal(crypto.PrivateKey) bool }).Equal(key) {
				t.Error("private key changed in a PEM round trip")
			}

			// The same key as PKCS #8, as openssl pkcs8 -topk8 writes it.
			der, err := x509.MarshalPKCS8PrivateKey(key)
			if err != nil {
				t.Fatal(err)
			}
			got, err = ParsePrivateKeyPEM(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
			if err != nil {
				t.Fatal(err)
			}
			if !publicKeysEqual(got.Public(), key.Public()) {
				t.Error("PKCS #8 key differs")
			}

			pubPEM, err := EncodePublicKeyPEM(key.Public())
			if err != nil {
				t.Fatal(err)
			}
			pub, err := ParsePublicKeyPEM(pubPEM)
			if err != nil {
				t.Fatal(err)
			}
			if !publicKeysEqual(pub, key.Public()) {
				t.Error("public key changed in a PEM round trip")
			}
		})
	}
}

func TestParseCertsPEM(t *testing.T) {
	ca := mustCA(t, ECDSAP256)
	leaf, err := ca.Issue(CertSpec{CommonName: "leaf", Usages: clientUsage, Validity: DefaultValidity}, ca.Key.Public(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, _ := EncodePrivateKeyPEM(ca.Key)
	tests := []struct {
		name    string
		data    []byte
		wantCNs []string
		wantErr bool
	}{
		{name: "chain", data: EncodeCertsPEM(leaf, ca.Cert), wantCNs: []string{"leaf", "test-ca"}},
		{name: "key blocks skipped", data: append(keyPEM, EncodeCertsPEM(leaf)...), wantCNs: []string{"leaf"}},
		{name: "empty", data: nil, wantErr: true},
		{name: "only a key", data: keyPEM, wantErr: true},
		{name: "garbage in a certificate block", data: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("nope")}), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certs, err := ParseCertsPEM(tt.data)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			var cns []string
			for _, c := range certs {
				cns = append(cns, c.Subject.CommonName)
			}
			if len(cns) != len(tt.wantCNs) {
				t.Fatalf("CNs = %q, want %q", cns, tt.wantCNs)
			}
			for i := range cns {
				if cns[i] != tt.wantCNs[i] {
					t.Errorf("CNs = %q, want %q", cns, tt.wantCNs)
				}
			}
		})
	}
}

func TestParsePublicKeyPEM_AcceptsCertificates(t *testing.T) {
	ca := mustCA(t, ECDSAP256)
	pub, err := ParsePublicKeyPEM(EncodeCertsPEM(ca.Cert))
	if err != nil {
		t.Fatal(err)
	}
	if !publicKeysEqual(pub, ca.Key.Public()) {
		t.Error("public key of the certificate differs")
	}
}

func TestParsePrivateKeyPEM_RejectsNonKeys(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	pubPEM, _ := EncodePublicKeyPEM(k.Public())
	for name, data := range map[string][]byte{"empty": nil, "public key": pubPEM} {
		if _, err := ParsePrivateKeyPEM(data); err == nil {
			t.Errorf("%s: parsed as a private key", name)
		}
	}
}

// pemSeeds are valid inputs of every kind the parsers accept.
func pemSeeds(f *testing.F) {
	ca := mustCA(f, ECDSAP256)
	rsaKey, _ := GenerateKey(RSA2048)
	ecPEM, _ := EncodePrivateKeyPEM(ca.Key)
	rsaPEM, _ := EncodePrivateKeyPEM(rsaKey)
	pubPEM, _ := EncodePublicKeyPEM(rsaKey.Public())
	der, _ := x509.MarshalPKCS8PrivateKey(ca.Key)
	f.Add(EncodeCertsPEM(ca.Cert, ca.Cert))
	f.Add(ecPEM)
	f.Add(rsaPEM)
	f.Add(pubPEM)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"))
}

func FuzzParseCertsPEM(f *testing.F) {
	pemSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := ParseCertsPEM(data)
		if err != nil {
			return
		}
		again, err := ParseCertsPEM(EncodeCertsPEM(certs...))
		if err != nil {
			t.Fatalf("re-encoded certificates do not parse: %v", err)
		}
		for i := range certs {
			if !bytes.Equal(certs[i].Raw, again[i].Raw) {
				t.Fatalf("certificate %d changed in a round trip", i)
			}
		}
	})
}

func FuzzParsePrivateKeyPEM(f *testing.F) {
	pemSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := ParsePrivateKeyPEM(data)
		if err != nil {
			return
		}
		out, err := EncodePrivateKeyPEM(key)
		if err != nil {
			// A parsed key must be writable: every type the parser returns
			// has an encoder.
			t.Fatalf("parsed key %T does not encode: %v", key, err)
		}
		again, err := ParsePrivateKeyPEM(out)
		if err != nil {
			t.Fatalf("re-encoded key does not parse: %v", err)
		}
		if !publicKeysEqual(again.Public(), key.Public()) {
			t.Fatal("key changed in a round trip")
		}
	})
}

func FuzzParsePublicKeyPEM(f *testing.F) {
	pemSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		pub, err := ParsePublicKeyPEM(data)
		if err != nil {
			return
		}
		out, err := EncodePublicKeyPEM(pub)
		if err != nil {
			t.Fatalf("parsed key %T does not encode: %v", pub, err)
		}
		again, err := ParsePublicKeyPEM(out)
		if err != nil || !publicKeysEqual(again, pub) {
			t.Fatalf("public key changed in a round trip: %v", err)
		}
	})
}
