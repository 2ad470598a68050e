package kubectlgolden

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// goldenCase is one invocation run by both kubectls.
type goldenCase struct {
	args  []string
	stdin string
	env   []string // extra KEY=VALUE ($DIR is the test's directory)
	// kubeconfig overrides the shared kubeconfig.
	kubeconfig string
	// mutatesKubeconfig: the command writes its kubeconfig; each run gets
	// a fresh copy and the file's content afterwards is compared too.
	mutatesKubeconfig bool
	// maskLines masks values that legitimately differ between the two
	// binaries (say why at the case): each match becomes its group 1
	// followed by <masked>.
	maskLines *regexp.Regexp
	// dropLines removes what only one binary prints (say why at the
	// case), from both outputs.
	dropLines *regexp.Regexp
}

// clientVersionLines are the lines where the binaries name themselves.
var clientVersionLines = regexp.MustCompile(`(?m)^((?:Client Version|Kustomize Version): |\s*"?(?:gitVersion|gitCommit|kustomizeVersion|goVersion)"?: )"?[^",\n]*"?`)

// completionHeader is the comment block that opens a completion script.
var completionHeader = regexp.MustCompile(`\A((?:#compdef kubectl\ncompdef _kubectl kubectl\n)?)(?:\n|#(?: [^\n]*)?\n)+`)

func corpus() []goldenCase {
	c := func(args ...string) goldenCase { return goldenCase{args: args} }
	mut := func(args ...string) goldenCase { return goldenCase{args: args, mutatesKubeconfig: true} }
	_ = mut
	return []goldenCase{
		// get: names, short names, type/name, several types, categories.
		c("get", "pods"),
		c("get", "pod", "web-1"),
		c("get", "po"),
		c("get", "pods,svc"),
		c("get", "pod/web-1", "svc/web"),
		c("get", "pods", "web-1", "db-0"),
		c("get", "all"),
		c("get", "deploy"),
		c("get", "deployments.apps"),
		c("get", "cm"),
		c("get", "nodes"),
		c("get", "ns"),
		c("get", "services", "-n", "default"),
		// get: output formats.
		c("get", "pods", "-o", "wide"),
		c("get", "pods", "-o", "name"),
		c("get", "pods,cm", "-o", "name"),
		c("get", "pod", "web-1", "-o", "yaml"),
		c("get", "pod", "web-1", "-o", "json"),
		c("get", "pods", "-o", "json"),
		c("get", "pods", "-l", "app=db", "-o", "yaml"),
		c("get", "pods", "-o", "jsonpath={.items[*].metadata.name}"),
		c("get", "pod", "web-1", "-o", "jsonpath={.metadata.labels.app}"),
		c("get", "pods", "-o", "custom-columns=NAME:.metadata.name,APP:.metadata.labels.app,NODE:.spec.nodeName"),
		c("get", "pods", "-o", "custom-columns=NAME:.metadata.name", "--no-headers"),
		c("get", "pods", "-o", "go-template={{range .items}}{{.metadata.name}} {{end}}"),
		c("get", "deploy", "-o", "wide"),
		c("get", "pods", "-o", "foo"),
		// get: selection and presentation.
		c("get", "pods", "-l", "app=web"),
		c("get", "pods", "-l", "app!=web"),
		c("get", "pods", "--field-selector", "metadata.name=db-0"),
		c("get", "pods", "-A"),
		c("get", "pods", "--all-namespaces", "-o", "wide"),
		c("get", "pods", "-n", "other"),
		c("get", "pods", "-n", "empty"),
		c("get", "pods", "--show-labels"),
		c("get", "pods", "-L", "app,tier"),
		c("get", "pods", "-L", "app", "-L", "tier", "--show-labels"),
		c("get", "pods", "--sort-by", ".metadata.name"),
		c("get", "pods", "--sort-by", "{.metadata.labels.rank}"),
		c("get", "pods", "--sort-by", ".metadata.name", "-o", "name"),
		c("get", "pods", "--no-headers"),
		c("get", "pods", "--chunk-size", "1"),
		c("get", "pods", "--show-labels", "-o", "json"),
		// get: errors.
		c("get", "pod", "missing"),
		c("get", "pod", "missing", "--ignore-not-found"),
		c("get", "pods", "web-1", "missing"),
		c("get", "pods", "missing", "-o", "name"),
		c("get", "nosuchtype"),
		c("get"),
		c("get", "pods", "--context", "other"),
		// version: the client lines name the binary itself.
		{args: []string{"version", "--client"}, maskLines: clientVersionLines},
		{args: []string{"version", "--client", "-o", "json"}, maskLines: clientVersionLines},
		{args: []string{"version", "--client", "-o", "yaml"}, maskLines: clientVersionLines},
		{args: []string{"version"}, maskLines: clientVersionLines},
		c("version", "-o", "xml"),
		// config.
		c("config", "view"),
		c("config", "view", "--minify"),
		c("config", "view", "--raw"),
		c("config", "view", "--flatten", "--minify"),
		c("config", "view", "-o", "jsonpath={.contexts[*].name}"),
		c("config", "view", "--minify", "--context", "other"),
		c("config", "get-contexts"),
		c("config", "get-contexts", "other", "nope"),
		c("config", "get-contexts", "-o", "name"),
		c("config", "current-context"),
		mut("config", "use-context", "other"),
		mut("config", "use-context", "nope"),
		mut("config", "set-context", "--current", "--namespace", "changed"),
		mut("config", "set-context", "fresh", "--cluster", "kstack", "--user", "admin"),
		mut("config", "set-cluster", "extra", "--server", "https://10.1.2.3:6443", "--insecure-skip-tls-verify"),
		mut("config", "set-credentials", "bob", "--token", "abc"),
		mut("config", "delete-context", "other"),
		mut("config", "delete-context", "kstack"),
		mut("config", "delete-context", "nope"),
		c("get", "pods", "--namespace", "other"),
		c("get", "pods", "--user", "someone"),
		c("get", "pods", "--cluster", "other"),
		{args: []string{"get", "pods"}, env: []string{"KUBECONFIG=$DIR/missing:$DIR/kubeconfig"}},
		// discovery.
		c("api-resources"),
		c("api-resources", "-o", "wide"),
		c("api-resources", "-o", "name"),
		c("api-resources", "--namespaced=false"),
		c("api-resources", "--api-group", "apps"),
		c("api-resources", "--verbs", "list,watch", "--api-group", ""),
		c("api-resources", "--sort-by", "kind", "--no-headers"),
		c("api-versions"),
		c("cluster-info"),
		// auth.
		c("auth", "can-i", "list", "pods"),
		c("auth", "can-i", "create", "deployments.apps", "-n", "other"),
		c("auth", "can-i", "get", "/healthz"),
		c("auth", "can-i", "frobnicate", "pods"),
		c("auth", "can-i", "list", "nosuchthing"),
		c("auth", "can-i", "list", "pods", "--user", "someone"),
		c("auth", "can-i", "list", "pods", "-q"),
		c("auth", "can-i", "list"),
		c("auth", "can-i", "--list"),
		c("auth", "whoami"),
		c("auth", "whoami", "-o", "json"),
		// completion: the scripts are cobra's; the comment header above
		// them is each project's own.
		{args: []string{"completion", "bash"}, maskLines: completionHeader},
		{args: []string{"completion", "zsh"}, maskLines: completionHeader},
		{args: []string{"completion", "fish"}, maskLines: completionHeader},
		c("completion"),
		c("completion", "tcsh"),
		// unknown commands and flags.
		c("get", "pods", "--nosuchflag"),
	}
}

