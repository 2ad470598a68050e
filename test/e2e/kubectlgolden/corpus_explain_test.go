package kubectlgolden

import (
	"os"
	"path/filepath"
	"testing"
)

// explainCorpus is `kubectl explain`: resources by name, short name and
// group prefix, field paths through objects, arrays, maps and enums,
// --recursive, --api-version, and the errors.
func explainCorpus() []goldenCase {
	c := func(args ...string) goldenCase { return goldenCase{args: args} }
	return []goldenCase{
		c("explain", "pods"),
		c("explain", "pod"),
		c("explain", "pods.spec"),
		c("explain", "pods.spec.containers"),
		c("explain", "pods.spec.containers.image"),
		c("explain", "pods.spec.restartPolicy"),
		c("explain", "po.metadata.labels"),
		c("explain", "pods.status.conditions"),
		c("explain", "deploy.spec.strategy"),
		c("explain", "deployments.apps.spec.replicas"),
		c("explain", "jobs.spec.template.spec.containers.ports"),
		c("explain", "cm"),
		c("explain", "nodes.spec.taints"),
		c("explain", "svc", "--recursive"),
		c("explain", "deployments.spec", "--recursive", "--max-depth=2"),
		c("explain", "--api-version=apps/v1", "deployments"),
		c("explain", "deployments.spec.selector", "--api-version=apps/v1"),
		// the older explain, from swagger 2.0.
		c("explain", "pods", "-o", "plaintext-openapiv2"),
		c("explain", "pods.spec.containers", "--output=plaintext-openapiv2"),
		c("explain", "pods.spec.nodeName", "-o", "plaintext-openapiv2"),
		c("explain", "pods.spec.nodeName.deeper", "-o", "plaintext-openapiv2"),
		c("explain", "pods.metadata.labels", "-o", "plaintext-openapiv2"),
		c("explain", "deploy.spec", "--recursive", "-o", "plaintext-openapiv2"),
		c("explain", "svc.spec.ports", "-R", "--max-depth=1", "-o", "plaintext-openapiv2"),
		c("explain", "deployments.spec.strategy", "--api-version=apps/v1", "-o", "plaintext-openapiv2"),
		c("explain", "pods.spec.nosuchfield", "-o", "plaintext-openapiv2"),
		c("explain", "deployments", "--api-version=apps/v2", "-o", "plaintext-openapiv2"),
		// errors.
		c("explain", "pods.spec.nosuchfield"),
		c("explain", "pods.spec.nosuch.deeper"),
		c("explain", "nosuchtype"),
		c("explain"),
		c("explain", "pods", "svc"),
		c("explain", "pods", "--max-depth=1"),
		c("explain", "deployments", "--api-version=apps/v2"),
		c("explain", "deployments", "--api-version=v1"),
		c("explain", "pods", "-o", "nosuchformat"),
	}
}

// TestGolden_ExplainMatchesUpstream runs the explain corpus with both
// kubectls against one apiserver (explain reads only its OpenAPI
// documents, so no fixtures).
func TestGolden_ExplainMatchesUpstream(t *testing.T) {
	upstream := upstreamKubectl(t)
	e, _ := startEnv(t)
	ourHome, upHome := filepath.Join(e.dir, "home-ours"), filepath.Join(e.dir, "home-upstream")
	for _, h := range []string{ourHome, upHome} {
		if err := os.MkdirAll(h, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, gc := range explainCorpus() {
		t.Run(caseName(gc.args), func(t *testing.T) {
			ours := e.runCase(t, ourKubectl, ourHome, gc)
			theirs := e.runCase(t, upstream, upHome, gc)
			compare(t, gc, ours, theirs)
		})
	}
}
