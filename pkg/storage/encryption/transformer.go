package encryption

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/nacl/secretbox"

	"github.com/kstack/kstack/pkg/storage"
)

// encryptedPrefix starts every encrypted value; protobuf values start with
// "k8s\x00" and JSON with "{", so identity never mistakes one for the other.
var encryptedPrefix = []byte("k8s:enc:")

// valueCipher encrypts one value; ad is the etcd key (authenticated by the
// AEADs that use it).
type valueCipher interface {
	encrypt(data, ad []byte) ([]byte, error)
	decrypt(data, ad []byte) ([]byte, error)
}

// keyTransformer is one named key of a provider.
type keyTransformer struct {
	name   string
	prefix []byte // name + ":"; empty for identity
	cipher valueCipher
}

// provider is one entry of a resource's provider list.
type provider struct {
	name   string // aescbc, aesgcm, secretbox, identity
	prefix []byte // "k8s:enc:<name>:v1:"; empty for identity
	keys   []keyTransformer
}

// chain is a resource's transformer: providers[0].keys[0] writes; a value
// is read by the provider and key its prefix names (identity: no prefix).
type chain struct {
	providers []provider
}

var (
	_ storage.Transformer          = (*chain)(nil)
	_ storage.StoredValueDescriber = (*chain)(nil)
)

// TransformToStorage implements storage.Transformer.
func (c *chain) TransformToStorage(_ context.Context, data []byte, key string) ([]byte, error) {
	p := c.providers[0]
	k := p.keys[0]
	enc, err := k.cipher.encrypt(data, []byte(key))
	if err != nil {
		return nil, fmt.Errorf("encrypt with %s key %q: %w", p.name, k.name, err)
	}
	if len(p.prefix) == 0 && len(k.prefix) == 0 {
		return enc, nil
	}
	out := make([]byte, 0, len(p.prefix)+len(k.prefix)+len(enc))
	out = append(append(append(out, p.prefix...), k.prefix...), enc...)
	return out, nil
}

// TransformFromStorage implements storage.Transformer. stale is true unless
// the value was written by the first provider's first key.
func (c *chain) TransformFromStorage(_ context.Context, data []byte, key string) ([]byte, bool, error) {
	var missing error
	for i, p := range c.providers {
		if !bytes.HasPrefix(data, p.prefix) {
			continue
		}
		if len(p.prefix) == 0 {
			// identity: reads anything but encrypted values.
			if bytes.HasPrefix(data, encryptedPrefix) {
				continue
			}
			return data, i != 0, nil
		}
		rest := data[len(p.prefix):]
		for j, k := range p.keys {
			if !bytes.HasPrefix(rest, k.prefix) {
				continue
			}
			out, err := k.cipher.decrypt(rest[len(k.prefix):], []byte(key))
			if err != nil {
				return nil, false, fmt.Errorf("decrypt with %s key %q: %w (was the value written with a different key of that name?)",
					p.name, k.name, err)
			}
			return out, i != 0 || j != 0, nil
		}
		missing = fmt.Errorf("the value was written by %s key %q, which is not in the %s provider's keys",
			p.name, keyNameOf(rest), p.name)
	}
	if missing != nil {
		return nil, false, missing
	}
	if bytes.HasPrefix(data, encryptedPrefix) {
		return nil, false, fmt.Errorf("the value is encrypted (%q) by a provider that is not configured for this resource",
			printablePrefix(data))
	}
	return nil, false, errors.New("the value is not encrypted and the identity provider is not configured for this resource")
}

// DescribeStored implements storage.StoredValueDescriber: the provider and
// key that data, a stored value, is decrypted with; "" when it is not
// encrypted or by no configured key.
func (c *chain) DescribeStored(data []byte) string {
	for _, p := range c.providers {
		if len(p.prefix) == 0 || !bytes.HasPrefix(data, p.prefix) {
			continue
		}
		rest := data[len(p.prefix):]
		for _, k := range p.keys {
			if bytes.HasPrefix(rest, k.prefix) {
				return fmt.Sprintf("%s key %q", p.name, k.name)
			}
		}
	}
	return ""
}

// keyNameOf returns the key name at the start of rest ("<name>:...").
func keyNameOf(rest []byte) string {
	if i := bytes.IndexByte(rest, ':'); i > 0 && i <= 256 {
		return string(rest[:i])
	}
	return "?"
}

// printablePrefix returns "k8s:enc:<provider>:<version>" of an encrypted value.
func printablePrefix(data []byte) string {
	parts := bytes.SplitN(data, []byte(":"), 5)
	if len(parts) < 4 || len(parts[2]) > 32 || len(parts[3]) > 8 {
		return string(encryptedPrefix)
	}
	return string(bytes.Join(parts[:4], []byte(":")))
}

