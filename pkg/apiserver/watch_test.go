package apiserver

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestEncodingCache_SharesEncodingsAndForgetsTheOldest(t *testing.T) {
	var c encodingCache
	first := &corev1.Pod{}
	k := encodeKey{obj: first, mediaType: "application/json"}
	c.put(k, []byte("a"))
	if got := string(c.get(k)); got != "a" {
		t.Fatalf("get = %q, want a", got)
	}
	if c.get(encodeKey{obj: first, mediaType: "application/vnd.kubernetes.protobuf"}) != nil {
		t.Fatal("another media type must not share the encoding")
	}
	if c.get(encodeKey{obj: &corev1.Pod{}, mediaType: "application/json"}) != nil {
		t.Fatal("another object must not share the encoding")
	}
	for i := 0; i < encodingCacheSize; i++ {
		c.put(encodeKey{obj: &corev1.Pod{}, mediaType: "application/json"}, []byte("x"))
	}
	if c.get(k) != nil {
		t.Fatal("the oldest entry should be gone once the cache is full")
	}
	if len(c.entries) != encodingCacheSize {
		t.Fatalf("cache holds %d entries, want %d", len(c.entries), encodingCacheSize)
	}
}
