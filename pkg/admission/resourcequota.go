package admission

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
)

// ResourceQuota is upstream's ResourceQuota admission plugin: it measures
// what a create (or, for services and claims, an update) adds to the
// namespace's usage, refuses it with upstream's "exceeded quota" 403 when a
// matching quota's hard limit would be passed, and otherwise charges the
// usage to status.used of every matching quota (optimistic concurrency,
// retried on conflict; nothing is written on a dry run).
//
// Two differences from upstream, both because kstack has no quota
// controller yet: a quota whose status.hard is empty (no controller has
// synced it) is enforced against spec.hard, and status.hard is set from
// spec.hard when usage is written; a resource missing from status.used
// counts as zero (upstream refuses with "status unknown for quota").
// Usage is only ever added here: giving it back on deletes, and
// recalculating it from the objects that exist, is the quota controller's
// job in the controller-manager.
type ResourceQuota struct {
	store Store
	// retries bounds the re-reads after a conflicting status write.
	retries int
}

// NewResourceQuota returns the plugin reading and charging quotas in store.
func NewResourceQuota(store Store) *ResourceQuota { return &ResourceQuota{store: store, retries: 10} }

var _ Validator = (*ResourceQuota)(nil)

// Validate checks and charges the object's usage.
func (p *ResourceQuota) Validate(ctx context.Context, a *Attributes) error {
	if a.Subresource != "" || a.Namespace == "" || (a.Operation != Create && a.Operation != Update) {
		return nil
	}
	ev := evaluatorFor(a.Resource.GroupResource())
	if !ev.handles(a.Operation) {
		return nil
	}
	charged := map[string]bool{}
	for attempt := 0; ; attempt++ {
		objs, err := p.store.List(ctx, grResourceQuotas, a.Namespace)
		if err != nil {
			return fmt.Errorf("list resource quotas of namespace %s: %w", a.Namespace, err)
		}
		quotas := make([]*corev1.ResourceQuota, 0, len(objs))
		for _, o := range objs {
			if q, ok := o.(*corev1.ResourceQuota); ok && !charged[q.Name] {
				quotas = append(quotas, q)
			}
		}
		sort.Slice(quotas, func(i, j int) bool { return quotas[i].Name < quotas[j].Name })
		updated, err := checkRequest(quotas, a, ev)
		if err != nil {
			return err
		}
		if a.DryRun || len(updated) == 0 {
			return nil
		}
		conflict := false
		for _, q := range updated {
			err := p.store.UpdateQuotaStatus(ctx, q)
			switch {
			case err == nil:
				charged[q.Name] = true
			case apierrors.IsConflict(err):
				conflict = true
			case apierrors.IsNotFound(err):
				// The quota went away: nothing to charge.
			default:
				return fmt.Errorf("update status of resource quota %s/%s: %w", q.Namespace, q.Name, err)
			}
		}
		if !conflict {
			return nil
		}
		if attempt >= p.retries {
			return apierrors.NewConflict(grResourceQuotas, a.Namespace,
				errors.New("too many conflicting writes of resource quota status; please retry"))
		}
		// The quotas are read from a cache: give it a moment to catch up
		// with the write that beat us.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 10 * time.Millisecond):
		}
	}
}

// effectiveHard is status.hard, or spec.hard while no controller has set
// status (see ResourceQuota).
func effectiveHard(q *corev1.ResourceQuota) corev1.ResourceList {
	if len(q.Status.Hard) > 0 {
		return q.Status.Hard
	}
	return q.Spec.Hard
}

