package kubelet

// Pod cgroups under --cgroup-root, as upstream's cgroupfs driver with
// cgroupsPerQOS: <root>/kubepods holds Guaranteed pods' cgroups
// (pod<uid>), <root>/kubepods/burstable and <root>/kubepods/besteffort
// the others'. A pod's sandbox and containers are <pod cgroup>/<id>.
// The pod cgroup carries the pod's cpu shares (its requests), its CFS
// quota and memory limit when every container has one; besteffort gets
// the minimum shares (2), burstable the sum of its pods' requests,
// kubepods the node's allocatable CPU. A pod cgroup is removed with the
// pod; orphans (a kubelet killed in between) are collected (gc.go).
//
// With no --cgroup-root containers stay where containerd puts them
// (/<containerd namespace>/<id>): several kubelets on one machine (local
// clusters, tests) would otherwise share /kubepods.

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// cgroupMount is one mounted cgroup hierarchy.
type cgroupMount struct {
	dir         string
	v2          bool
	controllers map[string]bool // v1: the hierarchy's controllers
}

var (
	cgroupMountsOnce sync.Once
	cgroupMountsList []cgroupMount
)

// cgroupMounts reads the cgroup hierarchies from /proc/self/mountinfo.
func cgroupMounts() []cgroupMount {
	cgroupMountsOnce.Do(func() {
		f, err := os.Open("/proc/self/mountinfo")
		if err != nil {
			return
		}
		defer f.Close()
		seen := map[string]bool{}
		s := bufio.NewScanner(f)
		for s.Scan() {
			// id parent major:minor root mountpoint opts ... - fstype source superopts
			pre, post, ok := strings.Cut(s.Text(), " - ")
			if !ok {
				continue
			}
			pf, qf := strings.Fields(pre), strings.Fields(post)
			if len(pf) < 5 || len(qf) < 3 || pf[3] != "/" || seen[pf[4]] {
				continue
			}
			m := cgroupMount{dir: pf[4], controllers: map[string]bool{}}
			switch qf[0] {
			case "cgroup2":
				m.v2 = true
			case "cgroup":
				for _, o := range strings.Split(qf[2], ",") {
					m.controllers[o] = true
				}
			default:
				continue
			}
			seen[m.dir] = true
			cgroupMountsList = append(cgroupMountsList, m)
		}
	})
	return cgroupMountsList
}

// unifiedOnly says the machine runs cgroup v2 alone (no v1 controller).
func unifiedOnly(ms []cgroupMount) bool {
	for _, m := range ms {
		if !m.v2 && (m.controllers["cpu"] || m.controllers["memory"]) {
			return false
		}
	}
	return true
}

// kubepodsCgroup is <--cgroup-root>/kubepods.
func (k *Kubelet) kubepodsCgroup() string {
	return path.Join("/", k.cfg.CgroupRoot, "kubepods")
}

// podCgroup is pod's cgroup, "" without --cgroup-root.
func (k *Kubelet) podCgroup(pod *v1.Pod) string {
	if k.cfg.CgroupRoot == "" || k.hollow {
		return ""
	}
	base := k.kubepodsCgroup()
	name := "pod" + string(pod.UID)
	switch qosClass(pod) {
	case v1.PodQOSBurstable:
		return path.Join(base, "burstable", name)
	case v1.PodQOSBestEffort:
		return path.Join(base, "besteffort", name)
	}
	return path.Join(base, name)
}

// cgroupLimits are the settings written to one cgroup; zero is unset.
type cgroupLimits struct {
	shares uint64
	quota  int64 // µs per period
	period uint64
	memory int64
}

// milliCPUToShares is upstream's: 1024 per CPU, at least 2.
func milliCPUToShares(m int64) uint64 {
	return max(uint64(m)*1024/1000, 2)
}

