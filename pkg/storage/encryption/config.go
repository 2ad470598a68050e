// Package encryption implements encryption at rest for the apiserver's
// --encryption-provider-config: it parses and validates an
// EncryptionConfiguration (apiserver.config.k8s.io/v1) and builds, for each
// configured resource, a storage.Transformer that writes with the first
// provider and reads with every provider, byte-compatible with upstream
// kube-apiserver's etcd values:
//
//	aescbc     k8s:enc:aescbc:v1:<key>:    IV(16) | AES-CBC(data + PKCS#7 padding)
//	aesgcm     k8s:enc:aesgcm:v1:<key>:    nonce(12) | AES-GCM(data, additional data = etcd key)
//	secretbox  k8s:enc:secretbox:v1:<key>: nonce(24) | secretbox(data)
//	identity   (no prefix)                 data as it is
//
// A value read with anything but the first provider's first key is stale:
// the Store rewrites it on the next update, so `kubectl get secrets -A -o
// json | kubectl replace -f -` re-encrypts everything with the new key.
// KMS providers are not supported.
package encryption

import (
	"encoding/base64"
	"fmt"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/kstack/kstack/pkg/storage"
)

// APIVersion and Kind of an encryption provider configuration file.
const (
	APIVersion = "apiserver.config.k8s.io/v1"
	Kind       = "EncryptionConfiguration"
)

// EncryptionConfiguration is the --encryption-provider-config file.
type EncryptionConfiguration struct {
	APIVersion string                  `json:"apiVersion"`
	Kind       string                  `json:"kind"`
	Resources  []ResourceConfiguration `json:"resources"`
}

// ResourceConfiguration lists resources ("secrets", "deployments.apps",
// "*.apps", "*." for the core group, "*.*" for all) and the providers that
// encrypt them; the first provider writes.
type ResourceConfiguration struct {
	Resources []string                `json:"resources"`
	Providers []ProviderConfiguration `json:"providers"`
}

// ProviderConfiguration sets exactly one provider.
type ProviderConfiguration struct {
	AESGCM    *AESConfiguration       `json:"aesgcm,omitempty"`
	AESCBC    *AESConfiguration       `json:"aescbc,omitempty"`
	Secretbox *SecretboxConfiguration `json:"secretbox,omitempty"`
	Identity  *IdentityConfiguration  `json:"identity,omitempty"`
	// KMS is recognised only to reject it with a clear error.
	KMS map[string]any `json:"kms,omitempty"`
}

// AESConfiguration holds the keys of an aescbc or aesgcm provider; the first
// key writes.
type AESConfiguration struct {
	Keys []Key `json:"keys"`
}

// SecretboxConfiguration holds the keys of a secretbox provider; the first
// key writes.
type SecretboxConfiguration struct {
	Keys []Key `json:"keys"`
}

// IdentityConfiguration is the identity (no encryption) provider.
type IdentityConfiguration struct{}

// Key is a named key; Secret is its base64 encoding.
type Key struct {
	Name   string `json:"name"`
	Secret string `json:"secret"`
}

var (
	aesKeySizes       = []int{16, 24, 32}
	secretboxKeySizes = []int{32}
)

// ParseConfig decodes and validates an EncryptionConfiguration (YAML or
// JSON).
func ParseConfig(data []byte) (*EncryptionConfiguration, error) {
	var c EncryptionConfiguration
	if err := yaml.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("decode encryption provider configuration: %w", err)
	}
	if c.APIVersion != APIVersion || c.Kind != Kind {
		return nil, fmt.Errorf("encryption provider configuration: got apiVersion %q kind %q, want %s %s",
			c.APIVersion, c.Kind, APIVersion, Kind)
	}
	if errs := c.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("invalid encryption provider configuration: %w", errs.ToAggregate())
	}
	return &c, nil
}

