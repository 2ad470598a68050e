package kubelet

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/kstack/kstack/pkg/kubelet/network"
	"github.com/kstack/kstack/pkg/kubelet/runtime"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
)

// minPreStopGrace is what a container keeps for SIGTERM after a preStop
// hook used up its grace period (upstream's minimum).
const minPreStopGrace = 2 * time.Second

// runHook runs a postStart or preStop handler against a container
// instance: exec in the container, an HTTP GET to the pod (or the given
// host), or a sleep; it fails after timeout.
func (k *Kubelet) runHook(ctx context.Context, pod *v1.Pod, h *v1.LifecycleHandler, c *v1.Container, id, podIP string, timeout time.Duration) error {
	switch {
	case h.Exec != nil:
		code, _, err := k.prober.Exec(ctx, id, h.Exec.Command, timeout)
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("command %q exited with %d", h.Exec.Command, code)
		}
		return nil
	case h.HTTPGet != nil:
		s := &podSync{k: k, pod: pod}
		return s.probeOnce(ctx, &v1.Probe{ProbeHandler: v1.ProbeHandler{HTTPGet: h.HTTPGet}}, c, runtime.Container{ID: id}, podIP, timeout)
	case h.Sleep != nil:
		select {
		case <-time.After(min(time.Duration(h.Sleep.Seconds)*time.Second, timeout)):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	case h.TCPSocket != nil:
		// Deprecated and not run, as upstream.
		return nil
	}
	return fmt.Errorf("hook has no supported handler")
}

// postStart runs c's postStart hook right after it started; a failure
// kills the container (the restart policy decides what follows), as
// upstream (FailedPostStartHook).
func (s *podSync) postStart(ctx context.Context, c *v1.Container, inst runtime.Container, podIP string) error {
	if c.Lifecycle == nil || c.Lifecycle.PostStart == nil {
		return nil
	}
	grace := gracePeriod(s.pod)
	err := s.k.runHook(ctx, s.pod, c.Lifecycle.PostStart, c, inst.ID, podIP, max(grace, 30*time.Second))
	if err == nil {
		return nil
	}
	slog.Warn("postStart hook failed; killing the container", "pod", klog.KObj(s.pod), "container", c.Name, "err", err)
	// The event leaves out the hook's output, which may hold secrets, as
	// upstream's.
	s.k.containerEvent(s.pod, c.Name, v1.EventTypeWarning, eventFailedPostStartHook, "PostStartHook failed")
	s.k.containerEvent(s.pod, c.Name, v1.EventTypeNormal, eventKilling, "FailedPostStartHook")
	if err := s.k.runtime.Stop(ctx, inst.ID, 0); err != nil {
		return fmt.Errorf("stop container %s after failed postStart hook: %w", c.Name, err)
	}
	return nil
}

// preStop runs the preStop hook of the container instance inst of pod
// (when its spec has one) within grace and returns the grace left for
// the stop signal.
func (k *Kubelet) preStop(ctx context.Context, pod *v1.Pod, inst runtime.Container, grace time.Duration, podIP string) time.Duration {
	if pod == nil || grace <= 0 {
		return grace
	}
	c := findContainer(pod, inst.Labels[runtime.LabelContainerName])
	if c == nil || c.Lifecycle == nil || c.Lifecycle.PreStop == nil {
		return grace
	}
	start := k.clock.Now()
	hctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	if err := k.runHook(hctx, pod, c.Lifecycle.PreStop, c, inst.ID, podIP, grace); err != nil {
		slog.Warn("preStop hook failed", "pod", klog.KObj(pod), "container", c.Name, "err", err)
		k.containerEvent(pod, c.Name, v1.EventTypeWarning, eventFailedPreStopHook, "PreStopHook failed")
	}
	return max(grace-k.clock.Since(start), minPreStopGrace)
}

// sandboxIP is the pod IP of the running sandbox among cs.
func sandboxIP(cs []runtime.Container) string {
	for _, c := range cs {
		if c.Labels[runtime.LabelKind] == runtime.KindSandbox && c.State == runtime.StateRunning {
			return c.Labels[runtime.LabelPodIP]
		}
	}
	return ""
}

