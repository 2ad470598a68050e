package controllermanager

import (
	"slices"
	"testing"
)

func TestEnabledControllers(t *testing.T) {
	tests := []struct {
		spec    []string
		has     []string
		hasNot  []string
		wantErr bool
	}{
		{spec: []string{"*"}, has: []string{"replicaset-controller", "deployment-controller", "garbage-collector-controller",
			"replicationcontroller-controller", "persistentvolume-binder-controller", "persistentvolumeclaim-protection-controller",
			"persistentvolume-protection-controller", "horizontal-pod-autoscaler-controller", "daemonset-controller", "job-controller"}},
		{spec: []string{"replicationcontroller", "persistentvolume-binder", "pvc-protection", "pv-protection", "horizontalpodautoscaling"},
			has: []string{"replicationcontroller-controller", "persistentvolume-binder-controller", "persistentvolumeclaim-protection-controller",
				"persistentvolume-protection-controller", "horizontal-pod-autoscaler-controller"}, hasNot: []string{"replicaset-controller"}},
		{spec: []string{"*", "-deployment"}, has: []string{"replicaset-controller"}, hasNot: []string{"deployment-controller"}},
		{spec: []string{"replicaset"}, has: []string{"replicaset-controller"}, hasNot: []string{"deployment-controller"}},
		{spec: []string{"deployment-controller", "-deployment"}, hasNot: []string{"deployment-controller"}},
		{spec: []string{"nope"}, wantErr: true},
		{spec: []string{"-nope"}, wantErr: true},
		{spec: nil, hasNot: []string{"replicaset-controller"}},
	}
	for _, tc := range tests {
		got, err := EnabledControllers(tc.spec)
		if (err != nil) != tc.wantErr {
			t.Errorf("%v: err = %v", tc.spec, err)
			continue
		}
		for _, n := range tc.has {
			if !slices.Contains(got, n) {
				t.Errorf("%v: %s missing from %v", tc.spec, n, got)
			}
		}
		for _, n := range tc.hasNot {
			if slices.Contains(got, n) {
				t.Errorf("%v: %s should be off in %v", tc.spec, n, got)
			}
		}
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Defaults()
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	for name, mutate := range map[string]func(*Config){
		"cidrs without cluster-cidr": func(c *Config) { c.AllocateNodeCIDRs = true },
		"mask shorter than cluster":  func(c *Config) { c.AllocateNodeCIDRs, c.ClusterCIDR, c.NodeCIDRMaskSize = true, "10.0.0.0/16", 8 },
		"bad bind address":           func(c *Config) { c.BindAddress = "localhost:1" },
		"renew >= lease":             func(c *Config) { c.LeaderElection.RenewDeadline = c.LeaderElection.LeaseDuration },
		"unknown controller":         func(c *Config) { c.Controllers = []string{"*", "frobnicator"} },
	} {
		c := Defaults()
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