// Validate checks the configuration as upstream does. Key material never
// appears in the errors.
func (c *EncryptionConfiguration) Validate() field.ErrorList {
	root := field.NewPath("resources")
	var errs field.ErrorList
	if len(c.Resources) == 0 {
		return append(errs, field.Required(root, "at least one resource configuration is required"))
	}
	for i, rc := range c.Resources {
		rpath := root.Index(i).Child("resources")
		ppath := root.Index(i).Child("providers")
		if len(rc.Resources) == 0 {
			errs = append(errs, field.Required(rpath, "at least one resource is required"))
		}
		errs = append(errs, validateResourceNames(rc.Resources, rpath)...)
		errs = append(errs, validateOverlap(rc.Resources, rpath)...)
		if len(rc.Providers) == 0 {
			errs = append(errs, field.Required(ppath, "at least one provider is required"))
		}
		for j, p := range rc.Providers {
			errs = append(errs, validateProvider(p, ppath.Index(j))...)
		}
	}
	return errs
}

func validateResourceNames(resources []string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for j, res := range resources {
		p := path.Index(j)
		gr := schema.ParseGroupResource(res)
		switch {
		case res == "":
			errs = append(errs, field.Required(p, "resource must not be empty"))
		case strings.ToLower(res) != res:
			errs = append(errs, field.Invalid(p, res, "resource name should not contain capital letters"))
		case res == "*":
			errs = append(errs, field.Invalid(p, res, "use '*.' to encrypt all the resources from core API group or *.* to encrypt all resources"))
		case res == "apiserveripinfo" || res == "serviceipallocations" || res == "servicenodeportallocations":
			errs = append(errs, field.Invalid(p, res, "resources which do not have REST API/s cannot be encrypted"))
		case gr.Group == "events.k8s.io":
			errs = append(errs, field.Invalid(p, res, "'*.events.k8s.io' objects are stored using the 'events' API group in etcd. Use 'events' instead in the config file"))
		case gr.Group == "extensions":
			errs = append(errs, field.Invalid(p, res, "'extensions' group has been removed and cannot be used for encryption"))
		case gr.Group == "*" && gr.Resource != "*":
			errs = append(errs, field.Invalid(p, res, "encrypting the same resource across groups is not supported"))
		}
	}
	return errs
}

// validateOverlap rejects duplicates and wildcards that mask other entries
// of the same list.
func validateOverlap(resources []string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[schema.GroupResource]bool{}
	var dup, overlap bool
	for _, res := range resources {
		gr := schema.ParseGroupResource(res)
		if seen[gr] {
			dup = true
		}
		seen[gr] = true
	}
	if len(seen) > 1 {
		for gr := range seen {
			if gr == anyResource || (gr.Resource == "*" && groupCount(seen, gr.Group) > 1) {
				overlap = true
			}
		}
	}
	if dup {
		errs = append(errs, field.Invalid(path, resources, "the same resource cannot be specified multiple times"))
	}
	if overlap {
		errs = append(errs, field.Invalid(path, resources,
			"using overlapping resources such as 'secrets' and '*.' in the same resource list is not allowed as they will be masked"))
	}
	return errs
}

func groupCount(seen map[schema.GroupResource]bool, group string) int {
	n := 0
	for gr := range seen {
		if gr.Group == group {
			n++
		}
	}
	return n
}

func validateProvider(p ProviderConfiguration, path *field.Path) field.ErrorList {
	n := 0
	for _, set := range []bool{p.AESGCM != nil, p.AESCBC != nil, p.Secretbox != nil, p.Identity != nil, p.KMS != nil} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		return field.ErrorList{field.Required(path,
			"provider does not contain any of the expected providers: AESGCM, AESCBC, Secretbox, Identity")}
	case n > 1:
		return field.ErrorList{field.Invalid(path, "",
			"more than one provider specified in a single element, should split into different list elements")}
	case p.KMS != nil:
		return field.ErrorList{field.NotSupported(path.Child("kms"), "kms", []string{"aescbc", "aesgcm", "secretbox", "identity"})}
	case p.AESGCM != nil:
		return validateKeys(p.AESGCM.Keys, path.Child("aesgcm", "keys"), aesKeySizes)
	case p.AESCBC != nil:
		return validateKeys(p.AESCBC.Keys, path.Child("aescbc", "keys"), aesKeySizes)
	case p.Secretbox != nil:
		return validateKeys(p.Secretbox.Keys, path.Child("secretbox", "keys"), secretboxKeySizes)
	}
	return nil
}

