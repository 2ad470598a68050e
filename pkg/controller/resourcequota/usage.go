package resourcequota

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/sets"
)

// podComputeResources are the quota names measured from pods' requests
// and limits (besides requests.<extended> and hugepages).
var podComputeResources = sets.New[corev1.ResourceName](
	corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage,
	corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, corev1.ResourceRequestsEphemeralStorage,
	corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory, corev1.ResourceLimitsEphemeralStorage,
)

// isPodResource reports whether name is measured from pods.
func isPodResource(name corev1.ResourceName) bool {
	s := string(name)
	return name == corev1.ResourcePods || s == "count/pods" || podComputeResources.Has(name) ||
		strings.HasPrefix(s, "requests.") || strings.HasPrefix(s, "limits.") || strings.HasPrefix(s, corev1.ResourceHugePagesPrefix)
}

// podTotals is a pod's effective requests and limits: the larger of the
// containers' sum and each init container, plus overhead.
func podTotals(pod *corev1.Pod) (corev1.ResourceList, corev1.ResourceList) {
	req, lim := corev1.ResourceList{}, corev1.ResourceList{}
	for _, c := range pod.Spec.Containers {
		add(req, c.Resources.Requests)
		add(lim, c.Resources.Limits)
	}
	for _, c := range pod.Spec.InitContainers {
		maxOf(req, c.Resources.Requests)
		maxOf(lim, c.Resources.Limits)
	}
	add(req, pod.Spec.Overhead)
	if len(lim) > 0 {
		add(lim, pod.Spec.Overhead)
	}
	return req, lim
}

func add(into, l corev1.ResourceList) {
	for k, v := range l {
		q := into[k]
		q.Add(v)
		into[k] = q
	}
}

func maxOf(into, l corev1.ResourceList) {
	for k, v := range l {
		if q, ok := into[k]; !ok || v.Cmp(q) > 0 {
			into[k] = v.DeepCopy()
		}
	}
}

// PodUsage is what pod charges against the quota names in hard.
func PodUsage(pod *corev1.Pod, hard corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	one := resource.MustParse("1")
	if _, ok := hard["count/pods"]; ok {
		out["count/pods"] = one
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return out
	}
	if _, ok := hard[corev1.ResourcePods]; ok {
		out[corev1.ResourcePods] = one
	}
	req, lim := podTotals(pod)
	for name := range hard {
		s := string(name)
		switch {
		case name == corev1.ResourceCPU || name == corev1.ResourceMemory || name == corev1.ResourceEphemeralStorage:
			if v, ok := req[name]; ok {
				out[name] = v
			}
		case strings.HasPrefix(s, "requests."):
			if v, ok := req[corev1.ResourceName(strings.TrimPrefix(s, "requests."))]; ok {
				out[name] = v
			}
		case strings.HasPrefix(s, "limits."):
			if v, ok := lim[corev1.ResourceName(strings.TrimPrefix(s, "limits."))]; ok {
				out[name] = v
			}
		case strings.HasPrefix(s, corev1.ResourceHugePagesPrefix):
			if v, ok := req[name]; ok {
				out[name] = v
			}
		}
	}
	return out
}

// ServiceUsage is what svc charges.
func ServiceUsage(svc *corev1.Service) corev1.ResourceList {
	one := resource.MustParse("1")
	out := corev1.ResourceList{corev1.ResourceServices: one, "count/services": one}
	switch svc.Spec.Type {
	case corev1.ServiceTypeNodePort:
		out[corev1.ResourceServicesNodePorts] = *resource.NewQuantity(int64(len(svc.Spec.Ports)), resource.DecimalSI)
	case corev1.ServiceTypeLoadBalancer:
		out[corev1.ResourceServicesLoadBalancers] = one
		out[corev1.ResourceServicesNodePorts] = *resource.NewQuantity(int64(len(svc.Spec.Ports)), resource.DecimalSI)
	}
	return out
}

// PVCUsage is what pvc charges, including per-storage-class usage.
func PVCUsage(pvc *corev1.PersistentVolumeClaim) corev1.ResourceList {
	one := resource.MustParse("1")
	out := corev1.ResourceList{corev1.ResourcePersistentVolumeClaims: one, "count/persistentvolumeclaims": one}
	storage, hasStorage := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if hasStorage {
		out[corev1.ResourceRequestsStorage] = storage
	}
	if sc := pvc.Spec.StorageClassName; sc != nil && *sc != "" {
		prefix := *sc + ".storageclass.storage.k8s.io/"
		out[corev1.ResourceName(prefix+"persistentvolumeclaims")] = one
		if hasStorage {
			out[corev1.ResourceName(prefix+"requests.storage")] = storage
		}
	}
	return out
}

// podMatchesScopes reports whether pod falls in every scope of quota.
func podMatchesScopes(pod *corev1.Pod, q *corev1.ResourceQuota) bool {
	terminating := pod.Spec.ActiveDeadlineSeconds != nil && *pod.Spec.ActiveDeadlineSeconds >= 0
	bestEffort := true
	for _, c := range append(append([]corev1.Container(nil), pod.Spec.Containers...), pod.Spec.InitContainers...) {
		for _, l := range []corev1.ResourceList{c.Resources.Requests, c.Resources.Limits} {
			if _, ok := l[corev1.ResourceCPU]; ok {
				bestEffort = false
			}
			if _, ok := l[corev1.ResourceMemory]; ok {
				bestEffort = false
			}
		}
	}
	match := func(scope corev1.ResourceQuotaScope, op corev1.ScopeSelectorOperator, values []string) bool {
		switch scope {
		case corev1.ResourceQuotaScopeTerminating:
			return terminating
		case corev1.ResourceQuotaScopeNotTerminating:
			return !terminating
		case corev1.ResourceQuotaScopeBestEffort:
			return bestEffort
		case corev1.ResourceQuotaScopeNotBestEffort:
			return !bestEffort
		case corev1.ResourceQuotaScopePriorityClass:
			pc := pod.Spec.PriorityClassName
			in := false
			for _, v := range values {
				if v == pc {
					in = true
				}
			}
			switch op {
			case corev1.ScopeSelectorOpIn:
				return in
			case corev1.ScopeSelectorOpNotIn:
				return !in
			case corev1.ScopeSelectorOpExists:
				return pc != ""
			case corev1.ScopeSelectorOpDoesNotExist:
				return pc == ""
			}
			return false
		}
		return false
	}
	for _, s := range q.Spec.Scopes {
		if !match(s, corev1.ScopeSelectorOpExists, nil) {
			return false
		}
	}
	if q.Spec.ScopeSelector != nil {
		for _, r := range q.Spec.ScopeSelector.MatchExpressions {
			if !match(r.ScopeName, r.Operator, r.Values) {
				return false
			}
		}
	}
	return true
}

// scoped reports whether the quota has any scope (then only pods count).
func scoped(q *corev1.ResourceQuota) bool {
	return len(q.Spec.Scopes) > 0 || (q.Spec.ScopeSelector != nil && len(q.Spec.ScopeSelector.MatchExpressions) > 0)
}