// checkRequest is upstream's CheckRequest: it returns copies of the
// quotas the object is charged to with status.used increased, or a 403.
func checkRequest(quotas []*corev1.ResourceQuota, a *Attributes, ev evaluator) ([]*corev1.ResourceQuota, error) {
	obj := a.Object
	var interesting []*corev1.ResourceQuota
	for _, q := range quotas {
		hard := effectiveHard(q)
		restricted := ev.matchingResources(resourceNames(hard))
		if len(restricted) == 0 {
			continue
		}
		match := true
		for _, sel := range scopeSelectors(q) {
			ok, err := ev.matchesScope(sel, obj)
			if err != nil {
				return nil, forbidden(a, fmt.Errorf("error matching scopes of quota %s, err: %v", q.Name, err))
			}
			match = match && ok
		}
		if !match {
			continue
		}
		if err := ev.constraints(restricted, obj); err != nil {
			return nil, forbidden(a, fmt.Errorf("failed quota: %s: %v", q.Name, err))
		}
		interesting = append(interesting, q)
	}
	if len(interesting) == 0 {
		return nil, nil
	}
	delta, err := ev.usage(obj)
	if err != nil {
		return nil, err
	}
	if neg := negative(delta); len(neg) > 0 {
		return nil, forbidden(a, fmt.Errorf("quota usage is negative for resource(s): %s", joinNames(neg)))
	}
	if a.Operation == Update {
		if a.OldObject == nil {
			return nil, forbidden(a, errors.New("unable to get previous usage since prior version of object was not found"))
		}
		if acc, err := meta.Accessor(a.OldObject); err == nil && acc.GetResourceVersion() != "" {
			prev, err := ev.usage(a.OldObject)
			if err != nil {
				return nil, err
			}
			delta = subtractNonNegative(delta, prev)
		}
	}
	delta = removeZeros(delta)
	if len(delta) == 0 {
		return nil, nil
	}
	var out []*corev1.ResourceQuota
	for _, q := range interesting {
		hard := effectiveHard(q)
		requested := mask(delta, resourceNames(hard))
		if len(requested) == 0 {
			continue
		}
		newUsed := add(q.Status.Used, requested)
		maskedNew := mask(newUsed, resourceNames(requested))
		if exceeded := exceeds(maskedNew, hard); len(exceeded) > 0 {
			used := corev1.ResourceList{}
			for _, n := range exceeded {
				used[n] = q.Status.Used[n] // a missing one shows as 0
			}
			return nil, forbidden(a, fmt.Errorf("exceeded quota: %s, requested: %s, used: %s, limited: %s",
				q.Name, prettyPrint(mask(requested, exceeded)), prettyPrint(used), prettyPrint(mask(hard, exceeded))))
		}
		nq := q.DeepCopy()
		nq.Status.Hard = q.Spec.Hard.DeepCopy()
		if len(q.Status.Hard) > 0 && len(q.Spec.Hard) == 0 {
			nq.Status.Hard = q.Status.Hard.DeepCopy()
		}
		// Every hard resource gets a used entry, so later requests find it.
		for n := range nq.Status.Hard {
			if _, ok := newUsed[n]; !ok {
				newUsed[n] = resource.MustParse("0")
			}
		}
		nq.Status.Used = newUsed
		out = append(out, nq)
	}
	return out, nil
}

// scopeSelectors are the quota's scopes (as Exists) and scopeSelector.
func scopeSelectors(q *corev1.ResourceQuota) []corev1.ScopedResourceSelectorRequirement {
	var out []corev1.ScopedResourceSelectorRequirement
	for _, s := range q.Spec.Scopes {
		out = append(out, corev1.ScopedResourceSelectorRequirement{ScopeName: s, Operator: corev1.ScopeSelectorOpExists})
	}
	if q.Spec.ScopeSelector != nil {
		out = append(out, q.Spec.ScopeSelector.MatchExpressions...)
	}
	return out
}

// evaluator measures one resource's objects for quota (upstream's
// quota.Evaluator, reduced to what admission needs).
type evaluator interface {
	handles(op Operation) bool
	// matchingResources filters the quota's resource names to the ones
	// this evaluator tracks.
	matchingResources(names []corev1.ResourceName) []corev1.ResourceName
	matchesScope(sel corev1.ScopedResourceSelectorRequirement, obj runtime.Object) (bool, error)
	usage(obj runtime.Object) (corev1.ResourceList, error)
	// constraints refuses objects that do not state what the quota needs.
	constraints(required []corev1.ResourceName, obj runtime.Object) error
}

// evaluatorFor returns the evaluator of a resource: pods, services and
// persistentvolumeclaims have their own, everything else is counted.
func evaluatorFor(gr schema.GroupResource) evaluator {
	if gr.Group == "" {
		switch gr.Resource {
		case "pods":
			return podEvaluator{}
		case "services":
			return serviceEvaluator{}
		case "persistentvolumeclaims":
			return pvcEvaluator{}
		}
	}
	return newCountEvaluator(gr)
}

