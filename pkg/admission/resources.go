package admission

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// podRequests and podLimits are a pod's effective requests and limits as
// upstream computes them: the sum over containers (and sidecars, init
// containers with restartPolicy Always) against the largest init
// container, plus spec.overhead when withOverhead.
func podRequests(pod *corev1.Pod, withOverhead bool) corev1.ResourceList {
	return aggregate(pod, func(c *corev1.Container) corev1.ResourceList { return c.Resources.Requests }, withOverhead)
}

func podLimits(pod *corev1.Pod, withOverhead bool) corev1.ResourceList {
	return aggregate(pod, func(c *corev1.Container) corev1.ResourceList { return c.Resources.Limits }, withOverhead)
}

func aggregate(pod *corev1.Pod, get func(*corev1.Container) corev1.ResourceList, withOverhead bool) corev1.ResourceList {
	total := corev1.ResourceList{}
	for i := range pod.Spec.Containers {
		addTo(total, get(&pod.Spec.Containers[i]))
	}
	sidecars := corev1.ResourceList{}
	initMax := corev1.ResourceList{}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		var this corev1.ResourceList
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			addTo(total, get(c))
			addTo(sidecars, get(c))
			this = sidecars
		} else {
			// A run-to-completion init container runs beside the sidecars
			// started before it.
			this = corev1.ResourceList{}
			addTo(this, get(c))
			addTo(this, sidecars)
		}
		maxInto(initMax, this)
	}
	maxInto(total, initMax)
	if withOverhead && pod.Spec.Overhead != nil {
		addTo(total, pod.Spec.Overhead)
	}
	return total
}

func addTo(dst, src corev1.ResourceList) {
	for name, q := range src {
		if cur, ok := dst[name]; ok {
			cur.Add(q)
			dst[name] = cur
		} else {
			dst[name] = q.DeepCopy()
		}
	}
}

func maxInto(dst, src corev1.ResourceList) {
	for name, q := range src {
		if cur, ok := dst[name]; !ok || q.Cmp(cur) > 0 {
			dst[name] = q.DeepCopy()
		}
	}
}

// prettyPrint is upstream's "a=1,b=2" rendering of a resource list, sorted.
func prettyPrint(l corev1.ResourceList) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		q := l[corev1.ResourceName(k)]
		parts = append(parts, fmt.Sprintf("%s=%s", k, q.String()))
	}
	return strings.Join(parts, ",")
}

// requestLimitEnforced are the three values compared, in milli-units
// when none would overflow (upstream's requestLimitEnforcedValues).
func requestLimitEnforced(req, lim, enforced resource.Quantity) (int64, int64, int64) {
	r, l, e := req.Value(), lim.Value(), enforced.Value()
	if r <= resource.MaxMilliValue && l <= resource.MaxMilliValue && e <= resource.MaxMilliValue {
		r, l, e = req.MilliValue(), lim.MilliValue(), enforced.MilliValue()
	}
	return r, l, e
}
