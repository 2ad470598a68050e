//go:build e2e

package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kstack/kstack/pkg/kubelet/runtime"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// cgroupHierarchies are the mounted cgroup hierarchies' directories.
func cgroupHierarchies(t *testing.T) []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if ok && len(pf) >= 5 && len(qf) > 0 && (qf[0] == "cgroup" || qf[0] == "cgroup2") && pf[3] == "/" {
			out = append(out, pf[4])
		}
	}
	return out
}

// cgroupFile reads a cgroup file of the v1 controller (or, on a v2-only
// machine, the unified hierarchy).
func cgroupFile(t *testing.T, controller, cg, v1name, v2name string) string {
	t.Helper()
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", cg, v2name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", controller, cg, v1name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func removeCgroupTree(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			removeCgroupTree(filepath.Join(dir, e.Name()))
		}
	}
	_ = os.Remove(dir)
}

// With --cgroup-root each pod gets a cgroup in its QoS class's
// (kubepods, kubepods/burstable, kubepods/besteffort) with its requests'
// cpu shares, its CFS quota and memory limit when every container has
// them, and its containers inside; the pod's cgroup goes with the pod.
func TestCgroups_PodCgroupsPerQoSUnderCgroupRoot(t *testing.T) {
	root := "kse2e-cg-" + randHex(3)
	t.Cleanup(func() {
		for _, h := range cgroupHierarchies(t) {
			removeCgroupTree(filepath.Join(h, root))
		}
	})
	n := startNode(t)
	n.stopKubelet()
	n.cfg.CgroupRoot = "/" + root
	n.startKubelet()
	ctx := context.Background()
	v2 := false
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		v2 = true
	}

	sleeper := func(name string, res v1.ResourceRequirements) *v1.Pod {
		return n.createPod(&v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.PodSpec{Containers: []v1.Container{{
			Name: "c", Image: busyboxImage, Command: []string{"sleep", "3600"}, Resources: res,
		}}}})
	}
	q := resource.MustParse
	burstable := sleeper("burstable", v1.ResourceRequirements{
		Requests: v1.ResourceList{v1.ResourceCPU: q("250m")},
		Limits:   v1.ResourceList{v1.ResourceMemory: q("64Mi")},
	})
	guaranteed := sleeper("guaranteed", v1.ResourceRequirements{
		Limits: v1.ResourceList{v1.ResourceCPU: q("100m"), v1.ResourceMemory: q("32Mi")},
	})
	besteffort := sleeper("besteffort", v1.ResourceRequirements{})
	want := map[string]string{
		"burstable":  "/" + root + "/kubepods/burstable/pod" + string(burstable.UID),
		"guaranteed": "/" + root + "/kubepods/pod" + string(guaranteed.UID),
		"besteffort": "/" + root + "/kubepods/besteffort/pod" + string(besteffort.UID),
	}
	uids := map[string]string{"burstable": string(burstable.UID), "guaranteed": string(guaranteed.UID), "besteffort": string(besteffort.UID)}
	for name := range want {
		n.waitPod(name, 60*time.Second, "Running", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
	}

	// Every container (sandbox and app) runs in its pod's cgroup.
	for name, cg := range want {
		cs, err := n.rt.List(ctx, uids[name])
		if err != nil || len(cs) != 2 {
			t.Fatalf("containers of %s: %d (%v)", name, len(cs), err)
		}
		for _, c := range cs {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", c.Pid))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), cg+"/"+c.ID+"\n") {
				t.Errorf("%s container %s (%s) is not in %s/%s:\n%s", name, c.ID, c.Labels[runtime.LabelKind], cg, c.ID, b)
			}
		}
	}

	if v2 {
		if got := cgroupFile(t, "", want["burstable"], "", "cpu.weight"); got != "10" { // 256 shares
			t.Errorf("burstable pod cpu.weight %s, want 10", got)
		}
		if got := cgroupFile(t, "", want["guaranteed"], "", "cpu.max"); got != "10000 100000" {
			t.Errorf("guaranteed pod cpu.max %q", got)
		}
		if got := cgroupFile(t, "", want["burstable"], "", "memory.max"); got != "67108864" {
			t.Errorf("burstable pod memory.max %s", got)
		}
		if got := cgroupFile(t, "", "/"+root+"/kubepods/besteffort", "", "cpu.weight"); got != "1" {
			t.Errorf("besteffort cpu.weight %s, want 1", got)
		}
	} else {
		for _, c := range []struct{ controller, cg, file, want string }{
			{"cpu", want["burstable"], "cpu.shares", "256"},
			{"cpu", want["burstable"], "cpu.cfs_quota_us", "-1"},
			{"memory", want["burstable"], "memory.limit_in_bytes", "67108864"},
			{"cpu", want["guaranteed"], "cpu.shares", "102"},
			{"cpu", want["guaranteed"], "cpu.cfs_quota_us", "10000"},
			{"memory", want["guaranteed"], "memory.limit_in_bytes", "33554432"},
			{"cpu", want["besteffort"], "cpu.shares", "2"},
			// QoS level: the minimum for besteffort, the Burstable pods'
			// requests for burstable.
			{"cpu", "/" + root + "/kubepods/besteffort", "cpu.shares", "2"},
			{"cpu", "/" + root + "/kubepods/burstable", "cpu.shares", "256"},
		} {
			if got := cgroupFile(t, c.controller, c.cg, c.file, ""); got != c.want {
				t.Errorf("%s %s/%s = %s, want %s", c.controller, c.cg, c.file, got, c.want)
			}
		}
	}

	// A deleted pod's cgroup is removed from every hierarchy.
	for name := range want {
		if err := n.admin.CoreV1().Pods(testNamespace).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptrInt64(0)}); err != nil {
			t.Fatal(err)
		}
	}
	for name := range want {
		n.eventually(60*time.Second, name+" deleted", func() (bool, string) {
			_, err := n.admin.CoreV1().Pods(testNamespace).Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), fmt.Sprint(err)
		})
	}
	n.eventually(30*time.Second, "pod cgroups removed", func() (bool, string) {
		var left []string
		for _, h := range cgroupHierarchies(t) {
			for _, cg := range want {
				if _, err := os.Stat(filepath.Join(h, cg)); err == nil {
					left = append(left, filepath.Join(h, cg))
				}
			}
		}
		return len(left) == 0, fmt.Sprint(left)
	})
	if !v2 {
		if got := cgroupFile(t, "cpu", "/"+root+"/kubepods/burstable", "cpu.shares", ""); got != "2" {
			t.Errorf("burstable cpu.shares %s after its pods went, want 2", got)
		}
	}
}
