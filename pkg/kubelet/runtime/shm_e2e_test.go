//go:build e2e

package runtime

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// On a private containerd: a sandbox and its container bind the pod's
// tmpfs at /dev/shm (the sandbox read-only) in place of containerd's
// default tmpfs; a runtime on another state directory (a restarted
// kubelet's) unmounts it when it removes the sandbox, found by its label;
// a sandbox whose start fails leaves no mount and no directory.
func TestPodShm_SandboxLifecycle(t *testing.T) {
	images := requireRuntimeE2E(t)
	dir, sock, ns := testContainerd(t, "ksshm")
	ctx := context.Background()
	newRuntime := func(state string) *Runtime {
		r, err := New(ctx, sock, ns, filepath.Join(dir, state))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	r := newRuntime("state")
	importTestImages(t, r, images)
	var ids []string
	t.Cleanup(func() {
		for i := len(ids) - 1; i >= 0; i-- {
			_ = r.Remove(ctx, ids[i])
		}
		ms, _ := filepath.Glob(filepath.Join(dir, "state", shmDirName, "*"))
		for _, m := range ms {
			_ = unmountShm(m)
		}
	})
	shmRoot := filepath.Join(dir, "state", shmDirName)
	busybox, err := r.EnsureImage(ctx, "kstack.local/busybox:1.0", false, true)
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{LabelPodUID: "u", LabelPodName: "p", LabelPodNamespace: "default"}

	sb, err := r.RunSandbox(ctx, SandboxConfig{Labels: labels, Image: "kstack.local/pause:1.0", Hostname: "p"})
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, sb.ID)
	shm := sb.Labels[LabelShm]
	if shm != filepath.Join(shmRoot, sb.ID) {
		t.Fatalf("sandbox %s label %q, want %s", LabelShm, shm, filepath.Join(shmRoot, sb.ID))
	}
	app, err := r.StartContainer(ctx, ContainerConfig{Labels: labels, Image: busybox, Sandbox: sb, Command: []string{"sh", "-c", "echo hi > /dev/shm/f; exec sleep 3600"}})
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, app.ID)
	for _, tc := range []struct {
		id   string
		opts []string
	}{{sb.ID, sandboxShmOptions}, {app.ID, containerShmOptions}} {
		c, err := r.client.LoadContainer(ctx, tc.id)
		if err != nil {
			t.Fatal(err)
		}
		sp, err := c.Spec(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var onShm, dev int
		for _, m := range sp.Mounts {
			switch filepath.Clean(m.Destination) {
			case devShm:
				onShm++
				if m.Type != "bind" || m.Source != shm || !slices.Equal(m.Options, tc.opts) {
					t.Errorf("container %s: /dev/shm mount %+v, want a bind of %s with %v", tc.id, m, shm, tc.opts)
				}
			case "/dev", "/proc", "/sys", "/dev/pts", "/dev/mqueue":
				dev++
			}
		}
		if onShm != 1 || dev != 5 {
			t.Errorf("container %s: %d mounts on /dev/shm, %d of containerd's other defaults; want 1 and 5", tc.id, onShm, dev)
		}
	}
	// The container's file is in the pod's tmpfs on the host.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		b, err := os.ReadFile(filepath.Join(shm, "f"))
		if err == nil && string(b) == "hi\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("host %s/f: %q, %v; want the container's file", shm, b, err)
		}
	}

	// A runtime on another state directory removes the sandbox and its
	// tmpfs, which it finds by the sandbox's label.
	other := newRuntime("other-state")
	for _, id := range []string{app.ID, sb.ID} {
		if err := other.Remove(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if ms := mountsAt(t, shm); len(ms) != 0 {
		t.Errorf("mounts left on %s after the sandbox's removal: %v", shm, ms)
	}
	if _, err := os.Stat(shm); !os.IsNotExist(err) {
		t.Errorf("%s left after the sandbox's removal: %v", shm, err)
	}

	// A sandbox whose task cannot start (its network namespace is
	// missing) leaves nothing.
	if _, err := r.RunSandbox(ctx, SandboxConfig{Labels: labels, Image: "kstack.local/pause:1.0", Hostname: "p", NetNSPath: filepath.Join(dir, "no-such-netns")}); err == nil {
		t.Fatal("a sandbox in a missing network namespace started")
	}
	if entries, _ := os.ReadDir(shmRoot); len(entries) != 0 {
		t.Errorf("a failed sandbox start left %d /dev/shm directories", len(entries))
	}
	if cs, err := r.List(ctx, ""); err != nil || len(cs) != 0 {
		t.Errorf("containers left: %+v, %v", cs, err)
	}
}
