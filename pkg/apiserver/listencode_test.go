package apiserver

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kstack/kstack/api"
	"github.com/kstack/kstack/internal/testetcd"
	"github.com/kstack/kstack/pkg/storage"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// richPod has what makes encodings differ: maps (sorted keys), quantities,
// times, HTML-escaped and non-ASCII characters, empty and nil slices.
func richPod(i int) corev1.Pod {
	grace := int64(30)
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("pod-%03d", i), Namespace: "ns", UID: "uid-1", ResourceVersion: fmt.Sprint(100 + i),
			CreationTimestamp: metav1.NewTime(time.Date(2026, 11, 28, 6, 0, i, 0, time.UTC)),
			Labels:            map[string]string{"app": "web", "tier": fmt.Sprint(i % 3), "a-b/c.d": "x"},
			Annotations:       map[string]string{"note": `<b>"café" & ünïcode</b>`, "empty": ""},
			Finalizers:        []string{},
		},
		Spec: corev1.PodSpec{
			NodeName:                      fmt.Sprintf("node-%d", i%2),
			TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{{
				Name: "web", Image: "registry.example.com/web:1.0", Args: []string{"--listen=:8080", "a\u2028b"},
				Env: []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "B"}},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
				},
				Ports: []corev1.ContainerPort{{ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
			}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1"},
	}
}

