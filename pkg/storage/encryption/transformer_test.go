package encryption

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"
)

const (
	key16 = "MTIzNDU2Nzg5MDEyMzQ1Ng=="                     // "1234567890123456"
	key32 = "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=" // "12345678901234567890123456789012"
	other = "YWJjZGVmZ2hpamtsbW5vcGFiY2RlZmdoaWprbG1ub3A=" // another 32-byte key
)

// mustChain builds the transformer of one resource entry.
func mustChain(t testing.TB, providers ...ProviderConfiguration) *chain {
	t.Helper()
	ps, err := newProviders(providers)
	if err != nil {
		t.Fatal(err)
	}
	return &chain{providers: ps}
}

func aescbc(keys ...Key) ProviderConfiguration {
	return ProviderConfiguration{AESCBC: &AESConfiguration{Keys: keys}}
}
func aesgcm(keys ...Key) ProviderConfiguration {
	return ProviderConfiguration{AESGCM: &AESConfiguration{Keys: keys}}
}
func sbox(keys ...Key) ProviderConfiguration {
	return ProviderConfiguration{Secretbox: &SecretboxConfiguration{Keys: keys}}
}
func ident() ProviderConfiguration { return ProviderConfiguration{Identity: &IdentityConfiguration{}} }

func unb64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The vectors were written by k8s.io/apiserver v0.37.2's CBC, GCM and
// secretbox transformers (key16 / key32, etcd key /registry/secrets/default/s1);
// the provider and key prefix is added as upstream's prefix transformers do.
func TestTransformFromStorage_ReadsUpstreamValues(t *testing.T) {
	const etcdKey = "/registry/secrets/default/s1"
	plain := "k8s\x00hello secret payload"
	tests := []struct {
		name     string
		provider ProviderConfiguration
		prefix   string
		vector   string
	}{
		{"aescbc", aescbc(Key{"key1", key16}), "k8s:enc:aescbc:v1:key1:",
			"664CuSmvpu/ehuzV1YGYNEpN5jXZ4VyIHiLKn7Q1NRlRngFfIYYGz2mmcBz/g9BL"},
		{"aesgcm", aesgcm(Key{"key1", key16}), "k8s:enc:aesgcm:v1:key1:",
			"UKb1ncBy+HSbEVRcMdnSD4McDSNu33W3MZMlphaUNpbi0x+VsulADSC4Mq6HHpzTgCZK+Q=="},
		{"secretbox", sbox(Key{"key1", key32}), "k8s:enc:secretbox:v1:key1:",
			"5kwzGY59gQVtDm+Mx6jz1q70Okkq1t+HH+LShiZW3BhnxiaaRVYFlZXrHAj40LNT7b3ci8mNpPansH9tvSwRGA=="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustChain(t, tt.provider)
			stored := append([]byte(tt.prefix), unb64(t, tt.vector)...)
			out, stale, err := c.TransformFromStorage(context.Background(), stored, etcdKey)
			if err != nil || stale || string(out) != plain {
				t.Fatalf("got %q stale=%v err=%v, want %q", out, stale, err, plain)
			}
		})
	}
}

func TestTransformFromStorage_GCMBindsTheEtcdKey(t *testing.T) {
	c := mustChain(t, aesgcm(Key{"key1", key16}))
	stored, err := c.TransformToStorage(context.Background(), []byte("data"), "/registry/secrets/a/x")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.TransformFromStorage(context.Background(), stored, "/registry/secrets/a/y"); err == nil {
		t.Fatal("a GCM value copied to another key read back")
	}
}

func TestTransformToStorage_RoundTripsAndHidesData(t *testing.T) {
	secret := []byte("k8s\x00super-secret-password-value")
	tests := []struct {
		name       string
		provider   ProviderConfiguration
		wantPrefix string
	}{
		{"aescbc 16", aescbc(Key{"k", key16}), "k8s:enc:aescbc:v1:k:"},
		{"aescbc 32", aescbc(Key{"k", key32}), "k8s:enc:aescbc:v1:k:"},
		{"aesgcm 32", aesgcm(Key{"k", key32}), "k8s:enc:aesgcm:v1:k:"},
		{"secretbox", sbox(Key{"k", key32}), "k8s:enc:secretbox:v1:k:"},
		{"identity", ident(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustChain(t, tt.provider)
			for _, data := range [][]byte{secret, {}, bytes.Repeat([]byte{'x'}, 16)} {
				stored, err := c.TransformToStorage(context.Background(), data, "/k")
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.HasPrefix(stored, []byte(tt.wantPrefix)) {
					t.Fatalf("stored %q, want prefix %q", stored, tt.wantPrefix)
				}
				if tt.wantPrefix != "" && len(data) > 0 && bytes.Contains(stored, data) {
					t.Fatalf("stored value contains the plaintext")
				}
				out, stale, err := c.TransformFromStorage(context.Background(), stored, "/k")
				if err != nil || stale || !bytes.Equal(out, data) {
					t.Fatalf("read back %q stale=%v err=%v", out, stale, err)
				}
			}
		})
	}
}

