package explain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestRender_MatchesUpstreamTemplate renders every case of
// testdata/widgets.golden from testdata/widgets.json and compares with
// what upstream kubectl v1.37's plaintext template printed for it. The
// document exercises what kstack's own apiserver documents lack: enums
// (with "" and numbers, cut after four in field lists), external docs on
// the kind and on fields, boolean and schema additionalProperties, nested
// arrays, a self-referencing type, a ref to a primitive type, a kind
// without a schema and a resource without paths.
//
// A section starts with "=== <document> <group|-> <version> <resource>
// <recursive> <max-depth> <field.path|->", then the output, then
// "--- err: <error|<nil>>".
func TestRender_MatchesUpstreamTemplate(t *testing.T) {
	golden, err := os.ReadFile("testdata/widgets.golden")
	if err != nil {
		t.Fatal(err)
	}
	sections := strings.Split(string(golden), "=== ")[1:]
	if len(sections) < 20 {
		t.Fatalf("testdata/widgets.golden has %d cases, want at least 20", len(sections))
	}
	docs := map[string]map[string]any{}
	for _, sec := range sections {
		header, body, _ := strings.Cut(sec, "\n")
		t.Run(header, func(t *testing.T) {
			f := strings.Fields(header)
			if len(f) != 7 {
				t.Fatalf("bad case header %q", header)
			}
			doc, ok := docs[f[0]]
			if !ok {
				data, err := os.ReadFile(f[0])
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(data, &doc); err != nil {
					t.Fatal(err)
				}
				docs[f[0]] = doc
			}
			gvr := schema.GroupVersionResource{Group: strings.TrimPrefix(f[1], "-"), Version: f[2], Resource: f[3]}
			maxDepth, err := strconv.Atoi(f[5])
			if err != nil {
				t.Fatal(err)
			}
			var path []string
			if f[6] != "-" {
				path = strings.Split(f[6], ".")
			}
			r := &renderer{doc: doc, recursive: f[4] == "true", maxDepth: maxDepth}
			var out bytes.Buffer
			err = r.render(&out, gvr, path)
			got := fmt.Sprintf("%s\n--- err: %v\n", out.String(), err)
			if got != body {
				t.Errorf("output differs\n--- ours ---\n%s\n--- upstream ---\n%s", got, body)
			}
		})
	}
}

func TestWordWrap(t *testing.T) {
	for _, tc := range []struct {
		in    string
		limit int
		want  string
	}{
		{"short", 10, "short"},
		{"one two three four", 9, "one two\nthree\nfour"},
		{"keeps\nbreaks  and  spaces", 40, "keeps\nbreaks  and  spaces"},
		{"averyveryverylongword fits nowhere", 8, "averyveryverylongword\nfits\nnowhere"},
		{"trailing   \nspace", 5, "trailing\nspace"},
		{"", 5, ""},
	} {
		if got := wordWrap(tc.in, tc.limit); got != tc.want {
			t.Errorf("wordWrap(%q, %d) = %q, want %q", tc.in, tc.limit, got, tc.want)
		}
	}
}

func TestResolveWithGroupPrefix(t *testing.T) {
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Group: "extensions", Version: "v1beta1", Kind: "Deployment"}, meta.RESTScopeNamespace)
	apps := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	for _, tc := range []struct {
		arg     string
		want    schema.GroupVersionResource
		fields  []string
		wantErr bool
	}{
		{arg: "pods", want: schema.GroupVersionResource{Version: "v1", Resource: "pods"}},
		{arg: "pod.spec.containers", want: schema.GroupVersionResource{Version: "v1", Resource: "pods"}, fields: []string{"spec", "containers"}},
		{arg: "pods.spec.", want: schema.GroupVersionResource{Version: "v1", Resource: "pods"}, fields: []string{"spec"}},
		{arg: "deployments.apps.spec.strategy", want: apps, fields: []string{"spec", "strategy"}},
		{arg: "deployments.extensions.spec", want: schema.GroupVersionResource{Group: "extensions", Version: "v1beta1", Resource: "deployments"}, fields: []string{"spec"}},
		{arg: "pods[0]", wantErr: true},
		{arg: "widgets", wantErr: true},
	} {
		gvr, fields, err := resolveWithGroupPrefix(tc.arg, mapper)
		if tc.wantErr {
			if err == nil {
				t.Errorf("%s: want an error, got %v %v", tc.arg, gvr, fields)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.arg, err)
			continue
		}
		if gvr != tc.want || !reflect.DeepEqual(fields, tc.fields) {
			t.Errorf("%s: got %v %q, want %v %q", tc.arg, gvr, fields, tc.want, tc.fields)
		}
	}
}

// TestV2Wrap checks the plaintext-openapiv2 line filling on what upstream
// kubectl v1.37's formatter printed for the same inputs at width 30.
func TestV2Wrap(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"short", "short\n"},
		{"", ""},
		{"\nleading blank line then text that goes on for a while and must wrap somewhere around here", "leading blank line then text\nthat goes on for a while and\nmust wrap somewhere around\nhere\n"},
		{"Possible values:\n - `\"A\"` first\n - `\"B\"` second\n1. numbered\n* star", "Possible values:\n- `\"A\"` first\n- `\"B\"` second\n1. numbered\n* star\n"},
		{"Example:\n    code line   kept as is\nafter code line words words words", "Example:\n    code line   kept as is\nafter code line words words\nwords\n"},
		{"para one continues\non the next line\n\npara two", "para one continues on the next\nline\n\npara two\n"},
		{"averyveryveryveryveryveryverylongwordthatcannotbewrapped next", "averyveryveryveryveryveryverylongwordthatcannotbewrapped\nnext\n"},
		{"trailing colon: word\nnext line joins", "trailing colon: word next line\njoins\n"},
	} {
		var b strings.Builder
		v2Printer{w: &b}.in(0).wrappedAt(tc.in, 30)
		if b.String() != tc.want {
			t.Errorf("wrap %q:\n got %q\nwant %q", tc.in, b.String(), tc.want)
		}
	}
}
