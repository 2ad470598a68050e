package apiserver

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/kstack/kstack/api"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// fuzzMedia are the request body encodings decodeBody is fuzzed with.
var fuzzMedia = []*runtime.SerializerInfo{&jsonInfo, &yamlInfo, &protobufInfo}

// fuzzValidation are the fieldValidation directives.
var fuzzValidation = []fieldValidation{validationIgnore, validationWarn, validationStrict}

// resourceIndex finds a served resource's index in api.Resources() for seeds.
func resourceIndex(tb testing.TB, group, resource string) uint16 {
	tb.Helper()
	for i, r := range api.Resources() {
		if r.Group == group && r.Resource == resource {
			return uint16(i)
		}
	}
	tb.Fatalf("no resource %s/%s", group, resource)
	return 0
}

// encodeAs encodes obj, with its kind set to gvk, in one of fuzzMedia.
func encodeAs(tb testing.TB, info *runtime.SerializerInfo, gvk schema.GroupVersionKind, obj runtime.Object) []byte {
	tb.Helper()
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	var buf bytes.Buffer
	if err := info.Serializer.Encode(obj, &buf); err != nil {
		tb.Fatalf("encode %v as %s: %v", gvk, info.MediaType, err)
	}
	return buf.Bytes()
}

// mustStatus fails unless err is an *apierrors.StatusError with one of codes.
func mustStatus(t *testing.T, what string, err error, codes ...int32) {
	t.Helper()
	var se *apierrors.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("%s: error %T %v is not a StatusError", what, err, err)
	}
	for _, c := range codes {
		if se.ErrStatus.Code == c {
			return
		}
	}
	t.Fatalf("%s: status code %d (%v), want one of %v", what, se.ErrStatus.Code, err, codes)
}

// FuzzDecodeBody decodes arbitrary bodies as every served kind, in JSON,
// YAML and protobuf, under each fieldValidation directive. A failure is a
// 400 StatusError; a success is exactly the served kind's Go type (the
// object passed in), with warnings only under Warn; and its JSON encoding
// decodes again, strictly and without warnings, to the same encoding.
func FuzzDecodeBody(f *testing.F) {
	pods := resourceIndex(f, "", "pods")
	deployments := resourceIndex(f, "apps", "deployments")
	configmaps := resourceIndex(f, "", "configmaps")
	leases := resourceIndex(f, "coordination.k8s.io", "leases")
	podGVK := schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
	for i := range fuzzMedia {
		pod := encodeAs(f, fuzzMedia[i], podGVK, newSamplePod())
		f.Add(pod, pods, uint8(i), uint8(2))
		f.Add(pod, deployments, uint8(i), uint8(1)) // wrong kind
		f.Add(pod[:len(pod)/2], pods, uint8(i), uint8(0))
	}
	for _, seed := range []struct {
		body string
		res  uint16
	}{
		{`{"metadata":{"name":"x"}}`, pods},
		{`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`, pods},
		{`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x","name":"y"}}`, pods},
		{`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":{"bogus":1}}`, pods},
		{`{"apiVersion":"v2","kind":"Pod"}`, pods},
		{`{"apiVersion":"apps/v1","kind":"Deployment","spec":{"replicas":3.5}}`, deployments},
		{`{"apiVersion":"apps/v1","kind":"Deployment","spec":{"replicas":1e400}}`, deployments},
		{`{"apiVersion":"apps/v1","kind":"Deployment","spec":{"selector":{"matchLabels":{"a":null}}}}`, deployments},
		{`{"kind":"ConfigMap","data":{"a":"b"},"binaryData":{"c":"!!notbase64"}}`, configmaps},
		{`{"kind":"ConfigMap","data":{"a":"b"},"binaryData":{"c":"aGk="}}`, configmaps},
		{`{"kind":"Lease","spec":{"renewTime":"2026-01-01T00:00:00.123456Z","leaseDurationSeconds":15}}`, leases},
		{`{"kind":"Lease","spec":{"renewTime":"not a time"}}`, leases},
		{`{"spec":{"containers":[{"resources":{"limits":{"cpu":"100m","memory":"1.5Gi"}}}]}}`, pods},
		{`{"spec":{"containers":[{"resources":{"limits":{"cpu":"0.1e3","memory":"1e-7"}}}]}}`, pods},
		{`{"spec":{"containers":[{"ports":[{"containerPort":"80"}]}]}}`, pods},
		{`{"metadata":{"creationTimestamp":null,"labels":{}}}`, pods},
		{"apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n", pods},
		{"apiVersion: v1\nkind: Pod\nmetadata: &a {name: x}\nspec: *a\n", pods},
		{"kind: ConfigMap\ndata:\n  on: yes\n", configmaps},
		{"[1, 2]", pods},
		{"null", pods},
		{"{}", pods},
		{"", pods},
		{"k8s\x00", pods},
		{"k8s\x00\n\x02v1\x12\x03Pod\x1a\x00", pods},
	} {
		for i := range fuzzMedia {
			f.Add([]byte(seed.body), seed.res, uint8(i), uint8(1))
		}
	}
	resources := api.Resources()
	f.Fuzz(func(t *testing.T, data []byte, resIdx uint16, mediaIdx, fvIdx uint8) {
		r := &resources[int(resIdx)%len(resources)]
		info := fuzzMedia[int(mediaIdx)%len(fuzzMedia)]
		fv := fuzzValidation[int(fvIdx)%len(fuzzValidation)]
		gvk := r.GroupVersionKind()
		into := r.New()
		obj, warnings, err := decodeBody(*info, data, gvk, into, fv)
		what := gvk.String() + " from " + info.MediaType + " (" + string(fv) + ")"
		if err != nil {
			mustStatus(t, what, err, http.StatusBadRequest)
			return
		}
		if obj != into || reflect.TypeOf(obj) != reflect.TypeOf(r.New()) {
			t.Fatalf("%s: decoded %T, want the %T passed in", what, obj, into)
		}
		// A body may leave out apiVersion (the served one is assumed), but
		// what it names must be the served kind and version.
		if tm, ok := obj.GetObjectKind().(*metav1.TypeMeta); !ok ||
			(tm.Kind != "" && tm.Kind != gvk.Kind) || (tm.APIVersion != "" && tm.APIVersion != gvk.GroupVersion().String()) {
			t.Fatalf("%s: decoded object says it is %v", what, obj.GetObjectKind().GroupVersionKind())
		}
		if len(warnings) > 0 && fv != validationWarn {
			t.Fatalf("%s: warnings %q", what, warnings)
		}
		if _, err := meta.Accessor(obj); err != nil {
			t.Fatalf("%s: decoded object has no metadata: %v", what, err)
		}
		// What we would write back decodes again, strictly, to itself.
		first := encodeAs(t, &jsonInfo, gvk, obj)
		again, warnings, err := decodeBody(jsonInfo, first, gvk, r.New(), validationStrict)
		if err != nil || len(warnings) > 0 {
			t.Fatalf("%s: re-decoding our JSON %s: %v %q", what, first, err, warnings)
		}
		if second := encodeAs(t, &jsonInfo, gvk, again); !bytes.Equal(first, second) {
			t.Fatalf("%s: JSON round trip is not stable:\n%s\n%s", what, first, second)
		}
	})
}

