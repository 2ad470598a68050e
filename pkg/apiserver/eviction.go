package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/kstack/kstack/pkg/storage"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// evictionRetries is how often an eviction retries a conflicting write, as
// upstream's EvictionsRetry.
const evictionRetries = 5

// maxDisruptedPods caps a PDB's unconfirmed evictions, as upstream.
const maxDisruptedPods = 2000

// serveEviction is pods/eviction, with upstream's rules: a pod that has not
// started running (Pending), has finished, or is already being deleted goes
// at once, whatever its PodDisruptionBudget says; an unready pod goes when
// its budget's policy lets unhealthy pods go; any other pod spends one of
// its budget's allowed disruptions or is refused with 429.
func (s *Server) serveEviction(w http.ResponseWriter, r *http.Request, pods *resourceStore, info *RequestInfo) {
	ctx := r.Context()
	choice, err := negotiateOutput(r, false)
	if err != nil {
		writeError(w, r, err)
		return
	}
	ev := &policyv1.Eviction{}
	if err := decodeRequest(r, ev); err != nil {
		writeError(w, r, err)
		return
	}
	if ev.Name != "" && ev.Name != info.Name {
		writeError(w, r, apierrors.NewBadRequest("name in URL does not match name in Eviction object"))
		return
	}
	opts := ev.DeleteOptions
	if opts == nil {
		opts = &metav1.DeleteOptions{}
	}
	if opts.IgnoreStoreReadErrorWithClusterBreakingPotential != nil && *opts.IgnoreStoreReadErrorWithClusterBreakingPotential {
		writeError(w, r, apierrors.NewInvalid(schema.GroupKind{Group: "policy", Kind: "Eviction"}, info.Name, field.ErrorList{
			field.Invalid(field.NewPath("deleteOptions", "ignoreStoreReadErrorWithClusterBreakingPotential"), true, "can not be set for pod eviction, try after removing the option")}))
		return
	}
	dryRun, err := parseDryRun(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if dryRun && len(opts.DryRun) == 0 {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	userRV := opts.Preconditions != nil && opts.Preconditions.ResourceVersion != nil && *opts.Preconditions.ResourceVersion != ""
	success := func() {
		writeEncoded(w, choice, http.StatusCreated, &metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}, Status: metav1.StatusSuccess, Code: http.StatusCreated})
	}

	// Pods the budget does not guard are deleted directly; a conflict (the
	// pod changed under us) is retried unless the client pinned a version.
	var pod *corev1.Pod
	for attempt := 0; ; attempt++ {
		pod = &corev1.Pod{}
		if err := pods.storage.Get(ctx, pods.key(info.Namespace, info.Name), storage.GetOptions{}, pod); err != nil {
			writeError(w, r, err)
			return
		}
		if attempt == 0 {
			if err := s.admitNode(ctx, nil, pod); err != nil {
				writeError(w, r, err)
				return
			}
		}
		if !canIgnorePDB(pod) {
			break
		}
		delOpts := opts
		if enforceResourceVersion(pod) && !userRV {
			delOpts = withResourceVersion(opts, pod.ResourceVersion)
		}
		err := s.evictPod(ctx, pods, pod.Namespace, pod.Name, delOpts)
		if err == nil {
			success()
			return
		}
		if !apierrors.IsConflict(err) || userRV || attempt+1 >= evictionRetries {
			writeError(w, r, err)
			return
		}
	}

	pdb, status, err := s.podBudget(ctx, pod)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if status != nil {
		writeEncoded(w, choice, int(status.Code), status)
		return
	}
	guardedByVersion := false
	if pdb != nil {
		spend := true
		if !podReady(pod) {
			// An unready pod does not count as healthy: it may go without
			// spending a disruption when the policy says so, or when the
			// budget is met without it.
			if p := pdb.Spec.UnhealthyPodEvictionPolicy; p != nil && *p == policyv1.AlwaysAllow {
				spend = false
			} else if pdb.Status.CurrentHealthy >= pdb.Status.DesiredHealthy && pdb.Status.DesiredHealthy > 0 {
				spend = false
			}
		}
		if spend {
			if err := s.spendDisruption(ctx, pod, pdb.Name, len(opts.DryRun) > 0); err != nil {
				writeError(w, r, err)
				return
			}
		} else {
			guardedByVersion = true
		}
	}
	delOpts := opts
	if guardedByVersion {
		// The pod must not have become ready since we looked.
		delOpts = withResourceVersion(opts, pod.ResourceVersion)
	}
	if err := s.evictPod(ctx, pods, pod.Namespace, pod.Name, delOpts); err != nil {
		if apierrors.IsConflict(err) && guardedByVersion && !userRV {
			writeError(w, r, budgetBusy(pdb.Name))
			return
		}
		writeError(w, r, err)
		return
	}
	success()
}