// normalBody is what the serializer writes for the list (the normal path).
func normalBody(t *testing.T, info runtime.SerializerInfo, list *corev1.PodList) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := info.Serializer.Encode(withKind(list, corev1.SchemeGroupVersion.WithKind("PodList")), &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// cachedBody is what the LIST fast path writes for the same items.
func cachedBody(t *testing.T, e storage.Encoding, lm metav1.ListMeta, items []*storage.CachedObject) []byte {
	t.Helper()
	body, err := encodeCachedList(e, corev1.SchemeGroupVersion.WithKind("PodList"), lm, items)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := body(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestEncodeCachedList_SameBytesAsTheSerializer(t *testing.T) {
	remaining := int64(42)
	zero := int64(0)
	metas := map[string]metav1.ListMeta{
		"resourceVersion only":            {ResourceVersion: "123"},
		"continue and remainingItemCount": {ResourceVersion: "123", Continue: "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTIzfQ", RemainingItemCount: &remaining},
		"zero remainingItemCount, no RV":  {RemainingItemCount: &zero},
		"empty ListMeta":                  {},
	}
	itemSets := map[string]int{"empty": 0, "one": 1, "several": 7}
	encodings := map[string]struct {
		info runtime.SerializerInfo
		e    storage.Encoding
	}{"JSON": {jsonInfo, storage.EncodingJSON}, "protobuf": {protobufInfo, storage.EncodingProtobuf}}
	for en, enc := range encodings {
		for mn, lm := range metas {
			for iname, n := range itemSets {
				t.Run(en+"/"+mn+"/"+iname+" items", func(t *testing.T) {
					list := &corev1.PodList{ListMeta: lm, Items: []corev1.Pod{}}
					var cached []*storage.CachedObject
					for i := range n {
						p := richPod(i)
						list.Items = append(list.Items, p)
						cached = append(cached, &storage.CachedObject{Object: &p})
					}
					want := normalBody(t, enc.info, list)
					got := cachedBody(t, enc.e, lm, cached)
					if !bytes.Equal(got, want) {
						t.Fatalf("bytes differ\n got %q\nwant %q", got, want)
					}
					// The second time the items' encodings come from the cache.
					if again := cachedBody(t, enc.e, lm, cached); !bytes.Equal(again, want) {
						t.Fatalf("second encoding differs\n got %q\nwant %q", again, want)
					}
					dec := &corev1.PodList{}
					if _, _, err := api.Codecs.UniversalDeserializer().Decode(got, nil, dec); err != nil {
						t.Fatalf("decode: %v", err)
					}
					if len(dec.Items) != n || dec.Continue != lm.Continue || dec.ResourceVersion != lm.ResourceVersion {
						t.Fatalf("decoded %d items, meta %+v; want %d items, meta %+v", len(dec.Items), dec.ListMeta, n, lm)
					}
				})
			}
		}
	}
}

func TestEncodeCachedList_KeepsEachEncodingApart(t *testing.T) {
	p := richPod(1)
	co := &storage.CachedObject{Object: &p}
	calls := 0
	count := func(obj runtime.Object) ([]byte, error) { calls++; return encodeItemJSON(obj) }
	a, _ := co.Encoded(storage.EncodingJSON, count)
	b, _ := co.Encoded(storage.EncodingJSON, count)
	if calls != 1 || !bytes.Equal(a, b) {
		t.Fatalf("JSON encoded %d times, want once", calls)
	}
	pb, err := co.Encoded(storage.EncodingProtobuf, encodeItemProtobuf)
	if err != nil || bytes.Equal(pb, a) {
		t.Fatalf("protobuf encoding shares the JSON one or failed: %v", err)
	}
}

func TestConcatenable_BuiltInListsOnly(t *testing.T) {
	for _, res := range api.Resources() {
		if res.Virtual {
			continue
		}
		if !concatenable(res.NewList()) {
			t.Errorf("%s list %T does not take the cached LIST path", res.Resource, res.NewList())
		}
	}
	if concatenable(&metav1.Table{}) || concatenable(&metav1.Status{}) {
		t.Error("a Table or Status is not a list")
	}
}

// TestListCached_MatchesGetListFromEtcd fills a watch cache from a real
// etcd (objects decoded as in production) and compares the fast path's
// bytes with the normal encoding of GetList's list, with and without
// selectors, for both encodings.
func TestListCached_MatchesGetListFromEtcd(t *testing.T) {
	_, client := testetcd.Start(t)
	res, ok := api.Lookup("", "v1", "pods")
	if !ok {
		t.Fatal("no pods resource")
	}
	cfg := newStorageConfig(res, "/registry")
	store := storage.NewStore(client, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range 12 {
		p := richPod(i)
		p.ResourceVersion, p.UID = "", ""
		if i%4 == 0 {
			p.Namespace = "other"
		}
		if err := store.Create(ctx, cfg.ObjectKey(p.Namespace, p.Name), &p, &corev1.Pod{}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := storage.NewCacher(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Run(ctx)
	defer c.Stop()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	sel := func(l, f string) storage.Predicate {
		p := storage.Predicate{GetAttrs: cfg.GetAttrs}
		if l != "" {
			p.Label = labels.SelectorFromSet(labels.Set{"tier": l})
		}
		if f != "" {
			p.Field = fields.OneTermEqualSelector("spec.nodeName", f)
		}
		return p
	}
	cases := []struct {
		name string
		key  string
		pred storage.Predicate
		want int
	}{
		{"all namespaces", cfg.ListKey(""), sel("", ""), 12},
		{"one namespace", cfg.ListKey("ns"), sel("", ""), 9},
		{"label selector", cfg.ListKey("ns"), sel("1", ""), 3},
		{"field selector", cfg.ListKey(""), sel("", "node-1"), 6},
		{"both, nothing matches", cfg.ListKey("ns"), sel("9", "node-0"), 0},
		{"empty namespace", cfg.ListKey("none"), sel("", ""), 0},
	}
	for _, tc := range cases {
		for _, rv := range []string{"", "0"} {
			opts := storage.ListOptions{ResourceVersion: rv, Predicate: tc.pred}
			normal := &corev1.PodList{}
			if err := c.GetList(ctx, tc.key, opts, normal); err != nil {
				t.Fatal(err)
			}
			if len(normal.Items) != tc.want {
				t.Fatalf("%s: GetList has %d items, want %d", tc.name, len(normal.Items), tc.want)
			}
			cl, err := c.ListCached(ctx, tc.key, opts, &corev1.PodList{})
			if err != nil || cl == nil {
				t.Fatalf("%s: ListCached = %v, %v; want a list from memory", tc.name, cl, err)
			}
			for _, e := range []struct {
				info runtime.SerializerInfo
				e    storage.Encoding
			}{{jsonInfo, storage.EncodingJSON}, {protobufInfo, storage.EncodingProtobuf}} {
				want := normalBody(t, e.info, normal)
				got := cachedBody(t, e.e, metav1.ListMeta{ResourceVersion: cl.ResourceVersion}, cl.Items)
				if !bytes.Equal(got, want) {
					t.Errorf("%s rv=%q %s: bytes differ\n got %q\nwant %q", tc.name, rv, e.info.MediaType, got, want)
				}
			}
		}
	}

	// A paged list is not served from memory: ListCached fills the list
	// from etcd, with a continue token, and returns nil.
	paged := &corev1.PodList{}
	cl, err := c.ListCached(ctx, cfg.ListKey(""), storage.ListOptions{Predicate: storage.Predicate{Limit: 5}}, paged)
	if err != nil || cl != nil {
		t.Fatalf("paged ListCached = %v, %v; want nil and the list from etcd", cl, err)
	}
	if len(paged.Items) != 5 || paged.Continue == "" {
		t.Fatalf("paged list from etcd: %d items, continue %q", len(paged.Items), paged.Continue)
	}
}

func TestWriteStream_CachedListResponse(t *testing.T) {
	p := richPod(0)
	items := []*storage.CachedObject{{Object: &p}}
	body, err := encodeCachedList(storage.EncodingProtobuf, corev1.SchemeGroupVersion.WithKind("PodList"), metav1.ListMeta{ResourceVersion: "7"}, items)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	writeStream(rec, mediaChoice{info: protobufInfo}, http.StatusOK, body)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != runtime.ContentTypeProtobuf ||
		rec.Header().Get("Content-Length") != fmt.Sprint(rec.Body.Len()) {
		t.Fatalf("code %d, headers %v, body %d bytes", rec.Code, rec.Header(), rec.Body.Len())
	}
}