func validateKeys(keys []Key, path *field.Path, sizes []int) field.ErrorList {
	if len(keys) == 0 {
		return field.ErrorList{field.Required(path, "at least one key is required")}
	}
	var errs field.ErrorList
	names := map[string]bool{}
	for i, k := range keys {
		p := path.Index(i)
		if k.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), "name is a mandatory field for a key"))
		} else if names[k.Name] {
			errs = append(errs, field.Duplicate(p.Child("name"), k.Name))
		}
		names[k.Name] = true
		if k.Secret == "" {
			errs = append(errs, field.Required(p.Child("secret"), "secret is a mandatory field for a key"))
			continue
		}
		secret, err := base64.StdEncoding.DecodeString(k.Secret)
		if err != nil {
			errs = append(errs, field.Invalid(p.Child("secret"), "REDACTED", "secrets must be base64 encoded"))
			continue
		}
		ok := false
		for _, n := range sizes {
			ok = ok || len(secret) == n
		}
		if !ok {
			errs = append(errs, field.Invalid(p.Child("secret"), "REDACTED",
				fmt.Sprintf("secret is not of the expected length, got %d, expected one of %v", len(secret), sizes)))
		}
	}
	return errs
}

// Transformers maps resources to their transformer. Keys may be wildcards:
// {Group: g, Resource: "*"} for every resource of group g, {"*", "*"} for
// all; use For to look one up.
type Transformers map[schema.GroupResource]storage.Transformer

var anyResource = schema.GroupResource{Group: "*", Resource: "*"}

// For returns the transformer for gr: its own entry, else its group's
// wildcard, else the "*.*" one, else an identity transformer that refuses
// to read encrypted data (as upstream for a resource the configuration does
// not name). A nil Transformers returns nil (no encryption configured).
func (t Transformers) For(gr schema.GroupResource) storage.Transformer {
	if t == nil {
		return nil
	}
	if tr := t[gr]; tr != nil {
		return tr
	}
	if tr := t[schema.GroupResource{Group: gr.Group, Resource: "*"}]; tr != nil {
		return tr
	}
	if tr := t[anyResource]; tr != nil {
		return tr
	}
	return &chain{providers: []provider{{name: "identity", keys: []keyTransformer{{cipher: identity{}}}}}}
}

// NewTransformers builds the transformers of a validated configuration. A
// resource named in several entries reads with all of them in order (the
// first entry's first provider writes); a resource masked by an earlier
// entry's wildcard is an error, as upstream.
func NewTransformers(c *EncryptionConfiguration) (Transformers, error) {
	chains := map[schema.GroupResource]*chain{}
	var order []schema.GroupResource
	for i, rc := range c.Resources {
		providers, err := newProviders(rc.Providers)
		if err != nil {
			return nil, fmt.Errorf("resources[%d]: %w", i, err)
		}
		for _, res := range rc.Resources {
			gr := schema.ParseGroupResource(res)
			for _, mask := range []schema.GroupResource{{Group: gr.Group, Resource: "*"}, anyResource} {
				if _, masked := chains[mask]; masked {
					return nil, fmt.Errorf("resource %q is masked by earlier rule %q", res, yamlName(mask))
				}
			}
			if chains[gr] == nil {
				chains[gr] = &chain{}
				order = append(order, gr)
			}
			chains[gr].providers = append(chains[gr].providers, providers...)
		}
	}
	out := make(Transformers, len(chains))
	for _, gr := range order {
		out[gr] = chains[gr]
	}
	return out, nil
}

// yamlName writes gr as the configuration does ("secrets", "*.apps", "*.").
func yamlName(gr schema.GroupResource) string {
	if gr.Group == "" && gr.Resource == "*" {
		return "*."
	}
	return gr.String()
}

// LoadConfig reads, validates and builds the --encryption-provider-config
// file at path.
func LoadConfig(path string) (Transformers, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read encryption provider configuration: %w", err)
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, fmt.Errorf("encryption provider configuration file %q is empty", path)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t, err := NewTransformers(c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}
