package kubelet

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestPodCgroupLimits_AsUpstreamResourceConfigForPod(t *testing.T) {
	q := resource.MustParse
	ctr := func(req, lim v1.ResourceList) v1.Container {
		return v1.Container{Resources: v1.ResourceRequirements{Requests: req, Limits: lim}}
	}
	for _, tc := range []struct {
		name string
		spec v1.PodSpec
		want cgroupLimits
	}{
		{"besteffort", v1.PodSpec{Containers: []v1.Container{ctr(nil, nil)}}, cgroupLimits{shares: 2}},
		{"burstable without limits on every container", v1.PodSpec{Containers: []v1.Container{
			ctr(v1.ResourceList{v1.ResourceCPU: q("250m")}, v1.ResourceList{v1.ResourceCPU: q("1"), v1.ResourceMemory: q("64Mi")}),
			ctr(v1.ResourceList{v1.ResourceCPU: q("250m")}, nil),
		}}, cgroupLimits{shares: 512}},
		{"guaranteed sums limits", v1.PodSpec{Containers: []v1.Container{
			ctr(nil, v1.ResourceList{v1.ResourceCPU: q("100m"), v1.ResourceMemory: q("32Mi")}),
			ctr(nil, v1.ResourceList{v1.ResourceCPU: q("400m"), v1.ResourceMemory: q("32Mi")}),
		}}, cgroupLimits{shares: 512, quota: 50000, period: 100000, memory: 64 << 20}},
		{"a larger init container sets the shares", v1.PodSpec{
			InitContainers: []v1.Container{ctr(v1.ResourceList{v1.ResourceCPU: q("2")}, nil)},
			Containers:     []v1.Container{ctr(v1.ResourceList{v1.ResourceCPU: q("100m")}, nil)},
		}, cgroupLimits{shares: 2048}},
	} {
		got := podCgroupLimits(&v1.Pod{Spec: tc.spec})
		if got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestPodCgroup_PathPerQoSClass(t *testing.T) {
	k := &Kubelet{cfg: Config{CgroupRoot: "/r"}}
	pod := &v1.Pod{}
	pod.UID = "u1"
	if got := k.podCgroup(pod); got != "/r/kubepods/besteffort/podu1" {
		t.Errorf("besteffort: %s", got)
	}
	pod.Spec.Containers = []v1.Container{{Resources: v1.ResourceRequirements{Limits: v1.ResourceList{v1.ResourceCPU: resource.MustParse("1"), v1.ResourceMemory: resource.MustParse("1Gi")}}}}
	if got := k.podCgroup(pod); got != "/r/kubepods/podu1" {
		t.Errorf("guaranteed: %s", got)
	}
	pod.Spec.Containers[0].Resources.Limits = v1.ResourceList{v1.ResourceMemory: resource.MustParse("1Gi")}
	if got := k.podCgroup(pod); got != "/r/kubepods/burstable/podu1" {
		t.Errorf("burstable: %s", got)
	}
	if got := (&Kubelet{}).podCgroup(pod); got != "" {
		t.Errorf("without --cgroup-root: %q", got)
	}
}
