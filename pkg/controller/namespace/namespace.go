// Package namespace empties Terminating namespaces: it deletes every
// namespaced resource discovery lists (deletecollection where served,
// one by one otherwise), reports progress in the namespace's status
// conditions as upstream, and once nothing is left removes the
// "kubernetes" finalizer through namespaces/finalize so the apiserver can
// delete the namespace.
package namespace

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kstack/kstack/pkg/controller"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// Name is the controller's workqueue name.
const Name = "namespace"

// recheck is how soon a namespace with content left is looked at again.
const recheck = 2 * time.Second

// Controller is the namespace controller.
type Controller struct {
	client kubernetes.Interface
	md     metadata.Interface
	disc   discovery.DiscoveryInterface
	lister corelisters.NamespaceLister
	synced cache.InformerSynced
	queue  controller.Queue
	clock  clock.Clock
}

// New returns a namespace controller.
func New(client kubernetes.Interface, md metadata.Interface, disc discovery.DiscoveryInterface, nsInformer coreinformers.NamespaceInformer) *Controller {
	c := &Controller{client: client, md: md, disc: disc, lister: nsInformer.Lister(),
		synced: nsInformer.Informer().HasSynced, queue: controller.NewQueue(Name), clock: clock.RealClock{}}
	enqueue := func(obj any) {
		if ns, ok := obj.(*corev1.Namespace); ok && ns.DeletionTimestamp != nil {
			controller.Enqueue(c.queue, ns)
		}
	}
	_, _ = nsInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, obj any) { enqueue(obj) },
	})
	return c
}

// Run empties Terminating namespaces with workers goroutines until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	if !controller.WaitForSync(ctx, Name, c.synced) {
		return
	}
	controller.RunWorkers(ctx, Name, c.queue, workers, c.sync)
}

func (c *Controller) sync(ctx context.Context, name string) error {
	ns, err := c.lister.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ns.DeletionTimestamp == nil {
		return nil
	}
	if !hasKubernetesFinalizer(ns) {
		return nil
	}
	conds, remaining, err := c.deleteContent(ctx, name)
	if uerr := c.updateConditions(ctx, ns, conds); uerr != nil && !apierrors.IsNotFound(uerr) {
		return uerr
	}
	if err != nil {
		return err
	}
	if remaining {
		c.queue.AddAfter(name, recheck)
		return nil
	}
	return c.finalize(ctx, name)
}

func hasKubernetesFinalizer(ns *corev1.Namespace) bool {
	for _, f := range ns.Spec.Finalizers {
		if f == corev1.FinalizerKubernetes {
			return true
		}
	}
	return false
}

// deleteContent deletes everything namespaced in ns and reports whether
// anything is left, with the status conditions describing it.
func (c *Controller) deleteContent(ctx context.Context, ns string) ([]corev1.NamespaceCondition, bool, error) {
	now := metav1.NewTime(c.clock.Now())
	cond := func(t corev1.NamespaceConditionType, failed bool, reasonOK, reasonFail, msg string) corev1.NamespaceCondition {
		if failed {
			return corev1.NamespaceCondition{Type: t, Status: corev1.ConditionTrue, Reason: reasonFail, Message: msg, LastTransitionTime: now}
		}
		return corev1.NamespaceCondition{Type: t, Status: corev1.ConditionFalse, Reason: reasonOK, Message: msg, LastTransitionTime: now}
	}
	lists, derr := discovery.ServerPreferredNamespacedResources(c.disc)
	discoveryFailed := derr != nil
	var conds []corev1.NamespaceCondition
	msg := "All resources successfully discovered"
	if discoveryFailed {
		msg = fmt.Sprintf("Discovery failed for some groups: %v", derr)
	}
	conds = append(conds, cond(corev1.NamespaceDeletionDiscoveryFailure, discoveryFailed, "ResourcesDiscovered", "DiscoveryFailed", msg))
	conds = append(conds, cond(corev1.NamespaceDeletionGVParsingFailure, false, "ParsedGroupVersions", "GroupVersionParsingFailed", "All legacy kube types successfully parsed"))
	if lists == nil && derr != nil {
		return conds, true, fmt.Errorf("discover namespaced resources: %w", derr)
	}
	deletable := discovery.FilteredBy(discovery.SupportsAllVerbs{Verbs: []string{"list", "delete"}}, lists)
	gvrs, err := discovery.GroupVersionResources(deletable)
	if err != nil {
		return conds, true, err
	}
	collection := map[schema.GroupVersionResource]bool{}
	if cgvrs, err := discovery.GroupVersionResources(discovery.FilteredBy(discovery.SupportsAllVerbs{Verbs: []string{"deletecollection"}}, lists)); err == nil {
		collection = cgvrs2set(cgvrs)
	}
	var deleteErrs []string
	remaining := map[string]int{}
	finalizers := map[string]int{}
	for gvr := range gvrs {
		if strings.Contains(gvr.Resource, "/") {
			continue
		}
		left, fins, err := c.deleteAll(ctx, ns, gvr, collection[gvr])
		if err != nil {
			deleteErrs = append(deleteErrs, err.Error())
			continue
		}
		if left > 0 {
			remaining[gvr.GroupResource().String()] = left
		}
		for f, n := range fins {
			finalizers[f] += n
		}
	}
	sort.Strings(deleteErrs)
	conds = append(conds, cond(corev1.NamespaceDeletionContentFailure, len(deleteErrs) > 0, "ContentDeleted", "ContentDeletionFailed",
		orDefault(strings.Join(deleteErrs, "; "), "All content successfully deleted, may be waiting on finalization")))
	conds = append(conds, cond(corev1.NamespaceContentRemaining, len(remaining) > 0, "ContentRemoved", "SomeResourcesRemain",
		orDefault(describe("Some resources are remaining: ", remaining, " has %d resource instances"), "All content successfully removed")))
	conds = append(conds, cond(corev1.NamespaceFinalizersRemaining, len(finalizers) > 0, "ContentHasNoFinalizers", "SomeFinalizersRemain",
		orDefault(describe("Some content in the namespace has finalizers remaining: ", finalizers, " in %d resource instances"), "All content-preserving finalizers finished")))
	if len(deleteErrs) > 0 {
		return conds, true, fmt.Errorf("delete content of namespace %s: %s", ns, strings.Join(deleteErrs, "; "))
	}
	return conds, len(remaining) > 0, nil
}

