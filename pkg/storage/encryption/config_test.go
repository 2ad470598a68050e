package encryption

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// config is a configuration file with the given resources list.
func config(resources string) string {
	return "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n" + resources
}

func TestParseConfig_Validation(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		wantErr string // "" = valid
	}{
		{"aescbc then identity", config(`
- resources: [secrets]
  providers:
  - aescbc: {keys: [{name: key1, secret: ` + key32 + `}]}
  - identity: {}`), ""},
		{"every provider, wildcards", config(`
- resources: [secrets, configmaps, deployments.apps, '*.batch']
  providers:
  - aesgcm: {keys: [{name: a, secret: ` + key16 + `}, {name: b, secret: ` + key32 + `}]}
  - secretbox: {keys: [{name: s, secret: ` + key32 + `}]}
  - identity: {}
- resources: ['*.*']
  providers: [{identity: {}}]`), ""},
		{"wrong kind", strings.Replace(config("- resources: [secrets]\n  providers: [{identity: {}}]"),
			"EncryptionConfiguration", "Config", 1), `kind "Config"`},
		{"not yaml", "resources: [", "decode encryption provider configuration"},
		{"no resources", config(" []"), "resources: Required value"},
		{"no providers", config("- resources: [secrets]\n  providers: []"), "resources[0].providers: Required value"},
		{"empty provider", config("- resources: [secrets]\n  providers: [{}]"),
			"provider does not contain any of the expected providers"},
		{"two providers in one element", config("- resources: [secrets]\n  providers: [{identity: {}, aescbc: {keys: [{name: a, secret: " + key32 + "}]}}]"),
			"more than one provider specified in a single element"},
		{"kms", config("- resources: [secrets]\n  providers: [{kms: {name: x, endpoint: 'unix:///k.sock'}}]"),
			`providers[0].kms: Unsupported value: "kms"`},
		{"no keys", config("- resources: [secrets]\n  providers: [{aescbc: {keys: []}}]"),
			"providers[0].aescbc.keys: Required value"},
		{"key without name", config("- resources: [secrets]\n  providers: [{aesgcm: {keys: [{secret: " + key32 + "}]}}]"),
			"aesgcm.keys[0].name: Required value"},
		{"duplicate key name", config("- resources: [secrets]\n  providers: [{aesgcm: {keys: [{name: a, secret: " + key32 + "}, {name: a, secret: " + key16 + "}]}}]"),
			`aesgcm.keys[1].name: Duplicate value: "a"`},
		{"secret not base64", config("- resources: [secrets]\n  providers: [{aescbc: {keys: [{name: a, secret: 'not base64!'}]}}]"),
			`aescbc.keys[0].secret: Invalid value: "REDACTED": secrets must be base64 encoded`},
		{"aes key of 31 bytes", config("- resources: [secrets]\n  providers: [{aescbc: {keys: [{name: a, secret: " + "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMQ==" + "}]}}]"),
			"secret is not of the expected length, got 31, expected one of [16 24 32]"},
		{"secretbox key of 16 bytes", config("- resources: [secrets]\n  providers: [{secretbox: {keys: [{name: a, secret: " + key16 + "}]}}]"),
			"secret is not of the expected length, got 16, expected one of [32]"},
		{"star alone", config("- resources: ['*']\n  providers: [{identity: {}}]"), "use '*.' to encrypt all the resources"},
		{"capital letters", config("- resources: [Secrets]\n  providers: [{identity: {}}]"), "should not contain capital letters"},
		{"events.k8s.io", config("- resources: [events.events.k8s.io]\n  providers: [{identity: {}}]"), "Use 'events' instead"},
		{"resource across groups", config("- resources: ['secrets.*']\n  providers: [{identity: {}}]"), "across groups is not supported"},
		{"duplicate resource", config("- resources: [secrets, secrets]\n  providers: [{identity: {}}]"), "cannot be specified multiple times"},
		{"overlap in one list", config("- resources: [secrets, '*.']\n  providers: [{identity: {}}]"), "overlapping resources"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.file))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			if err != nil && (strings.Contains(err.Error(), key32) || strings.Contains(err.Error(), key16)) {
				t.Fatalf("error shows a key: %v", err)
			}
		})
	}
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "encryption.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadConfig_ResourceLookupAndMasking(t *testing.T) {
	ts, err := LoadConfig(writeConfig(t, config(`
- resources: [secrets]
  providers: [{aescbc: {keys: [{name: s, secret: `+key32+`}]}}]
- resources: ['*.apps']
  providers: [{secretbox: {keys: [{name: a, secret: `+key32+`}]}}]
- resources: [secrets]
  providers: [{aesgcm: {keys: [{name: all, secret: `+key32+`}]}}]
- resources: ['*.*']
  providers: [{aesgcm: {keys: [{name: all, secret: `+key32+`}]}}, {identity: {}}]`)))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		gr         schema.GroupResource
		wantPrefix string
	}{
		{schema.GroupResource{Resource: "secrets"}, "k8s:enc:aescbc:v1:s:"},
		{schema.GroupResource{Group: "apps", Resource: "deployments"}, "k8s:enc:secretbox:v1:a:"},
		{schema.GroupResource{Resource: "configmaps"}, "k8s:enc:aesgcm:v1:all:"},
		{schema.GroupResource{Group: "batch", Resource: "jobs"}, "k8s:enc:aesgcm:v1:all:"},
	}
	for _, tt := range tests {
		out, err := ts.For(tt.gr).TransformToStorage(t.Context(), []byte("k8s\x00v"), "/k")
		if err != nil || !strings.HasPrefix(string(out), tt.wantPrefix) {
			t.Errorf("%s: wrote %q (%v), want prefix %q", tt.gr, out, err, tt.wantPrefix)
		}
	}
	// secrets appear in two entries: the later entry's providers read too.
	gcm, err := ts.For(schema.GroupResource{Resource: "configmaps"}).TransformToStorage(t.Context(), []byte("k8s\x00v"), "/k")
	if err != nil {
		t.Fatal(err)
	}
	if out, stale, err := ts.For(schema.GroupResource{Resource: "secrets"}).TransformFromStorage(t.Context(), gcm, "/k"); err != nil || !stale || string(out) != "k8s\x00v" {
		t.Fatalf("secrets reading the second entry's aesgcm value: %q stale=%v %v", out, stale, err)
	}

	if got := Transformers(nil).For(schema.GroupResource{Resource: "secrets"}); got != nil {
		t.Fatalf("no configuration: got %T, want nil", got)
	}
	unnamed := Transformers{{Resource: "secrets"}: ts[schema.GroupResource{Resource: "secrets"}]}.For(schema.GroupResource{Resource: "pods"})
	if _, _, err := unnamed.TransformFromStorage(t.Context(), gcm, "/k"); err == nil {
		t.Fatal("a resource the configuration does not name read encrypted data")
	}

	masked := []string{
		config("- resources: ['*.apps']\n  providers: [{identity: {}}]\n- resources: [deployments.apps]\n  providers: [{identity: {}}]"),
		config("- resources: ['*.*']\n  providers: [{identity: {}}]\n- resources: [secrets]\n  providers: [{identity: {}}]"),
	}
	for _, c := range masked {
		if _, err := LoadConfig(writeConfig(t, c)); err == nil || !strings.Contains(err.Error(), "is masked by earlier rule") {
			t.Errorf("masked rule: %v", err)
		}
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("missing file loaded")
	}
	if _, err := LoadConfig(writeConfig(t, "\n")); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("empty file: %v", err)
	}
}
