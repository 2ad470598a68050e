package kubelet

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kstack/kstack/pkg/kubelet/cgroupstat"
	"github.com/kstack/kstack/pkg/kubelet/eviction"
	"github.com/kstack/kstack/pkg/kubelet/network"
	"github.com/kstack/kstack/pkg/kubelet/runtime"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
)

// Node-pressure eviction (package eviction does the arithmetic): every
// evictionInterval the kubelet observes the signals, keeps the pressure
// conditions for the node status (and the matching NoSchedule taints), and
// hands the pod to evict to its worker, which kills it (1 s grace, as
// upstream's hard eviction) and marks it Failed/Evicted.

// evictionInterval is upstream's eviction monitoring period.
const evictionInterval = 10 * time.Second

// evictionGrace is the grace period of a hard eviction, as upstream.
const evictionGrace = time.Second

// Upstream's pressure taints (the node lifecycle controller's
// TaintNodesByCondition; kstack's kubelet sets them itself).
var pressureTaints = map[v1.NodeConditionType]v1.Taint{
	v1.NodeMemoryPressure: {Key: v1.TaintNodeMemoryPressure, Effect: v1.TaintEffectNoSchedule},
	v1.NodeDiskPressure:   {Key: v1.TaintNodeDiskPressure, Effect: v1.TaintEffectNoSchedule},
}

// evictionThresholds are the --eviction-hard thresholds: the config's map
// (signal -> quantity, as KubeletConfiguration's evictionHard), or
// upstream's defaults when unset.
func evictionThresholds(cfg Config) ([]eviction.Threshold, error) {
	if cfg.EvictionHard == nil {
		return eviction.ParseThresholds(eviction.DefaultHard)
	}
	entries := make([]string, 0, len(cfg.EvictionHard))
	for sig, v := range cfg.EvictionHard {
		entries = append(entries, sig+"<"+v)
	}
	sort.Strings(entries) // memory before nodefs: memory is reclaimed first
	return eviction.ParseThresholds(strings.Join(entries, ","))
}

// newEvictionManager is the kubelet's eviction manager on the machine's
// stats, or nil in hollow mode (the machine is not the hollow nodes').
func (k *Kubelet) newEvictionManager() (*eviction.Manager, error) {
	if k.hollow {
		return nil, nil
	}
	th, err := evictionThresholds(k.cfg)
	if err != nil {
		return nil, fmt.Errorf("--eviction-hard: %w", err)
	}
	if len(th) == 0 {
		return nil, nil
	}
	stats := eviction.MachineStats{RootDir: k.cfg.RootDir, Usage: k.podUsage}
	return eviction.NewManager(th, stats, k.cfg.EvictionPressureTransitionPeriod, k.clock), nil
}

