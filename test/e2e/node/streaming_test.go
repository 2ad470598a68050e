//go:build e2e

package node

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// kubectl runs the upstream kubectl (make kubectl-upstream) against the
// node's apiserver as the cluster admin.
type kubectl struct {
	t    *testing.T
	bin  string
	args []string
}

func newKubectl(t *testing.T, n *node) *kubectl {
	t.Helper()
	bin := filepath.Join(repoRoot(t), "_output", "tools", "kubectl")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("KSTACK_REQUIRE_E2E") != "" {
			t.Fatalf("upstream kubectl missing: run make kubectl-upstream")
		}
		t.Skip("upstream kubectl missing: run make kubectl-upstream")
	}
	return &kubectl{t: t, bin: bin, args: []string{"--kubeconfig", n.api.PKI.AdminKubeconfig, "--server", n.api.Config.Host, "-n", testNamespace}}
}

func (k *kubectl) cmd(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, k.bin, append(append([]string{}, k.args...), args...)...)
}

// run returns kubectl's stdout, stderr and exit code.
func (k *kubectl) run(stdin string, args ...string) (string, string, int) {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := k.cmd(ctx, args...)
	var out, errOut strings.Builder
	c.Stdout, c.Stderr = &out, &errOut
	if stdin != "" {
		c.Stdin = strings.NewReader(stdin)
	}
	err := c.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		k.t.Fatalf("kubectl %v: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

func (k *kubectl) mustRun(stdin string, args ...string) string {
	k.t.Helper()
	out, errOut, code := k.run(stdin, args...)
	if code != 0 {
		k.t.Fatalf("kubectl %v: exit %d: %s", args, code, errOut)
	}
	return out
}

// TestKubectl_LogsExecAndPortForwardThroughTheAPIServer: the upstream
// kubectl reads logs (all, -f seeing a new line, --previous of a crashed
// container), execs with stdin, with a terminal and with an exit code,
// and port-forwards to the test server, all through our apiserver's pod
// subresources to the kubelet's authorized API.
func TestKubectl_LogsExecAndPortForwardThroughTheAPIServer(t *testing.T) {
	n := startNode(t)
	k := newKubectl(t, n)
	script := `echo first; sleep 0.3; echo err-line >&2; while true; do if [ -f /tmp/go ]; then echo "new-line"; rm /tmp/go; fi; sleep 0.2; done`
	n.createPod(&v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "streams"}, Spec: v1.PodSpec{Containers: []v1.Container{{
		Name: "main", Image: busyboxImage, ImagePullPolicy: v1.PullIfNotPresent, Command: []string{"sh", "-c", script},
	}}}})
	n.createPod(testServerPod("web"))
	n.createPod(&v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "crasher"}, Spec: v1.PodSpec{Containers: []v1.Container{{
		Name: "main", Image: busyboxImage, ImagePullPolicy: v1.PullIfNotPresent,
		Command: []string{"sh", "-c", `echo "run-$(cat /proc/uptime)"; exit 1`},
	}}}})
	running := func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning }
	n.waitPod("streams", 60*time.Second, "running", running)
	n.waitPod("web", 60*time.Second, "running", running)

	t.Run("logs", func(t *testing.T) {
		n.eventually(10*time.Second, "kubectl logs shows both streams", func() (bool, string) {
			out, errOut, _ := k.run("", "logs", "streams")
			return out == "first\nerr-line\n", out + errOut
		})
	})

	t.Run("logs -f sees a new line", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		c := k.cmd(ctx, "logs", "-f", "streams")
		stdout, err := c.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cancel(); _ = c.Wait() }()
		lines := make(chan string, 16)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		want := []string{"first", "err-line"}
		for _, w := range want {
			select {
			case l := <-lines:
				if l != w {
					t.Fatalf("followed line %q, want %q", l, w)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("no line %q from kubectl logs -f", w)
			}
		}
		k.mustRun("", "exec", "streams", "--", "touch", "/tmp/go")
		select {
		case l := <-lines:
			if l != "new-line" {
				t.Fatalf("followed line %q, want new-line", l)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("kubectl logs -f did not show the new line")
		}
	})

	t.Run("exec with stdin", func(t *testing.T) {
		out := k.mustRun("hello from stdin\nsecond line\n", "exec", "-i", "streams", "--", "sh", "-c", "cat; echo done-$?")
		if out != "hello from stdin\nsecond line\ndone-0\n" {
			t.Errorf("exec -i output %q", out)
		}
	})

	t.Run("exec exit code and stderr", func(t *testing.T) {
		out, errOut, code := k.run("", "exec", "streams", "--", "sh", "-c", "echo out; echo oops >&2; exit 3")
		if code != 3 || out != "out\n" || !strings.Contains(errOut, "oops") {
			t.Errorf("exec: code %d, stdout %q, stderr %q; want 3, out, oops", code, out, errOut)
		}
	})

	t.Run("exec with a terminal", func(t *testing.T) {
		// script(1) gives kubectl a terminal, so -t is honoured.
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		line := "stty cols 91 rows 37; " + strings.Join(append([]string{k.bin}, append(k.args, "exec", "-it", "streams", "--", "sh", "-c", "tty; stty size")...), " ")
		c := exec.CommandContext(ctx, "script", "-qfec", line, "/dev/null")
		c.Stdin = strings.NewReader("")
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl exec -it: %v: %s", err, out)
		}
		if !regexp.MustCompile(`/dev/pts/\d+`).Match(out) {
			t.Errorf("exec -it: no terminal in the container: %q", out)
		}
		if !strings.Contains(string(out), "37 91") {
			t.Errorf("exec -it: the terminal size was not passed: %q", out)
		}
	})

	t.Run("port-forward", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		c := k.cmd(ctx, "port-forward", "pod/web", ":8080")
		stdout, err := c.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var errOut strings.Builder
		c.Stderr = &errOut
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cancel(); _ = c.Wait() }()
		portCh := make(chan string, 1)
		go func() {
			re := regexp.MustCompile(`Forwarding from 127\.0\.0\.1:(\d+) -> 8080`)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				if m := re.FindStringSubmatch(sc.Text()); m != nil {
					portCh <- m[1]
				}
			}
			_, _ = io.Copy(io.Discard, stdout)
		}()
		var port string
		select {
		case port = <-portCh:
		case <-time.After(30 * time.Second):
			t.Fatalf("kubectl port-forward did not start: %s", errOut.String())
		}
		// Several connections, each a new stream pair.
		for i := range 3 {
			body, err := httpGet("http://127.0.0.1:" + port + "/hostname")
			if err != nil || strings.TrimSpace(body) != "web" {
				t.Fatalf("request %d through port-forward: %q, %v; kubectl: %s", i, body, err, errOut.String())
			}
		}
	})

	t.Run("logs --previous", func(t *testing.T) {
		n.waitPod("crasher", 90*time.Second, "restarted", func(p *v1.Pod) bool {
			return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount >= 1
		})
		n.eventually(30*time.Second, "kubectl logs --previous", func() (bool, string) {
			out, errOut, code := k.run("", "logs", "--previous", "crasher")
			return code == 0 && strings.HasPrefix(out, "run-") && strings.Count(out, "\n") == 1, fmt.Sprintf("exit %d: %q %s", code, out, errOut)
		})
		_, errOut, code := k.run("", "logs", "--previous", "streams")
		if code == 0 || !strings.Contains(errOut, `previous terminated container "main" in pod "streams" not found`) {
			t.Errorf("logs --previous of a never-restarted container: exit %d, %q", code, errOut)
		}
	})
}
