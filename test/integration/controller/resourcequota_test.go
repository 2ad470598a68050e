package controller

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestResourceQuota_UsedFollowsObjects(t *testing.T) {
	c := startCluster(t, []string{"resourcequota"})
	ctx := t.Context()
	ns := c.namespace(t, "quota")
	q := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "q"}, Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
		corev1.ResourcePods: resource.MustParse("10"), corev1.ResourceRequestsCPU: resource.MustParse("4"),
		"count/configmaps": resource.MustParse("50"), corev1.ResourceServices: resource.MustParse("5"),
		"count/deployments.apps": resource.MustParse("3"),
	}}}
	if _, err := c.client.CoreV1().ResourceQuotas(ns).Create(ctx, q, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	used := func(name corev1.ResourceName) string {
		q, err := c.client.CoreV1().ResourceQuotas(ns).Get(ctx, "q", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		v, ok := q.Status.Used[name]
		if !ok {
			return "<none>"
		}
		return v.String()
	}
	for i := 0; i < 2; i++ {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i)}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Image: "x", Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}}}}}}
		if _, err := c.client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm%d", i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// kube-root-ca.crt may or may not exist (the apiserver's stand-in).
	all, _ := c.client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	eventually(t, 20*time.Second, "usage of 2 pods and the configmaps", func() (bool, error) {
		return used(corev1.ResourcePods) == "2" && used(corev1.ResourceRequestsCPU) == "1" && used(corev1.ResourceServices) == "0" &&
			used("count/deployments.apps") == "0" && used("count/configmaps") == fmt.Sprint(len(all.Items)), nil
	})
	// Deleting releases.
	if err := c.client.CoreV1().Pods(ns).Delete(ctx, "p0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "released", func() (bool, error) {
		return used(corev1.ResourcePods) == "1" && used(corev1.ResourceRequestsCPU) == "500m", nil
	})
}
