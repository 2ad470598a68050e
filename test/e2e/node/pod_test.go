//go:build e2e

package node

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func testServerPod(name string) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.PodSpec{Containers: []v1.Container{{
			Name: "server", Image: testServerImage, ImagePullPolicy: v1.PullIfNotPresent,
			Ports: []v1.ContainerPort{{ContainerPort: 8080}},
		}}},
	}
}

func httpGet(url string) (string, error) {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestNode_RegistersReadyWithLease(t *testing.T) {
	n := startNode(t)
	ctx := context.Background()
	n.eventually(30*time.Second, "node Ready", func() (bool, string) {
		node, err := n.admin.CoreV1().Nodes().Get(ctx, n.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, c := range node.Status.Conditions {
			if c.Type == v1.NodeReady {
				return c.Status == v1.ConditionTrue, c.Reason + ": " + c.Message
			}
		}
		return false, "no Ready condition"
	})
	node, _ := n.admin.CoreV1().Nodes().Get(ctx, n.cfg.NodeName, metav1.GetOptions{})
	if v := node.Status.NodeInfo.ContainerRuntimeVersion; !strings.HasPrefix(v, "containerd://") {
		t.Errorf("containerRuntimeVersion = %q", v)
	}
	if node.Spec.PodCIDR != n.cfg.PodCIDR {
		t.Errorf("podCIDR = %q, want %q", node.Spec.PodCIDR, n.cfg.PodCIDR)
	}
	if node.Status.Capacity.Cpu().IsZero() || node.Status.Capacity.Memory().IsZero() || node.Status.Capacity.Pods().Value() != 110 {
		t.Errorf("capacity = %v", node.Status.Capacity)
	}
	if len(node.Status.Addresses) == 0 || node.Status.Addresses[0].Address != "127.0.0.1" {
		t.Errorf("addresses = %v", node.Status.Addresses)
	}
	var lease *coordinationv1.Lease
	n.eventually(20*time.Second, "node lease", func() (bool, string) {
		var err error
		lease, err = n.admin.CoordinationV1().Leases("kube-node-lease").Get(ctx, n.cfg.NodeName, metav1.GetOptions{})
		return err == nil, fmt.Sprint(err)
	})
	if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != n.cfg.NodeName || lease.Spec.RenewTime == nil {
		t.Errorf("lease spec = %+v", lease.Spec)
	}
}

func TestPod_RunsAnswersHTTPLogsAndIsDeletedCleanly(t *testing.T) {
	n := startNode(t)
	ctx := context.Background()
	pod := n.createPod(testServerPod("web"))
	p := n.waitPod("web", 60*time.Second, "Running and Ready", func(p *v1.Pod) bool {
		return p.Status.Phase == v1.PodRunning && podReady(p) && p.Status.PodIP != ""
	})
	cs := containerStatus(p, "server")
	if !strings.HasPrefix(cs.ContainerID, "containerd://") || cs.RestartCount != 0 || cs.State.Running == nil {
		t.Errorf("container status = %+v", cs)
	}
	if p.Status.HostIP != "127.0.0.1" || p.Status.QOSClass != v1.PodQOSBestEffort || p.Status.StartTime == nil {
		t.Errorf("status hostIP=%q qos=%q startTime=%v", p.Status.HostIP, p.Status.QOSClass, p.Status.StartTime)
	}
	var body string
	n.eventually(20*time.Second, "pod answers HTTP from the host", func() (bool, string) {
		var err error
		body, err = httpGet("http://" + p.Status.PodIP + ":8080/")
		return err == nil, fmt.Sprint(err)
	})
	if body != "web" {
		t.Errorf("GET / = %q, want the pod's hostname web", body)
	}

	logPath := filepath.Join(n.cfg.PodLogsDir, fmt.Sprintf("%s_%s_%s", testNamespace, "web", pod.UID), "server", "0.log")
	criLine := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z (stdout|stderr) (F|P) .*$`)
	n.eventually(10*time.Second, "CRI log written", func() (bool, string) {
		b, err := os.ReadFile(logPath)
		if err != nil {
			return false, err.Error()
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if !criLine.MatchString(line) {
				return false, fmt.Sprintf("not a CRI log line: %q", line)
			}
		}
		return strings.Contains(string(b), " stderr F ") && strings.Contains(string(b), "serving on :8080"), string(b)
	})

	if err := n.admin.CoreV1().Pods(testNamespace).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	n.eventually(40*time.Second, "pod object deleted by the kubelet", func() (bool, string) {
		_, err := n.admin.CoreV1().Pods(testNamespace).Get(ctx, "web", metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
	n.assertNothingLeft()
	if _, err := os.Stat(filepath.Dir(filepath.Dir(logPath))); !os.IsNotExist(err) {
		t.Errorf("pod log dir left behind: %v", err)
	}
}

func TestPod_ContainersTalkOverLocalhost(t *testing.T) {
	n := startNode(t)
	pod := testServerPod("pair")
	pod.Spec.Containers = append(pod.Spec.Containers, v1.Container{
		Name: "client", Image: busyboxImage,
		Command: []string{"sh", "-c", "until wget -qO- http://127.0.0.1:8080/echo?msg=hello-neighbour; do sleep 0.2; done; echo; exec sleep 3600"},
	})
	pod = n.createPod(pod)
	n.waitPod("pair", 60*time.Second, "Running and Ready", func(p *v1.Pod) bool { return podReady(p) })
	logPath := filepath.Join(n.cfg.PodLogsDir, fmt.Sprintf("%s_pair_%s", testNamespace, pod.UID), "client", "0.log")
	n.eventually(20*time.Second, "client reached the server over localhost", func() (bool, string) {
		b, _ := os.ReadFile(logPath)
		return strings.Contains(string(b), " stdout F hello-neighbour"), string(b)
	})
}

func TestPod_InitContainersRunInOrder(t *testing.T) {
	n := startNode(t)
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "init"},
		Spec: v1.PodSpec{
			InitContainers: []v1.Container{
				{Name: "first", Image: busyboxImage, Command: []string{"sh", "-c", "sleep 1"}},
				{Name: "second", Image: busyboxImage, Command: []string{"true"}},
			},
			Containers: []v1.Container{{Name: "main", Image: busyboxImage, Command: []string{"sleep", "3600"}}},
		},
	}
	n.createPod(pod)
	p := n.waitPod("init", 60*time.Second, "Running", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning && podReady(p) })
	first, second, main := containerStatus(p, "first"), containerStatus(p, "second"), containerStatus(p, "main")
	for _, c := range []*v1.ContainerStatus{first, second} {
		if c.State.Terminated == nil || c.State.Terminated.ExitCode != 0 || c.State.Terminated.Reason != "Completed" {
			t.Fatalf("init container %s: %s", c.Name, stateString(c.State))
		}
	}
	if second.State.Terminated.StartedAt.Before(&first.State.Terminated.FinishedAt) {
		t.Errorf("second init container started %v, before the first finished %v", second.State.Terminated.StartedAt, first.State.Terminated.FinishedAt)
	}
	if main.State.Running.StartedAt.Before(&second.State.Terminated.FinishedAt) {
		t.Errorf("main container started before the init containers finished")
	}
}

func TestPod_CrashingContainerBacksOff(t *testing.T) {
	n := startNode(t)
	n.createPod(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "crash"},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: busyboxImage, Command: []string{"sh", "-c", "echo dying; exit 1"}}}},
	})
	p := n.waitPod("crash", 60*time.Second, "CrashLoopBackOff after a restart", func(p *v1.Pod) bool {
		cs := containerStatus(p, "c")
		return cs != nil && cs.RestartCount >= 1 && cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff"
	})
	cs := containerStatus(p, "c")
	last := cs.LastTerminationState.Terminated
	if last == nil || last.ExitCode != 1 || last.Reason != "Error" {
		t.Errorf("lastState = %s, want terminated Error exit code 1", stateString(cs.LastTerminationState))
	}
	if !strings.Contains(cs.State.Waiting.Message, "back-off 10s") {
		t.Errorf("waiting message = %q, want the first back-off of 10s", cs.State.Waiting.Message)
	}
	if p.Status.Phase != v1.PodRunning || podReady(p) {
		t.Errorf("phase=%s ready=%v, want Running and not ready", p.Status.Phase, podReady(p))
	}
	// After the 10 s back-off it restarts once more and the back-off doubles.
	n.waitPod("crash", 40*time.Second, "back-off doubled", func(p *v1.Pod) bool {
		cs := containerStatus(p, "c")
		return cs.RestartCount >= 2 && cs.State.Waiting != nil && strings.Contains(cs.State.Waiting.Message, "back-off 20s")
	})
}

func TestPod_MissingImageIsErrImagePullThenBackOff(t *testing.T) {
	n := startNode(t)
	n.createPod(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "noimage"},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "kstack.invalid/does-not-exist:1", ImagePullPolicy: v1.PullIfNotPresent}}},
	})
	seen := map[string]bool{}
	n.waitPod("noimage", 90*time.Second, "ErrImagePull then ImagePullBackOff", func(p *v1.Pod) bool {
		if cs := containerStatus(p, "c"); cs != nil && cs.State.Waiting != nil {
			seen[cs.State.Waiting.Reason] = true
			if cs.State.Waiting.Reason == "ImagePullBackOff" && !strings.Contains(cs.State.Waiting.Message, "does-not-exist") {
				t.Errorf("ImagePullBackOff message lacks the image: %q", cs.State.Waiting.Message)
			}
		}
		return seen["ErrImagePull"] && seen["ImagePullBackOff"]
	})
	p, _ := n.admin.CoreV1().Pods(testNamespace).Get(context.Background(), "noimage", metav1.GetOptions{})
	if p.Status.Phase != v1.PodPending {
		t.Errorf("phase = %s, want Pending", p.Status.Phase)
	}
}

func TestKubelet_RestartKeepsRunningContainers(t *testing.T) {
	n := startNode(t)
	n.createPod(testServerPod("keep"))
	p := n.waitPod("keep", 60*time.Second, "Running and Ready", func(p *v1.Pod) bool { return podReady(p) })
	before := containerStatus(p, "server").ContainerID
	n.stopKubelet()
	n.startKubelet()
	// Let the new kubelet sync the pod a few times.
	time.Sleep(5 * time.Second)
	p = n.waitPod("keep", 30*time.Second, "Running and Ready", func(p *v1.Pod) bool { return podReady(p) })
	cs := containerStatus(p, "server")
	if cs.ContainerID != before || cs.RestartCount != 0 {
		t.Errorf("after a kubelet restart: containerID %s restarts %d, want %s and 0", cs.ContainerID, cs.RestartCount, before)
	}
	if body, err := httpGet("http://" + p.Status.PodIP + ":8080/"); err != nil || body != "keep" {
		t.Errorf("GET after restart = %q, %v", body, err)
	}
}

func TestKubelet_CleansUpPodsDeletedWhileDown(t *testing.T) {
	n := startNode(t)
	ctx := context.Background()
	n.createPod(testServerPod("orphan"))
	n.waitPod("orphan", 60*time.Second, "Running and Ready", func(p *v1.Pod) bool { return podReady(p) })
	n.stopKubelet()
	if err := n.admin.CoreV1().Pods(testNamespace).Delete(ctx, "orphan", metav1.DeleteOptions{GracePeriodSeconds: ptrInt64(0)}); err != nil {
		t.Fatal(err)
	}
	n.startKubelet()
	n.assertNothingLeft()
}

func TestPod_DeletionSendsSIGTERMThenSIGKILLAfterGrace(t *testing.T) {
	n := startNode(t)
	ctx := context.Background()
	// testserver exits on SIGTERM; a shell as PID 1 ignores it and must be
	// killed when the grace period ends.
	polite := testServerPod("polite")
	polite.Spec.TerminationGracePeriodSeconds = ptrInt64(20)
	n.createPod(polite)
	stubborn := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "stubborn"},
		Spec: v1.PodSpec{
			TerminationGracePeriodSeconds: ptrInt64(3),
			Containers:                    []v1.Container{{Name: "c", Image: busyboxImage, Command: []string{"sh", "-c", "while true; do sleep 1; done"}}},
		},
	}
	n.createPod(stubborn)
	for _, name := range []string{"polite", "stubborn"} {
		n.waitPod(name, 60*time.Second, "Running", func(p *v1.Pod) bool { return podReady(p) })
	}
	for _, tc := range []struct {
		name     string
		min, max time.Duration
	}{
		{"polite", 0, 8 * time.Second},
		{"stubborn", 3 * time.Second, 15 * time.Second},
	} {
		start := time.Now()
		if err := n.admin.CoreV1().Pods(testNamespace).Delete(ctx, tc.name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		n.eventually(30*time.Second, tc.name+" deleted", func() (bool, string) {
			_, err := n.admin.CoreV1().Pods(testNamespace).Get(ctx, tc.name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), fmt.Sprint(err)
		})
		if took := time.Since(start); took < tc.min || took > tc.max {
			t.Errorf("%s: deletion took %v, want between %v and %v", tc.name, took, tc.min, tc.max)
		}
	}
}

func TestPod_EnvFromConfigMapSecretAndDownwardAPI(t *testing.T) {
	n := startNode(t)
	ctx := context.Background()
	if _, err := n.admin.CoreV1().ConfigMaps(testNamespace).Create(ctx, &v1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "settings"}, Data: map[string]string{"COLOR": "blue"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.admin.CoreV1().Secrets(testNamespace).Create(ctx, &v1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "creds"}, Data: map[string][]byte{"token": []byte("s3cr3t")},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = n.admin.CoreV1().ConfigMaps(testNamespace).Delete(ctx, "settings", metav1.DeleteOptions{})
		_ = n.admin.CoreV1().Secrets(testNamespace).Delete(ctx, "creds", metav1.DeleteOptions{})
	})
	pod := n.createPod(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "env"},
		Spec: v1.PodSpec{Containers: []v1.Container{{
			Name: "c", Image: busyboxImage,
			Command: []string{"sh", "-c", "env | sort; sleep 3600"},
			EnvFrom: []v1.EnvFromSource{{ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "settings"}}}},
			Env: []v1.EnvVar{
				{Name: "TOKEN", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "creds"}, Key: "token"}}},
				{Name: "MY_POD", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
				{Name: "MY_IP", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
				{Name: "MSG", Value: "color=$(COLOR)"},
			},
		}}},
	})
	p := n.waitPod("env", 60*time.Second, "Running", func(p *v1.Pod) bool { return podReady(p) })
	logPath := filepath.Join(n.cfg.PodLogsDir, fmt.Sprintf("%s_env_%s", testNamespace, pod.UID), "c", "0.log")
	want := []string{"COLOR=blue", "TOKEN=s3cr3t", "MY_POD=env", "MY_IP=" + p.Status.PodIP, "MSG=color=blue"}
	n.eventually(10*time.Second, "env printed", func() (bool, string) {
		b, _ := os.ReadFile(logPath)
		for _, w := range want {
			if !strings.Contains(string(b), " stdout F "+w+"\n") {
				return false, fmt.Sprintf("missing %q in:\n%s", w, b)
			}
		}
		return true, ""
	})
}

func TestPod_ReadinessProbeGatesReady(t *testing.T) {
	n := startNode(t)
	pod := testServerPod("ready")
	pod.Spec.Containers[0].ReadinessProbe = &v1.Probe{
		ProbeHandler:     v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}},
		PeriodSeconds:    1,
		FailureThreshold: 1,
	}
	n.createPod(pod)
	p := n.waitPod("ready", 60*time.Second, "Ready", func(p *v1.Pod) bool { return podReady(p) })
	if _, err := httpGet("http://" + p.Status.PodIP + ":8080/sethealthz?ok=false"); err != nil {
		t.Fatal(err)
	}
	n.waitPod("ready", 20*time.Second, "not Ready while /healthz fails", func(p *v1.Pod) bool {
		cs := containerStatus(p, "server")
		return !podReady(p) && !cs.Ready && cs.State.Running != nil && cs.RestartCount == 0
	})
	if _, err := httpGet("http://" + p.Status.PodIP + ":8080/sethealthz?ok=true"); err != nil {
		t.Fatal(err)
	}
	n.waitPod("ready", 20*time.Second, "Ready again", func(p *v1.Pod) bool { return podReady(p) })
}

func TestPod_FailingLivenessProbeRestartsContainer(t *testing.T) {
	n := startNode(t)
	n.createPod(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "live"},
		Spec: v1.PodSpec{Containers: []v1.Container{{
			Name: "c", Image: busyboxImage,
			Command: []string{"sh", "-c", "touch /tmp/healthy; sleep 3; rm /tmp/healthy; sleep 3600"},
			LivenessProbe: &v1.Probe{
				ProbeHandler:     v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"cat", "/tmp/healthy"}}},
				PeriodSeconds:    1,
				FailureThreshold: 2,
			},
		}}},
	})
	n.waitPod("live", 60*time.Second, "restarted by the liveness probe", func(p *v1.Pod) bool {
		cs := containerStatus(p, "c")
		return cs != nil && cs.RestartCount >= 1 && cs.LastTerminationState.Terminated != nil
	})
}