// FuzzParseRequestInfo feeds arbitrary methods, paths and queries to
// parseRequestInfo: it never panics, a resource request has an API prefix,
// a version and one of RBAC's verbs (empty for methods REST does not know,
// as upstream), and the name, namespace and resource are single path
// segments taken from the path.
func FuzzParseRequestInfo(f *testing.F) {
	for _, seed := range []struct{ method, path, query string }{
		{"GET", "/api/v1/namespaces/default/pods", ""},
		{"GET", "/api/v1/namespaces/default/pods", "watch=true"},
		{"GET", "/api/v1/namespaces/default/pods/web-1", ""},
		{"GET", "/api/v1/watch/namespaces/default/pods", ""},
		{"GET", "/api/v1/watch/namespaces/default/pods/web-1", ""},
		{"PUT", "/api/v1/namespaces/default/pods/web-1/status", ""},
		{"POST", "/api/v1/namespaces/default/pods/web-1/binding", ""},
		{"DELETE", "/api/v1/namespaces/default/pods", ""},
		{"PATCH", "/apis/apps/v1/namespaces/kube-system/deployments/dns/scale", ""},
		{"GET", "/api/v1/namespaces", ""},
		{"GET", "/api/v1/namespaces/kube-system", ""},
		{"PUT", "/api/v1/namespaces/kube-system/finalize", ""},
		{"GET", "/api/v1/namespaces/kube-system/status", ""},
		{"GET", "/api/v1/namespaces/status/pods", ""},
		{"GET", "/api/v1/nodes/n1/proxy/a/b/c", ""},
		{"GET", "/apis/apps", ""},
		{"GET", "/apis", ""},
		{"GET", "/api", ""},
		{"GET", "/api/v1", ""},
		{"HEAD", "/api/v1/pods", ""},
		{"OPTIONS", "/api/v1/pods", ""},
		{"CONNECT", "/api/v1/namespaces/default/pods/web-1/exec", ""},
		{"get", "/api/v1/pods", ""},
		{"GET", "//api//v1//pods//", "watch=1"},
		{"GET", "/api/v1/namespaces//pods", ""},
		{"GET", "/api/v1/watch", ""},
		{"GET", "/healthz", ""},
		{"", "", ""},
		{"GET", "/api/v1/namespaces/a/b/c/d/e/f", "watch=%zz"},
	} {
		f.Add(seed.method, seed.path, seed.query)
	}
	verbs := map[string]bool{"get": true, "list": true, "watch": true, "create": true, "update": true,
		"patch": true, "delete": true, "deletecollection": true}
	f.Fuzz(func(t *testing.T, method, path, query string) {
		r := &http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: query}, Header: http.Header{}}
		info := parseRequestInfo(r)
		if info == nil {
			t.Fatalf("parseRequestInfo(%s %q) = nil", method, path)
		}
		if info.Path != path {
			t.Fatalf("parseRequestInfo(%s %q).Path = %q", method, path, info.Path)
		}
		if !info.IsResourceRequest {
			if info.Verb != strings.ToLower(method) {
				t.Fatalf("non-resource %s %q: verb %q", method, path, info.Verb)
			}
			return
		}
		switch method {
		case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			if !verbs[info.Verb] {
				t.Fatalf("%s %q: verb %q is not an RBAC verb", method, path, info.Verb)
			}
		default:
			if info.Verb != "" && info.Verb != "watch" {
				t.Fatalf("%s %q: verb %q for a method REST does not serve", method, path, info.Verb)
			}
		}
		if info.APIPrefix != "api" && info.APIPrefix != "apis" {
			t.Fatalf("%s %q: API prefix %q", method, path, info.APIPrefix)
		}
		if info.APIPrefix == "api" && info.APIGroup != "" {
			t.Fatalf("%s %q: legacy path with group %q", method, path, info.APIGroup)
		}
		segments := map[string]bool{}
		for _, s := range splitPath(path) {
			segments[s] = true
		}
		for field, v := range map[string]string{"group": info.APIGroup, "version": info.APIVersion,
			"namespace": info.Namespace, "resource": info.Resource, "subresource": info.Subresource, "name": info.Name} {
			if v != "" && !segments[v] {
				t.Fatalf("%s %q: %s %q is not a segment of the path", method, path, field, v)
			}
		}
		if info.Resource == "namespaces" && info.Namespace != "" {
			t.Fatalf("%s %q: a namespaces request inside namespace %q", method, path, info.Namespace)
		}
		if info.Name == "" && (info.Verb == "get" || info.Verb == "delete") {
			t.Fatalf("%s %q: %s without a name", method, path, info.Verb)
		}
		if info.Name != "" && (info.Verb == "list" || info.Verb == "deletecollection") {
			t.Fatalf("%s %q: %s with name %q", method, path, info.Verb, info.Name)
		}
		if len(info.Parts) > 0 && info.Parts[0] != info.Resource {
			t.Fatalf("%s %q: parts %q but resource %q", method, path, info.Parts, info.Resource)
		}
	})
}

