package encryption

import (
	"bytes"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kstack/kstack/api"
	"github.com/kstack/kstack/internal/testetcd"
	"github.com/kstack/kstack/pkg/storage"
)

const password = "hunter2-very-secret"

// secretStore is the secrets store as the apiserver builds it, with the
// transformer the configuration file gives secrets.
func secretStore(t *testing.T, client *clientv3.Client, file string) *storage.Store {
	t.Helper()
	ts, err := LoadConfig(writeConfig(t, file))
	if err != nil {
		t.Fatal(err)
	}
	info, ok := runtime.SerializerInfoForMediaType(api.Codecs.SupportedMediaTypes(), runtime.ContentTypeProtobuf)
	if !ok {
		t.Fatal("no protobuf serializer")
	}
	gr := corev1.Resource("secrets")
	return storage.NewStore(client, storage.Config{
		Prefix:        "/registry/secrets",
		GroupResource: gr,
		Namespaced:    true,
		Codec:         api.Codecs.CodecForVersions(info.Serializer, info.Serializer, corev1.SchemeGroupVersion, corev1.SchemeGroupVersion),
		NewFunc:       func() runtime.Object { return &corev1.Secret{} },
		NewListFunc:   func() runtime.Object { return &corev1.SecretList{} },
		Transformer:   ts.For(gr),
	})
}

func secretsConfig(providers string) string {
	return config("- resources: [secrets]\n  providers:\n" + providers)
}

var (
	key1Only     = secretsConfig("  - aescbc: {keys: [{name: key1, secret: " + key32 + "}]}\n")
	key2ThenKey1 = secretsConfig("  - aescbc: {keys: [{name: key2, secret: " + other + "}, {name: key1, secret: " + key32 + "}]}\n")
	key2Only     = secretsConfig("  - aescbc: {keys: [{name: key2, secret: " + other + "}]}\n")
	identityThen = secretsConfig("  - identity: {}\n  - aescbc: {keys: [{name: key1, secret: " + key32 + "}]}\n")
	encryptOnly  = secretsConfig("  - aescbc: {keys: [{name: key1, secret: " + other + "}]}\n")
)

const secretKey = "/registry/secrets/default/db"

func rawValue(t *testing.T, client *clientv3.Client) []byte {
	t.Helper()
	resp, err := client.Get(t.Context(), secretKey)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("raw read of %s: %v", secretKey, err)
	}
	return resp.Kvs[0].Value
}

func readSecret(t *testing.T, s *storage.Store) *corev1.Secret {
	t.Helper()
	got := &corev1.Secret{}
	if err := s.Get(t.Context(), secretKey, storage.GetOptions{}, got); err != nil {
		t.Fatalf("get through the store: %v", err)
	}
	if string(got.Data["password"]) != password {
		t.Fatalf("read back password %q", got.Data["password"])
	}
	return got
}

// rewrite is what `kubectl replace` of an unchanged object does to storage.
func rewrite(t *testing.T, s *storage.Store) *corev1.Secret {
	t.Helper()
	out := &corev1.Secret{}
	err := s.GuaranteedUpdate(t.Context(), secretKey, out, false, nil,
		func(existing runtime.Object) (runtime.Object, error) { return existing, nil })
	if err != nil {
		t.Fatalf("rewrite: %v", err)
	}
	return out
}

func TestStore_SecretsAreEncryptedAtRestAndRotateByRewriting(t *testing.T) {
	_, client := testetcd.Start(t)

	// 1. Encrypted with key1: not plaintext in etcd, reads back.
	s1 := secretStore(t, client, key1Only)
	created := &corev1.Secret{}
	in := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "db"},
		Data: map[string][]byte{"password": []byte(password)}}
	if err := s1.Create(t.Context(), secretKey, in, created); err != nil {
		t.Fatal(err)
	}
	raw := rawValue(t, client)
	if !bytes.HasPrefix(raw, []byte("k8s:enc:aescbc:v1:key1:")) || bytes.Contains(raw, []byte(password)) {
		t.Fatalf("etcd holds %q, want an aescbc key1 value without the password", raw[:min(len(raw), 40)])
	}
	readSecret(t, s1)
	list := &corev1.SecretList{}
	if err := s1.GetList(t.Context(), "/registry/secrets/", storage.ListOptions{}, list); err != nil || len(list.Items) != 1 {
		t.Fatalf("list: %v (%d items)", err, len(list.Items))
	}
	if got := rewrite(t, s1); got.ResourceVersion != created.ResourceVersion {
		t.Fatalf("a no-op update with the current key wrote (rv %s -> %s)", created.ResourceVersion, got.ResourceVersion)
	}

	// 2. Rotation: key2 first, key1 second reads the old value; a rewrite
	// re-encrypts with key2, after which key1 can go.
	s2 := secretStore(t, client, key2ThenKey1)
	readSecret(t, s2)
	if got := rewrite(t, s2); got.ResourceVersion == created.ResourceVersion {
		t.Fatal("the rewrite of a value under the old key wrote nothing")
	}
	if raw := rawValue(t, client); !bytes.HasPrefix(raw, []byte("k8s:enc:aescbc:v1:key2:")) {
		t.Fatalf("after the rewrite etcd holds %q, want key2", raw[:min(len(raw), 40)])
	}
	readSecret(t, secretStore(t, client, key2Only))

	// 3. A wrong secret under the right key name is a clear 500 naming the
	// key: its padding check fails, or (one IV in 256) the garbage it
	// decrypts to does not decode.
	err := secretStore(t, client, secretsConfig("  - aescbc: {keys: [{name: key2, secret: "+key32+"}]}\n")).
		Get(t.Context(), secretKey, storage.GetOptions{}, &corev1.Secret{})
	if !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), `aescbc key "key2"`) ||
		!strings.Contains(err.Error(), "was the value written with a different key of that name?") {
		t.Fatalf("wrong key: %v, want an internal error naming the key", err)
	}
	// A key1-only apiserver no longer reads it either.
	err = secretStore(t, client, key1Only).Get(t.Context(), secretKey, storage.GetOptions{}, &corev1.Secret{})
	if !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), `key "key2", which is not in the aescbc provider's keys`) {
		t.Fatalf("removed key: %v", err)
	}
}

func TestStore_IdentityFirstDecryptsOnRewrite(t *testing.T) {
	_, client := testetcd.Start(t)
	in := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "db"},
		Data: map[string][]byte{"password": []byte(password)}}
	if err := secretStore(t, client, key1Only).Create(t.Context(), secretKey, in, &corev1.Secret{}); err != nil {
		t.Fatal(err)
	}
	s := secretStore(t, client, identityThen)
	readSecret(t, s)
	rewrite(t, s)
	if raw := rawValue(t, client); bytes.HasPrefix(raw, []byte("k8s:enc:")) || !bytes.Contains(raw, []byte(password)) {
		t.Fatalf("after an identity-first rewrite etcd holds %q, want the plain object", raw[:min(len(raw), 40)])
	}
	readSecret(t, s)
	// An encrypt-only configuration refuses the plain value, clearly.
	if err := secretStore(t, client, encryptOnly).Get(t.Context(), secretKey, storage.GetOptions{}, &corev1.Secret{}); err == nil ||
		!strings.Contains(err.Error(), "not encrypted and the identity provider is not configured") {
		t.Fatalf("plain value read by an encrypt-only config: %v", err)
	}
}