// countName is upstream's object count resource name: count/<resource>
// for the core group, count/<resource>.<group> otherwise.
func countName(gr schema.GroupResource) corev1.ResourceName {
	if gr.Group == "" {
		return corev1.ResourceName("count/" + gr.Resource)
	}
	return corev1.ResourceName("count/" + gr.Resource + "." + gr.Group)
}

// legacyCountNames are the pre-count/ names of a few core resources.
var legacyCountNames = map[string]corev1.ResourceName{
	"configmaps":             corev1.ResourceConfigMaps,
	"secrets":                corev1.ResourceSecrets,
	"resourcequotas":         corev1.ResourceQuotas,
	"replicationcontrollers": corev1.ResourceReplicationControllers,
}

// countEvaluator counts objects on create; quotas with scopes never match.
type countEvaluator struct{ names []corev1.ResourceName }

func newCountEvaluator(gr schema.GroupResource) countEvaluator {
	names := []corev1.ResourceName{countName(gr)}
	if legacy, ok := legacyCountNames[gr.Resource]; ok && gr.Group == "" {
		names = append(names, legacy)
	}
	return countEvaluator{names: names}
}

func (e countEvaluator) handles(op Operation) bool { return op == Create }
func (e countEvaluator) matchingResources(in []corev1.ResourceName) []corev1.ResourceName {
	return intersect(in, e.names)
}
func (e countEvaluator) matchesScope(corev1.ScopedResourceSelectorRequirement, runtime.Object) (bool, error) {
	return false, nil
}
func (e countEvaluator) usage(runtime.Object) (corev1.ResourceList, error) {
	out := corev1.ResourceList{}
	for _, n := range e.names {
		out[n] = resource.MustParse("1")
	}
	return out, nil
}
func (e countEvaluator) constraints([]corev1.ResourceName, runtime.Object) error { return nil }

// serviceEvaluator counts services, their node ports and load balancers,
// on create and update.
type serviceEvaluator struct{}

var serviceResources = []corev1.ResourceName{
	corev1.ResourceServices, "count/services", corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers,
}

func (serviceEvaluator) handles(op Operation) bool { return op == Create || op == Update }
func (serviceEvaluator) matchingResources(in []corev1.ResourceName) []corev1.ResourceName {
	return intersect(in, serviceResources)
}
func (serviceEvaluator) matchesScope(corev1.ScopedResourceSelectorRequirement, runtime.Object) (bool, error) {
	return false, nil
}
func (serviceEvaluator) constraints([]corev1.ResourceName, runtime.Object) error { return nil }
func (serviceEvaluator) usage(obj runtime.Object) (corev1.ResourceList, error) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return nil, fmt.Errorf("expected a Service, got %T", obj)
	}
	out := corev1.ResourceList{
		corev1.ResourceServices: resource.MustParse("1"),
		"count/services":        resource.MustParse("1"),
	}
	ports := int64(len(svc.Spec.Ports))
	switch svc.Spec.Type {
	case corev1.ServiceTypeNodePort:
		out[corev1.ResourceServicesNodePorts] = *resource.NewQuantity(ports, resource.DecimalSI)
	case corev1.ServiceTypeLoadBalancer:
		out[corev1.ResourceServicesLoadBalancers] = resource.MustParse("1")
		if svc.Spec.AllocateLoadBalancerNodePorts != nil && !*svc.Spec.AllocateLoadBalancerNodePorts {
			// Only ports that ask for a node port get one.
			ports = 0
			for _, p := range svc.Spec.Ports {
				if p.NodePort != 0 {
					ports++
				}
			}
		}
		out[corev1.ResourceServicesNodePorts] = *resource.NewQuantity(ports, resource.DecimalSI)
	}
	return out, nil
}

// pvcEvaluator counts claims and requested storage, overall and per
// storage class, on create and update (expansion).
type pvcEvaluator struct{}

const (
	storageClassSuffix = ".storageclass.storage.k8s.io/"
	betaStorageClass   = "volume.beta.kubernetes.io/storage-class"
)