// FuzzNegotiate feeds arbitrary Accept and Content-Type headers to the
// negotiators: output is a served encoding (never YAML for a watch or a
// Table) or 406; input is a served decoder or 415.
func FuzzNegotiate(f *testing.F) {
	for _, seed := range []struct {
		accept, contentType, query string
		stream                     bool
	}{
		{"", "", "", false},
		{"application/json", "application/json", "pretty=true", false},
		{"application/yaml", "application/yaml", "", true},
		{"application/vnd.kubernetes.protobuf, application/json", "application/vnd.kubernetes.protobuf", "", false},
		{"application/json;as=Table;g=meta.k8s.io;v=v1, application/json", "application/json; charset=utf-8", "", false},
		{"application/yaml;as=Table;g=meta.k8s.io;v=v1", "", "", false},
		{"application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1beta1", "", "", false},
		{"application/json;as=Foo;g=meta.k8s.io;v=v1", "", "", false},
		{"application/json;stream=watch", "application/merge-patch+json", "", true},
		{"text/html", "text/plain", "", false},
		{"*/*;q=0.1", "application/json;", "", false},
		{";;;,,,", "=", "pretty=1", false},
		{"application/json; pretty=true", "application/json; x=\"unterminated", "", false},
	} {
		f.Add(seed.accept, seed.contentType, seed.query, seed.stream)
	}
	served := map[string]bool{runtime.ContentTypeJSON: true, runtime.ContentTypeYAML: true, runtime.ContentTypeProtobuf: true}
	f.Fuzz(func(t *testing.T, accept, contentType, query string, stream bool) {
		r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/api/v1/pods", RawQuery: query},
			Header: http.Header{"Accept": {accept}, "Content-Type": {contentType}}}
		choice, err := negotiateOutput(r, stream)
		if err != nil {
			mustStatus(t, "Accept "+accept, err, http.StatusNotAcceptable)
		} else {
			if !served[choice.contentType()] || choice.info.Serializer == nil {
				t.Fatalf("Accept %q: chose %q", accept, choice.contentType())
			}
			if choice.contentType() == runtime.ContentTypeYAML && (stream || choice.kind == outputTable) {
				t.Fatalf("Accept %q (stream %v): YAML for kind %d", accept, stream, choice.kind)
			}
		}
		in, err := negotiateInput(r)
		if err != nil {
			mustStatus(t, "Content-Type "+contentType, err, http.StatusUnsupportedMediaType)
			return
		}
		if !served[in.MediaType] || in.Serializer == nil {
			t.Fatalf("Content-Type %q: decoder %q", contentType, in.MediaType)
		}
	})
}

