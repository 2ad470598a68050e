package eviction

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

func TestParseThresholds(t *testing.T) {
	tests := []struct {
		in      string
		want    []string // String() of each threshold
		wantErr string
	}{
		{in: DefaultHard, want: []string{"memory.available<100Mi", "nodefs.available<10%", "nodefs.inodesFree<5%", "imagefs.available<15%"}},
		{in: "", want: nil},
		{in: " memory.available < 1Gi , nodefs.available<12.5% ", want: []string{"memory.available<1Gi", "nodefs.available<12.5%"}},
		{in: "memory.available<0%,nodefs.available<0", want: nil}, // zero disables
		{in: "memory.available>100Mi", wantErr: "only < is supported"},
		{in: "memory.free<100Mi", wantErr: `unknown signal "memory.free"`},
		{in: "nodefs.available<120%", wantErr: "between 0% and 100%"},
		{in: "memory.available<lots", wantErr: "memory.available<lots"},
		{in: "memory.available<-1Mi", wantErr: "negative"},
		{in: "memory.available<1Mi,memory.available<2Mi", wantErr: "given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseThresholds(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseThresholds(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseThresholds(%q): %v", tt.in, err)
			}
			var s []string
			for _, th := range got {
				s = append(s, th.String())
			}
			if !slices.Equal(s, tt.want) {
				t.Errorf("ParseThresholds(%q) = %q, want %q", tt.in, s, tt.want)
			}
		})
	}
}

// pod is a fixture: one container with the given memory request and limit
// ("" for none) and priority.
func pod(name, request, limit string, priority int32) *v1.Pod {
	c := v1.Container{Name: "app", Resources: v1.ResourceRequirements{Requests: v1.ResourceList{}, Limits: v1.ResourceList{}}}
	if request != "" {
		c.Resources.Requests[v1.ResourceMemory] = resource.MustParse(request)
		c.Resources.Requests[v1.ResourceCPU] = resource.MustParse("100m")
	}
	if limit != "" {
		c.Resources.Limits[v1.ResourceMemory] = resource.MustParse(limit)
		c.Resources.Limits[v1.ResourceCPU] = resource.MustParse("100m")
	}
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec:       v1.PodSpec{Containers: []v1.Container{c}, Priority: ptr.To(priority)},
	}
}

