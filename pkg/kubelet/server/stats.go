package server

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"encoding/json"

	"github.com/kstack/kstack/pkg/kubelet/cgroupstat"
	"github.com/kstack/kstack/pkg/kubelet/runtime"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// The /stats/summary document: the field names of upstream's
// k8s.io/kubelet/pkg/apis/stats/v1alpha1 Summary (the subset we fill).
type summary struct {
	Node nodeStats  `json:"node"`
	Pods []podStats `json:"pods"`
}

type nodeStats struct {
	NodeName  string       `json:"nodeName"`
	StartTime metav1.Time  `json:"startTime"`
	CPU       *cpuStats    `json:"cpu,omitempty"`
	Memory    *memoryStats `json:"memory,omitempty"`
}

type podReference struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	UID       string `json:"uid"`
}

type podStats struct {
	PodRef     podReference     `json:"podRef"`
	StartTime  metav1.Time      `json:"startTime"`
	Containers []containerStats `json:"containers"`
	CPU        *cpuStats        `json:"cpu,omitempty"`
	Memory     *memoryStats     `json:"memory,omitempty"`
}

type containerStats struct {
	Name      string       `json:"name"`
	StartTime metav1.Time  `json:"startTime"`
	CPU       *cpuStats    `json:"cpu,omitempty"`
	Memory    *memoryStats `json:"memory,omitempty"`
}

type cpuStats struct {
	Time                 metav1.Time `json:"time"`
	UsageNanoCores       *uint64     `json:"usageNanoCores,omitempty"`
	UsageCoreNanoSeconds *uint64     `json:"usageCoreNanoSeconds,omitempty"`
}

type memoryStats struct {
	Time            metav1.Time `json:"time"`
	AvailableBytes  *uint64     `json:"availableBytes,omitempty"`
	UsageBytes      *uint64     `json:"usageBytes,omitempty"`
	WorkingSetBytes *uint64     `json:"workingSetBytes,omitempty"`
}

// statsProvider reads cgroup counters; usageNanoCores is the rate since
// the previous read of the same cgroup.
type statsProvider struct {
	s *Server

	mu   sync.Mutex
	last map[string]cpuSample
}

type cpuSample struct {
	at    time.Time
	usage uint64
}

var bootTime = time.Now()

// cgroupUsage reads a cgroup's CPU (ns) and memory usage and working set
// (usage minus inactive file pages), cgroup v2 or v1.
func (p *statsProvider) cgroupUsage(rel string) (cpu uint64, mem, ws uint64, ok bool) {
	root := p.s.cfg.CgroupRoot
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err == nil {
		dir := filepath.Join(root, rel)
		usec, ok1 := cgroupstat.KeyedUint(filepath.Join(dir, "cpu.stat"), "usage_usec")
		m, ok2 := cgroupstat.ReadUint(filepath.Join(dir, "memory.current"))
		if rel == "" || rel == "/" {
			ok2 = false
		}
		inactive, _ := cgroupstat.KeyedUint(filepath.Join(dir, "memory.stat"), "inactive_file")
		return usec * 1000, m, sub(m, inactive), ok1 || ok2
	}
	c, ok1 := cgroupstat.ReadUint(filepath.Join(root, "cpu,cpuacct", rel, "cpuacct.usage"))
	if !ok1 {
		c, ok1 = cgroupstat.ReadUint(filepath.Join(root, "cpuacct", rel, "cpuacct.usage"))
	}
	m, ok2 := cgroupstat.ReadUint(filepath.Join(root, "memory", rel, "memory.usage_in_bytes"))
	inactive, _ := cgroupstat.KeyedUint(filepath.Join(root, "memory", rel, "memory.stat"), "total_inactive_file")
	return c, m, sub(m, inactive), ok1 || ok2
}

func sub(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}