// FuzzDeleteOptions feeds arbitrary DELETE bodies, content types and query
// strings to deleteOptions: a failure is a 400, 413 or 415 StatusError; a
// success is a consistent DeleteOptions (dryRun only All, a known
// propagation policy and not together with orphanDependents, no negative
// grace period), and never silently drops a body of another kind.
func FuzzDeleteOptions(f *testing.F) {
	for _, seed := range []struct{ body, contentType, query string }{
		{"", "", ""},
		{"", "", "gracePeriodSeconds=30&propagationPolicy=Foreground&dryRun=All"},
		{"", "", "gracePeriodSeconds=-5"},
		{"", "", "gracePeriodSeconds=abc"},
		{"", "", "orphanDependents=true&propagationPolicy=Background"},
		{"", "", "propagationPolicy=Sideways"},
		{"", "", "dryRun=All&dryRun=Some"},
		{`{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Orphan"}`, "application/json", ""},
		{`{"kind":"DeleteOptions","apiVersion":"meta.k8s.io/v1","gracePeriodSeconds":0,"preconditions":{"uid":"u1","resourceVersion":"5"}}`, "application/json", "gracePeriodSeconds=10"},
		{`{"propagationPolicy":"Foreground","orphanDependents":false}`, "application/json", ""},
		{`{"dryRun":["All","None"]}`, "", ""},
		{`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}}`, "application/json", ""},
		{`{"apiVersion":"apps/v1","kind":"DeleteOptions"}`, "application/json", ""},
		{"kind: DeleteOptions\napiVersion: v1\ngracePeriodSeconds: 3\n", "application/yaml", ""},
		{`{"gracePeriodSeconds":"3"}`, "application/json", ""},
		{`not json`, "application/json", ""},
		{`{}`, "text/plain", ""},
		{"k8s\x00\n\x04\n\x02v1", "application/vnd.kubernetes.protobuf", ""},
	} {
		f.Add([]byte(seed.body), seed.contentType, seed.query)
	}
	f.Fuzz(func(t *testing.T, body []byte, contentType, query string) {
		r := &http.Request{Method: http.MethodDelete, URL: &url.URL{Path: "/api/v1/namespaces/default/pods/x", RawQuery: query},
			Header: http.Header{"Content-Type": {contentType}}, Body: io.NopCloser(bytes.NewReader(body)),
			ContentLength: int64(len(body))}
		opts, err := deleteOptions(r)
		if err != nil {
			mustStatus(t, "DELETE body "+string(body), err, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
			return
		}
		for _, d := range opts.DryRun {
			if d != metav1.DryRunAll {
				t.Fatalf("body %q query %q: dryRun %q accepted", body, query, d)
			}
		}
		if opts.GracePeriodSeconds != nil && *opts.GracePeriodSeconds < 0 {
			t.Fatalf("body %q query %q: negative grace period %d", body, query, *opts.GracePeriodSeconds)
		}
		if p := opts.PropagationPolicy; p != nil {
			switch *p {
			case metav1.DeletePropagationBackground, metav1.DeletePropagationForeground, metav1.DeletePropagationOrphan:
			default:
				t.Fatalf("body %q query %q: propagation policy %q accepted", body, query, *p)
			}
			if opts.OrphanDependents != nil {
				t.Fatalf("body %q query %q: both propagationPolicy and orphanDependents accepted", body, query)
			}
		}
		// A body that decodes to some other kind is not DeleteOptions.
		if len(body) > 0 {
			if info, err := negotiateInput(r); err == nil {
				if obj, _, err := info.Serializer.Decode(body, nil, nil); err == nil {
					if _, ok := obj.(*metav1.DeleteOptions); !ok {
						t.Fatalf("body %q decodes to %T, yet deleteOptions accepted it", body, obj)
					}
				}
			}
		}
	})
}

// newSamplePod is a pod as a client would send it.
func newSamplePod() runtime.Object {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "web", Image: "busybox",
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("64Mi"),
			}},
		}}},
	}
}
