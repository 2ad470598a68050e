// Package eviction is the kubelet's node-pressure eviction, as upstream's
// hard thresholds (--eviction-hard): every monitoring interval the kubelet
// observes the eviction signals (memory.available from /proc/meminfo,
// nodefs.available and nodefs.inodesFree from statfs of its root dir),
// compares them with the thresholds, reports MemoryPressure and
// DiskPressure (kept for --eviction-pressure-transition-period after the
// last time a threshold was met, so the conditions do not flap), and picks
// at most one pod to evict per interval: ranked by whether its usage
// exceeds its requests, priority, QoS class (BestEffort, Burstable,
// Guaranteed) and usage above its requests. The kubelet kills that pod and
// marks it Failed with reason Evicted and upstream's message.
//
// Data flow: Manager.Synchronize(pods) -> StatsSource (machine, per-pod
// usage) -> thresholds met -> conditions + the pod to evict.
package eviction

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/clock"
)

// Signal is an eviction signal (upstream's names).
type Signal string

// Eviction signals.
const (
	SignalMemoryAvailable   Signal = "memory.available"
	SignalNodeFsAvailable   Signal = "nodefs.available"
	SignalNodeFsInodesFree  Signal = "nodefs.inodesFree"
	SignalImageFsAvailable  Signal = "imagefs.available"
	SignalImageFsInodesFree Signal = "imagefs.inodesFree"
	SignalPIDAvailable      Signal = "pid.available"
)

// DefaultHard is upstream's --eviction-hard default on Linux.
const DefaultHard = "memory.available<100Mi,nodefs.available<10%,nodefs.inodesFree<5%,imagefs.available<15%"

// Reason is the pod status reason of an evicted pod.
const Reason = "Evicted"

// Upstream's message fragments (pkg/kubelet/eviction/helpers.go).
const (
	nodeLowMessageFmt      = "The node was low on resource: %v. "
	thresholdMetMessageFmt = "Threshold quantity: %v, available: %v. "
	containerMessageFmt    = "Container %s was using %s, request is %s, has larger consumption of %v. "
)

// resourceInodes is the resource name of inodes in messages, as upstream.
const resourceInodes v1.ResourceName = "inodes"

// systemCriticalPriority is the priority at and above which a pod is never
// evicted (system-cluster-critical and system-node-critical).
const systemCriticalPriority = 2000000000

// signalResource is what each signal is short of, for messages and
// ranking.
var signalResource = map[Signal]v1.ResourceName{
	SignalMemoryAvailable:   v1.ResourceMemory,
	SignalNodeFsAvailable:   v1.ResourceEphemeralStorage,
	SignalNodeFsInodesFree:  resourceInodes,
	SignalImageFsAvailable:  v1.ResourceEphemeralStorage,
	SignalImageFsInodesFree: resourceInodes,
	SignalPIDAvailable:      v1.ResourcePods,
}

// Threshold is "signal < quantity" or "signal < percentage of capacity".
type Threshold struct {
	Signal Signal
	// Quantity, when set, is the absolute threshold; otherwise Percentage
	// (0 < p <= 1) of the signal's capacity.
	Quantity   *resource.Quantity
	Percentage float64
}

// String is the threshold as the flag spells it.
func (t Threshold) String() string {
	return string(t.Signal) + "<" + t.value()
}

func (t Threshold) value() string {
	if t.Quantity != nil {
		return t.Quantity.String()
	}
	return strconv.FormatFloat(t.Percentage*100, 'f', -1, 64) + "%"
}

// limit is the threshold in the signal's unit for a capacity.
func (t Threshold) limit(capacity int64) int64 {
	if t.Quantity != nil {
		return t.Quantity.Value()
	}
	return int64(t.Percentage * float64(capacity))
}

// ParseThresholds reads --eviction-hard: comma-separated
// "<signal><<quantity or percentage>" entries, e.g.
// "memory.available<100Mi,nodefs.available<10%". An empty string is no
// thresholds; "signal<0%" or "<0" disables that signal, as upstream.
func ParseThresholds(s string) ([]Threshold, error) {
	var out []Threshold
	seen := map[Signal]bool{}
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		name, value, ok := strings.Cut(entry, "<")
		if !ok {
			return nil, fmt.Errorf("eviction threshold %q: want <signal><<quantity>, e.g. memory.available<100Mi (only < is supported)", entry)
		}
		sig := Signal(strings.TrimSpace(name))
		if _, known := signalResource[sig]; !known {
			return nil, fmt.Errorf("eviction threshold %q: unknown signal %q", entry, sig)
		}
		if seen[sig] {
			return nil, fmt.Errorf("eviction threshold %q: signal %s given twice", entry, sig)
		}
		seen[sig] = true
		t := Threshold{Signal: sig}
		value = strings.TrimSpace(value)
		if p, isPct := strings.CutSuffix(value, "%"); isPct {
			f, err := strconv.ParseFloat(p, 64)
			if err != nil || f < 0 || f > 100 {
				return nil, fmt.Errorf("eviction threshold %q: percentage must be between 0%% and 100%%", entry)
			}
			if f == 0 {
				continue
			}
			t.Percentage = f / 100
		} else {
			q, err := resource.ParseQuantity(value)
			if err != nil {
				return nil, fmt.Errorf("eviction threshold %q: %w", entry, err)
			}
			if q.Sign() < 0 {
				return nil, fmt.Errorf("eviction threshold %q: must not be negative", entry)
			}
			if q.IsZero() {
				continue
			}
			t.Quantity = &q
		}
		out = append(out, t)
	}
	return out, nil
}

