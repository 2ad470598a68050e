package admission

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestChain_RunsOnlyEnabledPluginsInOrder(t *testing.T) {
	store := newFakeStore(
		namespace(map[string]string{PodSecurityEnforceLabel: "restricted"}),
		limitRange(corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Default: rl("cpu", "1")}),
		quota("q", rl("limits.cpu", "1"), nil),
	)
	only := func(names ...string) func(string) bool {
		return func(n string) bool {
			for _, x := range names {
				if x == n {
					return true
				}
			}
			return false
		}
	}
	// LimitRanger defaults the cpu limit before ResourceQuota requires it.
	pod := newPod("p")
	a := podAttrs(Create, pod)
	c := NewChain(only(PluginLimitRanger, PluginResourceQuota), store)
	if err := c.Admit(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(context.Background(), a); err != nil {
		t.Fatalf("validate after LimitRanger defaults: %v", err)
	}
	if got := prettyPrint(store.quota("ns", "q").Status.Used); got != "limits.cpu=1" {
		t.Errorf("used = %s, want limits.cpu=1", got)
	}
	// Without LimitRanger the same pod lacks the limit the quota needs.
	err := NewChain(only(PluginResourceQuota), store).Validate(context.Background(), podAttrs(Create, newPod("p2")))
	mustForbidden(t, err, `pods "p2" is forbidden: failed quota: q: must specify limits.cpu for: c`)
	// PodSecurity off: a privileged pod passes; on: it is refused.
	priv := newPod("p3")
	priv.Spec.HostNetwork = true
	if err := NewChain(only(), store).Validate(context.Background(), podAttrs(Create, priv)); err != nil {
		t.Errorf("no plugins enabled: %v", err)
	}
	if err := NewChain(only(PluginPodSecurity), store).Validate(context.Background(), podAttrs(Create, priv)); err == nil {
		t.Errorf("PodSecurity enabled: privileged pod admitted in a restricted namespace")
	}
}