// canIgnorePDB: a pod that is not running yet, has finished, or is being
// deleted is no disruption to evict.
func canIgnorePDB(pod *corev1.Pod) bool {
	switch pod.Status.Phase {
	case corev1.PodSucceeded, corev1.PodFailed, corev1.PodPending:
		return true
	}
	return pod.DeletionTimestamp != nil
}

// enforceResourceVersion: deleting a pod that may still become ready is
// pinned to the version the decision was made on.
func enforceResourceVersion(pod *corev1.Pod) bool {
	switch pod.Status.Phase {
	case corev1.PodSucceeded, corev1.PodFailed:
		return false
	}
	return pod.DeletionTimestamp == nil
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func withResourceVersion(opts *metav1.DeleteOptions, rv string) *metav1.DeleteOptions {
	out := opts.DeepCopy()
	if out.Preconditions == nil {
		out.Preconditions = &metav1.Preconditions{}
	}
	out.Preconditions.ResourceVersion = &rv
	return out
}

// evictPod marks the pod with the DisruptionTarget condition (unless this is
// a dry run) and deletes it with opts.
func (s *Server) evictPod(ctx context.Context, pods *resourceStore, namespace, name string, opts *metav1.DeleteOptions) error {
	if len(opts.DryRun) == 0 {
		podGR := schema.GroupResource{Resource: "Pod"} // upstream's wording
		updated := &corev1.Pod{}
		err := pods.storage.GuaranteedUpdate(ctx, pods.key(namespace, name), updated, false, nil, func(existing runtime.Object) (runtime.Object, error) {
			pod := existing.(*corev1.Pod)
			if pre := opts.Preconditions; pre != nil {
				if pre.UID != nil && *pre.UID != "" && *pre.UID != pod.UID {
					return nil, apierrors.NewConflict(podGR, name, fmt.Errorf("the UID in the precondition (%s) does not match the UID in record (%s). The object might have been deleted and then recreated", *pre.UID, pod.UID))
				}
				if pre.ResourceVersion != nil && *pre.ResourceVersion != "" && *pre.ResourceVersion != pod.ResourceVersion {
					return nil, apierrors.NewConflict(podGR, name, fmt.Errorf("the ResourceVersion in the precondition (%s) does not match the ResourceVersion in record (%s). The object might have been modified", *pre.ResourceVersion, pod.ResourceVersion))
				}
			}
			setDisruptionTarget(pod)
			return pod, nil
		})
		if err != nil {
			return err
		}
		if opts.Preconditions != nil && opts.Preconditions.ResourceVersion != nil && *opts.Preconditions.ResourceVersion != "" {
			// Our own write moved the version on.
			opts = withResourceVersion(opts, updated.ResourceVersion)
		}
	}
	_, _, err := s.deleteObject(ctx, pods, namespace, name, opts)
	return err
}

// setDisruptionTarget records the eviction on the pod, as upstream.
func setDisruptionTarget(pod *corev1.Pod) {
	c := corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "EvictionByEvictionAPI", Message: "Eviction API: evicting", LastTransitionTime: metav1.Now()}
	for i := range pod.Status.Conditions {
		old := &pod.Status.Conditions[i]
		if old.Type != c.Type {
			continue
		}
		if old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
		}
		c.LastProbeTime = old.LastProbeTime
		*old = c
		return
	}
	pod.Status.Conditions = append(pod.Status.Conditions, c)
}

// podBudget finds the one PodDisruptionBudget guarding pod (nil for none).
// More than one is upstream's 500 Status, returned as the response rather
// than as an error.
func (s *Server) podBudget(ctx context.Context, pod *corev1.Pod) (*policyv1.PodDisruptionBudget, *metav1.Status, error) {
	pdbs, _ := s.lookup("policy", "v1", "poddisruptionbudgets")
	list := &policyv1.PodDisruptionBudgetList{}
	if err := pdbs.storage.GetList(ctx, pdbs.cfg.ListKey(pod.Namespace), storage.ListOptions{}, list); err != nil {
		return nil, nil, err
	}
	var match []policyv1.PodDisruptionBudget
	for _, pdb := range list.Items {
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || sel.Empty() {
			continue
		}
		if sel.Matches(labels.Set(pod.Labels)) {
			match = append(match, pdb)
		}
	}
	switch len(match) {
	case 0:
		return nil, nil, nil
	case 1:
		return &match[0], nil, nil
	}
	return nil, &metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}, Status: metav1.StatusFailure, Code: http.StatusInternalServerError,
		Message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."}, nil
}

