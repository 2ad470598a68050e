//go:build e2e

package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// podEvents lists the Events about pod (by its UID) the kubelet of n
// recorded.
func (n *node) podEvents(pod *v1.Pod) []v1.Event {
	n.t.Helper()
	sel := fields.Set{"involvedObject.uid": string(pod.UID), "source": "kubelet"}.AsSelector().String()
	list, err := n.admin.CoreV1().Events(pod.Namespace).List(context.Background(), metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		n.t.Fatalf("list events of %s: %v", pod.Name, err)
	}
	return list.Items
}

// eventMatch describes an expected event.
type eventMatch struct {
	typ, reason, fieldPath string
	message                *regexp.Regexp
}

func (m eventMatch) String() string {
	return fmt.Sprintf("%s %s [%s] %s", m.typ, m.reason, m.fieldPath, m.message)
}

func (m eventMatch) matches(e v1.Event) bool {
	return e.Type == m.typ && e.Reason == m.reason && e.InvolvedObject.FieldPath == m.fieldPath && m.message.MatchString(e.Message)
}

// waitEvents waits until pod has an event matching each of ms, then
// checks the kubelet's marks on them, and returns them.
func (n *node) waitEvents(pod *v1.Pod, timeout time.Duration, ms ...eventMatch) []v1.Event {
	n.t.Helper()
	var evs []v1.Event
	n.eventually(timeout, "events of "+pod.Name, func() (bool, string) {
		evs = n.podEvents(pod)
		var missing []string
		for _, m := range ms {
			found := false
			for _, e := range evs {
				found = found || m.matches(e)
			}
			if !found {
				missing = append(missing, m.String())
			}
		}
		return len(missing) == 0, fmt.Sprintf("missing %q among %s", missing, eventsString(evs))
	})
	for _, e := range evs {
		o := e.InvolvedObject
		if e.Source.Component != "kubelet" || e.Source.Host != n.cfg.NodeName {
			n.t.Errorf("event %s %s: source %+v, want kubelet on %s", e.Reason, e.Message, e.Source, n.cfg.NodeName)
		}
		if o.Kind != "Pod" || o.APIVersion != "v1" || o.Name != pod.Name || o.Namespace != pod.Namespace || o.ResourceVersion == "" {
			n.t.Errorf("event %s %s: involvedObject %+v, want the pod %s with its resourceVersion", e.Reason, e.Message, o, pod.Name)
		}
		if e.Count < 1 || e.FirstTimestamp.IsZero() || e.LastTimestamp.IsZero() {
			n.t.Errorf("event %s %s: count %d first %v last %v", e.Reason, e.Message, e.Count, e.FirstTimestamp, e.LastTimestamp)
		}
	}
	return evs
}

func eventsString(evs []v1.Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "\n  %s %s [%s] %q x%d", e.Type, e.Reason, e.InvolvedObject.FieldPath, e.Message, e.Count)
	}
	return b.String()
}

func match(typ, reason, fieldPath, message string) eventMatch {
	return eventMatch{typ: typ, reason: reason, fieldPath: fieldPath, message: regexp.MustCompile(message)}
}

