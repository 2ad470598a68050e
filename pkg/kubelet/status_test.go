package kubelet

import (
	"testing"
	"time"

	"github.com/kstack/kstack/pkg/kubelet/runtime"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// inst is a fixture builder for one container instance.
func inst(name string, restarts int, state runtime.State, exitCode int) runtime.Container {
	c := runtime.Container{
		ID: name + "-" + string(rune('a'+restarts)),
		Labels: map[string]string{
			runtime.LabelKind: runtime.KindContainer, runtime.LabelContainerName: name,
			runtime.LabelRestartCount: string(rune('0' + restarts)), runtime.LabelImageID: "sha256:img",
		},
		State:     state,
		StartedAt: t0.Add(time.Duration(restarts) * time.Minute),
	}
	if state == runtime.StateExited {
		c.ExitCode = exitCode
		c.FinishedAt = c.StartedAt.Add(time.Second)
	}
	return c
}

func testPod(policy v1.RestartPolicy, inits []string, containers ...string) *v1.Pod {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid"}, Spec: v1.PodSpec{RestartPolicy: policy}}
	for _, n := range inits {
		p.Spec.InitContainers = append(p.Spec.InitContainers, v1.Container{Name: n, Image: "busybox"})
	}
	for _, n := range containers {
		p.Spec.Containers = append(p.Spec.Containers, v1.Container{Name: n, Image: "busybox"})
	}
	return p
}

func observation(cs ...runtime.Container) podObservation {
	sb := runtime.Container{ID: "sb", State: runtime.StateRunning, Labels: map[string]string{runtime.LabelKind: runtime.KindSandbox}}
	o := podObservation{Sandbox: &sb, PodIP: "10.0.0.5", HostIP: "192.168.0.1", Containers: map[string][]runtime.Container{}, Waiting: map[string]waitingReason{}}
	for _, c := range cs {
		n := c.Labels[runtime.LabelContainerName]
		o.Containers[n] = append(o.Containers[n], c)
	}
	return o
}

func cond(st v1.PodStatus, t v1.PodConditionType) v1.ConditionStatus {
	for _, c := range st.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

func TestComputeStatus_Phases(t *testing.T) {
	tests := []struct {
		name      string
		pod       *v1.Pod
		obs       podObservation
		wantPhase v1.PodPhase
		wantReady v1.ConditionStatus
		wantInit  v1.ConditionStatus
	}{
		{"nothing started yet", testPod(v1.RestartPolicyAlways, nil, "a"), observation(), v1.PodPending, v1.ConditionFalse, v1.ConditionTrue},
		{"running", testPod(v1.RestartPolicyAlways, nil, "a"), observation(inst("a", 0, runtime.StateRunning, 0)), v1.PodRunning, v1.ConditionTrue, v1.ConditionTrue},
		{"one of two running", testPod(v1.RestartPolicyAlways, nil, "a", "b"), observation(inst("a", 0, runtime.StateRunning, 0)), v1.PodPending, v1.ConditionFalse, v1.ConditionTrue},
		{"init running", testPod(v1.RestartPolicyAlways, []string{"i"}, "a"), observation(inst("i", 0, runtime.StateRunning, 0)), v1.PodPending, v1.ConditionFalse, v1.ConditionFalse},
		{"init done, app running", testPod(v1.RestartPolicyAlways, []string{"i"}, "a"),
			observation(inst("i", 0, runtime.StateExited, 0), inst("a", 0, runtime.StateRunning, 0)), v1.PodRunning, v1.ConditionTrue, v1.ConditionTrue},
		{"never: all succeeded", testPod(v1.RestartPolicyNever, nil, "a", "b"),
			observation(inst("a", 0, runtime.StateExited, 0), inst("b", 0, runtime.StateExited, 0)), v1.PodSucceeded, v1.ConditionFalse, v1.ConditionTrue},
		{"never: one failed", testPod(v1.RestartPolicyNever, nil, "a", "b"),
			observation(inst("a", 0, runtime.StateExited, 0), inst("b", 0, runtime.StateExited, 2)), v1.PodFailed, v1.ConditionFalse, v1.ConditionTrue},
		{"on failure: failed one restarts", testPod(v1.RestartPolicyOnFailure, nil, "a"),
			observation(inst("a", 0, runtime.StateExited, 1)), v1.PodRunning, v1.ConditionFalse, v1.ConditionTrue},
		{"on failure: succeeded", testPod(v1.RestartPolicyOnFailure, nil, "a"),
			observation(inst("a", 0, runtime.StateExited, 0)), v1.PodSucceeded, v1.ConditionFalse, v1.ConditionTrue},
		{"always: exited is still running", testPod(v1.RestartPolicyAlways, nil, "a"),
			observation(inst("a", 0, runtime.StateExited, 0)), v1.PodRunning, v1.ConditionFalse, v1.ConditionTrue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := computeStatus(tt.pod, tt.obs, metav1.NewTime(t0))
			if st.Phase != tt.wantPhase {
				t.Errorf("phase = %s, want %s", st.Phase, tt.wantPhase)
			}
			if got := cond(st, v1.PodReady); got != tt.wantReady {
				t.Errorf("Ready = %s, want %s", got, tt.wantReady)
			}
			if got := cond(st, v1.PodInitialized); got != tt.wantInit {
				t.Errorf("Initialized = %s, want %s", got, tt.wantInit)
			}
		})
	}
}

func TestComputeStatus_InitFailedWithNeverIsFailed(t *testing.T) {
	o := observation(inst("i", 0, runtime.StateExited, 3))
	o.InitFailed = true
	st := computeStatus(testPod(v1.RestartPolicyNever, []string{"i"}, "a"), o, metav1.NewTime(t0))
	if st.Phase != v1.PodFailed {
		t.Errorf("phase = %s, want Failed", st.Phase)
	}
	if w := st.ContainerStatuses[0].State.Waiting; w == nil || w.Reason != "PodInitializing" {
		t.Errorf("app container state = %+v, want waiting PodInitializing", st.ContainerStatuses[0].State)
	}
}

func TestComputeStatus_CrashLoopShowsLastState(t *testing.T) {
	o := observation(inst("a", 0, runtime.StateExited, 1), inst("a", 1, runtime.StateExited, 1))
	o.Waiting["a"] = waitingReason{Reason: "CrashLoopBackOff", Message: "back-off 10s"}
	st := computeStatus(testPod(v1.RestartPolicyAlways, nil, "a"), o, metav1.NewTime(t0))
	cs := st.ContainerStatuses[0]
	if cs.State.Waiting == nil || cs.State.Waiting.Reason != "CrashLoopBackOff" {
		t.Fatalf("state = %+v, want waiting CrashLoopBackOff", cs.State)
	}
	last := cs.LastTerminationState.Terminated
	if last == nil || last.ExitCode != 1 || last.Reason != "Error" || last.ContainerID != "containerd://a-b" {
		t.Errorf("lastState = %+v", cs.LastTerminationState)
	}
	if cs.RestartCount != 1 || cs.ContainerID != "containerd://a-b" || cs.ImageID != "sha256:img" || cs.Ready {
		t.Errorf("status = %+v", cs)
	}
	if st.Phase != v1.PodRunning {
		t.Errorf("phase = %s, want Running", st.Phase)
	}
}

func TestComputeStatus_RunningAfterRestartKeepsPreviousAsLastState(t *testing.T) {
	o := observation(inst("a", 0, runtime.StateExited, 137), inst("a", 1, runtime.StateRunning, 0))
	cs := computeStatus(testPod(v1.RestartPolicyAlways, nil, "a"), o, metav1.NewTime(t0)).ContainerStatuses[0]
	if cs.State.Running == nil || cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.ExitCode != 137 {
		t.Errorf("state = %+v last = %+v", cs.State, cs.LastTerminationState)
	}
	if !cs.Ready || cs.Started == nil || !*cs.Started {
		t.Errorf("ready=%v started=%v, want both true", cs.Ready, cs.Started)
	}
}

func TestComputeStatus_IsStableAcrossSyncs(t *testing.T) {
	pod := testPod(v1.RestartPolicyAlways, nil, "a")
	pod.Status.Conditions = []v1.PodCondition{{Type: v1.PodScheduled, Status: v1.ConditionTrue}}
	o := observation(inst("a", 0, runtime.StateRunning, 0))
	first := computeStatus(pod, o, rfcTime(t0))
	pod.Status = first
	second := computeStatus(pod, o, rfcTime(t0.Add(time.Hour)))
	if !statusEqual(first, second) {
		t.Errorf("a second sync with nothing changed changed the status:\n%+v\n%+v", first, second)
	}
	if first.PodIP != "10.0.0.5" || first.HostIP != "192.168.0.1" || len(first.PodIPs) != 1 || cond(first, v1.PodScheduled) != v1.ConditionTrue {
		t.Errorf("status = %+v", first)
	}
}

func TestQOSClass(t *testing.T) {
	rl := func(cpu, mem string) v1.ResourceList {
		l := v1.ResourceList{}
		if cpu != "" {
			l[v1.ResourceCPU] = resource.MustParse(cpu)
		}
		if mem != "" {
			l[v1.ResourceMemory] = resource.MustParse(mem)
		}
		return l
	}
	tests := []struct {
		name      string
		resources []v1.ResourceRequirements
		want      v1.PodQOSClass
	}{
		{"none", []v1.ResourceRequirements{{}}, v1.PodQOSBestEffort},
		{"limits only", []v1.ResourceRequirements{{Limits: rl("1", "1Gi")}}, v1.PodQOSGuaranteed},
		{"equal", []v1.ResourceRequirements{{Requests: rl("1", "1Gi"), Limits: rl("1", "1Gi")}}, v1.PodQOSGuaranteed},
		{"request below limit", []v1.ResourceRequirements{{Requests: rl("500m", "1Gi"), Limits: rl("1", "1Gi")}}, v1.PodQOSBurstable},
		{"one without", []v1.ResourceRequirements{{Limits: rl("1", "1Gi")}, {}}, v1.PodQOSBurstable},
		{"requests only", []v1.ResourceRequirements{{Requests: rl("100m", "")}}, v1.PodQOSBurstable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &v1.Pod{}
			for _, r := range tt.resources {
				pod.Spec.Containers = append(pod.Spec.Containers, v1.Container{Resources: r})
			}
			if got := qosClass(pod); got != tt.want {
				t.Errorf("qosClass = %s, want %s", got, tt.want)
			}
		})
	}
}
