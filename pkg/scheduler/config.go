package scheduler

import (
	"errors"
	"fmt"
	"os"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/kstack/kstack/pkg/daemon"
	"github.com/kstack/kstack/pkg/scheduler/framework"
	"github.com/kstack/kstack/pkg/scheduler/plugins"
)

// DefaultSchedulerName is the profile pods get when they name none.
const DefaultSchedulerName = "default-scheduler"

// KubeSchedulerConfiguration is the --config file,
// kubescheduler.config.k8s.io/v1 in shape (the fields kstack honours).
type KubeSchedulerConfiguration struct {
	metav1.TypeMeta `json:",inline"`
	// Parallelism is the number of goroutines filtering and scoring use (16).
	Parallelism *int32 `json:"parallelism,omitempty"`
	// PercentageOfNodesToScore: 0 means upstream's adaptive percentage.
	PercentageOfNodesToScore *int32                       `json:"percentageOfNodesToScore,omitempty"`
	PodInitialBackoffSeconds *int64                       `json:"podInitialBackoffSeconds,omitempty"`
	PodMaxBackoffSeconds     *int64                       `json:"podMaxBackoffSeconds,omitempty"`
	ClientConnection         ClientConnection             `json:"clientConnection,omitempty"`
	LeaderElection           *LeaderElectionConfiguration `json:"leaderElection,omitempty"`
	Profiles                 []Profile                    `json:"profiles,omitempty"`
}

// ClientConnection is the config file's clientConnection.
type ClientConnection struct {
	Kubeconfig  string  `json:"kubeconfig,omitempty"`
	QPS         float32 `json:"qps,omitempty"`
	Burst       int32   `json:"burst,omitempty"`
	ContentType string  `json:"contentType,omitempty"`
}

// LeaderElectionConfiguration is the config file's leaderElection.
type LeaderElectionConfiguration struct {
	LeaderElect       *bool           `json:"leaderElect,omitempty"`
	LeaseDuration     metav1.Duration `json:"leaseDuration,omitempty"`
	RenewDeadline     metav1.Duration `json:"renewDeadline,omitempty"`
	RetryPeriod       metav1.Duration `json:"retryPeriod,omitempty"`
	ResourceName      string          `json:"resourceName,omitempty"`
	ResourceNamespace string          `json:"resourceNamespace,omitempty"`
}

// Profile is one schedulerName with its plugins.
type Profile struct {
	SchedulerName            string         `json:"schedulerName,omitempty"`
	PercentageOfNodesToScore *int32         `json:"percentageOfNodesToScore,omitempty"`
	Plugins                  *Plugins       `json:"plugins,omitempty"`
	PluginConfig             []PluginConfig `json:"pluginConfig,omitempty"`
}

// Plugins enables and disables plugins per extension point.
type Plugins struct {
	MultiPoint PluginSet `json:"multiPoint,omitempty"`
	QueueSort  PluginSet `json:"queueSort,omitempty"`
	PreFilter  PluginSet `json:"preFilter,omitempty"`
	Filter     PluginSet `json:"filter,omitempty"`
	PostFilter PluginSet `json:"postFilter,omitempty"`
	PreScore   PluginSet `json:"preScore,omitempty"`
	Score      PluginSet `json:"score,omitempty"`
	Reserve    PluginSet `json:"reserve,omitempty"`
	Bind       PluginSet `json:"bind,omitempty"`
}

// PluginSet lists plugins to enable and to disable ("*" disables all
// defaults).
type PluginSet struct {
	Enabled  []PluginRef `json:"enabled,omitempty"`
	Disabled []PluginRef `json:"disabled,omitempty"`
}

// PluginRef names a plugin, with its score weight.
type PluginRef struct {
	Name   string `json:"name"`
	Weight *int32 `json:"weight,omitempty"`
}

// PluginConfig holds a plugin's args.
type PluginConfig struct {
	Name string               `json:"name"`
	Args runtime.RawExtension `json:"args,omitempty"`
}