// TestEvents_KubeletRecordsPodAndNodeEventsThatKubectlDescribes: the
// kubelet's Events, with upstream's reasons, messages and field paths,
// reach the API for a pod that runs, one that crash-loops and one whose
// image is missing, and the upstream kubectl's describe lists them; the
// node has its Starting and condition events.
func TestEvents_KubeletRecordsPodAndNodeEventsThatKubectlDescribes(t *testing.T) {
	n := startNode(t)
	kubectl := newKubectl(t, n)
	run := n.createPod(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "ev-run"},
		Spec: v1.PodSpec{
			InitContainers: []v1.Container{{Name: "init", Image: busyboxImage, Command: []string{"true"}}},
			Containers:     []v1.Container{{Name: "c", Image: busyboxImage, Command: []string{"sleep", "3600"}}},
		},
	})
	crash := n.createPod(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "ev-crash"},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: busyboxImage, Command: []string{"sh", "-c", "exit 1"}}}},
	})
	missing := n.createPod(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "ev-noimage"},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "kstack.invalid/does-not-exist:1", ImagePullPolicy: v1.PullIfNotPresent}}},
	})

	present := func(path string) []eventMatch {
		return []eventMatch{
			match("Normal", "Pulled", path, `^Container image "`+regexp.QuoteMeta(busyboxImage)+`" already present on machine`),
			match("Normal", "Created", path, `^Container created$`),
			match("Normal", "Started", path, `^Container started$`),
		}
	}
	n.waitEvents(run, 60*time.Second, append(present("spec.initContainers{init}"), present("spec.containers{c}")...)...)
	n.waitEvents(crash, 60*time.Second, append(present("spec.containers{c}"),
		match("Warning", "BackOff", "spec.containers{c}", `^Back-off restarting failed container c in pod ev-crash_default\(`+string(crash.UID)+`\)$`))...)
	const image = `"kstack\.invalid/does-not-exist:1"`
	n.waitEvents(missing, 60*time.Second,
		match("Normal", "Pulling", "spec.containers{c}", `^Pulling image `+image+`$`),
		match("Warning", "Failed", "spec.containers{c}", `^Failed to pull image `+image+`: .+`),
		match("Warning", "Failed", "spec.containers{c}", `^Error: ErrImagePull$`),
		match("Normal", "BackOff", "spec.containers{c}", `^Back-off pulling image `+image+`$`),
		match("Warning", "Failed", "spec.containers{c}", `^Error: ImagePullBackOff$`),
	)

	// The upstream kubectl's describe finds them (by the pod's UID) and
	// shows each with its field path.
	out := kubectl.mustRun("", "describe", "pod", "ev-run")
	for _, re := range []string{
		`(?m)^\s+Normal\s+Pulled\s+.*\s+kubelet\s+spec\.containers\{c\}: Container image "` + regexp.QuoteMeta(busyboxImage) + `" already present on machine`,
		`(?m)^\s+Normal\s+Created\s+.*\s+kubelet\s+spec\.initContainers\{init\}: Container created$`,
		`(?m)^\s+Normal\s+Started\s+.*\s+kubelet\s+spec\.containers\{c\}: Container started$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("kubectl describe pod ev-run: no line matching %s in:\n%s", re, out)
		}
	}
	out = kubectl.mustRun("", "describe", "pod", "ev-crash")
	if !regexp.MustCompile(`(?m)^\s+Warning\s+BackOff\s+.*\s+kubelet\s+spec\.containers\{c\}: Back-off restarting failed container c in pod ev-crash_default`).MatchString(out) {
		t.Errorf("kubectl describe pod ev-crash: no BackOff event in:\n%s", out)
	}
	out = kubectl.mustRun("", "describe", "pod", "ev-noimage")
	for _, re := range []string{
		`(?m)^\s+Warning\s+Failed\s+.*\s+kubelet\s+spec\.containers\{c\}: Error: ErrImagePull$`,
		`(?m)^\s+Normal\s+BackOff\s+.*\s+kubelet\s+spec\.containers\{c\}: Back-off pulling image "kstack\.invalid/does-not-exist:1"$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("kubectl describe pod ev-noimage: no line matching %s in:\n%s", re, out)
		}
	}

	// Deleting the running pod stops its container: Killing.
	if err := n.admin.CoreV1().Pods(testNamespace).Delete(context.Background(), "ev-run", metav1.DeleteOptions{GracePeriodSeconds: ptrInt64(1)}); err != nil {
		t.Fatal(err)
	}
	n.waitEvents(run, 60*time.Second, match("Normal", "Killing", "spec.containers{c}", `^Stopping container c$`))

	// The node's own events, in the default namespace as upstream's.
	node, err := n.admin.CoreV1().Nodes().Get(context.Background(), n.cfg.NodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.eventually(30*time.Second, "node events", func() (bool, string) {
		sel := fields.Set{"involvedObject.kind": "Node", "involvedObject.name": node.Name, "source": "kubelet"}.AsSelector().String()
		list, err := n.admin.CoreV1().Events(metav1.NamespaceDefault).List(context.Background(), metav1.ListOptions{FieldSelector: sel})
		if err != nil {
			return false, err.Error()
		}
		seen := map[string]string{}
		for _, e := range list.Items {
			if e.InvolvedObject.UID == node.UID {
				seen[e.Reason] = e.Message
			}
		}
		want := map[string]string{
			"Starting":                "Starting kubelet.",
			"NodeHasSufficientMemory": "Node " + node.Name + " status is now: NodeHasSufficientMemory",
			"NodeHasNoDiskPressure":   "Node " + node.Name + " status is now: NodeHasNoDiskPressure",
			"NodeHasSufficientPID":    "Node " + node.Name + " status is now: NodeHasSufficientPID",
		}
		for reason, msg := range want {
			if seen[reason] != msg {
				return false, fmt.Sprintf("node events %v lack %s %q", seen, reason, msg)
			}
		}
		return true, ""
	})
}

