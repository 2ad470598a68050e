//go:build e2e

package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/kstack/kstack/test/e2e/containerdtest"
	"google.golang.org/grpc"
)

// rpcCounter counts the containerd requests a client makes, by method.
type rpcCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *rpcCounter) add(method string) {
	c.mu.Lock()
	c.n[method]++
	c.mu.Unlock()
}

func (c *rpcCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.n
	c.n = map[string]int{}
	return out
}

func (c *rpcCounter) dialOpts() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			c.add(method)
			return invoker(ctx, method, req, reply, cc, opts...)
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			c.add(method)
			return streamer(ctx, desc, cc, method, opts...)
		}),
	}
}

func formatCounts(m map[string]int) string {
	var lines []string
	total := 0
	for k, v := range m {
		lines = append(lines, fmt.Sprintf("  %3d %s", v, k))
		total += v
	}
	sort.Strings(lines)
	return fmt.Sprintf("%d requests:\n%s", total, strings.Join(lines, "\n"))
}

// TestStartCost_RequestsPerPod starts two pods' sandbox and app container
// on a private containerd and counts the containerd requests of the
// second (the image caches warm): the image's user files are read once
// per image, not through each container's snapshot, and the app
// container's user is what containerd's own options make of the image.
func TestStartCost_RequestsPerPod(t *testing.T) {
	images := requireRuntimeE2E(t)
	dir, sock, ns := testContainerd(t, "ksrt")

	ctx := context.Background()
	counter := &rpcCounter{n: map[string]int{}}
	r, err := New(ctx, sock, ns, filepath.Join(dir, "fifo"), client.WithExtraDialOpts(counter.dialOpts()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		usersDir := r.usersDir
		r.Close()
		if usersDir != "" {
			if _, err := os.Stat(usersDir); !os.IsNotExist(err) {
				t.Errorf("Close left %s", usersDir)
			}
		}
	})
	importTestImages(t, r, images)
	var ids []string
	t.Cleanup(func() {
		for i := len(ids) - 1; i >= 0; i-- {
			if err := r.Remove(ctx, ids[i]); err != nil {
				t.Errorf("remove %s: %v", ids[i], err)
			}
		}
	})
	nobody := uint32(65534)
	startPod := func(name string) (sandbox, app Container) {
		t.Helper()
		pause, err := r.EnsureImage(ctx, "kstack.local/pause:1.0", false, true)
		if err != nil {
			t.Fatal(err)
		}
		busybox, err := r.EnsureImage(ctx, "kstack.local/busybox:1.0", false, true)
		if err != nil {
			t.Fatal(err)
		}
		labels := map[string]string{LabelPodUID: name, LabelPodName: name, LabelPodNamespace: "default"}
		sandbox, err = r.RunSandbox(ctx, SandboxConfig{Labels: labels, Image: pause.Ref, Hostname: name})
		if err != nil {
			t.Fatalf("sandbox: %v", err)
		}
		ids = append(ids, sandbox.ID)
		app, err = r.StartContainer(ctx, ContainerConfig{
			Labels: labels, Image: busybox, Sandbox: sandbox,
			Command:  []string{"sleep", "3600"},
			Security: Security{UID: &nobody},
		})
		if err != nil {
			t.Fatalf("app container: %v", err)
		}
		ids = append(ids, app.ID)
		return sandbox, app
	}

	firstSandbox, _ := startPod("first")
	first := counter.take()
	t.Logf("first pod (cold caches): %s", formatCounts(first))
	secondSandbox, app := startPod("second")
	second := counter.take()
	t.Logf("second pod: %s", formatCounts(second))

	// The first sandbox of an image runs on a writable snapshot (the image
	// is not known yet); once the image is known to have the mount points
	// (the test images have proc, dev and sys), sandboxes run on a
	// read-only view of it. No container has containerd's /run tmpfs.
	sn := r.client.SnapshotService("overlayfs")
	for _, tc := range []struct {
		c    Container
		kind snapshots.Kind
	}{{firstSandbox, snapshots.KindActive}, {secondSandbox, snapshots.KindView}, {app, snapshots.KindActive}} {
		info, err := sn.Stat(ctx, tc.c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if info.Kind != tc.kind {
			t.Errorf("container %s: snapshot kind %v, want %v", tc.c.ID, info.Kind, tc.kind)
		}
		c, err := r.client.LoadContainer(ctx, tc.c.ID)
		if err != nil {
			t.Fatal(err)
		}
		sp, err := c.Spec(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ro := tc.kind == snapshots.KindView; sp.Root.Readonly != ro {
			t.Errorf("container %s: root read-only %v, want %v", tc.c.ID, sp.Root.Readonly, ro)
		}
		for _, m := range sp.Mounts {
			if m.Destination == "/run" {
				t.Errorf("container %s has a mount on /run: %+v", tc.c.ID, m)
			}
		}
	}
	if st, err := r.List(ctx, "second"); err != nil || len(st) != 2 || st[0].ID != secondSandbox.ID || st[0].State != StateRunning {
		t.Errorf("List of the second pod = %+v, %v; want its sandbox running on the view", st, err)
	}

	const (
		mounts       = "/containerd.services.snapshots.v1.Snapshots/Mounts"
		taskCreate   = "/containerd.services.tasks.v1.Tasks/Create"
		update       = "/containerd.services.containers.v1.Containers/Update"
		plugins      = "/containerd.services.introspection.v1.Introspection/Plugins"
		namespaceGet = "/containerd.services.namespaces.v1.Namespaces/Get"
	)
	// NewTask reads the rootfs mounts once per container; the image's user
	// files cost more only the first time.
	if first[mounts] <= first[taskCreate] {
		t.Errorf("the first pod made %d Snapshots/Mounts requests for %d tasks: the image's user files were not read from a rootfs", first[mounts], first[taskCreate])
	}
	if second[taskCreate] != 2 || second[mounts] != second[taskCreate] {
		t.Errorf("the second pod made %d Snapshots/Mounts requests for %d tasks, want one per task (the image's user files are cached)", second[mounts], second[taskCreate])
	}
	// The start time is recorded with one label update per container.
	if second[update] != 2 {
		t.Errorf("the second pod made %d Containers/Update requests, want 2 (the start times)", second[update])
	}
	for _, m := range []string{plugins, namespaceGet} {
		if second[m] != 0 {
			t.Errorf("the second pod made %d %s requests, want none", second[m], m)
		}
	}

	// The start time is listed.
	listed, err := r.List(ctx, "second")
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 2 || listed[1].ID != app.ID || !listed[1].StartedAt.Equal(app.StartedAt) || app.StartedAt.IsZero() {
		t.Fatalf("List of the second pod = %+v, want its app container started at %v", listed, app.StartedAt)
	}

	// A copy removed behind the runtime's back (a newer runtime on the
	// same state directory removes stale ones) is made again.
	if err := os.RemoveAll(r.usersDir); err != nil {
		t.Fatal(err)
	}
	_, third := startPod("third")
	if n := counter.take()[mounts]; n <= 2 {
		t.Errorf("after the copies were removed, the third pod made %d Snapshots/Mounts requests, want the copy read again", n)
	}
	for _, a := range []Container{app, third} {
		c, err := r.client.LoadContainer(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		sp, err := c.Spec(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if sp.Process.User.GID != 65534 {
			t.Errorf("container %s: GID %d, want 65534 (nobody's group in the image's /etc/passwd)", a.ID, sp.Process.User.GID)
		}
	}

	// The user as containerd's own options resolve it from the
	// container's rootfs (busybox's /etc/passwd: nobody's group 65534).
	c, err := r.client.LoadContainer(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Spec(ctx)
	if err != nil {
		t.Fatal(err)
	}
	busybox, _ := r.EnsureImage(ctx, "kstack.local/busybox:1.0", false, true)
	refID := "ref-" + app.ID[:16]
	ref, err := r.client.NewContainer(ctx, refID,
		client.WithNewSnapshot(refID, busybox.img),
		client.WithNewSpec(oci.WithImageConfig(busybox.img), oci.WithUserID(nobody)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ref.Delete(ctx, client.WithSnapshotCleanup) })
	want, err := ref.Spec(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got.Process.User) != fmt.Sprint(want.Process.User) {
		t.Errorf("app container user %+v, containerd's options make %+v", got.Process.User, want.Process.User)
	}
	if got.Process.User.GID != 65534 {
		t.Errorf("app container GID %d, want 65534 (nobody's group in the image's /etc/passwd)", got.Process.User.GID)
	}
}

func requireRuntimeE2E(t *testing.T) string {
	t.Helper()
	wd, _ := os.Getwd()
	return containerdtest.Require(t, filepath.Join(wd, "..", "..", "..", "_output", "images"), "pause.tar", "busybox.tar")
}

// testContainerd is a private containerd for one test: a temporary
// directory, its socket and a fresh containerd namespace; the namespace's
// cgroups and runc state go with the test.
func testContainerd(t *testing.T, prefix string) (dir, sock, ns string) {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	ns = prefix + "-" + hex.EncodeToString(b)
	sock = containerdtest.Start(t, dir).Sock
	t.Cleanup(func() {
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + ns)
		dirs2, _ := filepath.Glob("/sys/fs/cgroup/unified/" + ns)
		for _, d := range append(dirs, dirs2...) {
			_ = os.Remove(d)
		}
		_ = os.Remove(filepath.Join("/run/containerd/runc", ns))
	})
	return dir, sock, ns
}

// importTestImages imports the pause and busybox test images into r.
func importTestImages(t *testing.T, r *Runtime, images string) {
	t.Helper()
	for _, f := range []string{"pause.tar", "busybox.tar"} {
		if _, err := r.ImportArchive(context.Background(), filepath.Join(images, f)); err != nil {
			t.Fatalf("import %s: %v", f, err)
		}
	}
}
