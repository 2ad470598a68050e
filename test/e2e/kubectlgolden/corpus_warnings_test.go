package kubectlgolden

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// warningsCorpus reads v1 Endpoints, which upstream kube-apiserver answers
// with a deprecation Warning header (our apiserver sends none, so against it
// the cases only check that nothing is printed): each warning once on
// stderr, and --warnings-as-errors failing a command that got one.
func warningsCorpus() []goldenCase {
	c := func(args ...string) goldenCase { return goldenCase{args: args} }
	return []goldenCase{
		c("get", "endpoints"),
		c("get", "ep", "web", "-o", "name"),
		c("get", "endpoints,configmaps"),
		c("describe", "endpoints", "web"),
		c("get", "endpoints", "--warnings-as-errors"),
		c("describe", "ep", "web", "--warnings-as-errors"),
		c("get", "configmaps", "--warnings-as-errors"),
		c("get", "ep", "missing", "--warnings-as-errors"),
	}
}

// TestGolden_ServerWarnings runs the warnings corpus with both kubectls.
func TestGolden_ServerWarnings(t *testing.T) {
	upstream := upstreamKubectl(t)
	e, s := startEnv(t)
	ctx := context.Background()
	if _, err := s.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "golden"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.CoreV1().ConfigMaps("golden").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.CoreV1().Endpoints("golden").Create(ctx, &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: "10.244.0.5"}},
			Ports:     []corev1.EndpointPort{{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}},
		}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ourHome, upHome := filepath.Join(e.dir, "home-ours"), filepath.Join(e.dir, "home-upstream")
	for _, h := range []string{ourHome, upHome} {
		if err := os.MkdirAll(h, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, gc := range warningsCorpus() {
		t.Run(caseName(gc.args), func(t *testing.T) {
			ours := e.runCase(t, ourKubectl, ourHome, gc)
			theirs := e.runCase(t, upstream, upHome, gc)
			compare(t, gc, ours, theirs)
		})
	}
}
