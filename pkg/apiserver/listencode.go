package apiserver

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sync"

	"github.com/kstack/kstack/pkg/storage"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// A LIST served from the watch cache is written by concatenating the
// items' encodings, which the cache keeps per object (storage.CachedObject):
// each object is encoded once per media type for all the LISTs that return
// it, instead of once per LIST. The envelope around the items is written
// here exactly as the serializers write it (the JSON serializer's
// collection streaming, and the protobuf one's runtime.Unknown with the
// list's ListMeta as field 1 and its items as field 2), so the bytes are
// the same as the normal encoder's (listencode_test.go compares them).
// Anything else (YAML, pretty output, Table or metadata-only output, a
// converted version, a list type of another shape) takes the normal path.

// cachedEncoding is the cached encoding that serves choice, if any.
func cachedEncoding(choice mediaChoice) (storage.Encoding, bool) {
	if choice.kind != outputObject || choice.pretty {
		return 0, false
	}
	switch choice.info.MediaType {
	case runtime.ContentTypeJSON:
		return storage.EncodingJSON, true
	case runtime.ContentTypeProtobuf:
		return storage.EncodingProtobuf, true
	}
	return 0, false
}

// encodeItem makes one list item's encoding: what the serializer writes for
// the element of the list's Items.
func encodeItem(e storage.Encoding) func(runtime.Object) ([]byte, error) {
	if e == storage.EncodingProtobuf {
		return encodeItemProtobuf
	}
	return encodeItemJSON
}

// encodeItemJSON is encoding/json's Marshal: the JSON serializer encodes
// each item with a json.Encoder, whose output is Marshal's plus a newline.
func encodeItemJSON(obj runtime.Object) ([]byte, error) { return json.Marshal(obj) }

type protoMarshaler interface{ Marshal() ([]byte, error) }

func encodeItemProtobuf(obj runtime.Object) ([]byte, error) {
	m, ok := obj.(protoMarshaler)
	if !ok {
		return nil, fmt.Errorf("%T cannot be encoded as protobuf", obj)
	}
	return m.Marshal()
}

// listShapes remembers, per list type, whether it has the shape the
// envelope writers assume.
var listShapes sync.Map // reflect.Type -> bool

// concatenable reports that list (a pointer to a list struct) is
// TypeMeta, ListMeta and Items with the json and protobuf tags of every
// built-in list, and that its items are protobuf messages.
func concatenable(list runtime.Object) bool {
	t := reflect.TypeOf(list)
	if ok, found := listShapes.Load(t); found {
		return ok.(bool)
	}
	ok := func() bool {
		if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
			return false
		}
		st := t.Elem()
		if st.NumField() != 3 {
			return false
		}
		tm, lm, items := st.Field(0), st.Field(1), st.Field(2)
		if tm.Type != reflect.TypeOf(metav1.TypeMeta{}) || !tm.Anonymous || tm.Tag.Get("protobuf") != "" {
			return false
		}
		if j, _ := tm.Tag.Lookup("json"); j != "" && j != ",inline" {
			return false
		}
		if lm.Type != reflect.TypeOf(metav1.ListMeta{}) || lm.Tag.Get("json") != "metadata,omitempty" ||
			lm.Tag.Get("protobuf") != "bytes,1,opt,name=metadata" {
			return false
		}
		if items.Type.Kind() != reflect.Slice || items.Tag.Get("json") != "items" ||
			items.Tag.Get("protobuf") != "bytes,2,rep,name=items" {
			return false
		}
		elem := items.Type.Elem()
		return elem.Kind() == reflect.Struct && reflect.PointerTo(elem).Implements(reflect.TypeOf((*protoMarshaler)(nil)).Elem())
	}()
	listShapes.Store(t, ok)
	return ok
}

// encodeCachedList encodes a list of kind gvk with meta lm and the cached
// items in encoding e. It makes (or takes from the cache) every item's
// encoding first and returns the function that writes the body.
func encodeCachedList(e storage.Encoding, gvk schema.GroupVersionKind, lm metav1.ListMeta, items []*storage.CachedObject) (func(io.Writer) error, error) {
	enc := encodeItem(e)
	raws := make([][]byte, len(items))
	for i, it := range items {
		b, err := it.Encoded(e, enc)
		if err != nil {
			return nil, err
		}
		raws[i] = b
	}
	if e == storage.EncodingProtobuf {
		return protobufList(gvk, lm, raws)
	}
	return jsonList(gvk, lm, raws)
}

