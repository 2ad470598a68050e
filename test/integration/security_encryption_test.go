package integration

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kstack/kstack/pkg/apiserver"
	"github.com/kstack/kstack/test/integration/framework"
)

// aesKey is a named random AES-256 key for an EncryptionConfiguration.
type aesKey struct{ name, secret string }

func newAESKey(t *testing.T, name string) aesKey {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return aesKey{name, base64.StdEncoding.EncodeToString(b)}
}

// writeEncryptionConfig writes an EncryptionConfiguration that encrypts
// secrets with aescbc and keys (the first writes), then reads plain values
// through identity.
func writeEncryptionConfig(t *testing.T, keys ...aesKey) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - aescbc:\n      keys:\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "      - name: %s\n        secret: %s\n", k.name, k.secret)
	}
	b.WriteString("  - identity: {}\n")
	path := filepath.Join(t.TempDir(), "encryption.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// rawEtcd reads key's stored value straight from etcd.
func rawEtcd(t *testing.T, endpoints []string, key string) []byte {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	resp, err := cli.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("etcd get %s: %v", key, err)
	}
	if len(resp.Kvs) != 1 {
		t.Fatalf("etcd get %s: %d values", key, len(resp.Kvs))
	}
	return resp.Kvs[0].Value
}

func TestSecurity_SecretsEncryptedAtRestAndRotated(t *testing.T) {
	key1, key2 := newAESKey(t, "key1"), newAESKey(t, "key2")
	withConfig := func(path string) framework.Options {
		return framework.Options{EmbeddedEtcd: true, Configure: func(c *apiserver.Config) { c.EncryptionProviderConfig = path }}
	}
	s := framework.Start(t, withConfig(writeEncryptionConfig(t, key1)))
	ns := createNamespace(t, s.Client, "vault")
	createSecret := func(s *framework.Server, name, value string) {
		t.Helper()
		if _, err := s.Client.CoreV1().Secrets(ns).Create(t.Context(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name},
			Data: map[string][]byte{"password": []byte(value)}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create secret %s: %v", name, err)
		}
	}
	readSecret := func(s *framework.Server, name, want string) {
		t.Helper()
		got, err := s.Client.CoreV1().Secrets(ns).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get secret %s: %v", name, err)
		}
		if string(got.Data["password"]) != want {
			t.Fatalf("secret %s = %q, want %q", name, got.Data["password"], want)
		}
	}
	// storedWith checks the raw etcd value of a secret: encrypted with key,
	// never holding the plaintext.
	storedWith := func(s *framework.Server, name, plaintext string, key aesKey) {
		t.Helper()
		raw := rawEtcd(t, s.EtcdEndpoints, "/registry/secrets/"+ns+"/"+name)
		if want := "k8s:enc:aescbc:v1:" + key.name + ":"; !bytes.HasPrefix(raw, []byte(want)) {
			t.Errorf("secret %s stored as %q..., want prefix %q", name, raw[:min(len(raw), 40)], want)
		}
		if bytes.Contains(raw, []byte(plaintext)) || bytes.Contains(raw, []byte(name)) {
			t.Errorf("secret %s stored with its plaintext or name visible", name)
		}
	}

	createSecret(s, "old-secret", "hunter2-old")
	storedWith(s, "old-secret", "hunter2-old", key1)
	readSecret(s, "old-secret", "hunter2-old")
	// ConfigMaps are not in the configuration: stored as plain protobuf.
	if _, err := s.Client.CoreV1().ConfigMaps(ns).Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"},
		Data: map[string]string{"color": "plain-blue"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	raw := rawEtcd(t, s.EtcdEndpoints, "/registry/configmaps/"+ns+"/settings")
	if !bytes.HasPrefix(raw, []byte("k8s\x00")) || !bytes.Contains(raw, []byte("plain-blue")) {
		t.Errorf("configmap stored as %q, want plain protobuf", raw)
	}

	// Rotation step 1: the new key writes, the old one still reads.
	s = s.Restart(t, withConfig(writeEncryptionConfig(t, key2, key1)))
	readSecret(s, "old-secret", "hunter2-old")
	storedWith(s, "old-secret", "hunter2-old", key1) // untouched until rewritten
	createSecret(s, "new-secret", "hunter2-new")
	storedWith(s, "new-secret", "hunter2-new", key2)
	// Step 2: rewrite every secret (kubectl get secrets -o json | kubectl
	// replace -f -): an unchanged update re-encrypts with the new key.
	list, err := s.Client.CoreV1().Secrets(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range list.Items {
		if _, err := s.Client.CoreV1().Secrets(ns).Update(t.Context(), &list.Items[i], metav1.UpdateOptions{}); err != nil {
			t.Fatalf("rewrite secret %s: %v", list.Items[i].Name, err)
		}
	}
	storedWith(s, "old-secret", "hunter2-old", key2)
	// Step 3: drop the old key; everything still reads.
	s = s.Restart(t, withConfig(writeEncryptionConfig(t, key2)))
	readSecret(s, "old-secret", "hunter2-old")
	readSecret(s, "new-secret", "hunter2-new")

	// A server without the key cannot read the secrets (and says so), but
	// still serves everything else.
	s = s.Restart(t, withConfig(writeEncryptionConfig(t, key1)))
	if _, err := s.Client.CoreV1().Secrets(ns).Get(t.Context(), "old-secret", metav1.GetOptions{}); codeOf(err) != 500 {
		t.Errorf("get a secret without its key: %v, want 500", err)
	}
	if _, err := s.Client.CoreV1().ConfigMaps(ns).Get(t.Context(), "settings", metav1.GetOptions{}); err != nil {
		t.Errorf("get a configmap with the secrets' key gone: %v", err)
	}
}