// deadlineExceeded enforces activeDeadlineSeconds: once the pod has been
// active that long since its startTime, its containers are killed and the
// pod is Failed with reason DeadlineExceeded. It returns whether it did so
// and, otherwise, the time left (0 without a deadline).
func (k *Kubelet) deadlineExceeded(ctx context.Context, pod *v1.Pod, ref network.PodRef, cs []runtime.Container) (bool, time.Duration, error) {
	d := pod.Spec.ActiveDeadlineSeconds
	if d == nil || pod.Status.StartTime == nil {
		return false, 0, nil
	}
	left := pod.Status.StartTime.Add(time.Duration(*d) * time.Second).Sub(k.clock.Now())
	if left > 0 {
		return false, left, nil
	}
	k.podEvent(pod, v1.EventTypeNormal, eventDeadlineExceeded, "Pod was active on the node longer than the specified deadline")
	if err := k.killPod(ctx, pod, ref, cs, gracePeriod(pod), false); err != nil {
		return true, 0, err
	}
	cs, err := k.runtime.List(ctx, string(pod.UID))
	if err != nil {
		return true, 0, err
	}
	k.recordOOMs(ctx, cs)
	obs := observe(cs, nil, k.hostIP)
	status := computeStatus(pod, obs, rfcTime(k.clock.Now()))
	status.Phase = v1.PodFailed
	status.Reason = "DeadlineExceeded"
	status.Message = "Pod was active on the node longer than the specified deadline"
	for i := range status.Conditions {
		switch status.Conditions[i].Type {
		case v1.PodReady, v1.ContainersReady, v1.PodReadyToStartContainers:
			if status.Conditions[i].Status == v1.ConditionTrue {
				status.Conditions[i].Status = v1.ConditionFalse
				status.Conditions[i].LastTransitionTime = rfcTime(k.clock.Now())
			}
			if status.Conditions[i].Type != v1.PodReadyToStartContainers {
				status.Conditions[i].Reason = "PodFailed"
			}
		}
	}
	p := pod.DeepCopy()
	p.Status = status
	if _, err := k.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		return true, 0, fmt.Errorf("update pod status: %w", err)
	}
	return true, 0, nil
}

// isSidecar says whether an init container is a restartable sidecar.
func isSidecar(c *v1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == v1.ContainerRestartPolicyAlways
}

// isSidecarInstance says whether a container instance of pod is one of its
// sidecars (false when the pod is unknown).
func isSidecarInstance(pod *v1.Pod, c runtime.Container) bool {
	if pod == nil {
		return false
	}
	name := c.Labels[runtime.LabelContainerName]
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return isSidecar(&pod.Spec.InitContainers[i])
		}
	}
	return false
}

// keepRunning starts a sidecar that is not running: the first instance,
// a restart (with CrashLoopBackOff) after an exit, or a replacement.
func (s *podSync) keepRunning(ctx context.Context, c *v1.Container, l *runtime.Container, sb runtime.Container, podIP string) error {
	switch {
	case l == nil:
		return s.start(ctx, c, 0, sb, podIP)
	case l.State == runtime.StateExited:
		return s.restart(ctx, c, *l, sb, podIP)
	case l.State == runtime.StateRunning:
		return nil
	}
	return s.replace(ctx, c, *l, sb, podIP)
}

// gateReadiness marks not ready every running container whose startup or
// readiness probe has not passed yet (a container started in this sync
// has not been probed at all).
func (k *Kubelet) gateReadiness(pod *v1.Pod, obs podObservation) {
	k.mu.Lock()
	defer k.mu.Unlock()
	states := k.probes[pod.UID]
	check := func(c *v1.Container) {
		l := obs.latest(c.Name)
		if l == nil || l.State != runtime.StateRunning {
			return
		}
		for kind, p := range map[string]*v1.Probe{"startup": c.StartupProbe, "readiness": c.ReadinessProbe} {
			if p == nil {
				continue
			}
			if st := states[l.ID+"/"+kind]; st == nil || !st.ok {
				obs.NotReady[c.Name] = true
			}
		}
	}
	for i := range pod.Spec.Containers {
		check(&pod.Spec.Containers[i])
	}
	for i := range pod.Spec.InitContainers {
		if isSidecar(&pod.Spec.InitContainers[i]) {
			check(&pod.Spec.InitContainers[i])
		}
	}
}
