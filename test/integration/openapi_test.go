package integration

import (
	"encoding/json"
	"testing"

	"github.com/kstack/kstack/test/integration/framework"
	"k8s.io/client-go/discovery"
)

// TestOpenAPI_V2AndV3AsClientGoReadsThem fetches the OpenAPI documents
// the way kubectl does (v2 as protobuf, v3 per group version).
func TestOpenAPI_V2AndV3AsClientGoReadsThem(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	dc, err := discovery.NewDiscoveryClientForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := dc.OpenAPISchema()
	if err != nil {
		t.Fatalf("openapi v2: %v", err)
	}
	found := false
	for _, d := range doc.GetDefinitions().GetAdditionalProperties() {
		if d.GetName() == "io.k8s.api.apps.v1.Deployment" {
			found = true
		}
	}
	if !found {
		t.Fatalf("openapi v2 has no io.k8s.api.apps.v1.Deployment among %d definitions", len(doc.GetDefinitions().GetAdditionalProperties()))
	}
	paths, err := dc.OpenAPIV3().Paths()
	if err != nil {
		t.Fatalf("openapi v3 paths: %v", err)
	}
	gv, ok := paths["apis/apps/v1"]
	if !ok {
		t.Fatalf("openapi v3 has no apis/apps/v1 among %d paths", len(paths))
	}
	data, err := gv.Schema("application/json")
	if err != nil {
		t.Fatalf("openapi v3 apps/v1: %v", err)
	}
	var v3 struct {
		Components struct {
			Schemas map[string]json.RawMessage
		}
	}
	if err := json.Unmarshal(data, &v3); err != nil {
		t.Fatal(err)
	}
	if _, ok := v3.Components.Schemas["io.k8s.api.apps.v1.Deployment"]; !ok {
		t.Fatalf("openapi v3 apps/v1 lacks the Deployment schema")
	}
	if _, ok := paths["api/v1"]; !ok {
		t.Fatalf("openapi v3 has no api/v1")
	}
}