func names(pods []*v1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

func TestRank_MemoryByRequestsPriorityQoSAndUsage(t *testing.T) {
	mi := int64(1 << 20)
	usage := map[string]int64{
		"guaranteed-over":      300 * mi, // request 200Mi = limit: Guaranteed, over its request
		"guaranteed-under":     100 * mi,
		"burstable-under":      50 * mi,  // request 100Mi
		"burstable-over-small": 150 * mi, // request 100Mi: 50Mi over
		"burstable-over-big":   400 * mi, // request 100Mi: 300Mi over
		"besteffort":           20 * mi,  // no request: over it with any usage
		"besteffort-important": 500 * mi, // higher priority
	}
	pods := []*v1.Pod{
		pod("guaranteed-over", "200Mi", "200Mi", 0),
		pod("guaranteed-under", "200Mi", "200Mi", 0),
		pod("burstable-under", "100Mi", "", 0),
		pod("burstable-over-small", "100Mi", "", 0),
		pod("burstable-over-big", "100Mi", "", 0),
		pod("besteffort", "", "", 0),
		pod("besteffort-important", "", "", 1000),
	}
	Rank(pods, v1.ResourceMemory, func(p *v1.Pod) Usage { return Usage{Memory: usage[p.Name]} })
	want := []string{
		// Over their requests, priority 0: BestEffort, then Burstable by
		// usage above request, then Guaranteed.
		"besteffort", "burstable-over-big", "burstable-over-small", "guaranteed-over",
		// Over its request but of higher priority.
		"besteffort-important",
		// Within their requests: Burstable before Guaranteed.
		"burstable-under", "guaranteed-under",
	}
	if got := names(pods); !slices.Equal(got, want) {
		t.Errorf("Rank =\n  %q\nwant\n  %q", got, want)
	}
}

func TestRank_DiskUsesEphemeralStorage(t *testing.T) {
	a, b := pod("small", "", "", 0), pod("big", "", "", 0)
	b.Spec.Containers[0].Resources.Requests[v1.ResourceEphemeralStorage] = resource.MustParse("1Gi")
	c := pod("medium", "", "", 0)
	disk := map[string]int64{"small": 10, "big": 2 << 30, "medium": 1 << 20}
	pods := []*v1.Pod{b, a, c}
	Rank(pods, v1.ResourceEphemeralStorage, func(p *v1.Pod) Usage { return Usage{Disk: disk[p.Name]} })
	if got, want := names(pods), []string{"big", "medium", "small"}; !slices.Equal(got, want) {
		t.Errorf("Rank = %q, want %q", got, want)
	}
}

// stats is an injected StatsSource.
type stats struct {
	obs   map[Signal]Observation
	usage map[string]Usage
}

func (s *stats) Observe() (map[Signal]Observation, error) { return s.obs, nil }
func (s *stats) PodUsage(p *v1.Pod) Usage                 { return s.usage[p.Name] }

func TestManager_MemoryPressureEvictsWithUpstreamMessageAndConditionLingers(t *testing.T) {
	mi := int64(1 << 20)
	th, err := ParseThresholds(DefaultHard)
	if err != nil {
		t.Fatal(err)
	}
	st := &stats{
		obs: map[Signal]Observation{
			SignalMemoryAvailable: {Available: 50 * mi, Capacity: 4096 * mi},
			SignalNodeFsAvailable: {Available: 50 << 30, Capacity: 100 << 30},
		},
		usage: map[string]Usage{"hog": {Memory: 300 * mi}, "quiet": {Memory: 10 * mi}},
	}
	clk := clocktesting.NewFakeClock(time.Unix(1000, 0))
	m := NewManager(th, st, 5*time.Minute, clk)
	critical := pod("critical", "", "", systemCriticalPriority)
	critical.Name = "critical"
	st.usage["critical"] = Usage{Memory: 1000 * mi}
	pods := []*v1.Pod{pod("quiet", "100Mi", "100Mi", 0), pod("hog", "100Mi", "", 0), critical}

	res, err := m.Synchronize(pods)
	if err != nil {
		t.Fatal(err)
	}
	if !res.MemoryPressure || res.DiskPressure {
		t.Errorf("conditions: memory %v disk %v, want memory pressure only", res.MemoryPressure, res.DiskPressure)
	}
	if res.Evict == nil || res.Evict.Name != "hog" {
		t.Fatalf("evicts %v, want hog (the critical pod is never evicted)", res.Evict)
	}
	want := "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. Container app was using 300Mi, request is 100Mi, has larger consumption of memory. "
	if res.Message != want {
		t.Errorf("message\n  %q\nwant\n  %q", res.Message, want)
	}

	// Memory recovers: nothing to evict, but MemoryPressure stays for the
	// transition period, then clears.
	st.obs[SignalMemoryAvailable] = Observation{Available: 2048 * mi, Capacity: 4096 * mi}
	clk.Step(time.Minute)
	if res, _ = m.Synchronize(pods); res.Evict != nil || !res.MemoryPressure {
		t.Errorf("a minute after recovery: evict %v, memory pressure %v; want none, true", res.Evict, res.MemoryPressure)
	}
	clk.Step(5 * time.Minute)
	if res, _ = m.Synchronize(pods); res.MemoryPressure {
		t.Errorf("memory pressure still reported after the transition period")
	}
}

func TestManager_DiskPressureFromPercentage(t *testing.T) {
	th, _ := ParseThresholds("nodefs.available<10%")
	st := &stats{
		obs:   map[Signal]Observation{SignalNodeFsAvailable: {Available: 5 << 30, Capacity: 100 << 30}},
		usage: map[string]Usage{"writer": {Disk: 3 << 30}},
	}
	m := NewManager(th, st, time.Minute, clocktesting.NewFakeClock(time.Unix(0, 0)))
	res, err := m.Synchronize([]*v1.Pod{pod("idle", "", "", 0), pod("writer", "", "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	if !res.DiskPressure || res.MemoryPressure {
		t.Errorf("conditions: memory %v disk %v, want disk pressure only", res.MemoryPressure, res.DiskPressure)
	}
	if res.Evict == nil || res.Evict.Name != "writer" {
		t.Fatalf("evicts %v, want writer", res.Evict)
	}
	if want := "The node was low on resource: ephemeral-storage. Threshold quantity: 10Gi, available: 5Gi. Container app was using 3Gi, request is 0, has larger consumption of ephemeral-storage. "; res.Message != want {
		t.Errorf("message\n  %q\nwant\n  %q", res.Message, want)
	}
}

func TestMachineStats_ReadsMeminfoAndStatfs(t *testing.T) {
	dir := t.TempDir()
	meminfo := filepath.Join(dir, "meminfo")
	if err := os.WriteFile(meminfo, []byte("MemTotal:       4000 kB\nMemFree:         100 kB\nMemAvailable:    1000 kB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	obs, err := MachineStats{RootDir: dir, MeminfoPath: meminfo}.Observe()
	if err != nil {
		t.Fatal(err)
	}
	if got := obs[SignalMemoryAvailable]; got != (Observation{Available: 1000 * 1024, Capacity: 4000 * 1024}) {
		t.Errorf("memory.available = %+v", got)
	}
	if fs := obs[SignalNodeFsAvailable]; fs.Capacity <= 0 || fs.Available > fs.Capacity {
		t.Errorf("nodefs.available = %+v", fs)
	}
}