func TestTransformFromStorage_StaleUnlessFirstProviderAndKey(t *testing.T) {
	ctx := context.Background()
	// Writers for each provider/key the reader knows.
	writers := map[string]*chain{
		"aesgcm new": mustChain(t, aesgcm(Key{"new", other})),
		"aesgcm old": mustChain(t, aesgcm(Key{"old", key32})),
		"aescbc old": mustChain(t, aescbc(Key{"old", key16})),
		"secretbox":  mustChain(t, sbox(Key{"sb", key32})),
		"identity":   mustChain(t, ident()),
	}
	reader := mustChain(t, aesgcm(Key{"new", other}, Key{"old", key32}), aescbc(Key{"old", key16}), sbox(Key{"sb", key32}), ident())
	tests := []struct {
		writer    string
		wantStale bool
	}{
		{"aesgcm new", false},
		{"aesgcm old", true},
		{"aescbc old", true},
		{"secretbox", true},
		{"identity", true},
	}
	for _, tt := range tests {
		stored, err := writers[tt.writer].TransformToStorage(ctx, []byte("k8s\x00v"), "/k")
		if err != nil {
			t.Fatal(err)
		}
		out, stale, err := reader.TransformFromStorage(ctx, stored, "/k")
		if err != nil || string(out) != "k8s\x00v" || stale != tt.wantStale {
			t.Errorf("%s: got %q stale=%v err=%v, want stale=%v", tt.writer, out, stale, err, tt.wantStale)
		}
	}
}

func TestTransformFromStorage_IdentityFirstReadsEncryptedAndWritesPlain(t *testing.T) {
	ctx := context.Background()
	enc := mustChain(t, aescbc(Key{"k", key32}))
	stored, err := enc.TransformToStorage(ctx, []byte("k8s\x00v"), "/k")
	if err != nil {
		t.Fatal(err)
	}
	dec := mustChain(t, ident(), aescbc(Key{"k", key32}))
	out, stale, err := dec.TransformFromStorage(ctx, stored, "/k")
	if err != nil || !stale || string(out) != "k8s\x00v" {
		t.Fatalf("identity-first read: %q stale=%v err=%v, want the plaintext, stale", out, stale, err)
	}
	plain, err := dec.TransformToStorage(ctx, out, "/k")
	if err != nil || string(plain) != "k8s\x00v" {
		t.Fatalf("identity-first write: %q %v", plain, err)
	}
}