// jsonList writes what the JSON serializer's collection streaming writes:
// {"kind":..,"apiVersion":..,"metadata":..,"items":[..]} and a newline.
func jsonList(gvk schema.GroupVersionKind, lm metav1.ListMeta, raws [][]byte) (func(io.Writer) error, error) {
	head := []byte{'{'}
	pair := func(k string, v any) error {
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(v)
		if err != nil {
			return err
		}
		head = append(append(append(append(head, kb...), ':'), vb...), ',')
		return nil
	}
	if gvk.Kind != "" {
		if err := pair("kind", gvk.Kind); err != nil {
			return nil, err
		}
	}
	if av := gvk.GroupVersion().String(); av != "" {
		if err := pair("apiVersion", av); err != nil {
			return nil, err
		}
	}
	if err := pair("metadata", lm); err != nil {
		return nil, err
	}
	head = append(head, `"items":[`...)
	return func(w io.Writer) error {
		if _, err := w.Write(head); err != nil {
			return err
		}
		for i, b := range raws {
			if i > 0 {
				if _, err := w.Write([]byte{','}); err != nil {
					return err
				}
			}
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		_, err := w.Write([]byte("]}\n"))
		return err
	}, nil
}

// protoPrefix starts every Kubernetes protobuf body ("k8s\x00").
var protoPrefix = []byte{0x6b, 0x38, 0x73, 0x00}

// protobufList writes what the protobuf serializer writes for a list: the
// prefix, then a runtime.Unknown with the list's TypeMeta whose Raw is the
// list message: ListMeta as field 1, each item as field 2.
func protobufList(gvk schema.GroupVersionKind, lm metav1.ListMeta, raws [][]byte) (func(io.Writer) error, error) {
	lmb, err := lm.Marshal()
	if err != nil {
		return nil, err
	}
	size := 1 + varintLen(len(lmb)) + len(lmb)
	for _, b := range raws {
		size += 1 + varintLen(len(b)) + len(b)
	}
	unk := runtime.Unknown{TypeMeta: runtime.TypeMeta{Kind: gvk.Kind, APIVersion: gvk.GroupVersion().String()}}
	return func(w io.Writer) error {
		if _, err := w.Write(protoPrefix); err != nil {
			return err
		}
		_, err := unk.MarshalToWriter(w, size, func(w io.Writer) (int, error) {
			var hdr [1 + binary.MaxVarintLen64]byte
			n := 0
			field := func(tag byte, b []byte) error {
				hdr[0] = tag
				h := 1 + binary.PutUvarint(hdr[1:], uint64(len(b)))
				if _, err := w.Write(hdr[:h]); err != nil {
					return err
				}
				if _, err := w.Write(b); err != nil {
					return err
				}
				n += h + len(b)
				return nil
			}
			if err := field(0x0a, lmb); err != nil { // field 1, length-delimited
				return n, err
			}
			for _, b := range raws {
				if err := field(0x12, b); err != nil { // field 2, length-delimited
					return n, err
				}
			}
			return n, nil
		})
		return err
	}, nil
}

func varintLen(n int) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], uint64(n))
}

// listCached answers a LIST from the watch cache's encodings when it can:
// served means the response was written. Otherwise, when asked, storage
// already filled list (the list went to etcd); when not asked, nothing was
// asked of storage and list is untouched.
func (s *Server) listCached(w http.ResponseWriter, r *http.Request, choice mediaChoice, rs *resourceStore, key string,
	opts storage.ListOptions, list runtime.Object) (served, asked bool, err error) {
	e, ok := cachedEncoding(choice)
	if !ok || rs.converts() || !concatenable(list) {
		return false, false, nil
	}
	cl, ok := rs.storage.(storage.CachedLister)
	if !ok {
		return false, false, nil
	}
	cached, err := cl.ListCached(r.Context(), key, opts, list)
	if err != nil || cached == nil {
		return false, true, err
	}
	gvk := rs.servedGVK.GroupVersion().WithKind(rs.servedGVK.Kind + "List")
	body, err := encodeCachedList(e, gvk, metav1.ListMeta{ResourceVersion: cached.ResourceVersion}, cached.Items)
	if err != nil {
		return false, true, err
	}
	writeStream(w, choice, http.StatusOK, body)
	return true, true, nil
}