// LoadConfigFile reads a KubeSchedulerConfiguration YAML (or JSON) file.
func LoadConfigFile(path string) (*KubeSchedulerConfiguration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scheduler config: %w", err)
	}
	var c KubeSchedulerConfiguration
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, fmt.Errorf("parse scheduler config %s: %w", path, err)
	}
	if c.APIVersion != "" && c.APIVersion != "kubescheduler.config.k8s.io/v1" {
		return nil, fmt.Errorf("scheduler config %s: apiVersion %q is not supported (kubescheduler.config.k8s.io/v1)", path, c.APIVersion)
	}
	if c.Kind != "" && c.Kind != "KubeSchedulerConfiguration" {
		return nil, fmt.Errorf("scheduler config %s: kind %q is not KubeSchedulerConfiguration", path, c.Kind)
	}
	return &c, nil
}

// Config is everything scheduler.Run needs.
type Config struct {
	// Client says how to reach the apiserver (ignored when REST is set).
	Client daemon.ClientOptions
	// REST, when set, is used as is (tests).
	REST *rest.Config
	// Component is the scheduler configuration (profiles, parallelism...).
	Component KubeSchedulerConfiguration
	// LeaderElection and LeaderIdentity (default hostname_pid).
	LeaderElection daemon.LeaderElection
	LeaderIdentity string
	// Serve is where /healthz, /readyz, /livez and /metrics listen (port 0:
	// not served).
	Serve daemon.ServeOptions
	// Profiling serves Go's pprof handlers under /debug/pprof/ on the
	// secure port (upstream's --profiling, default true).
	Profiling bool
	// Auth is the secure port's delegated authentication and
	// authorization (upstream's --authentication-kubeconfig,
	// --authorization-kubeconfig, --client-ca-file,
	// --authorization-always-allow-paths, default /healthz, /readyz,
	// /livez). Every other path (/metrics, /debug/pprof/) needs a token or
	// client certificate the apiserver authorizes for it.
	Auth daemon.DelegatedAuthOptions
	// AssumedPodTTL drops assumed pods never confirmed by the informer
	// this long after their binding returned (default 5m).
	AssumedPodTTL time.Duration
}

// Validate checks the configuration and fills defaults.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Component.Profiles) == 0 {
		c.Component.Profiles = []Profile{{SchedulerName: DefaultSchedulerName}}
	}
	seen := map[string]bool{}
	for i := range c.Component.Profiles {
		p := &c.Component.Profiles[i]
		if p.SchedulerName == "" {
			p.SchedulerName = DefaultSchedulerName
		}
		if seen[p.SchedulerName] {
			errs = append(errs, fmt.Errorf("profiles[%d].schedulerName %q is repeated", i, p.SchedulerName))
		}
		seen[p.SchedulerName] = true
		if v := p.PercentageOfNodesToScore; v != nil && (*v < 0 || *v > 100) {
			errs = append(errs, fmt.Errorf("profiles[%d].percentageOfNodesToScore %d is not in [0, 100]", i, *v))
		}
		if _, err := ResolvePlugins(p); err != nil {
			errs = append(errs, fmt.Errorf("profiles[%d]: %w", i, err))
		}
	}
	if v := c.Component.PercentageOfNodesToScore; v != nil && (*v < 0 || *v > 100) {
		errs = append(errs, fmt.Errorf("percentageOfNodesToScore %d is not in [0, 100]", *v))
	}
	if v := c.Component.Parallelism; v != nil && *v <= 0 {
		errs = append(errs, fmt.Errorf("parallelism %d must be positive", *v))
	}
	if le := c.LeaderElection; le.Enabled {
		if le.LeaseDuration <= le.RenewDeadline || le.RenewDeadline <= le.RetryPeriod || le.RetryPeriod <= 0 {
			errs = append(errs, fmt.Errorf("leader election: want lease duration (%s) > renew deadline (%s) > retry period (%s) > 0", le.LeaseDuration, le.RenewDeadline, le.RetryPeriod))
		}
		if le.ResourceName == "" || le.ResourceNamespace == "" {
			errs = append(errs, errors.New("leader election: resource name and namespace are required"))
		}
	}
	if c.REST == nil && c.Client.Kubeconfig == "" && c.Client.Master == "" && os.Getenv("KUBERNETES_SERVICE_HOST") == "" {
		errs = append(errs, errors.New("--kubeconfig or --master is required outside a cluster"))
	}
	if c.AssumedPodTTL == 0 {
		c.AssumedPodTTL = 5 * time.Minute
	}
	return errors.Join(errs...)
}

