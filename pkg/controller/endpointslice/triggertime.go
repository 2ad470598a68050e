package endpointslice

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// triggerTimes computes, as upstream's TriggerTimeTracker, the time of
// the change that caused a Service's slices to be rewritten: the
// Service's creation for a Service not seen before, else the earliest
// pod Ready-condition transition (or Service creation) newer than at the
// previous sync; zero when none is. The slices written carry it in the
// endpoints.kubernetes.io/last-change-trigger-time annotation, from which
// kube-proxy computes kubeproxy_network_programming_duration_seconds.
type triggerTimes struct {
	mu    sync.Mutex
	state map[string]triggerState
}

// triggerState is what a Service's last sync saw.
type triggerState struct {
	pods map[string]time.Time
	svc  time.Time
}

func newTriggerTimes() *triggerTimes { return &triggerTimes{state: map[string]triggerState{}} }

// compute returns the trigger time of the Service key's sync and records
// the pods' and Service's times for the next one. Not to be called
// concurrently for one key (the workqueue guarantees it).
func (t *triggerTimes) compute(key string, svc *corev1.Service, pods []*corev1.Pod) time.Time {
	t.mu.Lock()
	prev, known := t.state[key]
	t.mu.Unlock()
	var earliest time.Time
	changed := func(ts time.Time) {
		if earliest.IsZero() || ts.Before(earliest) {
			earliest = ts
		}
	}
	cur := triggerState{pods: make(map[string]time.Time, len(pods)), svc: svc.CreationTimestamp.Time}
	for _, pod := range pods {
		ts := podTriggerTime(pod)
		if ts.IsZero() {
			continue
		}
		cur.pods[pod.Name] = ts
		if ts.After(prev.pods[pod.Name]) {
			changed(ts)
		}
	}
	if cur.svc.After(prev.svc) {
		changed(cur.svc)
	}
	t.mu.Lock()
	t.state[key] = cur
	t.mu.Unlock()
	if !known {
		return svc.CreationTimestamp.Time
	}
	return earliest
}

// forget drops a deleted Service's state.
func (t *triggerTimes) forget(key string) {
	t.mu.Lock()
	delete(t.state, key)
	t.mu.Unlock()
}

// podTriggerTime is the last transition of the pod's Ready condition.
func podTriggerTime(pod *corev1.Pod) time.Time {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

// setTriggerTime sets the slice's last-change-trigger-time annotation to
// ts, or removes it when ts is zero (as upstream: a rewrite without a new
// trigger must not repeat an old one).
func setTriggerTime(s *discoveryv1.EndpointSlice, ts time.Time) {
	if ts.IsZero() {
		delete(s.Annotations, corev1.EndpointsLastChangeTriggerTime)
		return
	}
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[corev1.EndpointsLastChangeTriggerTime] = ts.UTC().Format(time.RFC3339Nano)
}
