package kubelet

import (
	"time"

	"github.com/kstack/kstack/pkg/kubelet/runtime"
	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// waitingReason is why a container that should run does not, e.g.
// ErrImagePull or CrashLoopBackOff; the status reports it as Waiting.
type waitingReason struct {
	Reason, Message string
}

// podObservation is what the kubelet saw of one pod on the node: the input
// of computeStatus.
type podObservation struct {
	Sandbox    *runtime.Container             // the current sandbox, if any
	Containers map[string][]runtime.Container // by container name, oldest first
	Waiting    map[string]waitingReason       // by container name
	// NotReady names running containers whose readiness probe fails.
	NotReady map[string]bool
	PodIP    string
	HostIP   string
	// InitFailed says an init container failed and restartPolicy is Never.
	InitFailed bool
}

// latest is the newest instance of a container, or nil.
func (o podObservation) latest(name string) *runtime.Container {
	cs := o.Containers[name]
	if len(cs) == 0 {
		return nil
	}
	return &cs[len(cs)-1]
}

// computeStatus derives the pod's status from what runs, keeping the
// transition times of conditions that did not change; now stamps changes.
func computeStatus(pod *v1.Pod, o podObservation, now metav1.Time) v1.PodStatus {
	old := pod.Status
	st := v1.PodStatus{
		HostIP:    o.HostIP,
		StartTime: old.StartTime,
		QOSClass:  qosClass(pod),
		// Set by the scheduler, not the kubelet.
		NominatedNodeName: old.NominatedNodeName,
	}
	if st.StartTime == nil {
		st.StartTime = &now
	}
	if o.HostIP != "" {
		st.HostIPs = []v1.HostIP{{IP: o.HostIP}}
	}
	if o.PodIP != "" {
		st.PodIP = o.PodIP
		st.PodIPs = []v1.PodIP{{IP: o.PodIP}}
	}

	initDone := true
	for _, c := range pod.Spec.InitContainers {
		sidecar := isSidecar(&c)
		cs := containerStatus(c, o, "PodInitializing", !sidecar)
		st.InitContainerStatuses = append(st.InitContainerStatuses, cs)
		if sidecar {
			// A sidecar counts once it has started.
			if len(o.Containers[c.Name]) == 0 {
				initDone = false
			}
			continue
		}
		if cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0 {
			initDone = false
		}
	}
	defaultWaiting := "ContainerCreating"
	if !initDone {
		defaultWaiting = "PodInitializing"
	}
	allReady := len(pod.Spec.Containers) > 0
	for _, c := range pod.Spec.Containers {
		cs := containerStatus(c, o, defaultWaiting, false)
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
		if !cs.Ready {
			allReady = false
		}
	}
	st.Phase = podPhase(pod, st, initDone, o.InitFailed)

	sandboxReady := o.Sandbox != nil && o.Sandbox.State == runtime.StateRunning && o.PodIP != ""
	terminal := st.Phase == v1.PodSucceeded || st.Phase == v1.PodFailed
	conds := []v1.PodCondition{
		condition(v1.PodReadyToStartContainers, sandboxReady && !terminal, "", ""),
		condition(v1.PodInitialized, initDone, "ContainersNotInitialized", "containers with incomplete status: "+notDone(st.InitContainerStatuses)),
		condition(v1.ContainersReady, allReady, "ContainersNotReady", "containers with unready status: "+notReady(st.ContainerStatuses)),
		condition(v1.PodReady, allReady, "ContainersNotReady", "containers with unready status: "+notReady(st.ContainerStatuses)),
	}
	if terminal {
		for i := range conds[2:] {
			conds[2+i].Status, conds[2+i].Reason, conds[2+i].Message = v1.ConditionFalse, "PodCompleted", ""
		}
		if initDone {
			conds[1].Reason = "PodCompleted"
		}
	}
	for _, c := range old.Conditions {
		if c.Type == v1.PodScheduled {
			st.Conditions = append(st.Conditions, c)
		}
	}
	for _, c := range conds {
		c.LastTransitionTime = now
		for _, oc := range old.Conditions {
			if oc.Type == c.Type && oc.Status == c.Status {
				c.LastTransitionTime = oc.LastTransitionTime
			}
		}
		st.Conditions = append(st.Conditions, c)
	}
	return st
}

func condition(t v1.PodConditionType, ok bool, reason, message string) v1.PodCondition {
	if ok {
		return v1.PodCondition{Type: t, Status: v1.ConditionTrue}
	}
	return v1.PodCondition{Type: t, Status: v1.ConditionFalse, Reason: reason, Message: message}
}

func notReady(cs []v1.ContainerStatus) string {
	var names []string
	for _, c := range cs {
		if !c.Ready {
			names = append(names, c.Name)
		}
	}
	return bracket(names)
}

func notDone(cs []v1.ContainerStatus) string {
	var names []string
	for _, c := range cs {
		if c.State.Terminated == nil || c.State.Terminated.ExitCode != 0 {
			names = append(names, c.Name)
		}
	}
	return bracket(names)
}

func bracket(names []string) string {
	out := "["
	for i, n := range names {
		if i > 0 {
			out += " "
		}
		out += n
	}
	return out + "]"
}

// containerStatus is one container's status from its newest two instances
// and any waiting reason.
func containerStatus(c v1.Container, o podObservation, defaultWaiting string, isInit bool) v1.ContainerStatus {
	cs := v1.ContainerStatus{Name: c.Name, Image: c.Image}
	insts := o.Containers[c.Name]
	if len(insts) == 0 {
		cs.State.Waiting = &v1.ContainerStateWaiting{Reason: defaultWaiting}
		if w, ok := o.Waiting[c.Name]; ok {
			cs.State.Waiting = &v1.ContainerStateWaiting{Reason: w.Reason, Message: w.Message}
		}
		return cs
	}
	latest := insts[len(insts)-1]
	cs.ContainerID = "containerd://" + latest.ID
	cs.ImageID = latest.Labels[runtime.LabelImageID]
	cs.RestartCount = int32(latest.RestartCount())
	f := false
	cs.Started = &f
	switch latest.State {
	case runtime.StateRunning:
		t := true
		cs.Started = &t
		cs.State.Running = &v1.ContainerStateRunning{StartedAt: rfcTime(latest.StartedAt)}
		cs.Ready = !isInit && !o.NotReady[c.Name]
		if len(insts) > 1 {
			cs.LastTerminationState = terminated(insts[len(insts)-2])
		}
	case runtime.StateExited:
		if w, ok := o.Waiting[c.Name]; ok {
			cs.State.Waiting = &v1.ContainerStateWaiting{Reason: w.Reason, Message: w.Message}
			cs.LastTerminationState = terminated(latest)
		} else {
			cs.State = terminated(latest)
			if len(insts) > 1 {
				cs.LastTerminationState = terminated(insts[len(insts)-2])
			}
		}
	default:
		reason := defaultWaiting
		msg := ""
		if w, ok := o.Waiting[c.Name]; ok {
			reason, msg = w.Reason, w.Message
		}
		cs.State.Waiting = &v1.ContainerStateWaiting{Reason: reason, Message: msg}
		if len(insts) > 1 {
			cs.LastTerminationState = terminated(insts[len(insts)-2])
		}
	}
	return cs
}

func terminated(c runtime.Container) v1.ContainerState {
	if c.State != runtime.StateExited {
		return v1.ContainerState{}
	}
	reason := "Completed"
	switch {
	case c.Labels[runtime.LabelOOMKilled] == "true":
		reason = "OOMKilled"
	case c.ExitCode != 0:
		reason = "Error"
	}
	return v1.ContainerState{Terminated: &v1.ContainerStateTerminated{
		ExitCode:    int32(c.ExitCode),
		Reason:      reason,
		StartedAt:   rfcTime(c.StartedAt),
		FinishedAt:  rfcTime(c.FinishedAt),
		ContainerID: "containerd://" + c.ID,
	}}
}

// podPhase follows upstream's rules: pending while initializing or while a
// container never ran; running while any runs (or will be restarted);
// succeeded or failed once all stopped for good.
func podPhase(pod *v1.Pod, st v1.PodStatus, initDone, initFailed bool) v1.PodPhase {
	if initFailed {
		return v1.PodFailed
	}
	if !initDone {
		return v1.PodPending
	}
	var running, waiting, stopped, succeeded int
	for _, cs := range st.ContainerStatuses {
		switch {
		case cs.State.Running != nil:
			running++
		case cs.State.Terminated != nil:
			stopped++
			if cs.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case cs.State.Waiting != nil && cs.LastTerminationState.Terminated != nil:
			stopped++
		default:
			waiting++
		}
	}
	switch {
	case waiting > 0:
		return v1.PodPending
	case running > 0:
		return v1.PodRunning
	case stopped > 0:
		if pod.Spec.RestartPolicy == v1.RestartPolicyAlways {
			return v1.PodRunning
		}
		if stopped == succeeded {
			return v1.PodSucceeded
		}
		if pod.Spec.RestartPolicy == v1.RestartPolicyNever {
			return v1.PodFailed
		}
		return v1.PodRunning
	}
	return v1.PodPending
}

// qosClass is Guaranteed when every container has equal cpu and memory
// requests and limits, BestEffort when none has any, else Burstable.
func qosClass(pod *v1.Pod) v1.PodQOSClass {
	any, guaranteed := false, true
	all := append(append([]v1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...)
	for _, c := range all {
		for _, r := range []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory} {
			req, hasReq := c.Resources.Requests[r]
			lim, hasLim := c.Resources.Limits[r]
			if (hasReq && !req.IsZero()) || (hasLim && !lim.IsZero()) {
				any = true
			}
			if !hasLim || (hasReq && req.Cmp(lim) != 0) {
				guaranteed = false
			}
		}
	}
	switch {
	case !any:
		return v1.PodQOSBestEffort
	case guaranteed:
		return v1.PodQOSGuaranteed
	}
	return v1.PodQOSBurstable
}

// statusEqual says whether writing st would change nothing.
func statusEqual(a, b v1.PodStatus) bool {
	return apiequality.Semantic.DeepEqual(a, b)
}

// rfcTime is t at the second precision the API stores, so a status read
// back compares equal to the one computed.
func rfcTime(t time.Time) metav1.Time {
	if t.IsZero() {
		return metav1.Time{}
	}
	return metav1.NewTime(t).Rfc3339Copy()
}