// newProviders builds the providers of one resource configuration.
func newProviders(configs []ProviderConfiguration) ([]provider, error) {
	if len(configs) == 0 {
		return nil, errors.New("no providers")
	}
	out := make([]provider, 0, len(configs))
	for i, pc := range configs {
		var (
			p   provider
			err error
		)
		switch {
		case pc.AESCBC != nil:
			p, err = newKeyedProvider("aescbc", pc.AESCBC.Keys, newCBC)
		case pc.AESGCM != nil:
			p, err = newKeyedProvider("aesgcm", pc.AESGCM.Keys, newGCM)
		case pc.Secretbox != nil:
			p, err = newKeyedProvider("secretbox", pc.Secretbox.Keys, newSecretbox)
		case pc.Identity != nil:
			p = provider{name: "identity", keys: []keyTransformer{{name: "identity", cipher: identity{}}}}
		case pc.KMS != nil:
			err = errors.New("kms providers are not supported")
		default:
			err = errors.New("provider does not contain any of the expected providers: AESGCM, AESCBC, Secretbox, Identity")
		}
		if err != nil {
			return nil, fmt.Errorf("providers[%d]: %w", i, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func newKeyedProvider(name string, keys []Key, newCipher func([]byte) (valueCipher, error)) (provider, error) {
	p := provider{name: name, prefix: []byte("k8s:enc:" + name + ":v1:")}
	if len(keys) == 0 {
		return p, fmt.Errorf("%s provider has no keys", name)
	}
	for _, k := range keys {
		if k.Name == "" {
			return p, fmt.Errorf("%s provider: a key has no name", name)
		}
		secret, err := base64.StdEncoding.DecodeString(k.Secret)
		if err != nil {
			return p, fmt.Errorf("%s key %q: secret is not base64", name, k.Name)
		}
		c, err := newCipher(secret)
		if err != nil {
			return p, fmt.Errorf("%s key %q: %w", name, k.Name, err)
		}
		p.keys = append(p.keys, keyTransformer{name: k.Name, prefix: []byte(k.Name + ":"), cipher: c})
	}
	return p, nil
}

// identity stores values as they are.
type identity struct{}

func (identity) encrypt(data, _ []byte) ([]byte, error) { return data, nil }
func (identity) decrypt(data, _ []byte) ([]byte, error) { return data, nil }

// cbc is AES-CBC with a random IV in front and PKCS#7 padding.
type cbc struct{ block cipher.Block }

func newCBC(key []byte) (valueCipher, error) {
	if n := len(key); n != 16 && n != 24 && n != 32 {
		return nil, fmt.Errorf("key is %d bytes, want 16, 24 or 32", n)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cbc{block: b}, nil
}

func (c cbc) encrypt(data, _ []byte) ([]byte, error) {
	bs := aes.BlockSize
	pad := bs - len(data)%bs
	out := make([]byte, bs+len(data)+pad)
	iv := out[:bs]
	if _, err := io.ReadFull(rand.Reader, iv); err != nil {
		return nil, fmt.Errorf("read random IV: %w", err)
	}
	copy(out[bs:], data)
	for i := bs + len(data); i < len(out); i++ {
		out[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(c.block, iv).CryptBlocks(out[bs:], out[bs:])
	return out, nil
}

func (c cbc) decrypt(data, _ []byte) ([]byte, error) {
	bs := aes.BlockSize
	if len(data) < 2*bs {
		return nil, errors.New("the stored data was shorter than the required size")
	}
	iv, body := data[:bs], data[bs:]
	if len(body)%bs != 0 {
		return nil, errors.New("the stored data is not a multiple of the block size")
	}
	out := make([]byte, len(body))
	cipher.NewCBCDecrypter(c.block, iv).CryptBlocks(out, body)
	pad := int(out[len(out)-1])
	if pad == 0 || pad > bs || pad > len(out) {
		return nil, errors.New("invalid padding on input")
	}
	for _, b := range out[len(out)-pad:] {
		if int(b) != pad {
			return nil, errors.New("invalid padding on input")
		}
	}
	return out[:len(out)-pad], nil
}

// gcm is AES-GCM with a random 12-byte nonce in front; the etcd key is the
// additional authenticated data.
type gcm struct{ aead cipher.AEAD }

func newGCM(key []byte) (valueCipher, error) {
	if n := len(key); n != 16 && n != 24 && n != 32 {
		return nil, fmt.Errorf("key is %d bytes, want 16, 24 or 32", n)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(b)
	if err != nil {
		return nil, err
	}
	return gcm{aead: aead}, nil
}

func (g gcm) encrypt(data, ad []byte) ([]byte, error) {
	ns := g.aead.NonceSize()
	out := make([]byte, ns, ns+len(data)+g.aead.Overhead())
	if _, err := io.ReadFull(rand.Reader, out); err != nil {
		return nil, fmt.Errorf("read random nonce: %w", err)
	}
	return g.aead.Seal(out, out[:ns], data, ad), nil
}

func (g gcm) decrypt(data, ad []byte) ([]byte, error) {
	ns := g.aead.NonceSize()
	if len(data) < ns {
		return nil, errors.New("the stored data was shorter than the required size")
	}
	return g.aead.Open(nil, data[:ns], data[ns:], ad)
}

// box is NaCl secretbox with a random 24-byte nonce in front.
type box struct{ key [32]byte }

const boxNonceSize = 24

func newSecretbox(key []byte) (valueCipher, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("key is %d bytes, want 32", len(key))
	}
	var b box
	copy(b.key[:], key)
	return b, nil
}

func (b box) encrypt(data, _ []byte) ([]byte, error) {
	var nonce [boxNonceSize]byte
	if _, err := io.ReadFull(rand.Reader, nonce[:]); err != nil {
		return nil, fmt.Errorf("read random nonce: %w", err)
	}
	out := make([]byte, boxNonceSize, boxNonceSize+secretbox.Overhead+len(data))
	copy(out, nonce[:])
	return secretbox.Seal(out, data, &nonce, &b.key), nil
}

func (b box) decrypt(data, _ []byte) ([]byte, error) {
	if len(data) < boxNonceSize {
		return nil, errors.New("the stored data was shorter than the required size")
	}
	var nonce [boxNonceSize]byte
	copy(nonce[:], data)
	out, ok := secretbox.Open(nil, data[boxNonceSize:], &nonce, &b.key)
	if !ok {
		return nil, errors.New("authentication failed")
	}
	return out, nil
}
