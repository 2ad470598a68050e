package kubelet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	"github.com/kstack/kstack/pkg/kubelet/runtime"
	"golang.org/x/sys/unix"
	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/util/retry"
)

// KubeletVersion is reported in the Node's nodeInfo.
const KubeletVersion = "v1.37.0-kstack"

// nodeLeaseNamespace holds the nodes' heartbeat Leases.
const nodeLeaseNamespace = "kube-node-lease"

// registerNode creates the Node, or updates labels and taints of an
// existing one, and sets its status.
func (k *Kubelet) registerNode(ctx context.Context) error {
	node := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: k.cfg.NodeName, Labels: k.nodeLabels()},
		Spec:       v1.NodeSpec{Taints: k.cfg.RegisterWithTaints},
	}
	if k.cfg.PodCIDR != "" {
		node.Spec.PodCIDR, node.Spec.PodCIDRs = k.cfg.PodCIDR, []string{k.cfg.PodCIDR}
	}
	for {
		_, err := k.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		if err == nil || apierrors.IsAlreadyExists(err) {
			break
		}
		slog.Warn("register node", "node", k.cfg.NodeName, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	existing, err := k.client.CoreV1().Nodes().Get(ctx, k.cfg.NodeName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get node %s: %w", k.cfg.NodeName, err)
	}
	k.setNodeUID(existing.UID)
	changed := false
	for key, v := range node.Labels {
		if existing.Labels[key] != v {
			if existing.Labels == nil {
				existing.Labels = map[string]string{}
			}
			existing.Labels[key], changed = v, true
		}
	}
	if existing.Spec.PodCIDR == "" && k.cfg.PodCIDR != "" {
		existing.Spec.PodCIDR, existing.Spec.PodCIDRs, changed = k.cfg.PodCIDR, []string{k.cfg.PodCIDR}, true
	}
	if changed {
		if _, err := k.client.CoreV1().Nodes().Update(ctx, existing, metav1.UpdateOptions{}); err != nil && !apierrors.IsConflict(err) {
			return fmt.Errorf("update node %s: %w", k.cfg.NodeName, err)
		} // on a conflict the next status round sees the newer node
	}
	return k.updateNodeStatus(ctx)
}

func (k *Kubelet) nodeLabels() map[string]string {
	l := map[string]string{
		"kubernetes.io/hostname":  k.cfg.NodeName,
		"kubernetes.io/os":        goruntime.GOOS,
		"kubernetes.io/arch":      goruntime.GOARCH,
		"beta.kubernetes.io/os":   goruntime.GOOS,
		"beta.kubernetes.io/arch": goruntime.GOARCH,
	}
	for key, v := range k.cfg.NodeLabels {
		l[key] = v
	}
	return l
}

// statusLoop writes the node status every --node-status-update-frequency.
func (k *Kubelet) statusLoop(ctx context.Context) {
	t := time.NewTicker(k.cfg.NodeStatusUpdateFrequency)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := k.updateNodeStatus(ctx); err != nil && ctx.Err() == nil {
				slog.Warn("update node status", "node", k.cfg.NodeName, "err", err)
			}
		}
	}
}

// updateNodeStatus reads the node (for its podCIDR), configures the
// network from it, and writes capacity, conditions and nodeInfo.
func (k *Kubelet) updateNodeStatus(ctx context.Context) error {
	// Others write the node too (node IPAM sets podCIDR, node lifecycle
	// taints): a conflict means read it again and retry, as upstream.
	return retry.RetryOnConflict(retry.DefaultRetry, func() error { return k.tryUpdateNodeStatus(ctx) })
}

