// Package replication keeps the pods of legacy ReplicationControllers. It
// is the ReplicaSet controller (package replicaset) run on a Source that
// converts each ReplicationController to a ReplicaSet and back, as if the
// former were an older version of the latter, as upstream does: the same
// slow-start creation, deletion ranking, adoption, expectations and
// status, with ownerReferences, events and status on the
// ReplicationController.
package replication

import (
	"context"

	"github.com/kstack/kstack/pkg/controller/replicaset"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
)

// Name is the controller's workqueue name.
const Name = "replicationmanager"

var controllerKind = corev1.SchemeGroupVersion.WithKind("ReplicationController")

// New returns the ReplicationController controller.
func New(client kubernetes.Interface, rcs coreinformers.ReplicationControllerInformer, pods coreinformers.PodInformer, opts ...replicaset.Option) *replicaset.Controller {
	src := source{client: client, lister: rcs.Lister()}
	return replicaset.NewForSource(client, src, controllerKind, Name, rcs.Informer(), pods, opts...)
}

// source reads ReplicationControllers as ReplicaSets.
type source struct {
	client kubernetes.Interface
	lister corelisters.ReplicationControllerLister
}

var _ replicaset.Source = source{}

func (s source) Get(ns, name string) (*appsv1.ReplicaSet, error) {
	rc, err := s.lister.ReplicationControllers(ns).Get(name)
	if err != nil {
		return nil, err
	}
	return toReplicaSet(rc), nil
}

func (s source) List(ns string) ([]*appsv1.ReplicaSet, error) {
	rcs, err := s.lister.ReplicationControllers(ns).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	out := make([]*appsv1.ReplicaSet, 0, len(rcs))
	for _, rc := range rcs {
		out = append(out, toReplicaSet(rc))
	}
	return out, nil
}

func (s source) GetFresh(ctx context.Context, ns, name string) (*appsv1.ReplicaSet, error) {
	rc, err := s.client.CoreV1().ReplicationControllers(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return toReplicaSet(rc), nil
}

func (s source) UpdateStatus(ctx context.Context, rs *appsv1.ReplicaSet) (*appsv1.ReplicaSet, error) {
	rc := toReplicationController(rs)
	out, err := s.client.CoreV1().ReplicationControllers(rc.Namespace).UpdateStatus(ctx, rc, metav1.UpdateOptions{})
	if err != nil {
		return nil, err
	}
	return toReplicaSet(out), nil
}

// EventObject carries rs's identity as a ReplicationController, so events
// name the object the user made.
func (s source) EventObject(rs *appsv1.ReplicaSet) runtime.Object {
	return &corev1.ReplicationController{ObjectMeta: rs.ObjectMeta}
}

// toReplicaSet converts rc (the cached object is not modified).
func toReplicaSet(rc *corev1.ReplicationController) *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{ObjectMeta: *rc.ObjectMeta.DeepCopy()}
	replicas := int32(1)
	if rc.Spec.Replicas != nil {
		replicas = *rc.Spec.Replicas
	}
	rs.Spec.Replicas = &replicas
	rs.Spec.MinReadySeconds = rc.Spec.MinReadySeconds
	sel := map[string]string{}
	for k, v := range rc.Spec.Selector {
		sel[k] = v
	}
	rs.Spec.Selector = &metav1.LabelSelector{MatchLabels: sel}
	if rc.Spec.Template != nil {
		rs.Spec.Template = *rc.Spec.Template.DeepCopy()
	}
	st := rc.Status
	rs.Status = appsv1.ReplicaSetStatus{Replicas: st.Replicas, FullyLabeledReplicas: st.FullyLabeledReplicas, ReadyReplicas: st.ReadyReplicas,
		AvailableReplicas: st.AvailableReplicas, ObservedGeneration: st.ObservedGeneration}
	for _, c := range st.Conditions {
		rs.Status.Conditions = append(rs.Status.Conditions, appsv1.ReplicaSetCondition{Type: appsv1.ReplicaSetConditionType(c.Type),
			Status: c.Status, LastTransitionTime: c.LastTransitionTime, Reason: c.Reason, Message: c.Message})
	}
	return rs
}

// toReplicationController converts rs back.
func toReplicationController(rs *appsv1.ReplicaSet) *corev1.ReplicationController {
	rc := &corev1.ReplicationController{ObjectMeta: *rs.ObjectMeta.DeepCopy()}
	rc.Spec.Replicas = rs.Spec.Replicas
	rc.Spec.MinReadySeconds = rs.Spec.MinReadySeconds
	if rs.Spec.Selector != nil {
		rc.Spec.Selector = rs.Spec.Selector.MatchLabels
	}
	tmpl := rs.Spec.Template.DeepCopy()
	rc.Spec.Template = tmpl
	st := rs.Status
	rc.Status = corev1.ReplicationControllerStatus{Replicas: st.Replicas, FullyLabeledReplicas: st.FullyLabeledReplicas, ReadyReplicas: st.ReadyReplicas,
		AvailableReplicas: st.AvailableReplicas, ObservedGeneration: st.ObservedGeneration}
	for _, c := range st.Conditions {
		rc.Status.Conditions = append(rc.Status.Conditions, corev1.ReplicationControllerCondition{Type: corev1.ReplicationControllerConditionType(c.Type),
			Status: c.Status, LastTransitionTime: c.LastTransitionTime, Reason: c.Reason, Message: c.Message})
	}
	return rc
}
