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
	"strings"
	"testing"
	"time"

	"github.com/kstack/kstack/test/e2e/e2eutil"
)

// ourKubectl is the binary TestMain builds from ./cmd/kubectl.
var ourKubectl string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "kubectlgolden-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ourKubectl = filepath.Join(dir, "kubectl")
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	build := exec.Command("go", "build", "-o", ourKubectl, "./cmd/kubectl")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "build our kubectl: %v\n", err)
		return 1
	}
	return m.Run()
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(data), "module github.com/kstack/kstack\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the kstack go.mod above the working directory")
		}
		dir = parent
	}
}

// upstreamKubectl is the upstream kubectl to compare with; the test skips
// without it unless KSTACK_REQUIRE_UPSTREAM is set.
func upstreamKubectl(t *testing.T) string {
	t.Helper()
	path := e2eutil.EnvOr("KSTACK_KUBECTL_BIN", filepath.Join(e2eutil.RepoRoot(t), "_output", "tools", "kubectl"))
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("KSTACK_REQUIRE_UPSTREAM") != "" {
			t.Fatalf("KSTACK_REQUIRE_UPSTREAM is set but %s is missing (make kubectl-upstream): %v", path, err)
		}
		t.Skipf("upstream kubectl %s is missing (make kubectl-upstream, or make test)", path)
	}
	return path
}

// env is one cluster both kubectls talk to, with a kubeconfig each and a
// home each (their discovery caches stay apart).
type env struct {
	dir        string
	server     string
	kubeconfig string
	upstream   string
}

// result is one run of one kubectl.
type result struct {
	stdout, stderr string
	code           int
}

func (e *env) run(t *testing.T, bin, home string, c goldenCase) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, c.args...)
	cmd.Dir = e.dir
	kubeconfig := e.kubeconfig
	if c.kubeconfig != "" {
		kubeconfig = c.kubeconfig
	}
	cmd.Env = []string{
		"HOME=" + home,
		"PATH=" + os.Getenv("PATH"),
		"LANG=C",
	}
	if !hasEnv(c.env, "KUBECONFIG") {
		cmd.Env = append(cmd.Env, "KUBECONFIG="+kubeconfig)
	}
	for _, kv := range c.env {
		cmd.Env = append(cmd.Env, strings.ReplaceAll(kv, "$DIR", e.dir))
	}
	if c.stdin != "" {
		cmd.Stdin = strings.NewReader(c.stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("run %s %v: %v", bin, c.args, err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

var (
	uidRE       = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	rvRE        = regexp.MustCompile(`("?resourceVersion"?:\s*)"?\d+"?`)
	timeRE      = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z`)
	ageRE       = regexp.MustCompile(`(^|\s)(\d+[smhdy]|\d+[mhd]\d+[smh]|<invalid>)(\s|$|\))`)
	spacesRE    = regexp.MustCompile(` {2,}`)
	klogRE      = regexp.MustCompile(`(?m)^([IWEF])\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+ `)
	tmpDirRE    = regexp.MustCompile(`/tmp/[^\s"']*kubectlgolden[^\s"'/]*`)
	cacheFileRE = regexp.MustCompile(`/[^\s]*/\.kube/cache/[^\s]*`)
)

// mask replaces what may differ between two runs against one cluster. A
// table whose ages were masked has its column padding collapsed too (an
// age's width can differ between the runs).
func mask(s string) string {
	s = klogRE.ReplaceAllString(s, "${1}<klog> ")
	s = uidRE.ReplaceAllString(s, "<uid>")
	s = rvRE.ReplaceAllString(s, `${1}"<rv>"`)
	s = timeRE.ReplaceAllString(s, "<time>")
	s = tmpDirRE.ReplaceAllString(s, "<tmp>")
	s = cacheFileRE.ReplaceAllString(s, "<cache>")
	lines := strings.Split(s, "\n")
	aged := false
	for i, l := range lines {
		m := ageRE.ReplaceAllString(l, "${1}<age>${3}")
		// Twice: adjacent matches share the separating space.
		m = ageRE.ReplaceAllString(m, "${1}<age>${3}")
		if m != l {
			aged = true
		}
		lines[i] = m
	}
	if aged {
		for i, l := range lines {
			lines[i] = spacesRE.ReplaceAllString(l, " ")
		}
	}
	return strings.Join(lines, "\n")
}

func writeKubeconfig(t *testing.T, path, server, ca, cert, key string) {
	t.Helper()
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kstack
  cluster:
    server: %s
    certificate-authority: %s
- name: other
  cluster:
    server: https://127.0.0.1:1
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    client-certificate: %s
    client-key: %s
- name: someone
  user:
    token: not-a-real-token
contexts:
- name: kstack
  context:
    cluster: kstack
    user: admin
    namespace: golden
- name: other
  context:
    cluster: other
    user: someone
    namespace: elsewhere
current-context: kstack
`, server, ca, cert, key)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatalf("write kubeconfig: %v", err)
	}
}

// runCase runs c with bin, on a fresh copy of the kubeconfig when c
// mutates it (whose content then joins stdout).
func (e *env) runCase(t *testing.T, bin, home string, c goldenCase) result {
	t.Helper()
	if !c.mutatesKubeconfig {
		return e.run(t, bin, home, c)
	}
	data, err := os.ReadFile(e.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(e.dir, "mutated.kubeconfig")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	c.kubeconfig = path
	r := e.run(t, bin, home, c)
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r.stdout += "\n--- kubeconfig after ---\n" + string(after)
	return r
}

func caseName(args []string) string {
	n := strings.Join(args, " ")
	if n == "" {
		return "no-args"
	}
	return n
}

// compare fails the test when the two runs differ after masking.
func compare(t *testing.T, c goldenCase, ours, theirs result) {
	t.Helper()
	norm := func(s string) string {
		if c.dropLines != nil {
			s = c.dropLines.ReplaceAllString(s, "")
		}
		if c.maskLines != nil {
			s = c.maskLines.ReplaceAllString(s, "${1}<masked>")
		}
		return mask(s)
	}
	if ours.code != theirs.code {
		t.Errorf("exit code: ours %d, upstream %d", ours.code, theirs.code)
	}
	if a, b := norm(ours.stdout), norm(theirs.stdout); a != b {
		t.Errorf("stdout differs\n--- ours ---\n%s\n--- upstream ---\n%s", a, b)
	}
	if a, b := norm(ours.stderr), norm(theirs.stderr); a != b {
		t.Errorf("stderr differs\n--- ours ---\n%s\n--- upstream ---\n%s", a, b)
	}
}

func hasEnv(env []string, key string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") {
			return true
		}
	}
	return false
}
