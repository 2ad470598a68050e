package scheduler

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kstack/kstack/pkg/scheduler/framework"
)

func TestLoadConfigFile_ProfilesAndPlugins(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	data := `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
parallelism: 8
percentageOfNodesToScore: 30
clientConnection: {qps: 500, burst: 1000}
profiles:
- schedulerName: default-scheduler
- schedulerName: bin-packer
  plugins:
    score:
      disabled: [{name: NodeResourcesBalancedAllocation}]
      enabled: [{name: NodeResourcesFit, weight: 5}]
    multiPoint:
      disabled: [{name: ImageLocality}]
  pluginConfig:
  - name: NodeResourcesFit
    args: {scoringStrategy: {type: MostAllocated}}
`
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if *c.Parallelism != 8 || *c.PercentageOfNodesToScore != 30 || c.ClientConnection.QPS != 500 || len(c.Profiles) != 2 {
		t.Fatalf("parsed %+v", c)
	}
	specs, err := ResolvePlugins(&c.Profiles[1])
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]framework.PluginSpec{}
	for _, s := range specs {
		byName[s.Name] = s
	}
	if _, ok := byName["ImageLocality"]; ok {
		t.Errorf("ImageLocality still enabled")
	}
	if s := byName["NodeResourcesBalancedAllocation"]; s.Points&framework.PointScore != 0 {
		t.Errorf("BalancedAllocation still scores")
	}
	fit := byName["NodeResourcesFit"]
	if fit.Weight != 5 || fit.Points&framework.PointFilter == 0 || string(fit.Args.Raw) == "" {
		t.Errorf("NodeResourcesFit spec %+v, want weight 5, filtering, args", fit)
	}
	cfg := &Config{Component: *c, REST: nil}
	cfg.Client.Kubeconfig = "x"
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestConfig_ValidateRejects(t *testing.T) {
	bad := int32(101)
	tests := []struct {
		name string
		cfg  Config
	}{
		{"duplicate profile", Config{Component: KubeSchedulerConfiguration{Profiles: []Profile{{SchedulerName: "a"}, {SchedulerName: "a"}}}}},
		{"percentage above 100", Config{Component: KubeSchedulerConfiguration{PercentageOfNodesToScore: &bad}}},
		{"unknown plugin", Config{Component: KubeSchedulerConfiguration{Profiles: []Profile{{Plugins: &Plugins{Filter: PluginSet{Enabled: []PluginRef{{Name: "Nope"}}}}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Client.Kubeconfig = "x"
			if err := tt.cfg.Validate(); err == nil {
				t.Errorf("Validate accepted it")
			}
		})
	}
}

func TestNumFeasibleNodesToFind(t *testing.T) {
	tests := []struct {
		pct  int32
		all  int
		want int
	}{{0, 50, 50}, {0, 500, 230}, {0, 5000, 500}, {0, 10000, 500}, {0, 150, 100}, {10, 5000, 500}, {100, 300, 300}}
	for _, tt := range tests {
		if got := numFeasibleNodesToFind(tt.pct, tt.all); got != tt.want {
			t.Errorf("numFeasibleNodesToFind(%d, %d) = %d, want %d", tt.pct, tt.all, got, tt.want)
		}
	}
}