// Observation is one signal's value: what is available of its capacity
// (bytes, inodes or PIDs).
type Observation struct {
	Available, Capacity int64
}

// Usage is a pod's consumption: working-set memory and local disk (logs,
// writable layers, emptyDirs) in bytes, and inodes.
type Usage struct {
	Memory, Disk, Inodes int64
}

// StatsSource reads the machine and the pods. The kubelet's is the
// machine's (MachineStats); unit tests inject their own.
type StatsSource interface {
	// Observe returns the signals it can observe.
	Observe() (map[Signal]Observation, error)
	// PodUsage is the pod's current usage (zero when unknown).
	PodUsage(pod *v1.Pod) Usage
}

// Result is one Synchronize round's outcome.
type Result struct {
	// Met are the thresholds crossed now.
	Met []Threshold
	// MemoryPressure and DiskPressure are the node conditions (they stay
	// true for the transition period after the last threshold met).
	MemoryPressure, DiskPressure bool
	// Evict, when set, is the pod to evict now, with its status message.
	Evict   *v1.Pod
	Message string
}

// Manager evaluates thresholds and ranks pods; it is safe for concurrent
// use.
type Manager struct {
	thresholds []Threshold
	stats      StatsSource
	transition time.Duration
	clock      clock.Clock

	mu      sync.Mutex
	lastMet map[v1.NodeConditionType]time.Time
}

// NewManager returns a Manager for thresholds; transition is
// --eviction-pressure-transition-period (upstream: 5m).
func NewManager(thresholds []Threshold, stats StatsSource, transition time.Duration, clk clock.Clock) *Manager {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Manager{thresholds: thresholds, stats: stats, transition: transition, clock: clk, lastMet: map[v1.NodeConditionType]time.Time{}}
}

// condition is the node condition a signal's pressure shows as.
func condition(s Signal) v1.NodeConditionType {
	switch s {
	case SignalMemoryAvailable:
		return v1.NodeMemoryPressure
	case SignalPIDAvailable:
		return v1.NodePIDPressure
	}
	return v1.NodeDiskPressure
}

// Synchronize observes the signals and returns the conditions and, when a
// threshold is met, the pod (of pods, the node's active pods) to evict.
func (m *Manager) Synchronize(pods []*v1.Pod) (Result, error) {
	obs, err := m.stats.Observe()
	if err != nil {
		return Result{}, fmt.Errorf("observe eviction signals: %w", err)
	}
	now := m.clock.Now()
	var res Result
	type metObs struct {
		t Threshold
		o Observation
	}
	var met []metObs
	for _, t := range m.thresholds {
		o, ok := obs[t.Signal]
		if !ok {
			continue
		}
		if o.Available < t.limit(o.Capacity) {
			res.Met = append(res.Met, t)
			met = append(met, metObs{t, o})
		}
	}
	m.mu.Lock()
	for _, x := range met {
		m.lastMet[condition(x.t.Signal)] = now
	}
	pressure := func(c v1.NodeConditionType) bool {
		last, ok := m.lastMet[c]
		return ok && now.Sub(last) < max(m.transition, time.Nanosecond)
	}
	res.MemoryPressure = pressure(v1.NodeMemoryPressure)
	res.DiskPressure = pressure(v1.NodeDiskPressure)
	m.mu.Unlock()
	if len(met) == 0 {
		return res, nil
	}
	// Reclaim the first threshold met (memory before disk: the list's
	// order), as upstream reclaims one resource per round.
	x := met[0]
	rsc := signalResource[x.t.Signal]
	candidates := make([]*v1.Pod, 0, len(pods))
	for _, p := range pods {
		if !critical(p) {
			candidates = append(candidates, p)
		}
	}
	if len(candidates) == 0 {
		return res, nil
	}
	usage := make(map[*v1.Pod]Usage, len(candidates))
	for _, p := range candidates {
		usage[p] = m.stats.PodUsage(p)
	}
	Rank(candidates, rsc, func(p *v1.Pod) Usage { return usage[p] })
	victim := candidates[0]
	res.Evict = victim
	res.Message = Message(victim, rsc, x.t, x.o, usage[victim])
	return res, nil
}

// critical pods are never evicted: static and mirror pods and pods of
// system-critical priority, as upstream.
func critical(p *v1.Pod) bool {
	if p.Spec.Priority != nil && *p.Spec.Priority >= systemCriticalPriority {
		return true
	}
	if _, ok := p.Annotations["kubernetes.io/config.mirror"]; ok {
		return true
	}
	if s, ok := p.Annotations["kubernetes.io/config.source"]; ok && s != "api" {
		return true
	}
	return false
}

