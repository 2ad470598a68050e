package controller

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestResourceQuota_UsageAcrossKinds: status.used for services (node ports
// and load balancers included), claims and their storage (per storage
// class too), secrets and pods (a finished pod is not counted);
// NotBestEffort- and BestEffort-scoped quotas count only their pods (the
// former their requests and limits too); status.hard mirrors spec.hard.
func TestResourceQuota_UsageAcrossKinds(t *testing.T) {
	c := startCluster(t, []string{"resourcequota"})
	ctx := t.Context()
	ns := c.namespace(t, "quota-kinds")
	hard := corev1.ResourceList{
		corev1.ResourcePods:     resource.MustParse("10"),
		corev1.ResourceServices: resource.MustParse("10"), corev1.ResourceServicesNodePorts: resource.MustParse("10"), corev1.ResourceServicesLoadBalancers: resource.MustParse("2"),
		corev1.ResourcePersistentVolumeClaims: resource.MustParse("10"), corev1.ResourceRequestsStorage: resource.MustParse("100Gi"),
		"gold.storageclass.storage.k8s.io/requests.storage": resource.MustParse("10Gi"), "count/secrets": resource.MustParse("20"),
	}
	for _, q := range []*corev1.ResourceQuota{
		{ObjectMeta: metav1.ObjectMeta{Name: "all"}, Spec: corev1.ResourceQuotaSpec{Hard: hard}},
		{ObjectMeta: metav1.ObjectMeta{Name: "compute"}, Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10"),
			corev1.ResourceRequestsCPU: resource.MustParse("4"), corev1.ResourceLimitsMemory: resource.MustParse("1Gi")},
			Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeNotBestEffort}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "besteffort"}, Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("5")},
			Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}}},
	} {
		if _, err := c.client.CoreV1().ResourceQuotas(ns).Create(ctx, q, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Services: ClusterIP (1 port), NodePort (2 ports), LoadBalancer (1 port).
	port := func(n int32) corev1.ServicePort { return corev1.ServicePort{Name: fmt.Sprint("p", n), Port: n} }
	for _, svc := range []*corev1.Service{
		{ObjectMeta: metav1.ObjectMeta{Name: "cip"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{port(80)}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "np"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{port(80), port(443)}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "lb"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{port(80)}}},
	} {
		if _, err := c.client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	gold := "gold"
	for _, pvc := range []*corev1.PersistentVolumeClaim{
		{ObjectMeta: metav1.ObjectMeta{Name: "plain"}, Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "gold"}, Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: &gold, Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")}}}},
	} {
		if _, err := c.client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 2; i++ {
		if _, err := c.client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("s", i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	burstable := corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m")},
		Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}}
	for name, res := range map[string]corev1.ResourceRequirements{"burst": burstable, "done": burstable, "be": {}} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x", Resources: res}}}}
		p, err := c.client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if name == "done" {
			p.Status.Phase = corev1.PodSucceeded
			if _, err := c.client.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	secrets, err := c.client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[corev1.ResourceName]string{
		corev1.ResourcePods:     "2",
		corev1.ResourceServices: "3", corev1.ResourceServicesNodePorts: "3", corev1.ResourceServicesLoadBalancers: "1",
		corev1.ResourcePersistentVolumeClaims: "2", corev1.ResourceRequestsStorage: "3Gi",
		"gold.storageclass.storage.k8s.io/requests.storage": "2Gi", "count/secrets": fmt.Sprint(len(secrets.Items)),
	}
	eventually(t, 20*time.Second, "usage of every kind", func() (bool, error) {
		q, err := c.client.CoreV1().ResourceQuotas(ns).Get(ctx, "all", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for name, v := range want {
			got, ok := q.Status.Used[name]
			if !ok || got.Cmp(resource.MustParse(v)) != 0 {
				return false, nil
			}
			if h := q.Status.Hard[name]; h.Cmp(hard[name]) != 0 {
				return false, nil
			}
		}
		be, err := c.client.CoreV1().ResourceQuotas(ns).Get(ctx, "besteffort", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		cq, err := c.client.CoreV1().ResourceQuotas(ns).Get(ctx, "compute", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		cpu, mem := cq.Status.Used[corev1.ResourceRequestsCPU], cq.Status.Used[corev1.ResourceLimitsMemory]
		return be.Status.Used.Pods().String() == "1" && cq.Status.Used.Pods().String() == "1" && cpu.String() == "200m" && mem.String() == "64Mi", nil
	})
	// Changing a service's type moves its usage.
	svc, err := c.client.CoreV1().Services(ns).Get(ctx, "lb", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Spec.Type = corev1.ServiceTypeClusterIP
	for i := range svc.Spec.Ports {
		svc.Spec.Ports[i].NodePort = 0
	}
	svc.Spec.ExternalTrafficPolicy = ""
	svc.Spec.AllocateLoadBalancerNodePorts = nil
	if _, err := c.client.CoreV1().Services(ns).Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "load balancer usage released", func() (bool, error) {
		q, err := c.client.CoreV1().ResourceQuotas(ns).Get(ctx, "all", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		lb, np := q.Status.Used[corev1.ResourceServicesLoadBalancers], q.Status.Used[corev1.ResourceServicesNodePorts]
		return lb.String() == "0" && np.String() == "2", nil
	})
}
