//go:build e2e

package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestLifecycle_PostStartAndPreStopHooks(t *testing.T) {
	n := startNode(t)
	ctx := context.Background()
	hostDir := filepath.Join(n.dir, "hooks")
	dirOrCreate := v1.HostPathDirectoryOrCreate
	pod := n.createPod(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "hooks"},
		Spec: v1.PodSpec{
			TerminationGracePeriodSeconds: ptrInt64(10),
			Volumes:                       []v1.Volume{{Name: "h", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: hostDir, Type: &dirOrCreate}}}},
			Containers: []v1.Container{{
				Name: "c", Image: busyboxImage,
				Command:      []string{"sh", "-c", `until [ -f /tmp/poststart ]; do sleep 0.1; done; echo "hook=$(cat /tmp/poststart)"; exec sleep 3600`},
				VolumeMounts: []v1.VolumeMount{{Name: "h", MountPath: "/h"}},
				Lifecycle: &v1.Lifecycle{
					PostStart: &v1.LifecycleHandler{Exec: &v1.ExecAction{Command: []string{"sh", "-c", "echo ran-after-start > /tmp/ps.tmp && mv /tmp/ps.tmp /tmp/poststart"}}},
					PreStop:   &v1.LifecycleHandler{Exec: &v1.ExecAction{Command: []string{"sh", "-c", "echo ran-before-stop > /h/prestop"}}},
				},
			}},
		},
	})
	n.waitPod("hooks", 60*time.Second, "Running", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
	n.waitLog(pod, "c", "hook=ran-after-start", 20*time.Second)
	if _, err := os.Stat(filepath.Join(hostDir, "prestop")); !os.IsNotExist(err) {
		t.Fatalf("preStop ran before deletion: %v", err)
	}
	if err := n.admin.CoreV1().Pods(testNamespace).Delete(ctx, "hooks", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	n.eventually(40*time.Second, "preStop hook ran on deletion", func() (bool, string) {
		b, err := os.ReadFile(filepath.Join(hostDir, "prestop"))
		return strings.TrimSpace(string(b)) == "ran-before-stop", fmt.Sprint(err)
	})
}

func TestLifecycle_ActiveDeadlineSecondsFailsThePod(t *testing.T) {
	n := startNode(t)
	n.createPod(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "deadline"},
		Spec: v1.PodSpec{
			ActiveDeadlineSeconds: ptrInt64(3),
			Containers:            []v1.Container{{Name: "c", Image: busyboxImage, Command: []string{"sleep", "3600"}}},
		},
	})
	n.waitPod("deadline", 60*time.Second, "Running", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
	p := n.waitPod("deadline", 60*time.Second, "Failed", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodFailed })
	if p.Status.Reason != "DeadlineExceeded" {
		t.Errorf("reason = %q, want DeadlineExceeded", p.Status.Reason)
	}
	if cs := containerStatus(p, "c"); cs == nil || cs.State.Terminated == nil {
		t.Errorf("container not terminated: %s", describe(p))
	}
	if podReady(p) {
		t.Error("a failed pod is Ready")
	}
}

func TestLifecycle_SidecarStartsBeforeLaterInitAndOutlivesMain(t *testing.T) {
	n := startNode(t)
	always := v1.ContainerRestartPolicyAlways
	pod := n.createPod(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "sidecar"},
		Spec: v1.PodSpec{
			RestartPolicy: v1.RestartPolicyNever,
			Volumes:       []v1.Volume{{Name: "d", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}}},
			InitContainers: []v1.Container{
				{
					Name: "side", Image: busyboxImage, RestartPolicy: &always,
					Command:      []string{"sh", "-c", `echo side >> /d/order; trap 'echo side-stopped-after-main; exit 0' TERM; while true; do sleep 0.2; done`},
					VolumeMounts: []v1.VolumeMount{{Name: "d", MountPath: "/d"}},
				},
				{
					Name: "init", Image: busyboxImage,
					Command:      []string{"sh", "-c", `until grep -q side /d/order; do sleep 0.1; done; echo init >> /d/order`},
					VolumeMounts: []v1.VolumeMount{{Name: "d", MountPath: "/d"}},
				},
			},
			Containers: []v1.Container{{
				Name: "main", Image: busyboxImage,
				Command:      []string{"sh", "-c", `echo main >> /d/order; echo "order=$(cat /d/order | tr '\n' ,)"; sleep 4`},
				VolumeMounts: []v1.VolumeMount{{Name: "d", MountPath: "/d"}},
			}},
		},
	})
	p := n.waitPod("sidecar", 60*time.Second, "Running with the sidecar ready", func(p *v1.Pod) bool {
		cs := containerStatus(p, "side")
		return p.Status.Phase == v1.PodRunning && cs != nil && cs.State.Running != nil
	})
	if cs := containerStatus(p, "side"); !cs.Ready {
		t.Errorf("running sidecar not ready: %s", describe(p))
	}
	n.waitLog(pod, "main", "order=side,init,main,", 20*time.Second)
	p = n.waitPod("sidecar", 60*time.Second, "Succeeded once main exited", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodSucceeded })
	// The sidecar runs until main is done, then gets its SIGTERM.
	n.waitLog(pod, "side", "side-stopped-after-main", 30*time.Second)
}

func TestLifecycle_StartupProbeGatesReadinessAndRestartsOnFailure(t *testing.T) {
	n := startNode(t)
	exec := func(cmd ...string) v1.ProbeHandler { return v1.ProbeHandler{Exec: &v1.ExecAction{Command: cmd}} }
	n.createPod(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "startup"},
		Spec: v1.PodSpec{Containers: []v1.Container{
			{
				Name: "slow", Image: busyboxImage, Command: []string{"sh", "-c", "sleep 3; touch /tmp/ok; exec sleep 3600"},
				StartupProbe:   &v1.Probe{ProbeHandler: exec("test", "-f", "/tmp/ok"), PeriodSeconds: 1, FailureThreshold: 30},
				ReadinessProbe: &v1.Probe{ProbeHandler: exec("true"), PeriodSeconds: 1},
			},
			{
				Name: "never", Image: busyboxImage, Command: []string{"sleep", "3600"},
				StartupProbe: &v1.Probe{ProbeHandler: exec("false"), PeriodSeconds: 1, FailureThreshold: 2},
			},
		}},
	})
	p := n.waitPod("startup", 60*time.Second, "Running", func(p *v1.Pod) bool {
		cs := containerStatus(p, "slow")
		return cs != nil && cs.State.Running != nil
	})
	if cs := containerStatus(p, "slow"); cs.Ready {
		// The file appears 3 s after start: a fresh container is not yet started.
		if time.Since(cs.State.Running.StartedAt.Time) < 2*time.Second {
			t.Errorf("ready before its startup probe passed: %s", describe(p))
		}
	}
	n.waitPod("startup", 30*time.Second, "slow Ready after its startup probe", func(p *v1.Pod) bool {
		cs := containerStatus(p, "slow")
		return cs != nil && cs.Ready
	})
	n.waitPod("startup", 60*time.Second, "never restarted by its failing startup probe", func(p *v1.Pod) bool {
		cs := containerStatus(p, "never")
		return cs != nil && cs.RestartCount >= 1
	})
}