// podCgroupLimits are upstream's pod-level settings: shares from the
// requests (the larger of the app containers' sum and the largest init
// container), a quota and a memory limit only when every container has
// that limit.
func podCgroupLimits(pod *v1.Pod) cgroupLimits {
	var reqSum, cpuLimSum, memLimSum int64
	allCPU, allMem := true, true
	for _, c := range pod.Spec.Containers {
		req, _ := containerCPURequest(c)
		reqSum += req
		if l, ok := c.Resources.Limits[v1.ResourceCPU]; ok {
			cpuLimSum += l.MilliValue()
		} else {
			allCPU = false
		}
		if l, ok := c.Resources.Limits[v1.ResourceMemory]; ok {
			memLimSum += l.Value()
		} else {
			allMem = false
		}
	}
	for _, c := range pod.Spec.InitContainers {
		req, _ := containerCPURequest(c)
		reqSum = max(reqSum, req)
	}
	l := cgroupLimits{shares: milliCPUToShares(reqSum)}
	if qosClass(pod) == v1.PodQOSBestEffort {
		return cgroupLimits{shares: 2}
	}
	if allCPU && len(pod.Spec.Containers) > 0 {
		l.period = 100000
		l.quota = max(cpuLimSum*int64(l.period)/1000, 1000)
	}
	if allMem && len(pod.Spec.Containers) > 0 {
		l.memory = memLimSum
	}
	return l
}

// containerCPURequest is the container's CPU request in millicores (its
// limit when only that is set, as the API defaults it).
func containerCPURequest(c v1.Container) (int64, bool) {
	if r, ok := c.Resources.Requests[v1.ResourceCPU]; ok {
		return r.MilliValue(), true
	}
	if l, ok := c.Resources.Limits[v1.ResourceCPU]; ok {
		return l.MilliValue(), true
	}
	return 0, false
}

// ensurePodCgroup creates pod's cgroup with its limits and refreshes the
// QoS cgroups' cpu shares; it returns the cgroup ("" without
// --cgroup-root).
func (k *Kubelet) ensurePodCgroup(pod *v1.Pod) (string, error) {
	cg := k.podCgroup(pod)
	if cg == "" {
		return "", nil
	}
	k.cgroupMu.Lock()
	defer k.cgroupMu.Unlock()
	ms := cgroupMounts()
	if len(ms) == 0 {
		return "", errors.New("no cgroup hierarchy is mounted")
	}
	var errs []error
	if err := k.writeQoSCgroups(ms, pod); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, writeCgroup(ms, cg, podCgroupLimits(pod)))
	if err := errors.Join(errs...); err != nil {
		return "", fmt.Errorf("pod cgroup %s: %w", cg, err)
	}
	return cg, nil
}

// writeQoSCgroups sets kubepods' shares from the node's allocatable CPU,
// besteffort's to the minimum and burstable's to the sum of the requests
// of the node's Burstable pods (plus pod, which may be new), as upstream's
// QoS container manager.
func (k *Kubelet) writeQoSCgroups(ms []cgroupMount, pod *v1.Pod) error {
	base := k.kubepodsCgroup()
	k.mu.Lock()
	alloc := k.nodeAlloc
	k.mu.Unlock()
	var kubepods cgroupLimits
	if q, ok := alloc[v1.ResourceCPU]; ok {
		kubepods.shares = milliCPUToShares(q.MilliValue())
	} else {
		kubepods.shares = milliCPUToShares(resource.NewQuantity(int64(goruntime.NumCPU()), resource.DecimalSI).MilliValue())
	}
	var burstable int64
	seen := map[types.UID]bool{}
	add := func(p *v1.Pod) {
		if seen[p.UID] || p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed || qosClass(p) != v1.PodQOSBurstable {
			return
		}
		seen[p.UID] = true
		for _, c := range p.Spec.Containers {
			r, _ := containerCPURequest(c)
			burstable += r
		}
	}
	if pod != nil {
		add(pod)
	}
	if k.pods != nil {
		pods, _ := k.pods.List(labels.Everything())
		for _, p := range pods {
			if p.Spec.NodeName == k.cfg.NodeName && !isMirrorPod(p) {
				add(p)
			}
		}
	}
	if k.static != nil {
		for _, p := range k.static.list() {
			add(p)
		}
	}
	return errors.Join(
		writeCgroup(ms, base, kubepods),
		writeCgroup(ms, path.Join(base, "besteffort"), cgroupLimits{shares: 2}),
		writeCgroup(ms, path.Join(base, "burstable"), cgroupLimits{shares: milliCPUToShares(burstable)}),
	)
}