var pvcResources = []corev1.ResourceName{
	corev1.ResourcePersistentVolumeClaims, "count/persistentvolumeclaims", corev1.ResourceRequestsStorage,
}

func (pvcEvaluator) handles(op Operation) bool { return op == Create || op == Update }
func (pvcEvaluator) matchingResources(in []corev1.ResourceName) []corev1.ResourceName {
	out := intersect(in, pvcResources)
	for _, n := range in {
		s := string(n)
		if strings.HasSuffix(s, storageClassSuffix+string(corev1.ResourceRequestsStorage)) ||
			strings.HasSuffix(s, storageClassSuffix+string(corev1.ResourcePersistentVolumeClaims)) {
			out = append(out, n)
		}
	}
	return out
}
func (pvcEvaluator) matchesScope(corev1.ScopedResourceSelectorRequirement, runtime.Object) (bool, error) {
	return false, nil
}
func (pvcEvaluator) constraints([]corev1.ResourceName, runtime.Object) error { return nil }
func (pvcEvaluator) usage(obj runtime.Object) (corev1.ResourceList, error) {
	pvc, ok := obj.(*corev1.PersistentVolumeClaim)
	if !ok {
		return nil, fmt.Errorf("expected a PersistentVolumeClaim, got %T", obj)
	}
	out := corev1.ResourceList{
		corev1.ResourcePersistentVolumeClaims: resource.MustParse("1"),
		"count/persistentvolumeclaims":        resource.MustParse("1"),
	}
	class := pvc.Annotations[betaStorageClass]
	if class == "" && pvc.Spec.StorageClassName != nil {
		class = *pvc.Spec.StorageClassName
	}
	if class != "" {
		out[corev1.ResourceName(class+storageClassSuffix+string(corev1.ResourcePersistentVolumeClaims))] = resource.MustParse("1")
	}
	storage, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if alloc, found := pvc.Status.AllocatedResources[corev1.ResourceStorage]; found && (!ok || alloc.Cmp(storage) > 0) {
		storage, ok = alloc, true
	}
	if ok {
		out[corev1.ResourceRequestsStorage] = storage.DeepCopy()
		if class != "" {
			out[corev1.ResourceName(class+storageClassSuffix+string(corev1.ResourceRequestsStorage))] = storage.DeepCopy()
		}
	}
	return out, nil
}

// podEvaluator measures pods' compute resources on create.
type podEvaluator struct{}

var podResources = []corev1.ResourceName{
	corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage,
	corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, corev1.ResourceRequestsEphemeralStorage,
	corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory, corev1.ResourceLimitsEphemeralStorage,
	corev1.ResourcePods, "count/pods",
}

// computeNames are the resources every container must state when a quota
// limits them (a backward-compatible rule upstream keeps).
var computeNames = map[corev1.ResourceName]bool{
	corev1.ResourceCPU: true, corev1.ResourceMemory: true,
	corev1.ResourceRequestsCPU: true, corev1.ResourceRequestsMemory: true,
	corev1.ResourceLimitsCPU: true, corev1.ResourceLimitsMemory: true,
}

func (podEvaluator) handles(op Operation) bool { return op == Create }
func (podEvaluator) matchingResources(in []corev1.ResourceName) []corev1.ResourceName {
	out := intersect(in, podResources)
	for _, n := range in {
		s := string(n)
		if strings.HasPrefix(s, "requests.hugepages-") || strings.HasPrefix(s, "limits.hugepages-") ||
			(strings.HasPrefix(s, "requests.") && isExtendedResource(strings.TrimPrefix(s, "requests."))) {
			out = append(out, n)
		}
	}
	return out
}

func (podEvaluator) matchesScope(sel corev1.ScopedResourceSelectorRequirement, obj runtime.Object) (bool, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return false, fmt.Errorf("expected a Pod, got %T", obj)
	}
	switch sel.ScopeName {
	case corev1.ResourceQuotaScopeTerminating:
		return isTerminating(pod), nil
	case corev1.ResourceQuotaScopeNotTerminating:
		return !isTerminating(pod), nil
	case corev1.ResourceQuotaScopeBestEffort:
		return isBestEffort(pod), nil
	case corev1.ResourceQuotaScopeNotBestEffort:
		return !isBestEffort(pod), nil
	case corev1.ResourceQuotaScopePriorityClass:
		if sel.Operator == corev1.ScopeSelectorOpExists {
			return pod.Spec.PriorityClassName != "", nil
		}
		s, err := scopeSelector(sel)
		if err != nil {
			return false, err
		}
		var set labels.Set
		if pod.Spec.PriorityClassName != "" {
			set = labels.Set{string(corev1.ResourceQuotaScopePriorityClass): pod.Spec.PriorityClassName}
		}
		return s.Matches(set), nil
	case corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		return usesCrossNamespaceAffinity(pod), nil
	}
	return false, nil
}