// spendDisruption takes one of the budget's allowed disruptions, or says
// why the eviction must wait, as upstream's checkAndDecrement.
func (s *Server) spendDisruption(ctx context.Context, pod *corev1.Pod, pdbName string, dryRun bool) error {
	pdbs, _ := s.lookup("policy", "v1", "poddisruptionbudgets")
	err := pdbs.storage.GuaranteedUpdate(ctx, pdbs.key(pod.Namespace, pdbName), &policyv1.PodDisruptionBudget{}, false, nil, func(existing runtime.Object) (runtime.Object, error) {
		pdb := existing.(*policyv1.PodDisruptionBudget)
		if err := checkBudget(pdb); err != nil {
			return nil, err
		}
		pdb.Status.DisruptionsAllowed--
		if pdb.Status.DisruptionsAllowed == 0 {
			apimeta.SetStatusCondition(&pdb.Status.Conditions, metav1.Condition{
				Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionFalse,
				Reason: policyv1.InsufficientPodsReason, ObservedGeneration: pdb.Status.ObservedGeneration,
			})
		}
		if dryRun {
			return nil, errDryRun
		}
		if pdb.Status.DisruptedPods == nil {
			pdb.Status.DisruptedPods = map[string]metav1.Time{}
		}
		pdb.Status.DisruptedPods[pod.Name] = metav1.NewTime(time.Now())
		return pdb, nil
	})
	if errors.Is(err, errDryRun) {
		return nil
	}
	return err
}

// checkBudget refuses an eviction the budget cannot take now, with
// upstream's statuses and messages.
func checkBudget(pdb *policyv1.PodDisruptionBudget) error {
	forbidden := func(reason, detail string) error {
		err := apierrors.NewForbidden(schema.GroupResource{Group: "policy", Resource: "poddisruptionbudget"}, pdb.Name, errors.New(reason))
		err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Type: policyv1.DisruptionBudgetCause,
			Message: fmt.Sprintf("The disruption budget %s does not allow evicting pods currently: %s", pdb.Name, detail)})
		return err
	}
	switch {
	case pdb.Status.ObservedGeneration < pdb.Generation:
		return budgetBusy(pdb.Name)
	case pdb.Status.DisruptionsAllowed < 0:
		return forbidden("pdb disruptions allowed is negative", "pdb disruptions allowed is negative")
	case len(pdb.Status.DisruptedPods) > maxDisruptedPods:
		return forbidden("DisruptedPods map too big - too many evictions not confirmed by PDB controller", "too many pending evictions not confirmed by PDB controller")
	case pdb.Status.DisruptionsAllowed > 0:
		return nil
	}
	// No Retry-After, as upstream: client-go would otherwise retry the 429
	// itself (kubectl drain has its own retry loop).
	err := apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 0)
	cond := apimeta.FindStatusCondition(pdb.Status.Conditions, policyv1.DisruptionAllowedCondition)
	var msg string
	switch {
	case cond != nil && cond.Status == metav1.ConditionFalse && cond.Message != "" && cond.Reason == policyv1.SyncFailedReason:
		msg = fmt.Sprintf("The disruption budget %s does not allow evicting pods currently because it failed sync: %s", pdb.Name, cond.Message)
	case pdb.Status.CurrentHealthy <= pdb.Status.DesiredHealthy:
		msg = fmt.Sprintf("The disruption budget %s needs %d healthy pods and has %d currently", pdb.Name, pdb.Status.DesiredHealthy, pdb.Status.CurrentHealthy)
	case cond != nil && cond.Status == metav1.ConditionFalse && cond.Message != "":
		msg = fmt.Sprintf("The disruption budget %s does not allow evicting pods currently (%s): %s", pdb.Name, cond.Reason, cond.Message)
	default:
		msg = fmt.Sprintf("The disruption budget %s does not allow evicting pods currently", pdb.Name)
	}
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Type: policyv1.DisruptionBudgetCause, Message: msg})
	return err
}

// budgetBusy is upstream's 429 for a budget the disruption controller has
// not caught up with yet (Retry-After 10).
func budgetBusy(name string) error {
	err := apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 10)
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Type: policyv1.DisruptionBudgetCause,
		Message: fmt.Sprintf("The disruption budget %s is still being processed by the server.", name)})
	return err
}
