package kubelet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kstack/kstack/pkg/kubelet/network"
	"github.com/kstack/kstack/pkg/kubelet/runtime"
	"github.com/kstack/kstack/pkg/kubelet/volume"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

// defaultGracePeriod applies when neither the deletion nor the spec says.
const defaultGracePeriod = 30 * time.Second

// syncPod converges one pod: what should run (the pod from the cache)
// against what runs (its containers in containerd), then writes the status
// when it changed. A pod gone from the API, or being deleted, is killed;
// a deleted pod's object is then removed with grace period 0.
func (k *Kubelet) syncPod(ctx context.Context, w *podWorker) (syncResult, error) {
	pod := k.podFor(w)
	cs, err := k.runtime.List(ctx, string(w.uid))
	if err != nil {
		return syncResult{}, err
	}
	k.trackOwners(w.uid, cs)
	ref := network.PodRef{Namespace: w.namespace, Name: w.name, UID: string(w.uid)}

	if pod == nil || pod.DeletionTimestamp != nil {
		if err := k.killPod(ctx, pod, ref, cs, gracePeriod(pod), true); err != nil {
			return syncResult{}, err
		}
		if pod == nil {
			k.removePodDirs(ref)
			return syncResult{done: true}, nil
		}
		err := k.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
			GracePeriodSeconds: ptr.To[int64](0),
			Preconditions:      &metav1.Preconditions{UID: &pod.UID},
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return syncResult{}, fmt.Errorf("delete pod: %w", err)
		}
		return syncResult{}, nil
	}
	if pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed {
		// Finished for good: stop what is left and free the network and
		// the volumes, keeping the containers (and their logs).
		if err := k.killPod(ctx, pod, ref, cs, gracePeriod(pod), false); err != nil {
			return syncResult{}, err
		}
		return syncResult{}, k.tearDownVolumes(ref.UID)
	}

	if msg, ok := k.pendingEviction(pod.UID); ok {
		return k.evictPod(ctx, pod, ref, cs, msg)
	}
	failed, left, err := k.deadlineExceeded(ctx, pod, ref, cs)
	if failed || err != nil {
		return syncResult{}, err
	}
	s := &podSync{k: k, pod: pod, ref: ref, waiting: map[string]waitingReason{}, notReady: map[string]bool{}}
	s.requeueIn(left)
	if err := s.run(ctx, cs); err != nil {
		return syncResult{requeueAfter: s.requeue}, err
	}
	if s.changed {
		// Re-read only when this sync created, stopped or removed
		// something; else the first list is still what runs (an exit
		// since then wakes the worker again).
		cs, err = k.runtime.List(ctx, string(w.uid))
		if err != nil {
			return syncResult{}, err
		}
		k.trackOwners(w.uid, cs)
	}
	k.recordOOMs(ctx, cs)
	k.mu.Lock()
	k.waiting[w.uid] = s.waiting
	k.mu.Unlock()
	obs := observe(cs, s.waiting, k.hostIP)
	obs.InitFailed = s.initFailed
	obs.NotReady = s.notReady
	k.gateReadiness(pod, obs)
	status := computeStatus(pod, obs, rfcTime(k.clock.Now()))
	if isStaticPod(pod) {
		return syncResult{requeueAfter: s.requeue}, k.writeStaticStatus(ctx, pod, status)
	}
	if !statusEqual(pod.Status, status) {
		p := pod.DeepCopy()
		p.Status = status
		if _, err := k.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			return syncResult{requeueAfter: time.Second}, fmt.Errorf("update pod status: %w", err)
		}
	}
	return syncResult{requeueAfter: s.requeue}, nil
}