func cgvrs2set(m map[schema.GroupVersionResource]struct{}) map[schema.GroupVersionResource]bool {
	out := map[schema.GroupVersionResource]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func describe(prefix string, m map[string]int, format string) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for k, n := range m {
		parts = append(parts, k+fmt.Sprintf(format, n))
	}
	sort.Strings(parts)
	return prefix + strings.Join(parts, ", ")
}

// deleteAll deletes every object of gvr in ns and returns how many are
// left and their finalizers.
func (c *Controller) deleteAll(ctx context.Context, ns string, gvr schema.GroupVersionResource, collection bool) (int, map[string]int, error) {
	res := c.md.Resource(gvr).Namespace(ns)
	bg := metav1.DeletePropagationBackground
	if collection {
		err := res.DeleteCollection(ctx, metav1.DeleteOptions{PropagationPolicy: &bg}, metav1.ListOptions{})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsMethodNotSupported(err) {
			return 0, nil, fmt.Errorf("deletecollection %s: %w", gvr.GroupResource(), err)
		}
	}
	list, err := res.List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("list %s: %w", gvr.GroupResource(), err)
	}
	fins := map[string]int{}
	for _, item := range list.Items {
		for _, f := range item.Finalizers {
			fins[f]++
		}
		if item.DeletionTimestamp != nil {
			continue
		}
		err := res.Delete(ctx, item.Name, metav1.DeleteOptions{PropagationPolicy: &bg})
		if err != nil && !apierrors.IsNotFound(err) {
			return 0, nil, fmt.Errorf("delete %s %s: %w", gvr.GroupResource(), item.Name, err)
		}
	}
	return len(list.Items), fins, nil
}

// updateConditions writes ns's deletion conditions when they changed
// (ignoring transition times of unchanged ones).
func (c *Controller) updateConditions(ctx context.Context, ns *corev1.Namespace, conds []corev1.NamespaceCondition) error {
	cp := ns.DeepCopy()
	cp.Status.Phase = corev1.NamespaceTerminating
	for _, nc := range conds {
		found := false
		for i := range cp.Status.Conditions {
			if cp.Status.Conditions[i].Type != nc.Type {
				continue
			}
			found = true
			old := cp.Status.Conditions[i]
			if old.Status == nc.Status && old.Reason == nc.Reason && old.Message == nc.Message {
				continue
			}
			cp.Status.Conditions[i] = nc
		}
		if !found {
			cp.Status.Conditions = append(cp.Status.Conditions, nc)
		}
	}
	if equality.Semantic.DeepEqual(ns.Status, cp.Status) {
		return nil
	}
	_, err := c.client.CoreV1().Namespaces().UpdateStatus(ctx, cp, metav1.UpdateOptions{})
	return err
}

// finalize removes the kubernetes finalizer.
func (c *Controller) finalize(ctx context.Context, name string) error {
	ns, err := c.client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var keep []corev1.FinalizerName
	for _, f := range ns.Spec.Finalizers {
		if f != corev1.FinalizerKubernetes {
			keep = append(keep, f)
		}
	}
	ns.Spec.Finalizers = keep
	_, err = c.client.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("finalize namespace %s: %w", name, err)
	}
	return nil
}