func (p *statsProvider) sample(key string, usage uint64, now time.Time) *uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == nil {
		p.last = map[string]cpuSample{}
	}
	prev, ok := p.last[key]
	p.last[key] = cpuSample{at: now, usage: usage}
	if !ok || !now.After(prev.at) || usage < prev.usage {
		return nil
	}
	rate := uint64(float64(usage-prev.usage) / now.Sub(prev.at).Seconds())
	return &rate
}

func (p *statsProvider) stats(key, rel string, now time.Time) (*cpuStats, *memoryStats) {
	cpu, mem, ws, ok := p.cgroupUsage(rel)
	if !ok {
		return nil, nil
	}
	t := metav1.NewTime(now)
	return &cpuStats{Time: t, UsageCoreNanoSeconds: &cpu, UsageNanoCores: p.sample(key, cpu, now)},
		&memoryStats{Time: t, UsageBytes: &mem, WorkingSetBytes: &ws}
}

// collect builds the summary: the node from the root cgroup and
// /proc/meminfo, each pod's containers from their cgroups
// (/<containerd namespace>/<container ID>).
func (p *statsProvider) collect(r *http.Request) (*summary, error) {
	now := time.Now()
	out := &summary{Node: nodeStats{NodeName: p.s.cfg.NodeName, StartTime: metav1.NewTime(bootTime)}}
	out.Node.CPU, out.Node.Memory = p.stats("/", "", now)
	if total, ok := meminfo("MemTotal"); ok && out.Node.Memory != nil {
		avail, _ := meminfo("MemAvailable")
		used := sub(total, avail)
		out.Node.Memory.UsageBytes, out.Node.Memory.WorkingSetBytes = &used, &used
		out.Node.Memory.AvailableBytes = &avail
	}
	pods, err := p.s.cfg.Pods.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Namespace+"/"+pods[i].Name < pods[j].Namespace+"/"+pods[j].Name })
	for _, pod := range pods {
		cs, err := p.s.cfg.Runtime.List(r.Context(), string(pod.UID))
		if err != nil {
			return nil, err
		}
		ps := podStats{PodRef: podReference{Name: pod.Name, Namespace: pod.Namespace, UID: string(pod.UID)}, Containers: []containerStats{}}
		if pod.Status.StartTime != nil {
			ps.StartTime = *pod.Status.StartTime
		}
		var podCPU, podMem, podWS uint64
		var podRate *uint64
		seen := false
		for _, c := range cs {
			if c.State != runtime.StateRunning {
				continue
			}
			cg := "/" + p.s.cfg.ContainerdNamespace + "/" + c.ID
			if l := c.Labels[runtime.LabelCgroupsPath]; l != "" { // in its pod's cgroup (--cgroup-root)
				cg = l
			}
			cpu, mem := p.stats(c.ID, cg, now)
			if cpu == nil {
				continue
			}
			seen = true
			podCPU += *cpu.UsageCoreNanoSeconds
			podMem += *mem.UsageBytes
			podWS += *mem.WorkingSetBytes
			if cpu.UsageNanoCores != nil {
				if podRate == nil {
					podRate = new(uint64)
				}
				*podRate += *cpu.UsageNanoCores
			}
			if c.Labels[runtime.LabelKind] != runtime.KindContainer {
				continue
			}
			ps.Containers = append(ps.Containers, containerStats{Name: c.Labels[runtime.LabelContainerName], StartTime: metav1.NewTime(c.StartedAt), CPU: cpu, Memory: mem})
		}
		if seen {
			t := metav1.NewTime(now)
			ps.CPU = &cpuStats{Time: t, UsageCoreNanoSeconds: &podCPU, UsageNanoCores: podRate}
			ps.Memory = &memoryStats{Time: t, UsageBytes: &podMem, WorkingSetBytes: &podWS}
		}
		out.Pods = append(out.Pods, ps)
	}
	return out, nil
}

func meminfo(key string) (uint64, bool) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && k == key {
			n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n * 1024, err == nil
		}
	}
	return 0, false
}