// observe groups a pod's containers: the newest sandbox, and the app
// containers by name.
func observe(cs []runtime.Container, waiting map[string]waitingReason, hostIP string) podObservation {
	o := podObservation{Containers: map[string][]runtime.Container{}, Waiting: waiting, HostIP: hostIP}
	for i := range cs {
		c := cs[i]
		switch c.Labels[runtime.LabelKind] {
		case runtime.KindSandbox:
			o.Sandbox = &c
		case runtime.KindContainer:
			name := c.Labels[runtime.LabelContainerName]
			o.Containers[name] = append(o.Containers[name], c)
		}
	}
	if o.Sandbox != nil && o.Sandbox.State == runtime.StateRunning {
		o.PodIP = o.Sandbox.Labels[runtime.LabelPodIP]
	}
	return o
}

// recordOOMs marks the exited containers the OOM killer ended (a SIGKILL
// exit, 137), for the OOMKilled reason.
func (k *Kubelet) recordOOMs(ctx context.Context, cs []runtime.Container) {
	r, ok := k.runtime.(interface {
		RecordOOM(ctx context.Context, c *runtime.Container) error
	})
	if !ok {
		return
	}
	for i := range cs {
		if cs[i].State == runtime.StateExited && cs[i].ExitCode == 137 && cs[i].Labels[runtime.LabelKind] == runtime.KindContainer {
			if err := r.RecordOOM(ctx, &cs[i]); err != nil {
				slog.Warn("check OOM kill", "container", cs[i].ID, "err", err)
			}
		}
	}
}

func (k *Kubelet) trackOwners(uid types.UID, cs []runtime.Container) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, c := range cs {
		k.owners[c.ID] = uid
	}
}

