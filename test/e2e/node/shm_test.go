//go:build e2e

package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kstack/kstack/pkg/kubelet/runtime"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The containers of one pod (an init container, a sidecar and two app
// containers) share one /dev/shm, the pod's own 64 MiB nosuid,nodev,noexec
// tmpfs on the host, as under containerd's CRI plugin; another pod does
// not see it; a hostIPC pod sees the host's /dev/shm. A tmpfs whose
// sandbox is gone (a kubelet killed between mount and create) is
// collected by the restarted kubelet, which keeps the live pod's; once
// the pods are deleted no pod /dev/shm is mounted.
func TestPod_ContainersShareDevShm(t *testing.T) {
	n := startNode(t)
	k := newKubectl(t, n)
	ctx := context.Background()
	always := v1.ContainerRestartPolicyAlways
	sh := func(script string) []string { return []string{"sh", "-c", script} }

	pod := n.createPod(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "shm-pair"},
		Spec: v1.PodSpec{
			InitContainers: []v1.Container{
				{Name: "init", Image: busyboxImage, Command: sh("echo from-init > /dev/shm/init")},
				{Name: "side", Image: busyboxImage, RestartPolicy: &always, Command: sh("echo from-sidecar > /dev/shm/side; exec sleep 3600")},
			},
			Containers: []v1.Container{
				{Name: "writer", Image: busyboxImage, Command: sh("echo from-writer > /dev/shm/x; exec sleep 3600")},
				{Name: "reader", Image: busyboxImage, Command: []string{"sleep", "3600"}},
			},
		},
	})
	other := n.createPod(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "shm-other"},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: busyboxImage, Command: []string{"sleep", "3600"}}}},
	})

	// A file the test puts in the host's /dev/shm, for the hostIPC pod.
	hostFile := "kstack-e2e-" + randHex(6)
	if err := os.WriteFile(filepath.Join("/dev/shm", hostFile), []byte("from-host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(filepath.Join("/dev/shm", hostFile)) })
	n.createPod(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "shm-host"},
		Spec: v1.PodSpec{
			HostIPC:    true,
			Containers: []v1.Container{{Name: "c", Image: busyboxImage, Command: []string{"sleep", "3600"}}},
		},
	})
	for _, name := range []string{"shm-pair", "shm-other", "shm-host"} {
		n.waitPod(name, 60*time.Second, "Running and Ready", podReady)
	}

	// The reader sees what the init container, the sidecar and the writer
	// wrote (the writer may still be at it when the pod is Ready).
	want := "from-init\nfrom-sidecar\nfrom-writer\n"
	var out, errOut string
	n.eventually(30*time.Second, "the reader sees the pod's shared memory files", func() (bool, string) {
		var code int
		out, errOut, code = k.run("", "exec", "shm-pair", "-c", "reader", "--", "cat", "/dev/shm/init", "/dev/shm/side", "/dev/shm/x")
		return code == 0 && out == want, fmt.Sprintf("exit %d: %q %s", code, out, errOut)
	})
	// The reader can write there too (read-write, unlike the sandbox's).
	k.mustRun("", "exec", "shm-pair", "-c", "reader", "--", "sh", "-c", "echo from-reader > /dev/shm/r")
	if got := k.mustRun("", "exec", "shm-pair", "-c", "writer", "--", "cat", "/dev/shm/r"); got != "from-reader\n" {
		t.Errorf("the writer reads %q from the reader's /dev/shm/r", got)
	}

	// On the host: the pod's own tmpfs under the kubelet's root dir, the
	// one its sandbox's label names, holding the files.
	shmRoot := filepath.Join(n.cfg.StateDir, "shm")
	sb := sandboxOf(t, n, pod)
	dir := sb.Labels[runtime.LabelShm]
	if filepath.Dir(dir) != shmRoot || filepath.Base(dir) != sb.ID {
		t.Fatalf("sandbox %s: %s label %q, want %s", sb.ID, runtime.LabelShm, dir, filepath.Join(shmRoot, sb.ID))
	}
	if b, err := os.ReadFile(filepath.Join(dir, "x")); err != nil || string(b) != "from-writer\n" {
		t.Errorf("host %s/x: %q, %v; want the writer's file", dir, b, err)
	}
	ms := shmMounts(t, shmRoot)
	if len(ms) != 2 { // shm-pair's and shm-other's
		t.Fatalf("pod /dev/shm mounts %v, want two", ms)
	}
	m, ok := ms[dir]
	if !ok {
		t.Fatalf("no mount on %s: %v", dir, ms)
	}
	for _, opt := range []string{"nosuid", "nodev", "noexec", "- tmpfs ", "size=65536k"} {
		if !strings.Contains(m, opt) {
			t.Errorf("mount on %s %q: no %q", dir, m, opt)
		}
	}

	// Another pod has a /dev/shm of its own.
	if _, _, code := k.run("", "exec", "shm-other", "--", "cat", "/dev/shm/x"); code == 0 {
		t.Error("another pod reads shm-pair's /dev/shm/x")
	}
	if got := sandboxOf(t, n, other).Labels[runtime.LabelShm]; got == dir || filepath.Dir(got) != shmRoot {
		t.Errorf("shm-other's %s label %q, want its own tmpfs", runtime.LabelShm, got)
	}

	// A hostIPC pod sees the host's /dev/shm, and its files reach the host.
	if got := k.mustRun("", "exec", "shm-host", "--", "cat", "/dev/shm/"+hostFile); got != "from-host\n" {
		t.Errorf("the hostIPC pod reads %q from the host's /dev/shm/%s", got, hostFile)
	}
	k.mustRun("", "exec", "shm-host", "--", "sh", "-c", "echo from-pod > /dev/shm/"+hostFile)
	if b, _ := os.ReadFile(filepath.Join("/dev/shm", hostFile)); string(b) != "from-pod\n" {
		t.Errorf("host /dev/shm/%s: %q after the hostIPC pod wrote it", hostFile, b)
	}

	// A tmpfs without a sandbox, as a kubelet killed between the mount and
	// the sandbox's creation leaves it: the restarted kubelet's orphan
	// collection unmounts and removes it, and only it.
	n.stopKubelet()
	orphan := filepath.Join(shmRoot, runtime.NewID())
	if err := os.MkdirAll(orphan, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("shm", orphan, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, "mode=1777,size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Unmount(orphan, syscall.MNT_DETACH)
		_ = os.Remove(orphan)
	})
	n.startKubelet()
	n.eventually(30*time.Second, "the orphan /dev/shm removed", func() (bool, string) {
		_, mounted := shmMounts(t, shmRoot)[orphan]
		_, err := os.Stat(orphan)
		return !mounted && os.IsNotExist(err), fmt.Sprintf("mounted %v, stat %v", mounted, err)
	})
	if _, ok := shmMounts(t, shmRoot)[dir]; !ok {
		t.Errorf("the restarted kubelet unmounted the live pod's %s", dir)
	}
	if got := k.mustRun("", "exec", "shm-pair", "-c", "reader", "--", "cat", "/dev/shm/x"); got != "from-writer\n" {
		t.Errorf("after the kubelet's restart the reader reads %q", got)
	}

	// Deleted pods leave no /dev/shm mount and no directory.
	for _, name := range []string{"shm-pair", "shm-other", "shm-host"} {
		if err := n.admin.CoreV1().Pods(testNamespace).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptrInt64(1)}); err != nil {
			t.Fatal(err)
		}
	}
	n.eventually(60*time.Second, "pods gone", func() (bool, string) {
		cs, err := n.rt.List(ctx, "")
		return err == nil && len(cs) == 0, fmt.Sprintf("%d containers, %v", len(cs), err)
	})
	if ms := shmMounts(t, shmRoot); len(ms) != 0 {
		t.Errorf("pod /dev/shm mounts left: %v", ms)
	}
	if entries, _ := os.ReadDir(shmRoot); len(entries) != 0 {
		t.Errorf("%d pod /dev/shm directories left in %s", len(entries), shmRoot)
	}
	if _, err := os.Stat(filepath.Join("/dev/shm", hostFile)); err != nil {
		t.Errorf("the hostIPC pod's removal took the host's /dev/shm/%s: %v", hostFile, err)
	}
}

// sandboxOf is pod's running sandbox.
func sandboxOf(t *testing.T, n *node, pod *v1.Pod) runtime.Container {
	t.Helper()
	cs, err := n.rt.List(context.Background(), string(pod.UID))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Labels[runtime.LabelKind] == runtime.KindSandbox && c.State == runtime.StateRunning {
			return c
		}
	}
	t.Fatalf("pod %s has no running sandbox", pod.Name)
	return runtime.Container{}
}

// shmMounts maps each mount point under root in /proc/self/mountinfo to
// its line.
func shmMounts(t *testing.T, root string) map[string]string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], root+"/") {
			out[f[4]] = line
		}
	}
	return out
}
