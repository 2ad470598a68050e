//go:build e2e

package node

import (
	"context"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A container with stdin: true keeps a stdin pipe that the upstream
// `kubectl attach -i` writes to; with stdinOnce the container's stdin is
// closed when that session ends (cat exits 0). A tty: true container runs
// on a terminal.
func TestPod_StdinAttachAndTTY(t *testing.T) {
	n := startNode(t)
	k := newKubectl(t, n)
	ctx := context.Background()
	n.createPod(&v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "cat"}, Spec: v1.PodSpec{
		RestartPolicy: v1.RestartPolicyNever,
		Containers:    []v1.Container{{Name: "cat", Image: busyboxImage, Command: []string{"cat"}, Stdin: true, StdinOnce: true}},
	}})
	n.createPod(&v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "tty"}, Spec: v1.PodSpec{
		Containers: []v1.Container{{Name: "tty", Image: busyboxImage, TTY: true,
			Command: []string{"sh", "-c", "if [ -t 1 ]; then echo on-a-terminal; else echo no-terminal; fi; sleep 3600"}}},
	}})
	n.waitPod("cat", 60*time.Second, "Running", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })

	// cat is still running: it has a stdin that nobody closed.
	time.Sleep(500 * time.Millisecond)
	if p := n.waitPod("cat", time.Second, "Running", func(p *v1.Pod) bool { return true }); p.Status.Phase != v1.PodRunning {
		t.Fatalf("cat with an open stdin is not running: %s", describe(p))
	}
	out, errOut, code := k.run("hello from attach\n", "attach", "-i", "cat", "-c", "cat")
	if code != 0 {
		logs, _ := n.admin.CoreV1().Pods(testNamespace).GetLogs("cat", &v1.PodLogOptions{Container: "cat"}).DoRaw(ctx)
		p, _ := n.admin.CoreV1().Pods(testNamespace).Get(ctx, "cat", metav1.GetOptions{})
		t.Fatalf("kubectl attach -i: exit %d: %s; output %q; log %q; pod %s", code, errOut, out, logs, describe(p))
	}
	if !strings.Contains(out, "hello from attach") {
		t.Errorf("kubectl attach -i output %q, want the echoed line", out)
	}
	p := n.waitPod("cat", 30*time.Second, "cat exits after stdinOnce closes its input", func(p *v1.Pod) bool {
		cs := containerStatus(p, "cat")
		return cs != nil && cs.State.Terminated != nil
	})
	if term := containerStatus(p, "cat").State.Terminated; term.ExitCode != 0 || term.Reason != "Completed" {
		t.Errorf("cat ended %d %s, want 0 Completed", term.ExitCode, term.Reason)
	}
	logs, err := n.admin.CoreV1().Pods(testNamespace).GetLogs("cat", &v1.PodLogOptions{Container: "cat"}).DoRaw(ctx)
	if err != nil || string(logs) != "hello from attach\n" {
		t.Errorf("cat's log %q (%v)", logs, err)
	}

	n.waitPod("tty", 60*time.Second, "Running", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
	n.eventually(20*time.Second, "tty container's output", func() (bool, string) {
		logs, err := n.admin.CoreV1().Pods(testNamespace).GetLogs("tty", &v1.PodLogOptions{Container: "tty"}).DoRaw(ctx)
		return err == nil && strings.Contains(string(logs), "on-a-terminal"), string(logs)
	})
}