// evictionLoop runs the eviction manager until ctx ends.
func (k *Kubelet) evictionLoop(ctx context.Context, m *eviction.Manager) {
	t := time.NewTicker(evictionInterval)
	defer t.Stop()
	for {
		k.synchronizeEviction(ctx, m)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (k *Kubelet) synchronizeEviction(ctx context.Context, m *eviction.Manager) {
	var active []*v1.Pod
	if pods, err := k.pods.List(labels.Everything()); err == nil {
		for _, p := range pods {
			if p.Spec.NodeName == k.cfg.NodeName && p.DeletionTimestamp == nil &&
				p.Status.Phase != v1.PodSucceeded && p.Status.Phase != v1.PodFailed {
				active = append(active, p)
			}
		}
	}
	res, err := m.Synchronize(active)
	if err != nil {
		slog.Warn("eviction", "err", err)
		return
	}
	k.mu.Lock()
	changed := k.memoryPressure != res.MemoryPressure || k.diskPressure != res.DiskPressure
	k.memoryPressure, k.diskPressure = res.MemoryPressure, res.DiskPressure
	k.mu.Unlock()
	if changed {
		if err := k.updateNodeStatus(ctx); err != nil && ctx.Err() == nil {
			slog.Warn("update node status", "node", k.cfg.NodeName, "err", err)
		}
	}
	if len(res.Met) > 0 {
		slog.Warn("eviction thresholds met", "node", k.cfg.NodeName, "thresholds", fmt.Sprint(res.Met))
	}
	if res.Evict != nil {
		slog.Warn("evicting pod", "pod", klog.KObj(res.Evict), "message", res.Message)
		k.mu.Lock()
		if k.evictions == nil {
			k.evictions = map[types.UID]string{}
		}
		k.evictions[res.Evict.UID] = res.Message
		k.mu.Unlock()
		k.wake(ctx, res.Evict.UID, res.Evict.Namespace, res.Evict.Name)
	}
}

// pendingEviction is the eviction message of pod uid, if it is to be
// evicted.
func (k *Kubelet) pendingEviction(uid types.UID) (string, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	msg, ok := k.evictions[uid]
	return msg, ok
}

// evictPod kills an evicted pod's containers and marks it Failed with
// reason Evicted, the eviction message and a DisruptionTarget condition,
// as upstream; its worker then treats it like any finished pod.
func (k *Kubelet) evictPod(ctx context.Context, pod *v1.Pod, ref network.PodRef, cs []runtime.Container, msg string) (syncResult, error) {
	k.podEvent(pod, v1.EventTypeWarning, eviction.Reason, "%s", msg)
	if err := k.killPod(ctx, pod, ref, cs, evictionGrace, false); err != nil {
		return syncResult{}, err
	}
	cs, err := k.runtime.List(ctx, string(pod.UID))
	if err != nil {
		return syncResult{}, err
	}
	now := rfcTime(k.clock.Now())
	status := computeStatus(pod, observe(cs, nil, k.hostIP), now)
	status.Phase = v1.PodFailed
	status.Reason = eviction.Reason
	status.Message = msg
	for i := range status.Conditions {
		c := &status.Conditions[i]
		if (c.Type == v1.PodReady || c.Type == v1.ContainersReady) && c.Status == v1.ConditionTrue {
			c.Status, c.Reason, c.LastTransitionTime = v1.ConditionFalse, "PodFailed", now
		}
	}
	status.Conditions = append(status.Conditions, v1.PodCondition{
		Type: v1.DisruptionTarget, Status: v1.ConditionTrue, LastTransitionTime: now,
		Reason: v1.PodReasonTerminationByKubelet, Message: msg,
	})
	p := pod.DeepCopy()
	p.Status = status
	if _, err := k.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		return syncResult{requeueAfter: time.Second}, fmt.Errorf("update status of evicted pod: %w", err)
	}
	k.mu.Lock()
	delete(k.evictions, pod.UID)
	k.mu.Unlock()
	return syncResult{}, nil
}

// pressureConditions are the MemoryPressure and DiskPressure conditions
// (before transition times) as the eviction manager last saw them.
func (k *Kubelet) pressureConditions() (memory, disk v1.NodeCondition) {
	k.mu.Lock()
	mp, dp := k.memoryPressure, k.diskPressure
	k.mu.Unlock()
	memory = v1.NodeCondition{Type: v1.NodeMemoryPressure, Status: v1.ConditionFalse, Reason: "KubeletHasSufficientMemory", Message: "kubelet has sufficient memory available"}
	if mp {
		memory.Status, memory.Reason, memory.Message = v1.ConditionTrue, "KubeletHasInsufficientMemory", "kubelet has insufficient memory available"
	}
	disk = v1.NodeCondition{Type: v1.NodeDiskPressure, Status: v1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", Message: "kubelet has no disk pressure"}
	if dp {
		disk.Status, disk.Reason, disk.Message = v1.ConditionTrue, "KubeletHasDiskPressure", "kubelet has disk pressure"
	}
	return memory, disk
}

// withPressureTaints returns node's taints with the pressure taints added
// or removed to match its conditions, and whether they changed.
func withPressureTaints(node *v1.Node) ([]v1.Taint, bool) {
	taints := slices.Clone(node.Spec.Taints)
	changed := false
	for _, c := range node.Status.Conditions {
		taint, ok := pressureTaints[c.Type]
		if !ok {
			continue
		}
		i := slices.IndexFunc(taints, func(t v1.Taint) bool { return t.Key == taint.Key && t.Effect == taint.Effect })
		switch {
		case c.Status == v1.ConditionTrue && i < 0:
			now := metav1.Now()
			taint.TimeAdded = &now
			taints = append(taints, taint)
			changed = true
		case c.Status != v1.ConditionTrue && i >= 0:
			taints = slices.Delete(taints, i, i+1)
			changed = true
		}
	}
	return taints, changed
}

// podUsage is a pod's memory working set (from its containers' memory
// cgroups, /<containerd namespace>/<container ID>) and the bytes and
// inodes of its directory and logs.
func (k *Kubelet) podUsage(pod *v1.Pod) eviction.Usage {
	var u eviction.Usage
	if cs, err := k.runtime.List(context.Background(), string(pod.UID)); err == nil {
		for _, c := range cs {
			if c.State == runtime.StateRunning {
				u.Memory += workingSet("/sys/fs/cgroup", filepath.Join("/", k.cfg.ContainerdNamespace, c.ID))
			}
		}
	}
	ref := network.PodRef{Namespace: pod.Namespace, Name: pod.Name, UID: string(pod.UID)}
	for _, dir := range []string{k.podDir(string(pod.UID)), k.podLogDir(ref)} {
		_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			u.Inodes++
			if info, err := d.Info(); err == nil && d.Type().IsRegular() {
				u.Disk += info.Size()
			}
			return nil
		})
	}
	return u
}

// workingSet is a cgroup's memory usage minus its inactive file pages
// (cgroup v1 memory controller, or v2 unified).
func workingSet(root, rel string) int64 {
	for _, c := range []struct{ usage, stat, key string }{
		{filepath.Join(root, "memory", rel, "memory.usage_in_bytes"), filepath.Join(root, "memory", rel, "memory.stat"), "total_inactive_file"},
		{filepath.Join(root, rel, "memory.current"), filepath.Join(root, rel, "memory.stat"), "inactive_file"},
		{filepath.Join(root, "unified", rel, "memory.current"), filepath.Join(root, "unified", rel, "memory.stat"), "inactive_file"},
	} {
		usage, ok := cgroupstat.ReadUint(c.usage)
		if !ok {
			continue
		}
		inactive, _ := cgroupstat.KeyedUint(c.stat, c.key)
		if inactive > usage {
			return 0
		}
		return int64(usage - inactive)
	}
	return 0
}
