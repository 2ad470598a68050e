//go:build e2e

package node

import (
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSecurity_RunAsUserGroupsCapabilitiesReadOnlyRoot(t *testing.T) {
	n := startNode(t)
	f, tr := false, true
	pod := n.createPod(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "sec"},
		Spec: v1.PodSpec{
			SecurityContext: &v1.PodSecurityContext{
				RunAsUser: ptrInt64(1000), RunAsGroup: ptrInt64(3000),
				SupplementalGroups: []int64{4000}, FSGroup: ptrInt64(2000),
			},
			Volumes: []v1.Volume{{Name: "scratch", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}}},
			Containers: []v1.Container{
				{
					Name: "user", Image: busyboxImage,
					Command: []string{"sh", "-c", `echo "id: $(id)"; touch /scratch/f && stat -c 'scratch-gid=%g' /scratch/f
touch /rootfs-write 2>/dev/null && echo rootfs-writable || echo rootfs-read-only
grep NoNewPrivs /proc/self/status; exec sleep 3600`},
					VolumeMounts: []v1.VolumeMount{{Name: "scratch", MountPath: "/scratch"}},
					SecurityContext: &v1.SecurityContext{
						ReadOnlyRootFilesystem: &tr, AllowPrivilegeEscalation: &f,
					},
				},
				{
					Name: "caps", Image: busyboxImage,
					Command: []string{"sh", "-c", `grep CapBnd /proc/self/status; exec sleep 3600`},
					SecurityContext: &v1.SecurityContext{
						RunAsUser:    ptrInt64(0),
						Capabilities: &v1.Capabilities{Drop: []v1.Capability{"ALL"}, Add: []v1.Capability{"NET_ADMIN"}},
					},
				},
				{
					Name: "priv", Image: busyboxImage,
					Command:         []string{"sh", "-c", `grep CapBnd /proc/self/status; exec sleep 3600`},
					SecurityContext: &v1.SecurityContext{RunAsUser: ptrInt64(0), Privileged: &tr},
				},
			},
		},
	})
	n.waitPod("sec", 60*time.Second, "Running", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
	n.waitLog(pod, "user", "NoNewPrivs", 20*time.Second)
	log := n.podLog(pod, "user")
	idLine := ""
	for _, l := range strings.Split(log, "\n") {
		if i := strings.Index(l, "id: "); i >= 0 {
			idLine = l[i:]
		}
	}
	if !strings.Contains(idLine, "uid=1000 gid=3000") || !strings.Contains(idLine, "2000") || !strings.Contains(idLine, "4000") {
		t.Errorf("id = %q, want uid=1000 gid=3000 with groups 2000 and 4000", idLine)
	}
	for _, want := range []string{"scratch-gid=2000", "rootfs-read-only", "NoNewPrivs:\t1"} {
		if !strings.Contains(log, want) {
			t.Errorf("user container log lacks %q:\n%s", want, log)
		}
	}
	// CAP_NET_ADMIN is bit 12 only.
	n.waitLog(pod, "caps", "CapBnd:\t0000000000001000", 10*time.Second)
	n.waitLog(pod, "priv", "CapBnd:", 10*time.Second)
	// Privileged: every capability, CAP_SYS_ADMIN (bit 21) among them,
	// which the default set lacks.
	l := n.podLog(pod, "priv")
	i := strings.Index(l, "CapBnd:\t")
	caps, err := strconv.ParseUint(strings.TrimSpace(l[i+len("CapBnd:\t"):][:16]), 16, 64)
	if err != nil || caps&(1<<21) == 0 || caps&(1<<12) == 0 {
		t.Errorf("privileged container lacks capabilities (%x, %v):\n%s", caps, err, l)
	}
}

func TestSecurity_RunAsNonRootRefusesRootImage(t *testing.T) {
	n := startNode(t)
	tr := true
	n.createPod(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "nonroot"},
		Spec: v1.PodSpec{
			SecurityContext: &v1.PodSecurityContext{RunAsNonRoot: &tr},
			Containers:      []v1.Container{{Name: "c", Image: busyboxImage, Command: []string{"sleep", "3600"}}},
		},
	})
	n.waitPod("nonroot", 30*time.Second, "CreateContainerConfigError", func(p *v1.Pod) bool {
		cs := containerStatus(p, "c")
		return cs != nil && cs.State.Waiting != nil && cs.State.Waiting.Reason == "CreateContainerConfigError" &&
			strings.Contains(cs.State.Waiting.Message, "container has runAsNonRoot and image will run as root")
	})
}

func TestPod_MemoryLimitBreachIsOOMKilled(t *testing.T) {
	n := startNode(t)
	pod := testServerPod("oom")
	pod.Spec.RestartPolicy = v1.RestartPolicyNever
	pod.Spec.Containers[0].Resources.Limits = v1.ResourceList{v1.ResourceMemory: resource.MustParse("32Mi")}
	pod.Spec.Containers[0].Resources.Requests = v1.ResourceList{v1.ResourceMemory: resource.MustParse("32Mi")}
	pod = n.createPod(pod)
	p := n.waitPod("oom", 60*time.Second, "Running", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning && p.Status.PodIP != "" })
	n.eventually(20*time.Second, "allocation request sent", func() (bool, string) {
		// The server dies while answering: an error is expected.
		_, _ = httpGet("http://" + p.Status.PodIP + ":8080/alloc?mb=128")
		return true, ""
	})
	p = n.waitPod("oom", 60*time.Second, "terminated OOMKilled", func(p *v1.Pod) bool {
		cs := containerStatus(p, "server")
		return cs != nil && cs.State.Terminated != nil
	})
	cs := containerStatus(p, "server")
	if cs.State.Terminated.Reason != "OOMKilled" || cs.State.Terminated.ExitCode != 137 {
		t.Errorf("terminated = %+v, want OOMKilled with exit code 137", cs.State.Terminated)
	}
	if p.Status.Phase != v1.PodFailed {
		t.Errorf("phase = %s, want Failed", p.Status.Phase)
	}
}
