package storage

import (
	"encoding/base64"
	"path"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzPrefixes are list keys as GetList passes them to decodeContinue:
// a resource's prefix, or a namespace below it, always ending in "/".
var fuzzPrefixes = []string{"/registry/pods/", "/registry/pods/kube-system/", "/registry/secrets/"}

// rawToken encodes a hand-written token body, so seeds can carry JSON that
// encodeContinue would never produce.
func rawToken(body string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(body))
}

// FuzzDecodeContinue feeds arbitrary continue tokens to decodeContinue: it
// never panics, and a token it accepts has a non-zero revision and a start
// key that cannot range above the list's prefix (no "..", no other
// resource's keys).
func FuzzDecodeContinue(f *testing.F) {
	good, err := encodeContinue("/registry/pods/default/web-1\x00", "/registry/pods/", 42)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		good,
		"",
		"not base64 !!",
		"e30",             // "{}"
		rawToken(`null`),  // JSON null
		rawToken(`[1,2]`), // not an object
		rawToken(`{"v":"meta.k8s.io/v1","rv":0,"start":"a"}`),
		rawToken(`{"v":"meta.k8s.io/v1","rv":-1,"start":"a"}`),
		rawToken(`{"v":"meta.k8s.io/v1","rv":5,"start":""}`),
		rawToken(`{"v":"meta.k8s.io/v2","rv":5,"start":"a"}`),
		rawToken(`{"v":"meta.k8s.io/v1","rv":5,"start":"../secrets/x"}`),
		rawToken(`{"v":"meta.k8s.io/v1","rv":5,"start":"/../../registry/secrets/"}`),
		rawToken(`{"v":"meta.k8s.io/v1","rv":5,"start":"a/./b"}`),
		rawToken(`{"v":"meta.k8s.io/v1","rv":5,"start":"a//b"}`),
		rawToken(`{"v":"meta.k8s.io/v1","rv":5,"start":"/"}`),
		rawToken(`{"v":"meta.k8s.io/v1","rv":5,"start":"ns/name\u0000"}`),
		rawToken(`{"v":"meta.k8s.io/v1","rv":9223372036854775808,"start":"a"}`),
		rawToken(`{"v":"meta.k8s.io/v1","rv":"5","start":"a"}`),
		rawToken(`{"v":"meta.k8s.io/v1","rv":5,"start":"a","start":"../b"}`),
		base64.StdEncoding.EncodeToString([]byte(`{"v":"meta.k8s.io/v1","rv":5,"start":"a"}`)), // padded
	} {
		f.Add(seed, uint8(0))
	}
	f.Fuzz(func(t *testing.T, token string, prefixIdx uint8) {
		prefix := fuzzPrefixes[int(prefixIdx)%len(fuzzPrefixes)]
		key, rev, err := decodeContinue(token, prefix)
		if err != nil {
			if key != "" || rev != 0 {
				t.Fatalf("decodeContinue(%q) failed (%v) but returned key %q rev %d", token, err, key, rev)
			}
			if !strings.HasPrefix(err.Error(), "continue key is not valid") {
				t.Fatalf("decodeContinue(%q) error %q does not say the key is invalid", token, err)
			}
			return
		}
		if rev == 0 {
			t.Fatalf("decodeContinue(%q) accepted revision 0", token)
		}
		if !strings.HasPrefix(key, prefix) {
			t.Fatalf("decodeContinue(%q, %q) = %q: start key escapes the prefix", token, prefix, key)
		}
		rest := key[len(prefix):]
		for _, elem := range strings.Split(rest, "/") {
			if elem == ".." || elem == "." {
				t.Fatalf("decodeContinue(%q, %q) = %q: start key keeps a %q element", token, prefix, key, elem)
			}
		}
		if rest != "" && path.Clean("/"+rest) != "/"+rest {
			t.Fatalf("decodeContinue(%q, %q) = %q: start key is not clean", token, prefix, key)
		}
		// The same token read below another prefix stays below that one.
		for _, other := range fuzzPrefixes {
			okey, orev, oerr := decodeContinue(token, other)
			if oerr != nil || orev != rev || okey != other+rest {
				t.Fatalf("decodeContinue(%q, %q) = %q, %d, %v; want %q, %d", token, other, okey, orev, oerr, other+rest, rev)
			}
		}
	})
}

// FuzzContinueRoundTrip checks that every token the store hands out (for a
// clean key below the prefix, as etcd keys of validated names are) decodes
// back to the same key and revision.
func FuzzContinueRoundTrip(f *testing.F) {
	f.Add("default/web-1\x00", int64(42), uint8(0))
	f.Add("web-1\x00", int64(1), uint8(1))
	f.Add("a", int64(-7), uint8(2))
	f.Add("ns/name.with.dots-and-dashes\x00", int64(1<<62), uint8(0))
	f.Fuzz(func(t *testing.T, rest string, rev int64, prefixIdx uint8) {
		prefix := fuzzPrefixes[int(prefixIdx)%len(fuzzPrefixes)]
		if rev == 0 || rest == "" || !utf8.ValidString(rest) || path.Clean("/"+rest) != "/"+rest {
			return // the store never pages from such a key
		}
		token, err := encodeContinue(prefix+rest, prefix, rev)
		if err != nil {
			t.Fatalf("encodeContinue(%q, %q, %d): %v", prefix+rest, prefix, rev, err)
		}
		key, gotRev, err := decodeContinue(token, prefix)
		if err != nil || key != prefix+rest || gotRev != rev {
			t.Fatalf("decodeContinue(encodeContinue(%q, %d)) = %q, %d, %v", prefix+rest, rev, key, gotRev, err)
		}
	})
}
