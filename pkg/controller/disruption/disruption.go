// Package disruption keeps PodDisruptionBudgets' status, which the
// apiserver's pods/eviction spends: expectedPods, currentHealthy (ready
// pods not being deleted and not recently evicted), desiredHealthy (from
// minAvailable, or maxUnavailable against the selected pods' controllers'
// scale), disruptionsAllowed and the DisruptionAllowed condition, as
// upstream's disruption controller. Evictions recorded in disruptedPods
// count as unhealthy until the pod goes or two minutes pass.
package disruption

import (
	"context"
	"fmt"
	"time"

	"github.com/kstack/kstack/pkg/controller"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsinformers "k8s.io/client-go/informers/apps/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	policyinformers "k8s.io/client-go/informers/policy/v1"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// Name is the controller's workqueue name.
const Name = "disruption"

// DeletionTimeout is how long an eviction counts against a budget before
// the pod is deleted, as upstream.
const DeletionTimeout = 2 * time.Minute

// Controller is the disruption controller.
type Controller struct {
	client    kubernetes.Interface
	pdbLister policylisters.PodDisruptionBudgetLister
	podLister corelisters.PodLister
	rsLister  appslisters.ReplicaSetLister
	dLister   appslisters.DeploymentLister
	ssLister  appslisters.StatefulSetLister
	rcLister  corelisters.ReplicationControllerLister
	synced    []cache.InformerSynced
	queue     controller.Queue
	clock     clock.Clock
}

// New returns a disruption controller.
func New(client kubernetes.Interface, pdbs policyinformers.PodDisruptionBudgetInformer, pods coreinformers.PodInformer,
	rss appsinformers.ReplicaSetInformer, ds appsinformers.DeploymentInformer, sss appsinformers.StatefulSetInformer,
	rcs coreinformers.ReplicationControllerInformer) *Controller {
	c := &Controller{client: client, pdbLister: pdbs.Lister(), podLister: pods.Lister(), rsLister: rss.Lister(), dLister: ds.Lister(),
		ssLister: sss.Lister(), rcLister: rcs.Lister(),
		synced: []cache.InformerSynced{pdbs.Informer().HasSynced, pods.Informer().HasSynced, rss.Informer().HasSynced,
			ds.Informer().HasSynced, sss.Informer().HasSynced, rcs.Informer().HasSynced},
		queue: controller.NewQueue(Name), clock: clock.RealClock{}}
	enqueue := func(obj any) { controller.Enqueue(c.queue, obj) }
	_, _ = pdbs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) }})
	podChanged := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return
		}
		list, _ := c.pdbLister.PodDisruptionBudgets(pod.Namespace).List(labels.Everything())
		for _, pdb := range list {
			if sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector); err == nil && !sel.Empty() && sel.Matches(labels.Set(pod.Labels)) {
				enqueue(pdb)
			}
		}
	}
	_, _ = pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: podChanged, UpdateFunc: func(_, o any) { podChanged(o) }, DeleteFunc: podChanged})
	return c
}

// Run syncs budgets with workers goroutines until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	if !controller.WaitForSync(ctx, Name, c.synced...) {
		return
	}
	controller.RunWorkers(ctx, Name, c.queue, workers, c.sync)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	cached, err := c.pdbLister.PodDisruptionBudgets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	pdb := cached.DeepCopy()
	now := c.clock.Now()
	st := *pdb.Status.DeepCopy()
	st.ObservedGeneration = pdb.Generation
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	var pods []*corev1.Pod
	if err == nil {
		pods, err = c.podLister.Pods(ns).List(sel)
	}
	var expected, desired int32
	if err == nil {
		expected, desired, err = c.budget(pdb, pods)
	}
	if err != nil {
		// Fail closed: no disruptions while the budget cannot be computed.
		st.DisruptionsAllowed = 0
		setCondition(&st, metav1.ConditionFalse, policyv1.SyncFailedReason, err.Error(), now)
		return c.write(ctx, pdb, st)
	}
	// Recent evictions count as unhealthy until their pod goes.
	live := map[string]*corev1.Pod{}
	for _, p := range pods {
		live[p.Name] = p
	}
	disrupted := map[string]metav1.Time{}
	var nextExpiry time.Time
	for podName, t := range st.DisruptedPods {
		p, ok := live[podName]
		expiry := t.Add(DeletionTimeout)
		if !ok || p.DeletionTimestamp != nil || now.After(expiry) {
			continue
		}
		disrupted[podName] = t
		if nextExpiry.IsZero() || expiry.Before(nextExpiry) {
			nextExpiry = expiry
		}
	}
	if len(disrupted) == 0 {
		disrupted = nil
	}
	st.DisruptedPods = disrupted
	var healthy int32
	for _, p := range pods {
		if p.DeletionTimestamp == nil && controller.IsPodReady(p) {
			if _, evicted := disrupted[p.Name]; !evicted {
				healthy++
			}
		}
	}
	st.ExpectedPods, st.DesiredHealthy, st.CurrentHealthy = expected, desired, healthy
	st.DisruptionsAllowed = max(healthy-desired, 0)
	if expected <= 0 {
		st.DisruptionsAllowed = 0 // as upstream: nothing is expected, nothing may go
	}
	if st.DisruptionsAllowed > 0 {
		setCondition(&st, metav1.ConditionTrue, policyv1.SufficientPodsReason, "", now)
	} else {
		setCondition(&st, metav1.ConditionFalse, policyv1.InsufficientPodsReason, "", now)
	}
	if !nextExpiry.IsZero() {
		c.queue.AddAfter(key, nextExpiry.Sub(now))
	}
	return c.write(ctx, pdb, st)
}

