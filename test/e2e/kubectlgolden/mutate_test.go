package kubectlgolden

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/kstack/kstack/test/integration/framework"
)

// step is one invocation of a mutating scenario. "$NS" in args, stdin
// and env is the run's namespace (cluster-scoped names use it to stay
// apart between the two runs); "$DIR" is the run's directory.
type step struct {
	args  []string
	stdin string
	env   []string
	// maskLines masks values that legitimately differ between the runs.
	maskLines *regexp.Regexp
}

// scenario is a sequence of steps run once by each kubectl, each in a
// fresh namespace of its own (the context's namespace) and a directory
// holding files; at the end the objects of the listed resources in the
// namespace are compared too.
type scenario struct {
	name  string
	files map[string]string
	steps []step
	// objects are the resources ("deployments.v1.apps", "configmaps.v1.")
	// whose objects in the namespace are compared at the end.
	objects []string
}

// generatedRE matches names the apiserver generates with a random suffix.
var generatedRE = regexp.MustCompile(`(kube-api-access-)[a-z0-9]{5}`)

func s(args ...string) step { return step{args: args} }

// runState is one kubectl's run of a scenario.
type runState struct {
	bin, home, dir, ns, kubeconfig string
}

func (r *runState) expand(v string) string {
	return strings.ReplaceAll(strings.ReplaceAll(v, "$NS", r.ns), "$DIR", r.dir)
}

func (r *runState) run(t *testing.T, st step) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := make([]string, len(st.args))
	for i, a := range st.args {
		args[i] = r.expand(a)
	}
	cmd := exec.CommandContext(ctx, r.bin, args...)
	cmd.Dir = r.dir
	cmd.Env = []string{"HOME=" + r.home, "PATH=" + os.Getenv("PATH"), "LANG=C", "KUBECONFIG=" + r.kubeconfig}
	for _, kv := range st.env {
		cmd.Env = append(cmd.Env, r.expand(kv))
	}
	if st.stdin != "" {
		cmd.Stdin = strings.NewReader(r.expand(st.stdin))
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %v did not finish in time:\n%s\n%s", r.bin, args, out.String(), errb.String())
	}
	code := 0
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("run %s %v: %v", r.bin, args, err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// snapshot renders the compared parts of the namespace's objects: name,
// labels, annotations, and spec, data, rules, subjects and the like
// (status and server-set metadata left out).
func snapshot(t *testing.T, dyn dynamic.Interface, ns string, resources []string) string {
	t.Helper()
	var b strings.Builder
	for _, res := range resources {
		gvr, _ := schema.ParseResourceArg(res)
		if gvr == nil {
			t.Fatalf("bad resource %q (want resource.version.group)", res)
		}
		list, err := dyn.Resource(*gvr).Namespace(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatalf("list %s: %v", res, err)
		}
		items := list.Items
		sort.Slice(items, func(i, j int) bool { return items[i].GetName() < items[j].GetName() })
		for _, item := range items {
			if ns == "" && !strings.Contains(item.GetName(), "golden-m-") {
				continue
			}
			if item.GetName() == "kube-root-ca.crt" || item.GetName() == "default" {
				continue
			}
			view := map[string]any{
				"name":        item.GetName(),
				"labels":      item.GetLabels(),
				"annotations": item.GetAnnotations(),
			}
			for _, k := range []string{"spec", "data", "stringData", "binaryData", "type", "rules", "subjects", "roleRef"} {
				if v, ok := item.Object[k]; ok {
					view[k] = v
				}
			}
			if spec, ok := view["spec"].(map[string]any); ok {
				// Allocated by the apiserver, different per object.
				for _, k := range []string{"clusterIP", "clusterIPs"} {
					delete(spec, k)
				}
				if ports, ok := spec["ports"].([]any); ok {
					for _, p := range ports {
						if pm, ok := p.(map[string]any); ok {
							delete(pm, "nodePort")
						}
					}
				}
			}
			data, err := yaml.Marshal(view)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "--- %s\n%s", res, data)
		}
	}
	return b.String()
}

// TestGolden_MutatingCommandsMatchUpstream runs every mutating scenario
// with both kubectls and compares each step's output and the objects left
// behind.
func TestGolden_MutatingCommandsMatchUpstream(t *testing.T) {
	upstream := upstreamKubectl(t)
	e, srv := startEnv(t)
	dyn, err := dynamic.NewForConfig(srv.Config)
	if err != nil {
		t.Fatal(err)
	}
	base, err := os.ReadFile(e.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for i, sc := range append(mutateScenarios(), mutateScenarios2()...) {
		t.Run(sc.name, func(t *testing.T) {
			runs := []*runState{
				{bin: ourKubectl, ns: fmt.Sprintf("golden-m-%d-a", i)},
				{bin: upstream, ns: fmt.Sprintf("golden-m-%d-b", i)},
			}
			results := make([][]result, 2)
			snaps := make([]string, 2)
			for k, r := range runs {
				setupRun(t, srv, e, r, base, sc)
				for _, st := range sc.steps {
					results[k] = append(results[k], r.run(t, st))
				}
				snaps[k] = snapshot(t, dyn, r.ns, sc.objects)
			}
			for j, st := range sc.steps {
				c := goldenCase{args: st.args, maskLines: st.maskLines}
				nsMask := func(res result, ns string) result {
					re := regexp.MustCompile(regexp.QuoteMeta(ns))
					res.stdout = re.ReplaceAllString(res.stdout, "<ns>")
					res.stderr = re.ReplaceAllString(res.stderr, "<ns>")
					return res
				}
				ours, theirs := nsMask(results[0][j], runs[0].ns), nsMask(results[1][j], runs[1].ns)
				t.Run(fmt.Sprintf("%02d %s", j, caseName(st.args)), func(t *testing.T) {
					compare(t, c, ours, theirs)
				})
			}
			a := mask(generatedRE.ReplaceAllString(strings.ReplaceAll(snaps[0], runs[0].ns, "<ns>"), "${1}<gen>"))
			b := mask(generatedRE.ReplaceAllString(strings.ReplaceAll(snaps[1], runs[1].ns, "<ns>"), "${1}<gen>"))
			if a != b {
				t.Errorf("objects differ\n--- ours ---\n%s\n--- upstream ---\n%s", a, b)
			}
		})
	}
}

// setupRun makes the run's namespace, home, directory with the scenario's
// files, and a kubeconfig whose context namespace is the run's.
func setupRun(t *testing.T, srv *framework.Server, e *env, r *runState, base []byte, sc scenario) {
	t.Helper()
	ctx := context.Background()
	if _, err := srv.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create namespace %s: %v", r.ns, err)
	}
	root := filepath.Join(e.dir, r.ns)
	r.dir = filepath.Join(root, "work")
	r.home = filepath.Join(root, "home")
	for _, d := range []string{r.dir, r.home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r.kubeconfig = filepath.Join(root, "kubeconfig")
	cfg := strings.Replace(string(base), "namespace: golden\n", "namespace: "+r.ns+"\n", 1)
	if err := os.WriteFile(r.kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, content := range sc.files {
		p := filepath.Join(r.dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(r.expand(content)), mode); err != nil {
			t.Fatal(err)
		}
	}
}