// ResolvePlugins turns a profile's plugin sets into the framework's plugin
// specs: upstream's defaults (multiPoint), then multiPoint changes, then
// per extension point changes.
func ResolvePlugins(p *Profile) ([]framework.PluginSpec, error) {
	reg := plugins.NewRegistry()
	var specs []framework.PluginSpec
	index := func(name string) int {
		for i, s := range specs {
			if s.Name == name {
				return i
			}
		}
		return -1
	}
	var ps Plugins
	if p.Plugins != nil {
		ps = *p.Plugins
	}
	disabledAll := false
	disabled := map[string]bool{}
	for _, d := range ps.MultiPoint.Disabled {
		if d.Name == "*" {
			disabledAll = true
		}
		disabled[d.Name] = true
	}
	if !disabledAll {
		for _, d := range plugins.DefaultPlugins() {
			if !disabled[d.Name] {
				specs = append(specs, framework.PluginSpec{Name: d.Name, Points: framework.AllPoints, Weight: d.Weight})
			}
		}
	}
	for _, e := range ps.MultiPoint.Enabled {
		if _, ok := reg[e.Name]; !ok {
			return nil, fmt.Errorf("multiPoint: unknown plugin %q", e.Name)
		}
		if i := index(e.Name); i >= 0 {
			if e.Weight != nil {
				specs[i].Weight = *e.Weight
			}
			continue
		}
		w := int32(0)
		if e.Weight != nil {
			w = *e.Weight
		}
		specs = append(specs, framework.PluginSpec{Name: e.Name, Points: framework.AllPoints, Weight: w})
	}
	points := []struct {
		set PluginSet
		pt  framework.ExtensionPoint
	}{
		{ps.PreFilter, framework.PointPreFilter}, {ps.Filter, framework.PointFilter}, {ps.PostFilter, framework.PointPostFilter},
		{ps.PreScore, framework.PointPreScore}, {ps.Score, framework.PointScore}, {ps.Reserve, framework.PointReserve}, {ps.Bind, framework.PointBind},
	}
	for _, x := range points {
		for _, d := range x.set.Disabled {
			for i := range specs {
				if d.Name == "*" || specs[i].Name == d.Name {
					specs[i].Points &^= x.pt
				}
			}
		}
		for _, e := range x.set.Enabled {
			if _, ok := reg[e.Name]; !ok {
				return nil, fmt.Errorf("unknown plugin %q", e.Name)
			}
			i := index(e.Name)
			if i < 0 {
				specs = append(specs, framework.PluginSpec{Name: e.Name})
				i = len(specs) - 1
			}
			specs[i].Points |= x.pt
			if e.Weight != nil && x.pt == framework.PointScore {
				specs[i].Weight = *e.Weight
			}
		}
	}
	var out []framework.PluginSpec
	for _, s := range specs {
		if s.Points == 0 {
			continue
		}
		for _, pc := range p.PluginConfig {
			if pc.Name == s.Name {
				s.Args = pc.Args
			}
		}
		out = append(out, s)
	}
	for _, pc := range p.PluginConfig {
		if _, ok := reg[pc.Name]; !ok {
			return nil, fmt.Errorf("pluginConfig: unknown plugin %q", pc.Name)
		}
	}
	return out, nil
}