// createFixtures makes the objects the corpus reads: namespaces golden,
// other and empty; pods, a service, configmaps and a deployment in golden; a
// node.
func createFixtures(t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	ctx := context.Background()
	for _, ns := range []string{"golden", "other", "empty"} {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create namespace %s: %v", ns, err)
		}
	}
	pod := func(ns, name string, labels map[string]string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "main", Image: "kstack.local/busybox:1.0", Command: []string{"sleep", "3600"},
			}}},
		}
	}
	for _, p := range []*corev1.Pod{
		pod("golden", "web-1", map[string]string{"app": "web", "tier": "front", "rank": "2"}),
		pod("golden", "web-2", map[string]string{"app": "web", "rank": "3"}),
		pod("golden", "db-0", map[string]string{"app": "db", "rank": "1"}),
		pod("other", "lonely", nil),
	} {
		if _, err := cs.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create pod %s: %v", p.Name, err)
		}
	}
	if _, err := cs.CoreV1().Services("golden").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"app": "web"}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create service: %v", err)
	}
	for _, name := range []string{"cm-a", "cm-b"} {
		if _, err := cs.CoreV1().ConfigMaps("golden").Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Data:       map[string]string{"key": "value-" + name},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create configmap %s: %v", name, err)
		}
	}
	labels := map[string]string{"app": "web"}
	if _, err := cs.AppsV1().Deployments("golden").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       pod("", "", nil).Spec,
			},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	if _, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "node-1", Labels: map[string]string{"kubernetes.io/hostname": "node-1"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create node: %v", err)
	}
}

// TestGolden_OurKubectlPrintsWhatUpstreamPrints runs every corpus case
// with both kubectls and compares.
func TestGolden_OurKubectlPrintsWhatUpstreamPrints(t *testing.T) {
	upstream := upstreamKubectl(t)
	e, s := startEnv(t)
	createFixtures(t, s.Client)
	ourHome, upHome := filepath.Join(e.dir, "home-ours"), filepath.Join(e.dir, "home-upstream")
	for _, h := range []string{ourHome, upHome} {
		if err := os.MkdirAll(h, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, gc := range corpus() {
		t.Run(caseName(gc.args), func(t *testing.T) {
			ours := e.runCase(t, ourKubectl, ourHome, gc)
			theirs := e.runCase(t, upstream, upHome, gc)
			compare(t, gc, ours, theirs)
		})
	}
}