// serveSummary is /stats/summary.
func (p *statsProvider) serveSummary(w http.ResponseWriter, r *http.Request) {
	sum, err := p.collect(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(sum)
}

// serveResourceMetrics is /metrics/resource: upstream's resource metrics
// in the Prometheus text format.
func (p *statsProvider) serveResourceMetrics(w http.ResponseWriter, r *http.Request) {
	sum, err := p.collect(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var b strings.Builder
	ms := func(t metav1.Time) int64 { return t.UnixMilli() }
	family := func(name, help, typ string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	family("container_cpu_usage_seconds_total", "[STABLE] Cumulative cpu time consumed by the container in core-seconds", "counter")
	for _, ps := range sum.Pods {
		for _, c := range ps.Containers {
			if c.CPU != nil {
				fmt.Fprintf(&b, "container_cpu_usage_seconds_total{container=%q,namespace=%q,pod=%q} %g %d\n", c.Name, ps.PodRef.Namespace, ps.PodRef.Name, float64(*c.CPU.UsageCoreNanoSeconds)/1e9, ms(c.CPU.Time))
			}
		}
	}
	family("container_memory_working_set_bytes", "[STABLE] Current working set of the container in bytes", "gauge")
	for _, ps := range sum.Pods {
		for _, c := range ps.Containers {
			if c.Memory != nil {
				fmt.Fprintf(&b, "container_memory_working_set_bytes{container=%q,namespace=%q,pod=%q} %d %d\n", c.Name, ps.PodRef.Namespace, ps.PodRef.Name, *c.Memory.WorkingSetBytes, ms(c.Memory.Time))
			}
		}
	}
	family("container_start_time_seconds", "[STABLE] Start time of the container since unix epoch in seconds", "gauge")
	for _, ps := range sum.Pods {
		for _, c := range ps.Containers {
			fmt.Fprintf(&b, "container_start_time_seconds{container=%q,namespace=%q,pod=%q} %g\n", c.Name, ps.PodRef.Namespace, ps.PodRef.Name, float64(c.StartTime.UnixNano())/1e9)
		}
	}
	if n := sum.Node; n.CPU != nil {
		family("node_cpu_usage_seconds_total", "[STABLE] Cumulative cpu time consumed by the node in core-seconds", "counter")
		fmt.Fprintf(&b, "node_cpu_usage_seconds_total %g %d\n", float64(*n.CPU.UsageCoreNanoSeconds)/1e9, ms(n.CPU.Time))
	}
	if n := sum.Node; n.Memory != nil {
		family("node_memory_working_set_bytes", "[STABLE] Current working set of the node in bytes", "gauge")
		fmt.Fprintf(&b, "node_memory_working_set_bytes %d %d\n", *n.Memory.WorkingSetBytes, ms(n.Memory.Time))
	}
	family("pod_cpu_usage_seconds_total", "[STABLE] Cumulative cpu time consumed by the pod in core-seconds", "counter")
	for _, ps := range sum.Pods {
		if ps.CPU != nil {
			fmt.Fprintf(&b, "pod_cpu_usage_seconds_total{namespace=%q,pod=%q} %g %d\n", ps.PodRef.Namespace, ps.PodRef.Name, float64(*ps.CPU.UsageCoreNanoSeconds)/1e9, ms(ps.CPU.Time))
		}
	}
	family("pod_memory_working_set_bytes", "[STABLE] Current working set of the pod in bytes", "gauge")
	for _, ps := range sum.Pods {
		if ps.Memory != nil {
			fmt.Fprintf(&b, "pod_memory_working_set_bytes{namespace=%q,pod=%q} %d %d\n", ps.PodRef.Namespace, ps.PodRef.Name, *ps.Memory.WorkingSetBytes, ms(ps.Memory.Time))
		}
	}
	family("scrape_error", "[ALPHA] 1 if there was an error while getting container metrics, 0 otherwise", "gauge")
	b.WriteString("scrape_error 0\n")
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write([]byte(b.String()))
}
