package openapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	openapi_v3 "github.com/google/gnostic-models/openapiv3"
	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/openapi"
	"k8s.io/client-go/openapi/cached"
	"k8s.io/client-go/openapi3"
	"k8s.io/client-go/rest"
	"k8s.io/kube-openapi/pkg/spec3"
	kubeproto "k8s.io/kube-openapi/pkg/util/proto"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/kstack/kstack/api"
)

// testServer serves the documents at the paths the REST layer wires.
func testServer(t *testing.T) (*Service, *httptest.Server) {
	t.Helper()
	s, err := New(api.Resources())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/openapi/v2", s.ServeV2)
	mux.HandleFunc("/openapi/v3", s.ServeV3Index)
	mux.HandleFunc("/openapi/v3/", func(w http.ResponseWriter, r *http.Request) {
		s.ServeV3GroupVersion(w, r, strings.TrimPrefix(r.URL.Path, "/openapi/v3/"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return s, srv
}

func restConfig(srv *httptest.Server) *rest.Config {
	return &rest.Config{Host: srv.URL}
}

// TestV2_DiscoveryProtobufParsesWithKubeOpenAPI fetches the v2 document
// the way kubectl does (client-go discovery, protobuf) and resolves
// models with kube-openapi's proto package.
func TestV2_DiscoveryProtobufParsesWithKubeOpenAPI(t *testing.T) {
	_, srv := testServer(t)
	dc := discovery.NewDiscoveryClientForConfigOrDie(restConfig(srv))
	doc, err := dc.OpenAPISchema()
	if err != nil {
		t.Fatalf("OpenAPISchema: %v", err)
	}
	if doc.GetInfo().GetTitle() != "Kubernetes" {
		t.Errorf("info.title = %q", doc.GetInfo().GetTitle())
	}
	models, err := kubeproto.NewOpenAPIData(doc)
	if err != nil {
		t.Fatalf("NewOpenAPIData: %v", err)
	}
	pod, ok := models.LookupModel("io.k8s.api.core.v1.Pod").(*kubeproto.Kind)
	if !ok {
		t.Fatalf("Pod model missing or not a kind")
	}
	for _, f := range []string{"apiVersion", "kind", "metadata", "spec", "status"} {
		if _, ok := pod.Fields[f]; !ok {
			t.Errorf("Pod has no field %q", f)
		}
	}
	gvks, _ := pod.GetExtensions()["x-kubernetes-group-version-kind"].([]any)
	if len(gvks) != 1 {
		t.Fatalf("Pod GVK extension = %v", pod.GetExtensions()["x-kubernetes-group-version-kind"])
	}

	podSpec := resolveKind(t, pod.Fields["spec"])
	containers, ok := podSpec.Fields["containers"].(*kubeproto.Array)
	if !ok {
		t.Fatalf("PodSpec.containers is %T", podSpec.Fields["containers"])
	}
	if !contains(podSpec.RequiredFields, "containers") {
		t.Errorf("PodSpec.containers not required: %v", podSpec.RequiredFields)
	}
	if containers.GetExtensions()["x-kubernetes-patch-merge-key"] != "name" {
		t.Errorf("containers extensions = %v", containers.GetExtensions())
	}
	container := resolveKind(t, containers.SubType)
	if !strings.Contains(container.GetDescription(), "single application container") {
		t.Errorf("Container description = %q", container.GetDescription())
	}

	tests := []struct {
		model, field, wantType string
	}{
		{"io.k8s.api.core.v1.Container", "image", "string"},
		{"io.k8s.api.core.v1.ContainerPort", "containerPort", "integer"},
		{"io.k8s.api.core.v1.PodSpec", "hostNetwork", "boolean"},
		{"io.k8s.api.core.v1.ConfigMap", "binaryData", "map"},
		{"io.k8s.api.core.v1.Secret", "data", "map"},
		{"io.k8s.api.apps.v1.DeploymentSpec", "replicas", "integer"},
		{"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "creationTimestamp", "string"},
		{"io.k8s.api.core.v1.ResourceRequirements", "limits", "map"},
		{"io.k8s.api.apps.v1.RollingUpdateDeployment", "maxSurge", "string"},
		{"io.k8s.api.apps.v1.ControllerRevision", "data", "map"}, // RawExtension: a free-form object, as upstream
	}
	for _, tt := range tests {
		k, ok := models.LookupModel(tt.model).(*kubeproto.Kind)
		if !ok {
			t.Errorf("%s: not a kind", tt.model)
			continue
		}
		got := typeName(k.Fields[tt.field])
		if got != tt.wantType {
			t.Errorf("%s.%s: type %q, want %q", tt.model, tt.field, got, tt.wantType)
		}
	}
}

func resolveKind(t *testing.T, s kubeproto.Schema) *kubeproto.Kind {
	t.Helper()
	if r, ok := s.(kubeproto.Reference); ok {
		s = r.SubSchema()
	}
	k, ok := s.(*kubeproto.Kind)
	if !ok {
		t.Fatalf("%s is %T, not a kind", s.GetPath(), s)
	}
	return k
}

func typeName(s kubeproto.Schema) string {
	if r, ok := s.(kubeproto.Reference); ok {
		s = r.SubSchema()
	}
	switch s := s.(type) {
	case *kubeproto.Primitive:
		return s.Type
	case *kubeproto.Map:
		return "map"
	case *kubeproto.Kind:
		return "object"
	case *kubeproto.Array:
		return "array"
	case *kubeproto.Arbitrary:
		return "object"
	}
	return "?"
}

// TestV3_ClientGoRootFindsEveryServedKind reads each group version the way
// kubectl explain and the query-param verifier do (openapi3.Root), and
// checks kubectl's fieldValidation detection: a PATCH operation carrying
// the kind's GVK with a fieldValidation query parameter.
func TestV3_ClientGoRootFindsEveryServedKind(t *testing.T) {
	_, srv := testServer(t)
	dc := discovery.NewDiscoveryClientForConfigOrDie(restConfig(srv))
	client := cached.NewClient(dc.OpenAPIV3())
	root := openapi3.NewRoot(client)
	gvs, err := root.GroupVersions()
	if err != nil {
		t.Fatal(err)
	}
	if len(gvs) != len(api.GroupVersions()) {
		t.Errorf("group versions = %v, want %v", gvs, api.GroupVersions())
	}
	for _, r := range api.Resources() {
		doc, err := root.GVSpec(r.GroupVersion())
		if err != nil {
			t.Fatalf("GVSpec(%s): %v", r.GroupVersion(), err)
		}
		if name := kindSchemaName(doc, r.GroupVersionKind()); name == "" {
			t.Errorf("%s: no schema carries GVK %s", r.Resource, r.GroupVersionKind())
		}
		if r.AllowsVerb("patch") && !r.Virtual {
			if err := supportsFieldValidation(doc, r.GroupVersionKind()); err != "" {
				t.Errorf("%s: %s", r.Resource, err)
			}
		}
		// Every $ref resolves inside the document.
		raw, err := root.GVSpecAsMap(r.GroupVersion())
		if err != nil {
			t.Fatal(err)
		}
		checkRefs(t, r.GroupVersion().String(), raw, doc.Components.Schemas)
	}
}

func kindSchemaName(doc *spec3.OpenAPI, gvk schema.GroupVersionKind) string {
	for name, s := range doc.Components.Schemas {
		var list []map[string]string
		if err := s.Extensions.GetObject("x-kubernetes-group-version-kind", &list); err != nil {
			continue
		}
		for _, g := range list {
			if g["group"] == gvk.Group && g["version"] == gvk.Version && g["kind"] == gvk.Kind {
				return name
			}
		}
	}
	return ""
}

// supportsFieldValidation mirrors cli-runtime's supportsQueryParamV3: the
// first PATCH operation for the GVK must list fieldValidation.
func supportsFieldValidation(doc *spec3.OpenAPI, gvk schema.GroupVersionKind) string {
	found := false
	for path, p := range doc.Paths.Paths {
		if p == nil || p.Patch == nil {
			continue
		}
		var g map[string]string
		if err := p.Patch.Extensions.GetObject("x-kubernetes-group-version-kind", &g); err != nil {
			continue
		}
		if g["group"] != gvk.Group || g["version"] != gvk.Version || g["kind"] != gvk.Kind {
			continue
		}
		found = true
		ok := false
		for _, prm := range p.Patch.Parameters {
			if prm.Name == "fieldValidation" && prm.In == "query" {
				ok = true
			}
		}
		if !ok {
			return "PATCH " + path + " has no fieldValidation parameter"
		}
	}
	if !found {
		return "no PATCH operation for " + gvk.String()
	}
	return ""
}

func checkRefs(t *testing.T, where string, v any, schemas map[string]*spec.Schema) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		if ref, ok := v["$ref"].(string); ok {
			name := strings.TrimPrefix(ref, "#/components/schemas/")
			if _, ok := schemas[name]; !ok || name == ref {
				t.Errorf("%s: dangling $ref %q", where, ref)
			}
		}
		for _, x := range v {
			checkRefs(t, where, x, schemas)
		}
	case []any:
		for _, x := range v {
			checkRefs(t, where, x, schemas)
		}
	}
}

// TestV3_TypeConverterFromDocuments builds server-side apply's type
// converter from the v3 documents (as kubectl and our apiserver can) and
// checks list semantics: containers are a map keyed by name, container
// ports by containerPort and protocol.
func TestV3_TypeConverterFromDocuments(t *testing.T) {
	_, srv := testServer(t)
	dc := discovery.NewDiscoveryClientForConfigOrDie(restConfig(srv))
	tc, err := openapi.NewTypeConverter(dc.OpenAPIV3(), false)
	if err != nil {
		t.Fatalf("NewTypeConverter: %v", err)
	}
	pod := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"a": "b"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Image: "busybox",
			Ports: []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}},
		}}},
	}
	tv, err := tc.ObjectToTyped(pod)
	if err != nil {
		t.Fatalf("ObjectToTyped: %v", err)
	}
	set, err := tv.ToFieldSet()
	if err != nil {
		t.Fatal(err)
	}
	want := fieldpath.MakePathOrDie("spec", "containers", fieldpath.KeyByFields("name", "c"),
		"ports", fieldpath.KeyByFields("containerPort", 80, "protocol", "TCP"), "containerPort")
	if !set.Has(want) {
		t.Errorf("field set lacks %s:\n%s", want, set)
	}
	for _, r := range api.Resources() {
		obj := r.New()
		obj.GetObjectKind().SetGroupVersionKind(r.GroupVersionKind())
		if _, err := tc.ObjectToTyped(obj); err != nil {
			t.Errorf("%s: %v", r.GroupVersionKind(), err)
		}
	}
}

