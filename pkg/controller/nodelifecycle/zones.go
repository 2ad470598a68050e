package nodelifecycle

import (
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/util/flowcontrol"
)

// ZoneState is the health of one zone's nodes, as upstream's node
// lifecycle controller names it.
type ZoneState string

// Zone states.
const (
	StateInitial           ZoneState = "Initial"
	StateNormal            ZoneState = "Normal"
	StateFullDisruption    ZoneState = "FullDisruption"
	StatePartialDisruption ZoneState = "PartialDisruption"
)

// ExcludeDisruptionLabel keeps a node out of the zone-disruption counts.
const ExcludeDisruptionLabel = "node.kubernetes.io/exclude-disruption"

// ZoneKey is the zone a node counts in: its region and zone labels (the
// topology.kubernetes.io ones, else the deprecated failure-domain ones);
// "" when it has neither.
func ZoneKey(n *corev1.Node) string {
	l := n.Labels
	if l == nil {
		return ""
	}
	zone, ok := l[corev1.LabelTopologyZone]
	if !ok {
		zone = l[corev1.LabelFailureDomainBetaZone]
	}
	region, ok := l[corev1.LabelTopologyRegion]
	if !ok {
		region = l[corev1.LabelFailureDomainBetaRegion]
	}
	if region == "" && zone == "" {
		return ""
	}
	return region + ":\x00:" + zone
}

// ComputeZoneState is a zone's state from its nodes' Ready conditions (nil
// for a node that never reported): FullDisruption when none is ready,
// PartialDisruption when more than two are not ready and they are at
// least threshold of the zone, else Normal.
func ComputeZoneState(ready []*corev1.NodeCondition, threshold float32) ZoneState {
	readyNodes, notReady := 0, 0
	for _, c := range ready {
		if c != nil && c.Status == corev1.ConditionTrue {
			readyNodes++
		} else {
			notReady++
		}
	}
	switch {
	case readyNodes == 0 && notReady > 0:
		return StateFullDisruption
	case notReady > 2 && float32(notReady)/float32(notReady+readyNodes) >= threshold:
		return StatePartialDisruption
	default:
		return StateNormal
	}
}

// ZoneEvictionRate is the rate (nodes/s) at which a zone in state st with
// size nodes gets NoExecute taints, as upstream: the normal rate when
// healthy or fully disrupted (other zones are not, or evictions stop
// altogether), the secondary rate when partially disrupted, and none at
// all for a partially disrupted zone of a small cluster.
func (o Options) ZoneEvictionRate(st ZoneState, size int) float32 {
	switch st {
	case StatePartialDisruption:
		if size <= int(o.LargeClusterSizeThreshold) {
			return 0
		}
		return o.SecondaryEvictionRate
	default:
		return o.EvictionRate
	}
}

func newLimiter(qps float32) flowcontrol.RateLimiter {
	if qps <= 0 {
		return flowcontrol.NewFakeNeverRateLimiter()
	}
	return flowcontrol.NewTokenBucketRateLimiter(qps, 1)
}

// zones is what the controller knows of every zone.
type zones struct {
	dirty    bool
	states   map[string]ZoneState
	limiters map[string]flowcontrol.RateLimiter
	// allFull: every zone is fully disrupted, which upstream reads as a
	// problem of the control plane rather than of the nodes: NoExecute
	// taints are removed and no evictions happen.
	allFull bool
}

// markZonesDirty makes the next zone lookup recompute the states.
func (c *Controller) markZonesDirty() {
	c.zmu.Lock()
	c.zones.dirty = true
	c.zmu.Unlock()
}

// zoneLimiter returns the eviction limiter of node's zone and whether
// every zone is fully disrupted, recomputing zone states from the node
// cache when nodes changed.
func (c *Controller) zoneLimiter(n *corev1.Node) (flowcontrol.RateLimiter, bool) {
	c.zmu.Lock()
	defer c.zmu.Unlock()
	if c.zones.dirty || c.zones.states == nil {
		c.refreshZonesLocked()
	}
	key := ZoneKey(n)
	l, ok := c.zones.limiters[key]
	if !ok {
		// A zone not counted (an excluded node's): the normal rate.
		l = newLimiter(c.opts.EvictionRate)
		c.zones.limiters[key] = l
	}
	return l, c.zones.allFull
}

// refreshZonesLocked recomputes every zone's state and, on a change,
// its eviction limiter (upstream's handleDisruption). c.zmu is held.
func (c *Controller) refreshZonesLocked() {
	c.zones.dirty = false
	nodes, err := c.nodeLister.List(labels.Everything())
	if err != nil {
		return
	}
	conds := map[string][]*corev1.NodeCondition{}
	for _, n := range nodes {
		if _, excluded := n.Labels[ExcludeDisruptionLabel]; excluded {
			continue
		}
		k := ZoneKey(n)
		conds[k] = append(conds[k], readyCondition(n))
	}
	states := make(map[string]ZoneState, len(conds))
	allFull := len(conds) > 0
	for k, cs := range conds {
		states[k] = ComputeZoneState(cs, c.opts.UnhealthyZoneThreshold)
		if states[k] != StateFullDisruption {
			allFull = false
		}
	}
	old := c.zones
	if old.limiters == nil {
		old.limiters = map[string]flowcontrol.RateLimiter{}
	}
	limiters := make(map[string]flowcontrol.RateLimiter, len(states))
	switch {
	case allFull:
		if !old.allFull {
			slog.Warn("all nodes are not ready: entering master disruption mode, evictions stop")
		}
		for k := range states {
			limiters[k] = flowcontrol.NewFakeNeverRateLimiter()
		}
	case old.allFull:
		slog.Info("some nodes are ready again: exiting master disruption mode")
		// Give every node a fresh grace period, as upstream does.
		now := c.opts.Clock.Now()
		c.mu.Lock()
		for _, h := range c.health {
			h.probe = now
		}
		c.mu.Unlock()
		for k, st := range states {
			limiters[k] = newLimiter(c.opts.ZoneEvictionRate(st, len(conds[k])))
		}
	default:
		for k, st := range states {
			if l, ok := old.limiters[k]; ok && old.states[k] == st {
				limiters[k] = l
				continue
			}
			if prev, ok := old.states[k]; ok && prev != st {
				slog.Info("zone state changed", "zone", k, "from", prev, "to", st)
			}
			limiters[k] = newLimiter(c.opts.ZoneEvictionRate(st, len(conds[k])))
		}
	}
	c.zones = zones{states: states, limiters: limiters, allFull: allFull}
}
