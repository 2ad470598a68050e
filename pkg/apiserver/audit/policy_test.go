package audit

import (
	"strings"
	"testing"

	"github.com/kstack/kstack/pkg/auth"
)

const examplePolicy = `
apiVersion: audit.k8s.io/v1
kind: Policy
metadata: {name: example}
omitStages: [RequestReceived]
rules:
- level: None
  users: ["system:kube-proxy"]
  verbs: [watch]
  resources: [{group: "", resources: [endpoints, services]}]
- level: None
  userGroups: ["system:authenticated"]
  nonResourceURLs: ["/api*", "/version"]
- level: RequestResponse
  resources: [{group: "", resources: ["pods/log", "pods/status"]}]
- level: Metadata
  resources: [{group: "", resources: [secrets, configmaps]}]
- level: Request
  resources: [{group: "", resources: [configmaps], resourceNames: [controller-leader]}]
- level: Request
  resources: [{group: apps, resources: ["*/scale"]}, {group: batch}]
- level: RequestResponse
  resources: [{group: "", resources: ["nodes/*"]}]
  omitStages: [ResponseStarted]
  omitManagedFields: true
- level: Metadata
  namespaces: [kube-system]
- level: Request
  verbs: [create, update, patch]
- level: Metadata
`

func TestPolicy_FirstMatchingRuleWins(t *testing.T) {
	p, err := ParsePolicy([]byte(examplePolicy))
	if err != nil {
		t.Fatal(err)
	}
	proxy := &auth.User{Name: "system:kube-proxy", Groups: []string{"system:authenticated"}}
	alice := &auth.User{Name: "alice", Groups: []string{"dev", "system:authenticated"}}
	res := func(u *auth.User, verb, group, resource, sub, ns, name string) Attrs {
		return Attrs{User: u, Verb: verb, ResourceRequest: true, APIGroup: group, Resource: resource,
			Subresource: sub, Namespace: ns, Name: name}
	}
	tests := []struct {
		name  string
		attrs Attrs
		want  Level
	}{
		{"kube-proxy watching endpoints", res(proxy, "watch", "", "endpoints", "", "", ""), LevelNone},
		{"kube-proxy listing endpoints: verb differs", res(proxy, "list", "", "endpoints", "", "", ""), LevelMetadata},
		{"alice watching services: user differs", res(alice, "watch", "", "services", "", "default", ""), LevelMetadata},
		{"discovery by an authenticated user", Attrs{User: alice, Verb: "get", Path: "/apis/apps/v1"}, LevelNone},
		{"/version", Attrs{User: alice, Verb: "get", Path: "/version"}, LevelNone},
		{"/versions is not /version", Attrs{User: alice, Verb: "get", Path: "/versions"}, LevelMetadata},
		{"non-resource rule for an anonymous request: no groups", Attrs{Verb: "get", Path: "/api"}, LevelMetadata},
		{"pods/log", res(alice, "get", "", "pods", "log", "default", "p"), LevelRequestResponse},
		{"pods itself is not pods/log", res(alice, "create", "", "pods", "", "default", ""), LevelRequest},
		{"secrets before the later configmaps rule", res(alice, "update", "", "secrets", "", "default", "s"), LevelMetadata},
		{"configmap leader: masked by the earlier rule", res(alice, "update", "", "configmaps", "", "kube-system", "controller-leader"), LevelMetadata},
		{"*/scale in apps", res(alice, "update", "apps", "deployments", "scale", "default", "d"), LevelRequest},
		{"*/scale needs the group", res(alice, "get", "", "replicationcontrollers", "scale", "default", "r"), LevelMetadata},
		{"a whole group", res(alice, "delete", "batch", "jobs", "", "default", "j"), LevelRequest},
		{"nodes/* matches nodes", res(alice, "get", "", "nodes", "", "", "n1"), LevelRequestResponse},
		{"nodes/* matches nodes/status", res(alice, "patch", "", "nodes", "status", "", "n1"), LevelRequestResponse},
		{"namespace rule", res(alice, "get", "", "pods", "", "kube-system", "p"), LevelMetadata},
		{"namespace rule needs a resource request", Attrs{User: alice, Verb: "post", Path: "/kube-system"}, LevelMetadata},
		{"verb rule", res(alice, "patch", "apps", "deployments", "", "default", "d"), LevelRequest},
		{"catch-all", res(alice, "list", "apps", "deployments", "", "default", ""), LevelMetadata},
	}
	for _, tt := range tests {
		if tt.attrs.Path == "" {
			tt.attrs.Path = "/x"
		}
		if got := p.Evaluate(&tt.attrs).Level; got != tt.want {
			t.Errorf("%s: level %s, want %s", tt.name, got, tt.want)
		}
	}

	d := p.Evaluate(&Attrs{User: alice, Verb: "get", ResourceRequest: true, Resource: "nodes", Name: "n1"})
	if !d.omits(StageRequestReceived) || !d.omits(StageResponseStarted) || d.omits(StageResponseComplete) || !d.OmitManagedFields {
		t.Errorf("nodes rule decision %+v: want the policy's and the rule's omitted stages and omitManagedFields", d)
	}
	if d := p.Evaluate(&Attrs{User: alice, Verb: "list", ResourceRequest: true, Resource: "pods"}); d.OmitManagedFields {
		t.Error("omitManagedFields leaked from another rule")
	}
}

func TestParsePolicy_Validation(t *testing.T) {
	header := "apiVersion: audit.k8s.io/v1\nkind: Policy\n"
	tests := []struct {
		name    string
		file    string
		wantErr string
	}{
		{"valid", header + "rules: [{level: Metadata}]", ""},
		{"wrong apiVersion", "apiVersion: audit.k8s.io/v1beta1\nkind: Policy\nrules: [{level: Metadata}]", `apiVersion "audit.k8s.io/v1beta1"`},
		{"no rules", header + "rules: []", "no rules"},
		{"bad level", header + "rules: [{level: Everything}]", `rules[0].level: Unsupported value: "Everything"`},
		{"bad stage", header + "omitStages: [Done]\nrules: [{level: None}]", `omitStages[0]: Unsupported value: "Done"`},
		{"urls and resources", header + "rules: [{level: None, nonResourceURLs: [/healthz], resources: [{group: ''}]}]", "as well as resources"},
		{"url without slash", header + "rules: [{level: None, nonResourceURLs: [healthz]}]", "must begin with a '/'"},
		{"star in the middle", header + "rules: [{level: None, nonResourceURLs: ['/a*b']}]", "must be the final character"},
		{"resourceNames with a wildcard", header + "rules: [{level: None, resources: [{resources: ['*'], resourceNames: [x]}]}]", "wildcard resources"},
		{"not yaml", "rules: [", "decode audit policy"},
	}
	for _, tt := range tests {
		_, err := ParsePolicy([]byte(tt.file))
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}