// TestHTTP_CachingAndNegotiation covers ETags, hashes and protobuf.
func TestHTTP_CachingAndNegotiation(t *testing.T) {
	s, srv := testServer(t)
	get := func(path string, header ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	body := func(r *http.Response) []byte {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	v2 := get("/openapi/v2")
	if v2.StatusCode != 200 || v2.Header.Get("Content-Type") != "application/json" || v2.Header.Get("Etag") == "" {
		t.Fatalf("v2: %d %v", v2.StatusCode, v2.Header)
	}
	var swagger map[string]any
	if err := json.Unmarshal(body(v2), &swagger); err != nil || swagger["swagger"] != "2.0" {
		t.Fatalf("v2 body: %v %v", err, swagger["swagger"])
	}
	if r := get("/openapi/v2", "If-None-Match", v2.Header.Get("Etag")); r.StatusCode != http.StatusNotModified {
		t.Errorf("v2 If-None-Match: %d", r.StatusCode)
	}
	pb := get("/openapi/v2", "Accept", mimeV2Proto+", application/json")
	if pb.Header.Get("Content-Type") != mimeV2ProtoV2 {
		t.Errorf("v2 protobuf content type %q", pb.Header.Get("Content-Type"))
	}
	var doc2 openapi_v2.Document
	if err := proto.Unmarshal(body(pb), &doc2); err != nil || doc2.GetSwagger() != "2.0" {
		t.Errorf("v2 protobuf: %v %q", err, doc2.GetSwagger())
	}

	var index struct {
		Paths map[string]struct {
			URL string `json:"serverRelativeURL"`
		} `json:"paths"`
	}
	idx := get("/openapi/v3")
	if err := json.Unmarshal(body(idx), &index); err != nil {
		t.Fatal(err)
	}
	appsURL := index.Paths["apis/apps/v1"].URL
	coreJSON, _, _ := s.V3("api/v1")
	if want := "/openapi/v3/api/v1?hash=" + hashOf(coreJSON); index.Paths["api/v1"].URL != want {
		t.Errorf("api/v1 URL %q, want %q", index.Paths["api/v1"].URL, want)
	}
	if len(hashOf(coreJSON)) != 128 || strings.ToUpper(hashOf(coreJSON)) != hashOf(coreJSON) {
		t.Errorf("hash is not upper-case sha512 hex: %q", hashOf(coreJSON))
	}

	tests := []struct {
		name, path     string
		header         []string
		wantCode       int
		wantCache      string
		wantContent    string
		wantLocationIn string
	}{
		{"hashed", appsURL, nil, 200, "public, immutable", "application/json", ""},
		{"unhashed", "/openapi/v3/apis/apps/v1", nil, 200, "no-cache, private", "application/json", ""},
		{"stale hash redirects", "/openapi/v3/apis/apps/v1?hash=ABC", nil, 301, "", "", appsURL},
		{"unknown group version", "/openapi/v3/apis/nope/v1", nil, 404, "", "", ""},
		{"protobuf", appsURL, []string{"Accept", mimeV3Proto}, 200, "public, immutable", mimeV3ProtoV2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(tt.path, tt.header...)
			if r.StatusCode != tt.wantCode {
				t.Fatalf("status %d, want %d", r.StatusCode, tt.wantCode)
			}
			if tt.wantCache != "" && r.Header.Get("Cache-Control") != tt.wantCache {
				t.Errorf("Cache-Control %q, want %q", r.Header.Get("Cache-Control"), tt.wantCache)
			}
			if tt.wantContent != "" && r.Header.Get("Content-Type") != tt.wantContent {
				t.Errorf("Content-Type %q, want %q", r.Header.Get("Content-Type"), tt.wantContent)
			}
			if tt.wantLocationIn != "" && !strings.HasSuffix(r.Header.Get("Location"), tt.wantLocationIn) {
				t.Errorf("Location %q, want %q", r.Header.Get("Location"), tt.wantLocationIn)
			}
			if tt.wantContent == mimeV3ProtoV2 {
				var d openapi_v3.Document
				if err := proto.Unmarshal(body(r), &d); err != nil || d.GetOpenapi() != "3.0.0" {
					t.Errorf("v3 protobuf: %v %q", err, d.GetOpenapi())
				}
			}
			if etag := r.Header.Get("Etag"); tt.wantCode == 200 {
				if again := get(tt.path, append([]string{"If-None-Match", etag}, tt.header...)...); again.StatusCode != http.StatusNotModified {
					t.Errorf("If-None-Match %s: %d", etag, again.StatusCode)
				}
			}
		})
	}
}

// TestDocuments_DeterministicAcrossServers: apiservers behind one load
// balancer must publish the same hashes, or clients refetch forever.
func TestDocuments_DeterministicAcrossServers(t *testing.T) {
	a, _ := New(api.Resources())
	b, _ := New(api.Resources())
	for _, path := range []string{"api/v1", "apis/apps/v1", "apis/rbac.authorization.k8s.io/v1"} {
		x, _, errA := a.V3(path)
		y, _, errB := b.V3(path)
		if errA != nil || errB != nil || hashOf(x) != hashOf(y) {
			t.Errorf("%s: documents differ between two builds (%v, %v)", path, errA, errB)
		}
	}
}

// TestSchemas_RequiredAndExtensions checks the reflection rules on models
// whose upstream shape is known.
func TestSchemas_RequiredAndExtensions(t *testing.T) {
	s, _ := New(api.Resources())
	raw, _, err := s.V3("api/v1")
	if err != nil {
		t.Fatal(err)
	}
	var doc spec3.OpenAPI
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	schemas := doc.Components.Schemas
	for _, gv := range []string{"apis/rbac.authorization.k8s.io/v1", "apis/apps/v1", "apis/events.k8s.io/v1"} {
		raw, _, err := s.V3(gv)
		if err != nil {
			t.Fatal(err)
		}
		var more spec3.OpenAPI
		if err := json.Unmarshal(raw, &more); err != nil {
			t.Fatal(err)
		}
		for k, v := range more.Components.Schemas {
			schemas[k] = v
		}
	}
	tests := []struct {
		model        string
		wantRequired []string
	}{
		{"io.k8s.api.core.v1.Container", []string{"name"}},
		{"io.k8s.api.core.v1.PodSpec", []string{"containers"}},
		{"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", nil},
		{"io.k8s.api.core.v1.Pod", nil},
		{"io.k8s.api.core.v1.PodList", []string{"items"}},
		{"io.k8s.api.core.v1.ContainerPort", []string{"containerPort"}},
		{"io.k8s.api.rbac.v1.Role", nil},
		{"io.k8s.api.rbac.v1.PolicyRule", []string{"verbs"}},
		// k8s.io/api's markers beyond what the json tags say.
		{"io.k8s.api.apps.v1.DeploymentSpec", []string{"selector", "template"}},
		{"io.k8s.api.apps.v1.Deployment", []string{"spec"}},
		{"io.k8s.api.apps.v1.DeploymentCondition", nil},
		{"io.k8s.api.apps.v1.StatefulSetSpec", []string{"selector", "template"}},
		{"io.k8s.api.events.v1.Event", []string{"eventTime"}},
	}
	for _, tt := range tests {
		m, ok := schemas[tt.model]
		if !ok {
			t.Errorf("%s missing", tt.model)
			continue
		}
		if strings.Join(m.Required, ",") != strings.Join(tt.wantRequired, ",") {
			t.Errorf("%s required = %v, want %v", tt.model, m.Required, tt.wantRequired)
		}
	}

	ext := func(model, field, key string) any {
		p := schemas[model].Properties[field]
		return p.Extensions[key]
	}
	extTests := []struct {
		model, field, key string
		want              string
	}{
		{"io.k8s.api.core.v1.PodSpec", "containers", "x-kubernetes-patch-merge-key", "name"},
		{"io.k8s.api.core.v1.PodSpec", "containers", "x-kubernetes-list-type", "map"},
		{"io.k8s.api.core.v1.PodSpec", "containers", "x-kubernetes-list-map-keys", "[name]"},
		{"io.k8s.api.core.v1.Container", "ports", "x-kubernetes-list-map-keys", "[containerPort protocol]"},
		{"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "finalizers", "x-kubernetes-list-type", "set"},
		{"io.k8s.api.core.v1.PodSpec", "nodeSelector", "x-kubernetes-map-type", "atomic"},
		{"io.k8s.api.core.v1.PodSpec", "volumes", "x-kubernetes-patch-strategy", "merge,retainKeys"},
	}
	for _, tt := range extTests {
		got := fmt.Sprint(ext(tt.model, tt.field, tt.key))
		if got != tt.want {
			t.Errorf("%s.%s %s = %s, want %s", tt.model, tt.field, tt.key, got, tt.want)
		}
	}
	if schemas["io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"].Extensions["x-kubernetes-map-type"] != "atomic" {
		t.Errorf("LabelSelector is not marked x-kubernetes-map-type: atomic")
	}
	q := schemas["io.k8s.apimachinery.pkg.api.resource.Quantity"]
	if len(q.OneOf) != 2 || q.OneOf[0].Type[0] != "string" || q.OneOf[1].Type[0] != "number" {
		t.Errorf("Quantity = %+v, want oneOf string, number", q.SchemaProps)
	}
	if tm := schemas["io.k8s.apimachinery.pkg.apis.meta.v1.Time"]; tm.Format != "date-time" || tm.Type[0] != "string" {
		t.Errorf("Time = %v %q", tm.Type, tm.Format)
	}
}