func gracePeriod(pod *v1.Pod) time.Duration {
	switch {
	case pod == nil:
		return 0
	case pod.DeletionGracePeriodSeconds != nil:
		return time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return defaultGracePeriod
}

// killPod stops the pod's app containers (preStop hooks when pod is
// known, the stop signal, SIGKILL after grace; in parallel), then its
// sandboxes, releases the network and removes the sandboxes; with
// removeAll also every container and the pod's files.
func (k *Kubelet) killPod(ctx context.Context, pod *v1.Pod, ref network.PodRef, cs []runtime.Container, grace time.Duration, removeAll bool) error {
	podIP := sandboxIP(cs)
	start := k.clock.Now()
	stop := func(sidecar bool) error {
		var wg sync.WaitGroup
		errs := make([]error, len(cs))
		for i, c := range cs {
			if c.Labels[runtime.LabelKind] != runtime.KindContainer || c.State == runtime.StateExited {
				continue
			}
			if isSidecarInstance(pod, c) != sidecar {
				continue
			}
			left := grace - k.clock.Since(start)
			if grace > 0 {
				left = max(left, minPreStopGrace)
			}
			k.containerEvent(pod, c.Labels[runtime.LabelContainerName], v1.EventTypeNormal, eventKilling,
				"Stopping container %s", c.Labels[runtime.LabelContainerName])
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = k.runtime.Stop(ctx, c.ID, k.preStop(ctx, pod, c, left, podIP))
			}()
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	// App containers first, then the sidecars they may depend on.
	if err := stop(false); err != nil {
		return err
	}
	if err := stop(true); err != nil {
		return err
	}
	for _, c := range cs {
		if c.Labels[runtime.LabelKind] == runtime.KindSandbox {
			if err := k.removeSandbox(ctx, ref, c); err != nil {
				return err
			}
		}
	}
	if !removeAll {
		return nil
	}
	for _, c := range cs {
		if c.Labels[runtime.LabelKind] == runtime.KindContainer {
			if err := k.runtime.Remove(ctx, c.ID); err != nil {
				return fmt.Errorf("remove container %s: %w", c.ID, err)
			}
		}
	}
	return nil
}

// removeSandbox stops a sandbox, releases its IP (CNI DEL), removes its
// network namespace and the container.
func (k *Kubelet) removeSandbox(ctx context.Context, ref network.PodRef, sb runtime.Container) error {
	if err := k.runtime.Stop(ctx, sb.ID, 0); err != nil {
		return fmt.Errorf("stop sandbox %s: %w", sb.ID, err)
	}
	netns := sb.Labels[runtime.LabelNetNS]
	if netns != "" { // "": a hostNetwork pod, never added to CNI
		if err := k.network.TearDown(ctx, sb.ID, netns, ref); err != nil {
			return fmt.Errorf("sandbox %s: %w", sb.ID, err)
		}
		if err := k.network.RemoveNetNS(netns); err != nil {
			return err
		}
	}
	if err := k.runtime.Remove(ctx, sb.ID); err != nil {
		return fmt.Errorf("remove sandbox %s: %w", sb.ID, err)
	}
	return nil
}

func (k *Kubelet) podDir(uid string) string { return filepath.Join(k.cfg.RootDir, "pods", uid) }

func (k *Kubelet) podLogDir(ref network.PodRef) string {
	return filepath.Join(k.cfg.PodLogsDir, ref.Namespace+"_"+ref.Name+"_"+ref.UID)
}

func (k *Kubelet) removePodDirs(ref network.PodRef) {
	if err := k.tearDownVolumes(ref.UID); err != nil {
		// Never remove a directory with something still mounted in it.
		slog.Warn("tear down volumes", "pod", klog.KRef(ref.Namespace, ref.Name), "err", err)
		return
	}
	_ = os.RemoveAll(k.podDir(ref.UID))
	_ = os.RemoveAll(k.podLogDir(ref))
	if err := k.removePodCgroup(types.UID(ref.UID)); err != nil {
		slog.Warn("remove pod cgroup", "pod", klog.KRef(ref.Namespace, ref.Name), "err", err)
	}
}

// podSync is one sync of a live pod.
type podSync struct {
	k          *Kubelet
	pod        *v1.Pod
	ref        network.PodRef
	waiting    map[string]waitingReason
	notReady   map[string]bool
	requeue    time.Duration
	initFailed bool
	// changed is set once the sync created, stopped or removed a
	// container: the containers listed before are stale.
	changed bool
	// volumePaths are the pod's volumes' host paths by name.
	volumePaths map[string]string
}

func (s *podSync) requeueIn(d time.Duration) {
	if d > 0 && (s.requeue == 0 || d < s.requeue) {
		s.requeue = d
	}
}

func (s *podSync) run(ctx context.Context, cs []runtime.Container) error {
	obs := observe(cs, nil, s.k.hostIP)
	sb, err := s.ensureSandbox(ctx, cs)
	if err != nil || sb == nil {
		return err
	}
	podIP := sb.Labels[runtime.LabelPodIP]
	if !s.setUpVolumes(ctx, podIP) {
		return nil
	}

	// Init containers, one at a time, in order; a sidecar (restartPolicy
	// Always) only has to have started for the next one to run, and is
	// kept running from then on.
	initDone := true
	var sidecarErrs []error
	for i := range s.pod.Spec.InitContainers {
		c := &s.pod.Spec.InitContainers[i]
		l := obs.latest(c.Name)
		if isSidecar(c) {
			if l != nil && l.State == runtime.StateRunning {
				sidecarErrs = append(sidecarErrs, s.probe(ctx, c, *l, podIP))
				continue
			}
			sidecarErrs = append(sidecarErrs, s.keepRunning(ctx, c, l, *sb, podIP))
			if l == nil {
				initDone = false
				break
			}
			continue
		}
		if l != nil && l.State == runtime.StateExited && l.ExitCode == 0 {
			continue
		}
		initDone = false
		switch {
		case l == nil:
			err = s.start(ctx, c, 0, *sb, podIP)
		case l.State == runtime.StateRunning:
		case l.State == runtime.StateExited:
			if s.pod.Spec.RestartPolicy == v1.RestartPolicyNever {
				s.initFailed = true
				break
			}
			err = s.restart(ctx, c, *l, *sb, podIP)
		default:
			err = s.replace(ctx, c, *l, *sb, podIP)
		}
		break
	}
	if err != nil || !initDone {
		return errors.Join(append(sidecarErrs, err)...)
	}

	errs := sidecarErrs
	for i := range s.pod.Spec.Containers {
		c := &s.pod.Spec.Containers[i]
		l := obs.latest(c.Name)
		switch {
		case l == nil:
			errs = append(errs, s.start(ctx, c, 0, *sb, podIP))
		case l.State == runtime.StateRunning:
			errs = append(errs, s.probe(ctx, c, *l, podIP))
		case l.State == runtime.StateExited:
			if shouldRestart(s.pod.Spec.RestartPolicy, l.ExitCode) {
				errs = append(errs, s.restart(ctx, c, *l, *sb, podIP))
			}
		default:
			errs = append(errs, s.replace(ctx, c, *l, *sb, podIP))
		}
	}
	errs = append(errs, s.prune(ctx, obs))
	return errors.Join(errs...)
}

// probe runs a running container's liveness and readiness probes; a
// failed liveness probe stops the container (the restart policy then
// restarts it), a failing readiness probe marks it not ready.
func (s *podSync) probe(ctx context.Context, c *v1.Container, inst runtime.Container, podIP string) error {
	if c.StartupProbe != nil {
		started, failed := s.startupProbe(ctx, c, inst, podIP)
		if failed {
			return s.killUnhealthy(ctx, c, c.StartupProbe, inst, podIP)
		}
		if !started {
			s.notReady[c.Name] = true
			return nil
		}
	}
	if c.LivenessProbe != nil && !s.runProbe(ctx, "liveness", c.LivenessProbe, c, inst, podIP) {
		return s.killUnhealthy(ctx, c, c.LivenessProbe, inst, podIP)
	}
	if c.ReadinessProbe != nil && !s.runProbe(ctx, "readiness", c.ReadinessProbe, c, inst, podIP) {
		s.notReady[c.Name] = true
	}
	return nil
}

// killUnhealthy stops a container whose liveness or startup probe failed
// (the restart policy then restarts it).
func (s *podSync) killUnhealthy(ctx context.Context, c *v1.Container, probe *v1.Probe, inst runtime.Container, podIP string) error {
	{
		grace := gracePeriod(s.pod)
		if p := probe.TerminationGracePeriodSeconds; p != nil {
			grace = time.Duration(*p) * time.Second
		}
		s.notReady[c.Name] = true
		s.changed = true
		kind := "liveness"
		if probe == c.StartupProbe {
			kind = "startup"
		}
		msg := fmt.Sprintf("Container %s failed %s probe", c.Name, kind)
		if s.pod.Spec.RestartPolicy != v1.RestartPolicyNever || isSidecar(c) {
			msg += ", will be restarted"
		}
		s.k.containerEvent(s.pod, c.Name, v1.EventTypeNormal, eventKilling, msg)
		if err := s.k.runtime.Stop(ctx, inst.ID, s.k.preStop(ctx, s.pod, inst, grace, podIP)); err != nil {
			return fmt.Errorf("stop container %s after a failed probe: %w", c.Name, err)
		}
		return nil
	}
}

func shouldRestart(policy v1.RestartPolicy, exitCode int) bool {
	switch policy {
	case v1.RestartPolicyNever:
		return false
	case v1.RestartPolicyOnFailure:
		return exitCode != 0
	}
	return true
}

// ensureSandbox returns the running sandbox, creating one (after cleaning
// up dead ones and the containers that lived in them) when there is none.
// It returns nil without error when the network is not ready yet.
func (s *podSync) ensureSandbox(ctx context.Context, cs []runtime.Container) (*runtime.Container, error) {
	var live *runtime.Container
	attempt := 0
	for i := range cs {
		c := cs[i]
		if c.Labels[runtime.LabelKind] != runtime.KindSandbox {
			continue
		}
		if n, _ := strconv.Atoi(c.Labels[runtime.LabelAttempt]); n >= attempt {
			attempt = n + 1
		}
		if c.State == runtime.StateRunning && live == nil {
			live = &c
			continue
		}
		s.changed = true
		if err := s.k.removeSandbox(ctx, s.ref, c); err != nil {
			return nil, err
		}
	}
	if live != nil {
		return live, nil
	}
	if err := s.k.network.Status(); err != nil && !s.pod.Spec.HostNetwork {
		s.k.podEvent(s.pod, v1.EventTypeWarning, eventNetworkNotReady, "network is not ready: %v", err)
		s.requeueIn(2 * time.Second)
		return nil, nil
	}
	s.changed = true
	if attempt > 0 {
		s.k.podEvent(s.pod, v1.EventTypeNormal, eventSandboxChanged, "Pod sandbox changed, it will be killed and re-created.")
	}
	// App containers of a dead sandbox lost their network: stop them.
	for _, c := range cs {
		if c.Labels[runtime.LabelKind] == runtime.KindContainer && c.State == runtime.StateRunning {
			if err := s.k.runtime.Stop(ctx, c.ID, gracePeriod(s.pod)); err != nil {
				return nil, err
			}
		}
	}
	id := runtime.NewID()
	sb, err := s.runSandbox(ctx, id, attempt)
	if err != nil {
		s.k.podEvent(s.pod, v1.EventTypeWarning, eventFailedCreatePodSandBox, "Failed to create pod sandbox: %v", err)
		return nil, err
	}
	s.k.trackOwners(s.pod.UID, []runtime.Container{sb})
	return &sb, nil
}

// runSandbox creates the sandbox id: for a hostNetwork pod in the node's
// network namespace with the node's IP, else in a new network namespace
// that CNI adds to the pod network (with the pod's hostPorts).
func (s *podSync) runSandbox(ctx context.Context, id string, attempt int) (runtime.Container, error) {
	defer s.k.sandboxStarting(id)()
	netns, ip, hostname := "", s.k.hostIP, podHostname(s.pod)
	if s.pod.Spec.HostNetwork {
		hostname = ""
	} else {
		netns = s.k.network.NetNSPath(id)
		if err := s.k.network.CreateNetNS(netns); err != nil {
			return runtime.Container{}, err
		}
		ref := s.ref
		ref.PortMappings = network.PodPortMappings(s.pod)
		podIP, err := s.k.network.SetUp(ctx, id, netns, ref)
		if err != nil {
			// ADD may have done part of its work (an IP, portmap rules).
			_ = s.k.network.TearDown(ctx, id, netns, s.ref)
			_ = s.k.network.RemoveNetNS(netns)
			return runtime.Container{}, err
		}
		ip = podIP.String()
	}
	undo := func() {
		if netns != "" {
			_ = s.k.network.TearDown(ctx, id, netns, s.ref)
			_ = s.k.network.RemoveNetNS(netns)
		}
	}
	if err := s.k.writePodFiles(s.pod, ip); err != nil {
		undo()
		return runtime.Container{}, err
	}
	cgroup, err := s.k.ensurePodCgroup(s.pod)
	if err != nil {
		undo()
		return runtime.Container{}, err
	}
	labels := podLabels(s.pod)
	labels[runtime.LabelPodIP] = ip
	labels[runtime.LabelAttempt] = strconv.Itoa(attempt)
	sb, err := s.k.runtime.RunSandbox(ctx, runtime.SandboxConfig{
		ID: id, Labels: labels, Image: s.k.cfg.PodInfraContainerImage, Hostname: hostname, NetNSPath: netns,
		CgroupParent: cgroup, HostIPC: s.pod.Spec.HostIPC,
	})
	if err != nil {
		undo()
		return runtime.Container{}, fmt.Errorf("run sandbox: %w", err)
	}
	return sb, nil
}

// restart starts the next instance of an exited container unless it is
// in CrashLoopBackOff (10 s doubling to 5 min since its last exit).
func (s *podSync) restart(ctx context.Context, c *v1.Container, last runtime.Container, sb runtime.Container, podIP string) error {
	key := string(s.pod.UID) + "/" + c.Name
	if s.k.backoff.IsInBackOffSince(key, last.FinishedAt) {
		delay := s.k.backoff.Get(key)
		s.k.containerEvent(s.pod, c.Name, v1.EventTypeWarning, eventBackOff,
			"Back-off restarting failed container %s in pod %s", c.Name, podString(s.pod))
		s.waiting[c.Name] = waitingReason{Reason: "CrashLoopBackOff",
			Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", delay, c.Name, s.pod.Name, s.pod.Namespace, s.pod.UID)}
		s.requeueIn(delay - s.k.clock.Since(last.FinishedAt) + 100*time.Millisecond)
		return nil
	}
	s.k.backoff.Next(key, last.FinishedAt)
	return s.start(ctx, c, last.RestartCount()+1, sb, podIP)
}

// replace removes an instance that never ran properly and starts anew.
func (s *podSync) replace(ctx context.Context, c *v1.Container, old runtime.Container, sb runtime.Container, podIP string) error {
	s.changed = true
	if err := s.k.runtime.Remove(ctx, old.ID); err != nil {
		return err
	}
	return s.start(ctx, c, old.RestartCount(), sb, podIP)
}

// start pulls the image if needed, resolves env and mounts and runs the
// container. Failures a user must fix become waiting reasons, not errors.
func (s *podSync) start(ctx context.Context, c *v1.Container, restartCount int, sb runtime.Container, podIP string) error {
	img, ok := s.pullImage(ctx, c)
	if !ok {
		return nil
	}
	s.k.mu.Lock()
	alloc := s.k.nodeAlloc
	s.k.mu.Unlock()
	env, err := containerEnv(ctx, s.pod, c, envContext{PodIP: podIP, HostIP: s.k.hostIP, NodeAllocatable: alloc}, apiGetter{s.k})
	if err != nil {
		s.configError(c, err)
		return nil
	}
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	command := expandAll(c.Command, vars)
	args := expandAll(c.Args, vars)
	labels := podLabels(s.pod)
	labels[runtime.LabelContainerName] = c.Name
	labels[runtime.LabelRestartCount] = strconv.Itoa(restartCount)
	shares, quota, period, mem := cgroupResources(c)
	dir := s.k.podDir(string(s.pod.UID))
	mounts := []specs.Mount{
		{Destination: "/etc/hosts", Type: "bind", Source: filepath.Join(dir, "etc-hosts"), Options: []string{"rbind", "rw"}},
		{Destination: "/etc/resolv.conf", Type: "bind", Source: filepath.Join(dir, "resolv.conf"), Options: []string{"rbind", "rw"}},
		{Destination: "/etc/hostname", Type: "bind", Source: filepath.Join(dir, "hostname"), Options: []string{"rbind", "rw"}},
	}
	vms, err := volume.ContainerMounts(s.pod, c, s.volumePaths, vars)
	if err != nil {
		s.configError(c, err)
		return nil
	}
	mounts = append(mounts, vms...)
	sec, err := containerSecurity(ctx, s.pod, c, img)
	if err != nil {
		s.configError(c, err)
		return nil
	}
	s.changed = true
	inst, err := s.k.runtime.StartContainer(ctx, runtime.ContainerConfig{
		Labels:      labels,
		Image:       img,
		Sandbox:     sb,
		NetNSPath:   sb.Labels[runtime.LabelNetNS],
		Command:     command,
		Args:        args,
		Env:         env,
		WorkingDir:  c.WorkingDir,
		Mounts:      mounts,
		LogPath:     filepath.Join(s.k.podLogDir(s.ref), c.Name, strconv.Itoa(restartCount)+".log"),
		CPUShares:   shares,
		CPUQuota:    quota,
		CPUPeriod:   period,
		MemoryLimit: mem,
		Security:    sec,
		StopSignal:  stopSignal(ctx, c, img),
		// The sandbox made the pod's cgroup (runSandbox).
		CgroupParent: s.k.podCgroup(s.pod),
		Stdin:        c.Stdin,
		StdinOnce:    c.StdinOnce,
		TTY:          c.TTY,
	})
	if err != nil {
		s.waiting[c.Name] = waitingReason{Reason: "RunContainerError", Message: err.Error()}
		s.k.containerEvent(s.pod, c.Name, v1.EventTypeWarning, eventFailed, "Error: %v", err)
		return fmt.Errorf("start container %s: %w", c.Name, err)
	}
	s.k.containerEvent(s.pod, c.Name, v1.EventTypeNormal, eventCreated, "Container created")
	s.k.containerEvent(s.pod, c.Name, v1.EventTypeNormal, eventStarted, "Container started")
	return s.postStart(ctx, c, inst, podIP)
}

// configError makes c wait in CreateContainerConfigError with err, which
// an event tells too, as upstream.
func (s *podSync) configError(c *v1.Container, err error) {
	s.waiting[c.Name] = waitingReason{Reason: "CreateContainerConfigError", Message: err.Error()}
	s.k.containerEvent(s.pod, c.Name, v1.EventTypeWarning, eventFailed, "Error: %v", err)
}

// pullImage makes the container's image present per its pull policy; a
// failed pull is ErrImagePull, then ImagePullBackOff until the backoff
// (10 s doubling to 5 min) allows the next attempt. It records upstream's
// events: Pulled for an image already present, else Pulling, then Pulled
// or Failed; BackOff during the backoff.
func (s *podSync) pullImage(ctx context.Context, c *v1.Container) (runtime.Image, bool) {
	key := "image/" + string(s.pod.UID) + "/" + c.Name + "/" + c.Image
	now := s.k.clock.Now()
	if s.k.backoff.IsInBackOffSince(key, now) {
		s.k.mu.Lock()
		last := s.k.pullErrors[key]
		s.k.mu.Unlock()
		s.waiting[c.Name] = waitingReason{Reason: "ImagePullBackOff", Message: fmt.Sprintf("Back-off pulling image %q: %s", c.Image, last)}
		s.k.containerEvent(s.pod, c.Name, v1.EventTypeNormal, eventBackOff, "Back-off pulling image %q", c.Image)
		s.k.containerEvent(s.pod, c.Name, v1.EventTypeWarning, eventFailed, "Error: ImagePullBackOff")
		s.requeueIn(s.k.backoff.Get(key))
		return runtime.Image{}, false
	}
	policy := c.ImagePullPolicy
	var img runtime.Image
	var err error
	if policy != v1.PullAlways {
		// Present already? (The same one lookup as a pull's first step.)
		img, err = s.k.images.EnsureImage(ctx, c.Image, false, true)
		switch {
		case err == nil:
			s.k.containerEvent(s.pod, c.Name, v1.EventTypeNormal, eventPulled,
				"Container image %q already present on machine and can be accessed by the pod", c.Image)
		case errors.Is(err, runtime.ErrImageNeverPull) && policy == v1.PullNever:
			s.waiting[c.Name] = waitingReason{Reason: "ErrImageNeverPull", Message: err.Error()}
			s.k.containerEvent(s.pod, c.Name, v1.EventTypeWarning, eventErrImageNeverPull,
				"Container image %q is not present with pull policy of Never", c.Image)
			s.k.containerEvent(s.pod, c.Name, v1.EventTypeWarning, eventFailed, "Error: ErrImageNeverPull")
			return runtime.Image{}, false
		case errors.Is(err, runtime.ErrImageNeverPull):
			img, err = s.pull(ctx, c, false)
		default:
			s.k.containerEvent(s.pod, c.Name, v1.EventTypeWarning, eventInspectFailed, "Failed to inspect image %q: %v", c.Image, err)
		}
	} else {
		img, err = s.pull(ctx, c, true)
	}
	if err == nil {
		s.k.mu.Lock()
		delete(s.k.pullErrors, key)
		s.k.mu.Unlock()
		return img, true
	}
	s.k.backoff.Next(key, now)
	s.k.mu.Lock()
	s.k.pullErrors[key] = err.Error()
	s.k.mu.Unlock()
	s.waiting[c.Name] = waitingReason{Reason: "ErrImagePull", Message: err.Error()}
	s.k.containerEvent(s.pod, c.Name, v1.EventTypeWarning, eventFailed, "Error: ErrImagePull")
	s.requeueIn(s.k.backoff.Get(key))
	return runtime.Image{}, false
}

// pull pulls c's image (again, with always), between the Pulling and the
// Pulled or Failed event.
func (s *podSync) pull(ctx context.Context, c *v1.Container, always bool) (runtime.Image, error) {
	s.k.containerEvent(s.pod, c.Name, v1.EventTypeNormal, eventPulling, "Pulling image %q", c.Image)
	start := time.Now()
	img, err := s.k.images.EnsureImage(ctx, c.Image, always, false)
	if err != nil {
		s.k.containerEvent(s.pod, c.Name, v1.EventTypeWarning, eventFailed, "Failed to pull image %q: %s",
			c.Image, strings.TrimPrefix(err.Error(), runtime.ErrImagePull.Error()+": "))
		return img, err
	}
	took := time.Since(start).Truncate(time.Millisecond)
	s.k.containerEvent(s.pod, c.Name, v1.EventTypeNormal, eventPulled,
		"Successfully pulled image %q in %v (%v including waiting). Image size: %v bytes.", c.Image, took, took, s.k.imageSize(ctx, img.Ref))
	return img, nil
}

// imageSize is the size of image ref as the runtime lists it (0 when it
// does not); only asked after a pull.
func (k *Kubelet) imageSize(ctx context.Context, ref string) int64 {
	images, err := k.node.ListImages(ctx)
	if err != nil {
		return 0
	}
	for _, img := range images {
		for _, n := range img.Names {
			if n == ref {
				return img.Size
			}
		}
	}
	return 0
}

// prune removes exited instances older than the previous one of each
// container (the previous one is kept for lastState and logs --previous).
func (s *podSync) prune(ctx context.Context, obs podObservation) error {
	for _, insts := range obs.Containers {
		for i := 0; i < len(insts)-2; i++ {
			if insts[i].State == runtime.StateExited {
				s.changed = true
				if err := s.k.runtime.Remove(ctx, insts[i].ID); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func podLabels(pod *v1.Pod) map[string]string {
	return map[string]string{
		runtime.LabelPodUID:       string(pod.UID),
		runtime.LabelPodName:      pod.Name,
		runtime.LabelPodNamespace: pod.Namespace,
	}
}

func podHostname(pod *v1.Pod) string {
	h := pod.Spec.Hostname
	if h == "" {
		h = pod.Name
	}
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-.")
	}
	return h
}

func expandAll(in []string, vars map[string]string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = expand(s, vars)
	}
	return out
}

// cgroupResources maps requests and limits to cgroup settings as upstream:
// cpu shares from the request (1024 per CPU, at least 2), a CFS quota from
// the limit over a 100 ms period, the memory limit in bytes.
func cgroupResources(c *v1.Container) (shares uint64, quota int64, period uint64, memory int64) {
	cpuReq, hasReq := c.Resources.Requests[v1.ResourceCPU]
	cpuLim, hasLim := c.Resources.Limits[v1.ResourceCPU]
	if !hasReq && hasLim {
		cpuReq, hasReq = cpuLim, true
	}
	shares = 2
	if hasReq {
		shares = max(uint64(cpuReq.MilliValue())*1024/1000, 2)
	}
	if hasLim {
		period = 100000
		quota = max(cpuLim.MilliValue()*int64(period)/1000, 1000)
	}
	if m, ok := c.Resources.Limits[v1.ResourceMemory]; ok {
		memory = m.Value()
	}
	return shares, quota, period, memory
}

// apiGetter reads ConfigMaps and Secrets from the apiserver.
type apiGetter struct{ k *Kubelet }

func (g apiGetter) ConfigMap(ctx context.Context, namespace, name string) (*v1.ConfigMap, error) {
	return g.k.client.CoreV1().ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
}

func (g apiGetter) Secret(ctx context.Context, namespace, name string) (*v1.Secret, error) {
	return g.k.client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
}