func (k *Kubelet) tryUpdateNodeStatus(ctx context.Context) error {
	node, err := k.client.CoreV1().Nodes().Get(ctx, k.cfg.NodeName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get node: %w", err)
	}
	if node.Spec.PodCIDR != "" {
		if err := k.network.SetPodCIDR(node.Spec.PodCIDR); err != nil {
			slog.Warn("configure pod network", "podCIDR", node.Spec.PodCIDR, "err", err)
		}
	}
	// A runtime that does not answer must not hold up the heartbeat.
	rtCtx, cancel := context.WithTimeout(ctx, runtimeCheckTimeout)
	version, rtErr := k.node.Version(rtCtx)
	var images []runtime.ImageInfo
	if rtErr == nil {
		images, rtErr = k.node.ListImages(rtCtx)
	}
	cancel()
	if rtErr != nil {
		slog.Warn("container runtime sanity check failed", "node", k.cfg.NodeName, "err", rtErr)
	}
	oldConditions := node.Status.Conditions
	node.Status = k.nodeStatus(node.Status, version, rtErr, k.network.Status(), images, metav1.NewTime(k.clock.Now()))
	k.mu.Lock()
	k.nodeAlloc = node.Status.Allocatable
	k.mu.Unlock()
	updated, err := k.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
	if err != nil {
		if apierrors.IsConflict(err) {
			return err
		}
		return fmt.Errorf("update node status: %w", err)
	}
	k.recordNodeConditionEvents(oldConditions, updated.Status.Conditions)
	if taints, changed := withPressureTaints(updated); changed {
		updated.Spec.Taints = taints
		if _, err := k.client.CoreV1().Nodes().Update(ctx, updated, metav1.UpdateOptions{}); err != nil {
			if apierrors.IsConflict(err) {
				return err
			}
			return fmt.Errorf("update node pressure taints: %w", err)
		}
	}
	return nil
}