// budget returns the expected pod count and the healthy pods required.
func (c *Controller) budget(pdb *policyv1.PodDisruptionBudget, pods []*corev1.Pod) (int32, int32, error) {
	minAvail, maxUnavail := pdb.Spec.MinAvailable, pdb.Spec.MaxUnavailable
	if maxUnavail == nil && (minAvail == nil || minAvail.Type == intstr.Int) {
		expected := int32(len(pods))
		if minAvail == nil {
			return expected, 0, nil
		}
		return expected, minAvail.IntVal, nil
	}
	expected, err := c.expectedScale(pdb.Namespace, pods)
	if err != nil {
		return 0, 0, err
	}
	if maxUnavail != nil {
		mu, err := intstr.GetScaledValueFromIntOrPercent(maxUnavail, int(expected), true)
		if err != nil {
			return 0, 0, err
		}
		return expected, max(expected-int32(mu), 0), nil
	}
	ma, err := intstr.GetScaledValueFromIntOrPercent(minAvail, int(expected), true)
	if err != nil {
		return 0, 0, err
	}
	return expected, int32(ma), nil
}

// expectedScale sums the replicas of the controllers of pods (each once).
func (c *Controller) expectedScale(ns string, pods []*corev1.Pod) (int32, error) {
	seen := map[types.UID]bool{}
	var total int32
	for _, p := range pods {
		ref := metav1.GetControllerOf(p)
		if ref == nil {
			return 0, fmt.Errorf("found no controllers for pod %q", p.Name)
		}
		uid, n, err := c.scaleOf(ns, ref)
		if err != nil {
			return 0, err
		}
		if !seen[uid] {
			seen[uid] = true
			total += n
		}
	}
	return total, nil
}

// scaleOf resolves a pod's controller to the object whose scale counts.
func (c *Controller) scaleOf(ns string, ref *metav1.OwnerReference) (types.UID, int32, error) {
	replicas := func(p *int32) int32 {
		if p == nil {
			return 1
		}
		return *p
	}
	switch ref.Kind {
	case "ReplicaSet":
		rs, err := c.rsLister.ReplicaSets(ns).Get(ref.Name)
		if err != nil || rs.UID != ref.UID {
			return "", 0, fmt.Errorf("replicaset %s: not found", ref.Name)
		}
		if dref := metav1.GetControllerOf(rs); dref != nil && dref.Kind == "Deployment" {
			d, err := c.dLister.Deployments(ns).Get(dref.Name)
			if err == nil && d.UID == dref.UID {
				return d.UID, replicas(d.Spec.Replicas), nil
			}
		}
		return rs.UID, replicas(rs.Spec.Replicas), nil
	case "StatefulSet":
		ss, err := c.ssLister.StatefulSets(ns).Get(ref.Name)
		if err != nil || ss.UID != ref.UID {
			return "", 0, fmt.Errorf("statefulset %s: not found", ref.Name)
		}
		return ss.UID, replicas(ss.Spec.Replicas), nil
	case "ReplicationController":
		rc, err := c.rcLister.ReplicationControllers(ns).Get(ref.Name)
		if err != nil || rc.UID != ref.UID {
			return "", 0, fmt.Errorf("replicationcontroller %s: not found", ref.Name)
		}
		return rc.UID, replicas(rc.Spec.Replicas), nil
	}
	return "", 0, fmt.Errorf("controller %s %s has no scale this controller understands", ref.Kind, ref.Name)
}

func setCondition(st *policyv1.PodDisruptionBudgetStatus, s metav1.ConditionStatus, reason, msg string, now time.Time) {
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if c.Type != policyv1.DisruptionAllowedCondition {
			continue
		}
		if c.Status != s {
			c.LastTransitionTime = metav1.NewTime(now)
		}
		c.Status, c.Reason, c.Message, c.ObservedGeneration = s, reason, msg, st.ObservedGeneration
		return
	}
	st.Conditions = append(st.Conditions, metav1.Condition{Type: policyv1.DisruptionAllowedCondition, Status: s, Reason: reason,
		Message: msg, LastTransitionTime: metav1.NewTime(now), ObservedGeneration: st.ObservedGeneration})
}

func (c *Controller) write(ctx context.Context, pdb *policyv1.PodDisruptionBudget, st policyv1.PodDisruptionBudgetStatus) error {
	if equality.Semantic.DeepEqual(pdb.Status, st) {
		return nil
	}
	pdb.Status = st
	if _, err := c.client.PolicyV1().PodDisruptionBudgets(pdb.Namespace).UpdateStatus(ctx, pdb, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update status of pdb %s/%s: %w", pdb.Namespace, pdb.Name, err)
	}
	return nil
}