// Message is the evicted pod's status message, as upstream: the resource
// the node was low on, the threshold and what was available, and the
// containers whose usage exceeds their requests.
func Message(pod *v1.Pod, rsc v1.ResourceName, t Threshold, o Observation, u Usage) string {
	var b strings.Builder
	fmt.Fprintf(&b, nodeLowMessageFmt, rsc)
	avail := resource.NewQuantity(o.Available, resource.BinarySI)
	if rsc == resourceInodes {
		avail = resource.NewQuantity(o.Available, resource.DecimalSI)
	}
	fmt.Fprintf(&b, thresholdMetMessageFmt, t.quantity(o.Capacity), avail)
	if rsc != v1.ResourceMemory && rsc != v1.ResourceEphemeralStorage {
		return b.String()
	}
	used := u.Memory
	if rsc == v1.ResourceEphemeralStorage {
		used = u.Disk
	}
	// Usage is measured per pod: a one-container pod's usage is its
	// container's; a pod of several gets no container line.
	if len(pod.Spec.Containers) == 1 {
		c := pod.Spec.Containers[0]
		req := c.Resources.Requests[rsc]
		if used > req.Value() {
			fmt.Fprintf(&b, containerMessageFmt, c.Name, resource.NewQuantity(used, resource.BinarySI), req.String(), rsc)
		}
	}
	return b.String()
}

func (t Threshold) quantity(capacity int64) *resource.Quantity {
	if t.Quantity != nil {
		return t.Quantity
	}
	return resource.NewQuantity(t.limit(capacity), resource.BinarySI)
}

// Rank orders pods for eviction under pressure on rsc, first to evict
// first: pods whose usage exceeds their requests, then lower priority,
// then by QoS class (BestEffort, Burstable, Guaranteed), then larger
// usage above the requests.
func Rank(pods []*v1.Pod, rsc v1.ResourceName, usage func(*v1.Pod) Usage) {
	type key struct {
		exceeds  bool
		priority int32
		qos      int
		over     int64
	}
	keys := make(map[*v1.Pod]key, len(pods))
	for _, p := range pods {
		u := usage(p)
		used := u.Memory
		switch rsc {
		case v1.ResourceEphemeralStorage:
			used = u.Disk
		case resourceInodes:
			used = u.Inodes
		}
		req := podRequest(p, rsc)
		prio := int32(0)
		if p.Spec.Priority != nil {
			prio = *p.Spec.Priority
		}
		keys[p] = key{exceeds: used > req, priority: prio, qos: qosRank(p), over: used - req}
	}
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := keys[pods[i]], keys[pods[j]]
		if a.exceeds != b.exceeds {
			return a.exceeds
		}
		if a.priority != b.priority {
			return a.priority < b.priority
		}
		if a.qos != b.qos {
			return a.qos < b.qos
		}
		return a.over > b.over
	})
}

// podRequest is the pod's request of rsc (inodes have none): the sum of
// its containers', or the largest init container's if that is more.
func podRequest(p *v1.Pod, rsc v1.ResourceName) int64 {
	var sum, initMax int64
	for _, c := range p.Spec.Containers {
		q := c.Resources.Requests[rsc]
		sum += q.Value()
	}
	for _, c := range p.Spec.InitContainers {
		q := c.Resources.Requests[rsc]
		if c.RestartPolicy != nil && *c.RestartPolicy == v1.ContainerRestartPolicyAlways {
			sum += q.Value() // a sidecar runs alongside
			continue
		}
		initMax = max(initMax, q.Value())
	}
	return max(sum, initMax)
}

// qosRank orders QoS classes for eviction: BestEffort 0, Burstable 1,
// Guaranteed 2.
func qosRank(p *v1.Pod) int {
	switch QOSClass(p) {
	case v1.PodQOSBestEffort:
		return 0
	case v1.PodQOSBurstable:
		return 1
	}
	return 2
}

// QOSClass is the pod's status.qosClass, or computed from its spec as
// upstream when the status has none yet.
func QOSClass(p *v1.Pod) v1.PodQOSClass {
	if p.Status.QOSClass != "" {
		return p.Status.QOSClass
	}
	anySet, guaranteed := false, true
	for _, cs := range [][]v1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for _, c := range cs {
			for _, r := range []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory} {
				req, hasReq := c.Resources.Requests[r]
				lim, hasLim := c.Resources.Limits[r]
				if (hasReq && !req.IsZero()) || (hasLim && !lim.IsZero()) {
					anySet = true
				}
				if !hasLim || (hasReq && req.Cmp(lim) != 0) {
					guaranteed = false
				}
			}
		}
	}
	switch {
	case !anySet:
		return v1.PodQOSBestEffort
	case guaranteed:
		return v1.PodQOSGuaranteed
	}
	return v1.PodQOSBurstable
}
