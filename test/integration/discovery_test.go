package integration

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/kstack/kstack/api"
	"github.com/kstack/kstack/test/integration/framework"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// TestDiscovery_EveryServedResourceIsListedWithShortNamesAndCategories
// reads discovery with client-go (aggregated discovery, its default) and
// checks it against the resource table.
func TestDiscovery_EveryServedResourceIsListedWithShortNamesAndCategories(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	dc, err := discovery.NewDiscoveryClientForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	groups, lists, err := discovery.ServerGroupsAndResources(dc)
	if err != nil {
		t.Fatal(err)
	}
	var groupNames []string
	for _, g := range groups {
		groupNames = append(groupNames, g.Name)
	}
	for _, want := range []string{"", "apps", "batch", "autoscaling", "discovery.k8s.io", "coordination.k8s.io", "rbac.authorization.k8s.io",
		"events.k8s.io", "policy", "networking.k8s.io", "storage.k8s.io", "scheduling.k8s.io", "node.k8s.io"} {
		if !slices.Contains(groupNames, want) {
			t.Errorf("group %q missing from %v", want, groupNames)
		}
	}
	for _, g := range groups {
		if g.Name == "autoscaling" && g.PreferredVersion.Version != "v2" {
			t.Errorf("autoscaling preferred version %s, want v2", g.PreferredVersion.Version)
		}
	}
	served := map[string]metav1.APIResource{}
	for _, l := range lists {
		for _, r := range l.APIResources {
			served[l.GroupVersion+"/"+r.Name] = r
		}
	}
	for _, r := range api.Resources() {
		key := r.GroupVersion().String() + "/" + r.Resource
		got, ok := served[key]
		if !ok {
			t.Errorf("%s not in discovery", key)
			continue
		}
		if got.Kind != r.Kind || got.Namespaced != r.Namespaced || !slices.Equal(got.ShortNames, r.ShortNames) || !slices.Equal(got.Categories, r.Categories) {
			t.Errorf("%s: discovery kind %s namespaced %v short %v categories %v; table %s %v %v %v", key,
				got.Kind, got.Namespaced, got.ShortNames, got.Categories, r.Kind, r.Namespaced, r.ShortNames, r.Categories)
		}
		for _, sub := range r.Subresources {
			if _, ok := served[key+"/"+sub]; !ok {
				t.Errorf("%s/%s not in discovery", key, sub)
			}
		}
	}
	if sc, ok := served["apps/v1/deployments/scale"]; !ok || sc.Kind != "Scale" || sc.Group != "autoscaling" {
		t.Errorf("deployments/scale: %+v", sc)
	}

	// kubectl's REST mapping: short names and categories resolve.
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memoryCached(dc))
	expander := restmapper.NewShortcutExpander(mapper, dc, nil)
	for short, want := range map[string]schema.GroupVersionResource{
		"deploy": {Group: "apps", Version: "v1", Resource: "deployments"},
		"po":     {Version: "v1", Resource: "pods"},
		"hpa":    {Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers"},
		"netpol": {Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"},
		"pc":     {Group: "scheduling.k8s.io", Version: "v1", Resource: "priorityclasses"},
	} {
		got, err := expander.ResourceFor(schema.GroupVersionResource{Resource: short})
		if err != nil || got != want {
			t.Errorf("short name %s: %v %v, want %v", short, got, err, want)
		}
	}
	m, err := mapper.RESTMapping(schema.GroupKind{Group: "apps", Kind: "StatefulSet"})
	if err != nil || m.Resource.Resource != "statefulsets" || m.Scope.Name() != "namespace" {
		t.Errorf("StatefulSet mapping: %+v %v", m, err)
	}
	all, ok := restmapper.NewDiscoveryCategoryExpander(dc).Expand("all")
	if !ok {
		t.Fatal("category all unknown")
	}
	for _, want := range []schema.GroupResource{{Resource: "pods"}, {Resource: "services"}, {Group: "apps", Resource: "deployments"}, {Group: "batch", Resource: "cronjobs"}} {
		if !slices.Contains(all, want) {
			t.Errorf("category all misses %v: %v", want, all)
		}
	}
	if slices.Contains(all, schema.GroupResource{Resource: "configmaps"}) {
		t.Errorf("category all has configmaps")
	}
}

// TestDiscovery_AggregatedAndLegacyDocuments asks for the aggregated
// discovery document by Accept header and for the legacy documents.
func TestDiscovery_AggregatedAndLegacyDocuments(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	hc, err := rest.HTTPClientFor(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api", "/apis"} {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", s.Config.Host+path, nil)
		req.Header.Set("Accept", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.Contains(ct, "as=APIGroupDiscoveryList") {
			t.Errorf("%s aggregated: %d Content-Type %q", path, resp.StatusCode, ct)
		}
	}
	// Without the aggregated Accept: the legacy APIGroupList.
	gl := &metav1.APIGroupList{}
	if err := rawGetJSON(t, s, "/apis", gl); err != nil {
		t.Fatal(err)
	}
	if gl.Kind != "APIGroupList" || len(gl.Groups) < 12 {
		t.Fatalf("legacy /apis: kind %s, %d groups", gl.Kind, len(gl.Groups))
	}
	vs := &metav1.APIVersions{}
	if err := rawGetJSON(t, s, "/api", vs); err != nil || !slices.Contains(vs.Versions, "v1") {
		t.Fatalf("/api: %+v %v", vs, err)
	}
	dc, _ := discovery.NewDiscoveryClientForConfig(s.Config)
	v, err := dc.ServerVersion()
	if err != nil || v.Major == "" || v.GitVersion == "" {
		t.Fatalf("/version: %+v %v", v, err)
	}
}

// TestDynamicClient_CRUDOnUnstructuredDeployment drives the dynamic
// client (JSON, unstructured) through create, get, list, patch, delete.
func TestDynamicClient_CRUDOnUnstructuredDeployment(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	dyn, err := dynamic.NewForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	gvr := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "dyn"},
		"spec": map[string]any{
			"replicas": int64(3),
			"selector": map[string]any{"matchLabels": map[string]any{"app": "dyn"}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": "dyn"}},
				"spec":     map[string]any{"containers": []any{map[string]any{"name": "app", "image": "busybox:1.36"}}},
			},
		},
	}}
	res := dyn.Resource(gvr).Namespace("default")
	created, err := res.Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Defaulting ran: strategy and revisionHistoryLimit are filled in.
	if st, _, _ := unstructured.NestedString(created.Object, "spec", "strategy", "type"); st != "RollingUpdate" {
		t.Errorf("strategy %q, want RollingUpdate", st)
	}
	if created.GetGeneration() != 1 {
		t.Errorf("generation %d", created.GetGeneration())
	}
	list, err := res.List(ctx, metav1.ListOptions{LabelSelector: ""})
	if err != nil || len(list.Items) != 1 || list.Items[0].GetName() != "dyn" || list.GetKind() != "DeploymentList" {
		t.Fatalf("list: %v %+v", err, list)
	}
	patched, err := res.Patch(ctx, "dyn", types.JSONPatchType, []byte(`[{"op":"replace","path":"/spec/replicas","value":5}]`), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n, _, _ := unstructured.NestedInt64(patched.Object, "spec", "replicas"); n != 5 || patched.GetGeneration() != 2 {
		t.Fatalf("after patch: replicas %d generation %d", n, patched.GetGeneration())
	}
	if err := res.Delete(ctx, "dyn", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := res.Get(ctx, "dyn", metav1.GetOptions{}); err == nil {
		t.Fatal("still there after delete")
	}
}
