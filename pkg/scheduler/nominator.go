package scheduler

import (
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kstack/kstack/pkg/scheduler/framework"
)

// nominator remembers the pending pods nominated to a node: preemptors
// waiting for their victims to go, as upstream's PodNominator. Filtering
// counts a node's nominated pods of at least the incoming pod's priority
// as already placed, so a lower-priority pod does not take the room the
// preemption freed. The nomination comes from status.nominatedNodeName
// (informer) or, sooner, from this scheduler's preemption.
type nominator struct {
	// count is the number of nominated pods: filtering takes no lock
	// while it is zero (the common case).
	count  atomic.Int32
	mu     sync.RWMutex
	byNode map[string][]*framework.PodInfo
	byUID  map[types.UID]string
}

var _ framework.PodNominator = (*nominator)(nil)

func newNominator() *nominator {
	return &nominator{byNode: map[string][]*framework.PodInfo{}, byUID: map[types.UID]string{}}
}

// NominatedPodsForNode implements framework.PodNominator.
func (n *nominator) NominatedPodsForNode(node string) []*framework.PodInfo {
	if n.count.Load() == 0 {
		return nil
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	pods := n.byNode[node]
	if len(pods) == 0 {
		return nil
	}
	return append([]*framework.PodInfo(nil), pods...)
}

// nominate records pod as nominated to node (replacing an earlier
// nomination); node "" only forgets it.
func (n *nominator) nominate(pod *corev1.Pod, node string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.deleteLocked(pod.UID)
	if node == "" || pod.Spec.NodeName != "" {
		return
	}
	n.byUID[pod.UID] = node
	n.byNode[node] = append(n.byNode[node], framework.NewPodInfo(pod))
	n.count.Add(1)
}

// nominatedNode is the node pod is nominated to ("" if none).
func (n *nominator) nominatedNode(uid types.UID) string {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.byUID[uid]
}

// update follows an informer update of a pending pod: the status's
// nomination wins; a nomination cleared in the status is forgotten; an
// object without one keeps the in-memory nomination (the status patch
// may not have landed yet).
func (n *nominator) update(old, pod *corev1.Pod) {
	switch {
	case pod.Status.NominatedNodeName != "":
		n.nominate(pod, pod.Status.NominatedNodeName)
	case old != nil && old.Status.NominatedNodeName != "":
		n.forget(pod.UID)
	default:
		if node := n.nominatedNode(pod.UID); node != "" {
			n.nominate(pod, node) // refresh the pod object
		}
	}
}

// forget drops pod's nomination.
func (n *nominator) forget(uid types.UID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.deleteLocked(uid)
}

func (n *nominator) deleteLocked(uid types.UID) {
	node, ok := n.byUID[uid]
	if !ok {
		return
	}
	delete(n.byUID, uid)
	pods := n.byNode[node]
	for i, pi := range pods {
		if pi.Pod.UID == uid {
			pods = append(pods[:i:i], pods[i+1:]...)
			break
		}
	}
	if len(pods) == 0 {
		delete(n.byNode, node)
	} else {
		n.byNode[node] = pods
	}
	n.count.Add(-1)
}
