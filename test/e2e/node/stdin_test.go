//go:build e2e

package node

import (
	"context"
	"fmt"
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

// A container's stdin outlives an attach session, as containerd's CRI
// keeps it: with stdinOnce false, the end of one `kubectl attach -i` input
// does not end the container's, so a second attach's input reaches the
// same cat, which keeps running; so too with stdinOnce on a tty container
// (containerd closes the stdin of a stdinOnce container only without a
// tty).
func TestPod_StdinSurvivesDetachWithoutStdinOnce(t *testing.T) {
	n := startNode(t)
	k := newKubectl(t, n)
	ctx := context.Background()
	pods := []struct {
		name           string
		stdinOnce, tty bool
	}{
		{"cat", false, false},
		{"cat-tty-once", true, true},
	}
	for _, p := range pods {
		n.createPod(&v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: p.name}, Spec: v1.PodSpec{
			RestartPolicy: v1.RestartPolicyNever,
			Containers:    []v1.Container{{Name: "cat", Image: busyboxImage, Command: []string{"cat"}, Stdin: true, StdinOnce: p.stdinOnce, TTY: p.tty}},
		}})
	}
	for _, pod := range pods {
		n.waitPod(pod.name, 60*time.Second, "Running", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
		logs := func() string {
			b, _ := n.admin.CoreV1().Pods(testNamespace).GetLogs(pod.name, &v1.PodLogOptions{Container: "cat"}).DoRaw(ctx)
			return string(b)
		}
		for i, line := range []string{"first attach", "second attach"} {
			// Without a terminal on its stdin, kubectl attaches without a
			// tty whatever the container has.
			if _, errOut, code := k.run(line+"\n", "attach", "-i", pod.name, "-c", "cat"); code != 0 {
				p, _ := n.admin.CoreV1().Pods(testNamespace).Get(ctx, pod.name, metav1.GetOptions{})
				t.Fatalf("%s: kubectl attach -i #%d: exit %d: %s; log %q; pod %s", pod.name, i+1, code, errOut, logs(), describe(p))
			}
			n.eventually(30*time.Second, pod.name+": cat echoed "+line, func() (bool, string) {
				got := logs()
				if pod.tty { // the terminal echoes the input
					return strings.Count(strings.ReplaceAll(got, "\r\n", "\n"), line+"\n") == 2, fmt.Sprintf("log %q", got)
				}
				want := "first attach\n"
				if i == 1 {
					want += "second attach\n"
				}
				return got == want, fmt.Sprintf("log %q, want %q", got, want)
			})
			p := n.waitPod(pod.name, time.Second, "exists", func(*v1.Pod) bool { return true })
			if cs := containerStatus(p, "cat"); cs == nil || cs.State.Running == nil {
				t.Fatalf("%s: cat stopped after attach #%d ended: %s", pod.name, i+1, describe(p))
			}
		}
	}
}