func (k *Kubelet) nodeStatus(old v1.NodeStatus, version string, rtErr, netErr error, images []runtime.ImageInfo, now metav1.Time) v1.NodeStatus {
	capacity := machineCapacity(k.cfg.RootDir, k.cfg.MaxPods)
	st := v1.NodeStatus{
		Capacity:    capacity,
		Allocatable: allocatable(capacity, k.cfg.SystemReserved, k.cfg.KubeReserved),
		Addresses: []v1.NodeAddress{
			{Type: v1.NodeInternalIP, Address: k.hostIP},
			{Type: v1.NodeHostName, Address: k.cfg.NodeName},
		},
		DaemonEndpoints: v1.NodeDaemonEndpoints{KubeletEndpoint: v1.DaemonEndpoint{Port: int32(k.cfg.Port)}},
		NodeInfo:        nodeInfo(version),
	}
	for _, img := range images {
		st.Images = append(st.Images, v1.ContainerImage{Names: img.Names, SizeBytes: img.Size})
	}
	if rtErr != nil {
		// What the runtime said last stays, as upstream's setters leave
		// the fields whose source failed.
		st.Images = old.Images
		if st.NodeInfo.ContainerRuntimeVersion == "" {
			st.NodeInfo.ContainerRuntimeVersion = old.NodeInfo.ContainerRuntimeVersion
		}
	}
	ready := v1.NodeCondition{Type: v1.NodeReady, Status: v1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status"}
	if msg := notReadyMessage(rtErr, netErr); msg != "" {
		ready.Status, ready.Reason, ready.Message = v1.ConditionFalse, "KubeletNotReady", msg
	}
	memory, disk := k.pressureConditions()
	conds := []v1.NodeCondition{
		memory,
		disk,
		{Type: v1.NodePIDPressure, Status: v1.ConditionFalse, Reason: "KubeletHasSufficientPID", Message: "kubelet has sufficient PID available"},
		ready,
	}
	for _, c := range conds {
		c.LastHeartbeatTime, c.LastTransitionTime = now, now
		for _, oc := range old.Conditions {
			if oc.Type == c.Type && oc.Status == c.Status {
				c.LastTransitionTime = oc.LastTransitionTime
			}
		}
		st.Conditions = append(st.Conditions, c)
	}
	return st
}

// runtimeCheckTimeout bounds the runtime calls of a node status round.
const runtimeCheckTimeout = 5 * time.Second

// notReadyMessage is the Ready condition's message when the runtime
// (rtErr) or the pod network (netErr) is broken, in upstream's words
// (the cause of a runtime failure is logged, not shown, as upstream's);
// empty when both are healthy.
func notReadyMessage(rtErr, netErr error) string {
	var errs []error
	if rtErr != nil {
		errs = append(errs, errors.New("container runtime is down"))
	}
	if netErr != nil {
		errs = append(errs, fmt.Errorf("container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: %v", netErr))
	}
	if agg := utilerrors.NewAggregate(errs); agg != nil {
		return agg.Error()
	}
	return ""
}

// machineCapacity is the machine's CPUs, memory, root-dir filesystem and
// the pod limit.
func machineCapacity(rootDir string, maxPods int) v1.ResourceList {
	c := v1.ResourceList{
		v1.ResourceCPU:  *resource.NewQuantity(int64(goruntime.NumCPU()), resource.DecimalSI),
		v1.ResourcePods: *resource.NewQuantity(int64(maxPods), resource.DecimalSI),
	}
	if mem := memTotal(); mem > 0 {
		c[v1.ResourceMemory] = *resource.NewQuantity(mem, resource.BinarySI)
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(rootDir, &fs); err == nil {
		c[v1.ResourceEphemeralStorage] = *resource.NewQuantity(int64(fs.Blocks)*fs.Bsize, resource.BinarySI)
	}
	return c
}

// allocatable is capacity minus the reservations (never below zero).
func allocatable(capacity v1.ResourceList, reserved ...v1.ResourceList) v1.ResourceList {
	out := capacity.DeepCopy()
	for _, r := range reserved {
		for name, q := range r {
			v, ok := out[name]
			if !ok {
				continue
			}
			v.Sub(q)
			if v.Sign() < 0 {
				v = *resource.NewQuantity(0, v.Format)
			}
			out[name] = v
		}
	}
	return out
}

func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func nodeInfo(runtimeVersion string) v1.NodeSystemInfo {
	read := func(p string) string {
		b, _ := os.ReadFile(p)
		return strings.TrimSpace(string(b))
	}
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	osImage := "Linux"
	for _, line := range strings.Split(read("/etc/os-release"), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			osImage = strings.Trim(v, `"`)
		}
	}
	info := v1.NodeSystemInfo{
		MachineID:       read("/etc/machine-id"),
		SystemUUID:      read("/sys/class/dmi/id/product_uuid"),
		BootID:          read("/proc/sys/kernel/random/boot_id"),
		KernelVersion:   unix.ByteSliceToString(uts.Release[:]),
		OSImage:         osImage,
		OperatingSystem: goruntime.GOOS,
		Architecture:    goruntime.GOARCH,
		KubeletVersion:  KubeletVersion,
	}
	if runtimeVersion != "" {
		info.ContainerRuntimeVersion = "containerd://" + runtimeVersion
	}
	return info
}

// heartbeatLoop renews the node's Lease every 10 s (a quarter of its
// duration, as upstream).
func (k *Kubelet) heartbeatLoop(ctx context.Context) {
	interval := k.cfg.NodeLeaseDuration / 4
	for {
		if err := k.renewLease(ctx); err != nil && ctx.Err() == nil {
			slog.Warn("renew node lease", "node", k.cfg.NodeName, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

func (k *Kubelet) renewLease(ctx context.Context) error {
	leases := k.client.CoordinationV1().Leases(nodeLeaseNamespace)
	now := metav1.NewMicroTime(k.clock.Now())
	secs := int32(k.cfg.NodeLeaseDuration / time.Second)
	lease, err := leases.Get(ctx, k.cfg.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		lease = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: k.cfg.NodeName, Namespace: nodeLeaseNamespace},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: &k.cfg.NodeName, LeaseDurationSeconds: &secs, RenewTime: &now},
		}
		if node, err := k.client.CoreV1().Nodes().Get(ctx, k.cfg.NodeName, metav1.GetOptions{}); err == nil {
			lease.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}}
		}
		_, err = leases.Create(ctx, lease, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	lease.Spec.HolderIdentity, lease.Spec.LeaseDurationSeconds, lease.Spec.RenewTime = &k.cfg.NodeName, &secs, &now
	_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	return err
}