// TestEvents_ExecProbeFailuresCarryTheCommandsOutput: a failing exec
// probe's Unhealthy event says what upstream's says, from a real
// container: the command's output (stdout then stderr) on a non-zero
// exit, the timeout when it outlived timeoutSeconds, the runtime's error
// when it could not run.
func TestEvents_ExecProbeFailuresCarryTheCommandsOutput(t *testing.T) {
	n := startNode(t)
	exec := func(timeout int32, cmd ...string) *v1.Probe {
		return &v1.Probe{
			ProbeHandler:   v1.ProbeHandler{Exec: &v1.ExecAction{Command: cmd}},
			TimeoutSeconds: timeout, PeriodSeconds: 2, FailureThreshold: 1000, // never restarted
		}
	}
	pod := n.createPod(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "ev-probes"},
		Spec: v1.PodSpec{Containers: []v1.Container{{
			Name: "c", Image: busyboxImage, Command: []string{"sleep", "3600"},
			Env:            []v1.EnvVar{{Name: "HEALTH_FILE", Value: "/tmp/healthy"}},
			LivenessProbe:  exec(1, "cat", "$(HEALTH_FILE)"),
			ReadinessProbe: exec(1, "sh", "-c", "echo not ready; echo db down >&2; exit 3"),
		}, {
			Name: "slow", Image: busyboxImage, Command: []string{"sleep", "3600"},
			LivenessProbe:  exec(1, "sleep", "10"),
			ReadinessProbe: exec(1, "no-such-command"),
		}, {
			Name: "chatty", Image: busyboxImage, Command: []string{"sleep", "3600"},
			// 20,000 bytes: the message keeps the first 10 KiB.
			LivenessProbe: exec(1, "sh", "-c", "yes | head -c 20000; exit 1"),
			// A background child holds the output pipe open: the probe
			// still ends within its timeout, with what was written.
			ReadinessProbe: exec(1, "sh", "-c", "echo bye; sleep 30 & exit 1"),
		}}},
	})
	tenKiB := strings.Repeat("y\n", 10<<10/2)
	n.waitEvents(pod, 90*time.Second,
		match("Warning", "Unhealthy", "spec.containers{c}", `^Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory\n$`),
		match("Warning", "Unhealthy", "spec.containers{c}", `^Readiness probe failed: not ready\ndb down\n$`),
		match("Warning", "Unhealthy", "spec.containers{slow}", `^Liveness probe failed: command timed out: "sleep 10" timed out after 1s$`),
		match("Warning", "Unhealthy", "spec.containers{slow}", `^Readiness probe errored and resulted in unknown state: .*exec: "no-such-command": executable file not found in \$PATH`),
		match("Warning", "Unhealthy", "spec.containers{chatty}", `^Liveness probe failed: `+tenKiB+`$`),
		match("Warning", "Unhealthy", "spec.containers{chatty}", `^Readiness probe failed: bye\n$`),
	)
	for _, e := range n.podEvents(pod) {
		if len(e.Message) < 1000 {
			t.Logf("%s %s [%s] %q x%d", e.Type, e.Reason, e.InvolvedObject.FieldPath, e.Message, e.Count)
		}
	}
	// A probe that never passes keeps the containers running but unready.
	p := n.waitPod(pod.Name, 30*time.Second, "running, not ready", func(p *v1.Pod) bool {
		for _, name := range []string{"c", "slow", "chatty"} {
			if s := containerStatus(p, name); s == nil || s.State.Running == nil {
				return false
			}
		}
		return true
	})
	for _, name := range []string{"c", "slow", "chatty"} {
		if s := containerStatus(p, name); s.Ready || s.RestartCount != 0 {
			t.Errorf("container %s: ready %v, restarts %d; want unready, never restarted", name, s.Ready, s.RestartCount)
		}
	}
	// Once the pod is gone no probe runs: every exec's output FIFOs were
	// removed with it.
	n.deleteAllPodsAndCheckClean()
	fifos := filepath.Join(n.cfg.StateDir, "exec")
	if entries, err := os.ReadDir(fifos); err != nil || len(entries) > 0 {
		t.Errorf("exec FIFOs left in %s: %d (%v)", fifos, len(entries), err)
	}
}