// scopeSelector turns a scope requirement into a label selector on the
// scope name, as upstream's ScopedResourceSelectorRequirementsAsSelector.
func scopeSelector(sel corev1.ScopedResourceSelectorRequirement) (labels.Selector, error) {
	var op selection.Operator
	switch sel.Operator {
	case corev1.ScopeSelectorOpIn:
		op = selection.In
	case corev1.ScopeSelectorOpNotIn:
		op = selection.NotIn
	case corev1.ScopeSelectorOpExists:
		op = selection.Exists
	case corev1.ScopeSelectorOpDoesNotExist:
		op = selection.DoesNotExist
	default:
		return nil, fmt.Errorf("%q is not a valid scope selector operator", sel.Operator)
	}
	r, err := labels.NewRequirement(string(sel.ScopeName), op, sel.Values)
	if err != nil {
		return nil, fmt.Errorf("failed to parse and convert selector: %v", err)
	}
	return labels.NewSelector().Add(*r), nil
}

func isTerminating(pod *corev1.Pod) bool {
	return pod.Spec.ActiveDeadlineSeconds != nil && *pod.Spec.ActiveDeadlineSeconds >= 0
}

// isBestEffort: no container requests or limits cpu or memory.
func isBestEffort(pod *corev1.Pod) bool {
	all := append(append([]corev1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...)
	for _, c := range all {
		for _, l := range []corev1.ResourceList{c.Resources.Requests, c.Resources.Limits} {
			for _, n := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if q, ok := l[n]; ok && !q.IsZero() {
					return false
				}
			}
		}
	}
	return true
}

func usesCrossNamespaceAffinity(pod *corev1.Pod) bool {
	aff := pod.Spec.Affinity
	if aff == nil {
		return false
	}
	var terms []corev1.PodAffinityTerm
	if a := aff.PodAffinity; a != nil {
		terms = append(terms, a.RequiredDuringSchedulingIgnoredDuringExecution...)
		for _, w := range a.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, w.PodAffinityTerm)
		}
	}
	if a := aff.PodAntiAffinity; a != nil {
		terms = append(terms, a.RequiredDuringSchedulingIgnoredDuringExecution...)
		for _, w := range a.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, w.PodAffinityTerm)
		}
	}
	for _, t := range terms {
		if len(t.Namespaces) > 0 || t.NamespaceSelector != nil {
			return true
		}
	}
	return false
}

func (podEvaluator) usage(obj runtime.Object) (corev1.ResourceList, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, fmt.Errorf("expected a Pod, got %T", obj)
	}
	// count/pods tracks every stored pod; the rest only live ones.
	out := corev1.ResourceList{"count/pods": resource.MustParse("1")}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return out, nil
	}
	return add(out, computeUsage(podRequests(pod, true), podLimits(pod, true))), nil
}

// computeUsage is upstream's podComputeUsageHelper.
func computeUsage(requests, limits corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1")}
	pairs := []struct{ base, req, lim corev1.ResourceName }{
		{corev1.ResourceCPU, corev1.ResourceRequestsCPU, corev1.ResourceLimitsCPU},
		{corev1.ResourceMemory, corev1.ResourceRequestsMemory, corev1.ResourceLimitsMemory},
		{corev1.ResourceEphemeralStorage, corev1.ResourceRequestsEphemeralStorage, corev1.ResourceLimitsEphemeralStorage},
	}
	for _, p := range pairs {
		if q, ok := requests[p.base]; ok {
			out[p.base] = q.DeepCopy()
			out[p.req] = q.DeepCopy()
		}
		if q, ok := limits[p.base]; ok {
			out[p.lim] = q.DeepCopy()
		}
	}
	for n, q := range requests {
		if strings.HasPrefix(string(n), corev1.ResourceHugePagesPrefix) || isExtendedResource(string(n)) {
			out[corev1.ResourceName("requests."+string(n))] = q.DeepCopy()
		}
	}
	for n, q := range limits {
		if strings.HasPrefix(string(n), corev1.ResourceHugePagesPrefix) {
			out[corev1.ResourceName("limits."+string(n))] = q.DeepCopy()
		}
	}
	return out
}

