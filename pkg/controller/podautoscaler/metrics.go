package podautoscaler

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/rest"
)

// MetricsPath is where the resource metrics API serves pod metrics.
const MetricsPath = "/apis/metrics.k8s.io/v1beta1"

// podMetricsList is the part of metrics.k8s.io/v1beta1 PodMetricsList the
// controller reads (decoded here rather than importing k8s.io/metrics).
type podMetricsList struct {
	Items []struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Containers []struct {
			Name  string              `json:"name"`
			Usage corev1.ResourceList `json:"usage"`
		} `json:"containers"`
	} `json:"items"`
}

// MetricsClient returns each pod's usage of a resource, in milli-units,
// for the pods of ns matching selector.
type MetricsClient interface {
	PodUsage(ctx context.Context, ns, selector string, res corev1.ResourceName) (map[string]int64, error)
}

// restMetrics reads the resource metrics API through the apiserver.
type restMetrics struct{ rest rest.Interface }

// NewRESTMetricsClient returns a MetricsClient on client (any REST client
// of the apiserver; requests use absolute paths).
func NewRESTMetricsClient(client rest.Interface) MetricsClient { return restMetrics{rest: client} }

func (m restMetrics) PodUsage(ctx context.Context, ns, selector string, res corev1.ResourceName) (map[string]int64, error) {
	body, err := m.rest.Get().AbsPath(MetricsPath, "namespaces", ns, "pods").Param("labelSelector", selector).Do(ctx).Raw()
	if err != nil {
		return nil, fmt.Errorf("unable to fetch metrics from resource metrics API: %w", err)
	}
	var list podMetricsList
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("unable to decode resource metrics: %w", err)
	}
	out := map[string]int64{}
	for _, p := range list.Items {
		var sum int64
		for _, c := range p.Containers {
			if q, ok := c.Usage[res]; ok {
				sum += q.MilliValue()
			}
		}
		out[p.Metadata.Name] = sum
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no metrics returned from resource metrics API")
	}
	return out, nil
}

// podRequest is pod's request of res in milli-units, summed over its
// containers; an error names a container without one.
func podRequest(pod *corev1.Pod, res corev1.ResourceName) (int64, error) {
	var sum int64
	for _, c := range pod.Spec.Containers {
		q, ok := c.Resources.Requests[res]
		if !ok {
			return 0, fmt.Errorf("missing request for %s in container %s of Pod %s", res, c.Name, pod.Name)
		}
		sum += q.MilliValue()
	}
	return sum, nil
}

// usageRatio is the ratio of measured to target for the pods with
// metrics: utilization (percent of requests) when targetUtilization is
// set, else average value against targetAverage (milli). It returns the
// ratio, the current utilization (percent, or 0), the current average
// value, and how many pods were measured.
func usageRatio(pods []*corev1.Pod, usage map[string]int64, res corev1.ResourceName, targetUtilization *int32, targetAverage *resource.Quantity) (ratio float64, utilization int32, average int64, measured int, err error) {
	var sumUsage, sumRequest int64
	for _, p := range pods {
		u, ok := usage[p.Name]
		if !ok {
			continue
		}
		measured++
		sumUsage += u
		if targetUtilization != nil {
			r, err := podRequest(p, res)
			if err != nil {
				return 0, 0, 0, 0, err
			}
			sumRequest += r
		}
	}
	if measured == 0 {
		return 0, 0, 0, 0, fmt.Errorf("did not receive metrics for targeted pods (pods might be unready)")
	}
	average = sumUsage / int64(measured)
	if targetUtilization != nil {
		if sumRequest == 0 {
			return 0, 0, 0, 0, fmt.Errorf("no requests of %s on the targeted pods", res)
		}
		utilization = int32(sumUsage * 100 / sumRequest)
		return float64(sumUsage*100) / float64(sumRequest) / float64(*targetUtilization), utilization, average, measured, nil
	}
	if targetAverage == nil || targetAverage.MilliValue() == 0 {
		return 0, 0, 0, 0, fmt.Errorf("invalid resource metric target")
	}
	return float64(average) / float64(targetAverage.MilliValue()), 0, average, measured, nil
}

// proposal is the replica count for ratio over measured pods: unchanged
// within tolerance, else ceil(ratio × measured), as upstream.
func proposal(current int32, ratio float64, measured int, tolerance float64) int32 {
	if math.Abs(ratio-1) <= tolerance {
		return current
	}
	return int32(math.Ceil(ratio * float64(measured)))
}

// resourceMilli is a quantity of milli-units.
func resourceMilli(v int64) *resource.Quantity {
	return resource.NewMilliQuantity(v, resource.DecimalSI)
}