// writeCgroup makes cgroup cg in the cpu and memory hierarchies (v1) or
// the unified one (v2) and writes l. Other v1 hierarchies are left to
// runc, which creates the container's cgroup with its parents there.
func writeCgroup(ms []cgroupMount, cg string, l cgroupLimits) error {
	v2 := unifiedOnly(ms)
	var errs []error
	for _, m := range ms {
		if m.v2 != v2 {
			continue
		}
		dir := filepath.Join(m.dir, cg)
		switch {
		case v2:
			if err := enableControllers(m.dir, cg); err != nil {
				errs = append(errs, err)
				continue
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				errs = append(errs, err)
				continue
			}
			if l.shares > 0 {
				// upstream's CpuSharesToCpuWeight
				errs = append(errs, writeFile(dir, "cpu.weight", strconv.FormatUint(1+((l.shares-2)*9999)/262142, 10)))
			}
			if l.quota > 0 {
				errs = append(errs, writeFile(dir, "cpu.max", fmt.Sprintf("%d %d", l.quota, l.period)))
			}
			if l.memory > 0 {
				errs = append(errs, writeFile(dir, "memory.max", strconv.FormatInt(l.memory, 10)))
			}
		case m.controllers["cpu"]:
			if err := os.MkdirAll(dir, 0o755); err != nil {
				errs = append(errs, err)
				continue
			}
			if l.shares > 0 {
				errs = append(errs, writeFile(dir, "cpu.shares", strconv.FormatUint(l.shares, 10)))
			}
			if l.quota > 0 {
				errs = append(errs, writeFile(dir, "cpu.cfs_period_us", strconv.FormatUint(l.period, 10)),
					writeFile(dir, "cpu.cfs_quota_us", strconv.FormatInt(l.quota, 10)))
			}
		case m.controllers["memory"]:
			if err := os.MkdirAll(dir, 0o755); err != nil {
				errs = append(errs, err)
				continue
			}
			if l.memory > 0 {
				errs = append(errs, writeFile(dir, "memory.limit_in_bytes", strconv.FormatInt(l.memory, 10)))
			}
		}
	}
	return errors.Join(errs...)
}

// enableControllers turns cpu, memory and pids on for the children of
// every ancestor of cg (cgroup v2's subtree_control).
func enableControllers(mount, cg string) error {
	dir := mount
	for _, part := range strings.Split(strings.Trim(cg, "/"), "/") {
		b, _ := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
		have := strings.Fields(string(b))
		for _, c := range []string{"cpu", "memory", "pids"} {
			if !containsString(have, c) {
				if err := writeFile(dir, "cgroup.subtree_control", "+"+c); err != nil {
					return err
				}
			}
		}
		dir = filepath.Join(dir, part)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return nil
}

func containsString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func writeFile(dir, name, v string) error {
	if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Join(dir, name), err)
	}
	return nil
}

// removePodCgroup removes pod uid's cgroup (whatever its QoS class) from
// every hierarchy, with whatever empty cgroups runc left in it, and
// refreshes the QoS shares. A cgroup with processes stays (an error).
func (k *Kubelet) removePodCgroup(uid types.UID) error {
	if k.cfg.CgroupRoot == "" || k.hollow {
		return nil
	}
	k.cgroupMu.Lock()
	defer k.cgroupMu.Unlock()
	base, name := k.kubepodsCgroup(), "pod"+string(uid)
	var errs []error
	for _, m := range cgroupMounts() {
		for _, cg := range []string{path.Join(base, name), path.Join(base, "burstable", name), path.Join(base, "besteffort", name)} {
			errs = append(errs, removeCgroupTree(filepath.Join(m.dir, cg)))
		}
	}
	if err := k.writeQoSCgroups(cgroupMounts(), nil); err != nil {
		slog.Warn("QoS cgroups", "err", err)
	}
	return errors.Join(errs...)
}

// removeCgroupTree removes dir and its child cgroups, deepest first; a
// missing dir is no error.
func removeCgroupTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if e.IsDir() {
			errs = append(errs, removeCgroupTree(filepath.Join(dir, e.Name())))
		}
	}
	if err := os.Remove(dir); err != nil && !os.IsNotExist(err) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// podCgroupUIDs lists the pod UIDs that have a cgroup under kubepods.
func (k *Kubelet) podCgroupUIDs() []types.UID {
	if k.cfg.CgroupRoot == "" || k.hollow {
		return nil
	}
	seen := map[types.UID]bool{}
	var out []types.UID
	base := k.kubepodsCgroup()
	for _, m := range cgroupMounts() {
		for _, q := range []string{"", "burstable", "besteffort"} {
			entries, _ := os.ReadDir(filepath.Join(m.dir, base, q))
			for _, e := range entries {
				if uid, ok := strings.CutPrefix(e.Name(), "pod"); ok && e.IsDir() && !seen[types.UID(uid)] {
					seen[types.UID(uid)] = true
					out = append(out, types.UID(uid))
				}
			}
		}
	}
	return out
}