// isExtendedResource: a domain-qualified name outside kubernetes.io.
func isExtendedResource(name string) bool {
	if !strings.Contains(name, "/") || strings.HasPrefix(name, "requests.") {
		return false
	}
	return !strings.HasPrefix(name, "kubernetes.io/") && !strings.Contains(strings.SplitN(name, "/", 2)[0], ".kubernetes.io")
}

func (podEvaluator) constraints(required []corev1.ResourceName, obj runtime.Object) error {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return fmt.Errorf("expected a Pod, got %T", obj)
	}
	var need []corev1.ResourceName
	for _, n := range required {
		if computeNames[n] {
			need = append(need, n)
		}
	}
	if len(need) == 0 {
		return nil
	}
	missing := map[corev1.ResourceName][]string{}
	check := func(c *corev1.Container) {
		have := computeUsage(c.Resources.Requests, c.Resources.Limits)
		for _, n := range need {
			if _, ok := have[n]; !ok {
				missing[n] = append(missing[n], c.Name)
			}
		}
	}
	for i := range pod.Spec.Containers {
		check(&pod.Spec.Containers[i])
	}
	for i := range pod.Spec.InitContainers {
		check(&pod.Spec.InitContainers[i])
	}
	if len(missing) == 0 {
		return nil
	}
	names := make([]string, 0, len(missing))
	for n := range missing {
		names = append(names, string(n))
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		cs := missing[corev1.ResourceName(n)]
		sort.Strings(cs)
		parts = append(parts, fmt.Sprintf("%s for: %s", n, strings.Join(dedupe(cs), ",")))
	}
	return fmt.Errorf("must specify %s", strings.Join(parts, "; "))
}

// Resource-list arithmetic, as upstream's quota helpers.

func resourceNames(l corev1.ResourceList) []corev1.ResourceName {
	out := make([]corev1.ResourceName, 0, len(l))
	for n := range l {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func intersect(a, b []corev1.ResourceName) []corev1.ResourceName {
	in := map[corev1.ResourceName]bool{}
	for _, n := range b {
		in[n] = true
	}
	var out []corev1.ResourceName
	for _, n := range a {
		if in[n] {
			out = append(out, n)
		}
	}
	return out
}

func mask(l corev1.ResourceList, names []corev1.ResourceName) corev1.ResourceList {
	out := corev1.ResourceList{}
	for _, n := range names {
		if q, ok := l[n]; ok {
			out[n] = q.DeepCopy()
		}
	}
	return out
}

func add(a, b corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	addTo(out, a)
	addTo(out, b)
	return out
}

func subtractNonNegative(a, b corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for n, q := range a {
		q = q.DeepCopy()
		if other, ok := b[n]; ok {
			q.Sub(other)
		}
		if q.Sign() < 0 {
			q = resource.MustParse("0")
		}
		out[n] = q
	}
	return out
}

func removeZeros(l corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for n, q := range l {
		if !q.IsZero() {
			out[n] = q
		}
	}
	return out
}

func negative(l corev1.ResourceList) []corev1.ResourceName {
	var out []corev1.ResourceName
	for n, q := range l {
		if q.Sign() < 0 {
			out = append(out, n)
		}
	}
	return out
}

// exceeds lists the resources of used above hard (resources hard does not
// name are not limited).
func exceeds(used, hard corev1.ResourceList) []corev1.ResourceName {
	var out []corev1.ResourceName
	for n, h := range hard {
		if u, ok := used[n]; ok && u.Cmp(h) > 0 {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func joinNames(names []corev1.ResourceName) string {
	s := make([]string, len(names))
	for i, n := range names {
		s[i] = string(n)
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