func TestTransformFromStorage_Errors(t *testing.T) {
	ctx := context.Background()
	write := func(p ProviderConfiguration, data string) []byte {
		b, err := mustChain(t, p).TransformToStorage(ctx, []byte(data), "/k")
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name    string
		reader  *chain
		stored  []byte
		wantErr string
	}{
		// A fixed IV: with another key, CBC's padding check fails for most
		// IVs, not all (TestDescribeStored_CBCWrongKeyCanDecryptToGarbage).
		{"same key name, different secret (cbc)", mustChain(t, aescbc(Key{"k", other})),
			cbcValue(t, "k", key32, make([]byte, 16), "k8s\x00value"), `decrypt with aescbc key "k": invalid padding`},
		{"same key name, different secret (gcm)", mustChain(t, aesgcm(Key{"k", other})),
			write(aesgcm(Key{"k", key32}), "v"), `decrypt with aesgcm key "k": cipher: message authentication failed`},
		{"same key name, different secret (secretbox)", mustChain(t, sbox(Key{"k", other})),
			write(sbox(Key{"k", key32}), "v"), `decrypt with secretbox key "k": authentication failed`},
		{"key removed from the config", mustChain(t, aescbc(Key{"new", key32})),
			write(aescbc(Key{"old", key32}), "v"), `aescbc key "old", which is not in the aescbc provider's keys`},
		{"provider removed from the config", mustChain(t, aescbc(Key{"k", key32})),
			write(sbox(Key{"k", key32}), "v"), `encrypted ("k8s:enc:secretbox:v1") by a provider that is not configured`},
		{"plain data without identity", mustChain(t, aescbc(Key{"k", key32})),
			[]byte("k8s\x00plain"), "not encrypted and the identity provider is not configured"},
		{"encrypted data with identity only", mustChain(t, ident()),
			write(aesgcm(Key{"k", key32}), "v"), "by a provider that is not configured"},
		{"truncated cbc", mustChain(t, aescbc(Key{"k", key32})),
			[]byte("k8s:enc:aescbc:v1:k:0123456789abcdef"), "shorter than the required size"},
		{"cbc not a block multiple", mustChain(t, aescbc(Key{"k", key32})),
			[]byte("k8s:enc:aescbc:v1:k:0123456789abcdef0123456789abcdef!"), "not a multiple of the block size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := tt.reader.TransformFromStorage(ctx, tt.stored, "/k")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %q, err %v; want an error containing %q", out, err, tt.wantErr)
			}
		})
	}
}

// cbcValue is what the aescbc provider stores for plain under key name
// (secret keyB64), encrypted with the given IV instead of a random one.
func cbcValue(t testing.TB, name, keyB64 string, iv []byte, plain string) []byte {
	t.Helper()
	b, err := aes.NewCipher(unb64(t, keyB64))
	if err != nil {
		t.Fatal(err)
	}
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	body := append([]byte(plain), bytes.Repeat([]byte{byte(pad)}, pad)...)
	cipher.NewCBCEncrypter(b, iv).CryptBlocks(body, body)
	return append(append([]byte("k8s:enc:aescbc:v1:"+name+":"), iv...), body...)
}

// Another secret under the same key name decrypts CBC values to garbage
// whose last bytes pass the padding check about one IV in 256: no error
// from the transformer, so the Store names the key when the garbage does
// not decode (storage.StoredValueDescriber).
func TestDescribeStored_CBCWrongKeyCanDecryptToGarbage(t *testing.T) {
	ctx := context.Background()
	reader := mustChain(t, aescbc(Key{"k", other}))
	iv := make([]byte, 16)
	for i := range uint64(1 << 16) {
		binary.BigEndian.PutUint64(iv[8:], i)
		stored := cbcValue(t, "k", key32, iv, "k8s\x00value")
		out, _, err := reader.TransformFromStorage(ctx, stored, "/k")
		if err != nil {
			continue
		}
		if bytes.HasPrefix(out, []byte("k8s\x00")) {
			t.Fatalf("IV %d: another key decrypted %q", i, out)
		}
		if got := reader.DescribeStored(stored); got != `aescbc key "k"` {
			t.Fatalf("DescribeStored = %q, want the key that decrypted it", got)
		}
		t.Logf("IV %d: another key decrypted the value to %d bytes of garbage without an error", i, len(out))
		return
	}
	t.Fatal("no IV in 65536 let another key pass the padding check")
}

func TestDescribeStored(t *testing.T) {
	ctx := context.Background()
	c := mustChain(t, aesgcm(Key{"new", key32}), aescbc(Key{"k1", key32}, Key{"k2", key16}), ident())
	write := func(p ProviderConfiguration) []byte {
		b, err := mustChain(t, p).TransformToStorage(ctx, []byte("k8s\x00v"), "/k")
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name   string
		stored []byte
		want   string
	}{
		{"first provider", write(aesgcm(Key{"new", key32})), `aesgcm key "new"`},
		{"second key of the second provider", write(aescbc(Key{"k2", key16})), `aescbc key "k2"`},
		{"a key not configured", write(aescbc(Key{"gone", key16})), ""},
		{"a provider not configured", write(sbox(Key{"k1", key32})), ""},
		{"not encrypted", []byte("k8s\x00plain"), ""},
	} {
		if got := c.DescribeStored(tc.stored); got != tc.want {
			t.Errorf("%s: DescribeStored = %q, want %q", tc.name, got, tc.want)
		}
	}
}
