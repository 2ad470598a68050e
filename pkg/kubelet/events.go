package kubelet

// Events: the kubelet tells users what it did to their pods and to its node
// as core/v1 Events, with upstream's reasons, types and messages (upstream
// pkg/kubelet/events and the places that record them), source component
// "kubelet" and host the node's name, so `kubectl describe pod` and
// `kubectl get events` read as on an upstream node.
//
// Recording never blocks the pod workers: client-go's EventBroadcaster
// queues an event on a buffered channel (dropping it when 1,000 are
// waiting) and one goroutine correlates (counts repeats, aggregates and
// rate-limits spam) and writes them through a client of their own, limited
// by --event-qps and --event-burst as upstream. A hollow process shares one
// broadcaster among its nodes, each with its own recorder.

import (
	"context"
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
)

// Upstream's event reasons (pkg/kubelet/events) that this kubelet records.
const (
	eventCreated                = "Created"
	eventStarted                = "Started"
	eventFailed                 = "Failed"
	eventKilling                = "Killing"
	eventBackOff                = "BackOff"
	eventPulling                = "Pulling"
	eventPulled                 = "Pulled"
	eventErrImageNeverPull      = "ErrImageNeverPull"
	eventInspectFailed          = "InspectFailed"
	eventUnhealthy              = "Unhealthy"
	eventFailedPostStartHook    = "FailedPostStartHook"
	eventFailedPreStopHook      = "FailedPreStopHook"
	eventFailedCreatePodSandBox = "FailedCreatePodSandBox"
	eventSandboxChanged         = "SandboxChanged"
	eventNetworkNotReady        = "NetworkNotReady"
	eventFailedMount            = "FailedMount"
	eventDeadlineExceeded       = "DeadlineExceeded"
	eventStarting               = "Starting"
)

// eventComponent is the source component of the kubelet's events.
const eventComponent = "kubelet"

// Defaults of --event-qps and --event-burst, as upstream's.
const (
	defaultEventQPS   = 50
	defaultEventBurst = 100
)

// startEventBroadcaster starts a broadcaster that writes events to the
// apiserver through its own client: qps per second with bursts of burst
// (qps 0: no limit, as upstream). It stops when ctx ends.
func startEventBroadcaster(ctx context.Context, restCfg *rest.Config, qps, burst int32) (record.EventBroadcaster, error) {
	c := rest.CopyConfig(restCfg)
	c.RateLimiter = nil // the copy would share the main client's limiter
	c.QPS, c.Burst = float32(qps), int(burst)
	if qps == 0 {
		c.QPS = -1 // client-go: no rate limiter
	}
	client, err := corev1client.NewForConfig(c)
	if err != nil {
		return nil, fmt.Errorf("event client: %w", err)
	}
	b := record.NewBroadcaster(record.WithContext(ctx))
	b.StartRecordingToSink(&corev1client.EventSinkImpl{Interface: client.Events("")})
	return b, nil
}

// newEventRecorder records the events of node nodeName through b.
func newEventRecorder(b record.EventBroadcaster, nodeName string) record.EventRecorder {
	return b.NewRecorder(scheme.Scheme, v1.EventSource{Component: eventComponent, Host: nodeName})
}

// podRef is the object of events about pod: the pod as the kubelet sees
// it (with its UID and resourceVersion); for a static pod its mirror pod,
// nil (no event) while it has none.
func (k *Kubelet) podRef(pod *v1.Pod) *v1.ObjectReference {
	if pod == nil {
		return nil
	}
	if isStaticPod(pod) {
		if pod = k.mirrorOf(pod); pod == nil {
			return nil
		}
	}
	return &v1.ObjectReference{
		Kind: "Pod", APIVersion: "v1",
		Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID, ResourceVersion: pod.ResourceVersion,
	}
}

// containerFieldPath is the fieldPath of container name in pod's spec, as
// upstream's: spec.containers{name} or spec.initContainers{name}.
func containerFieldPath(pod *v1.Pod, name string) string {
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return "spec.initContainers{" + name + "}"
		}
	}
	return "spec.containers{" + name + "}"
}

// podEvent records an event about pod.
func (k *Kubelet) podEvent(pod *v1.Pod, eventType, reason, format string, args ...any) {
	if k.recorder == nil {
		return
	}
	if ref := k.podRef(pod); ref != nil {
		k.recorder.Event(ref, eventType, reason, message(format, args))
	}
}

// containerEvent records an event about container name of pod.
func (k *Kubelet) containerEvent(pod *v1.Pod, name, eventType, reason, format string, args ...any) {
	if k.recorder == nil {
		return
	}
	if ref := k.podRef(pod); ref != nil {
		ref.FieldPath = containerFieldPath(pod, name)
		k.recorder.Event(ref, eventType, reason, message(format, args))
	}
}

// nodeEvent records an event about the kubelet's node (with its UID once
// registered, as upstream's).
func (k *Kubelet) nodeEvent(eventType, reason, format string, args ...any) {
	if k.recorder == nil {
		return
	}
	k.mu.Lock()
	uid := k.nodeUID
	k.mu.Unlock()
	ref := &v1.ObjectReference{Kind: "Node", APIVersion: "v1", Name: k.cfg.NodeName, UID: uid}
	k.recorder.Event(ref, eventType, reason, message(format, args))
}

func message(format string, args []any) string {
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}

// setNodeUID remembers the node's UID for the node's events.
func (k *Kubelet) setNodeUID(uid types.UID) {
	k.mu.Lock()
	k.nodeUID = uid
	k.mu.Unlock()
}

// recordNodeConditionEvents records upstream's node status events for the
// conditions that changed from old to cur: "Node <name> status is now:
// NodeHasSufficientMemory" and the like when a pressure condition appears
// or flips, NodeReady or NodeNotReady when Ready flips (not when it first
// appears, as upstream's setter).
func (k *Kubelet) recordNodeConditionEvents(old, cur []v1.NodeCondition) {
	for _, reason := range nodeConditionEvents(old, cur) {
		k.nodeEvent(v1.EventTypeNormal, reason, "Node %s status is now: %s", k.cfg.NodeName, reason)
	}
}

// nodeConditionEvents are the reasons of the node status events between
// old and cur conditions.
func nodeConditionEvents(old, cur []v1.NodeCondition) []string {
	var out []string
	for _, c := range cur {
		var prev *v1.NodeCondition
		for i := range old {
			if old[i].Type == c.Type {
				prev = &old[i]
			}
		}
		if prev != nil && prev.Status == c.Status {
			continue
		}
		on := c.Status == v1.ConditionTrue
		switch c.Type {
		case v1.NodeReady:
			if prev != nil {
				out = append(out, pick(on, "NodeReady", "NodeNotReady"))
			}
		case v1.NodeMemoryPressure:
			out = append(out, pick(on, "NodeHasInsufficientMemory", "NodeHasSufficientMemory"))
		case v1.NodeDiskPressure:
			out = append(out, pick(on, "NodeHasDiskPressure", "NodeHasNoDiskPressure"))
		case v1.NodePIDPressure:
			out = append(out, pick(on, "NodeHasInsufficientPID", "NodeHasSufficientPID"))
		}
	}
	return out
}

func pick(cond bool, yes, no string) string {
	if cond {
		return yes
	}
	return no
}

// podString is upstream's format.Pod: name_namespace(uid).
func podString(pod *v1.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
}

// probeName is a probe kind as upstream's events spell it (Liveness,
// Readiness, Startup).
func probeName(kind string) string {
	if kind == "" {
		return kind
	}
	return strings.ToUpper(kind[:1]) + kind[1:]
}
