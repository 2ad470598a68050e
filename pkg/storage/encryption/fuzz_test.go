package encryption

import (
	"bytes"
	"context"
	"testing"
)

// FuzzTransformFromStorage feeds arbitrary stored values to a transformer
// with every provider: it must never panic, and whatever it accepts from a
// value it wrote itself must round-trip.
func FuzzTransformFromStorage(f *testing.F) {
	c := mustChain(f, aescbc(Key{"a", key32}), aesgcm(Key{"g", key16}), sbox(Key{"s", key32}), ident())
	for _, seed := range []string{
		"", "k8s:enc:", "k8s:enc:aescbc:v1:a:", "k8s:enc:aescbc:v1:a:0123456789abcdef",
		"k8s:enc:aescbc:v1:a:0123456789abcdef0123456789abcdef", "k8s:enc:aesgcm:v1:g:0123456789ab",
		"k8s:enc:secretbox:v1:s:0123456789abcdef01234567", "k8s:enc:aescbc:v1:zz:x", "k8s\x00proto", "{}",
	} {
		f.Add([]byte(seed))
	}
	ctx := context.Background()
	if stored, err := c.TransformToStorage(ctx, []byte("k8s\x00value"), "/k"); err == nil {
		f.Add(stored)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, _, err := c.TransformFromStorage(ctx, data, "/k")
		if err != nil {
			return
		}
		again, err := c.TransformToStorage(ctx, out, "/k")
		if err != nil {
			t.Fatal(err)
		}
		back, stale, err := c.TransformFromStorage(ctx, again, "/k")
		if err != nil || stale || !bytes.Equal(back, out) {
			t.Fatalf("rewrite of %q read back %q stale=%v err=%v", out, back, stale, err)
		}
	})
}
