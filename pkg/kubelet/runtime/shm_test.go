package runtime

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The pod's /dev/shm replaces containerd's default private tmpfs and
// keeps the rest of its default mounts; a container's own /dev/shm mount
// (an emptyDir of medium Memory) replaces the pod's.
func TestWithDevShm_ReplacesTheDefaultTmpfs(t *testing.T) {
	ctx := namespaces.WithNamespace(context.Background(), "test")
	def, err := oci.GenerateSpec(ctx, nil, &containers.Container{ID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if !hasMountAt(def.Mounts, devShm) {
		t.Fatal("containerd's default spec has no /dev/shm mount: nothing to test")
	}
	others := func(ms []specs.Mount) []string {
		var out []string
		for _, m := range ms {
			if m.Destination != devShm {
				out = append(out, m.Destination)
			}
		}
		return out
	}
	volume := specs.Mount{Destination: "/dev/shm/", Type: "bind", Source: "/var/lib/kubelet/pods/u/volumes/cache", Options: []string{"rbind", "rw"}}
	tests := []struct {
		name   string
		cfg    ContainerConfig
		want   string // the bind's source; "" none of ours
		wantNo int    // mounts on /dev/shm in the end
	}{
		{"pod shm", ContainerConfig{Sandbox: Container{Labels: map[string]string{LabelShm: "/state/shm/abc"}}}, "/state/shm/abc", 1},
		{"host shm", ContainerConfig{Sandbox: Container{Labels: map[string]string{LabelShm: "/dev/shm"}}}, "/dev/shm", 1},
		{"own volume", ContainerConfig{Sandbox: Container{Labels: map[string]string{LabelShm: "/state/shm/abc"}}, Mounts: []specs.Mount{volume}}, "", 1},
	}
	for _, tt := range tests {
		s, err := oci.GenerateSpec(ctx, nil, &containers.Container{ID: "c"}, withDevShm(containerShm(tt.cfg), containerShmOptions), oci.WithMounts(tt.cfg.Mounts))
		if err != nil {
			t.Fatal(err)
		}
		var onShm []specs.Mount
		for _, m := range s.Mounts {
			if filepath.Clean(m.Destination) == devShm {
				onShm = append(onShm, m)
			}
		}
		if len(onShm) != tt.wantNo {
			t.Errorf("%s: mounts on /dev/shm %+v, want %d", tt.name, onShm, tt.wantNo)
			continue
		}
		m := onShm[0]
		if tt.want != "" && (m.Type != "bind" || m.Source != tt.want || !slices.Equal(m.Options, []string{"rbind", "rw"})) {
			t.Errorf("%s: /dev/shm mount %+v, want a read-write bind of %s", tt.name, m, tt.want)
		}
		if tt.want == "" && m.Source != volume.Source {
			t.Errorf("%s: /dev/shm mount %+v, want the container's own", tt.name, m)
		}
		if got, want := others(s.Mounts), append(others(def.Mounts), others(tt.cfg.Mounts)...); !slices.Equal(got, want) {
			t.Errorf("%s: other mounts %v, want containerd's default ones %v", tt.name, got, want)
		}
	}
}

func TestIsPodShm_NeverTheHostsShm(t *testing.T) {
	id := strings.Repeat("ab", 32)
	for _, tt := range []struct {
		path string
		want bool
	}{
		{"/var/lib/kubelet/fifo/shm/" + id, true},
		{"/dev/shm", false},
		{"", false},
		{"/var/lib/kubelet/fifo/shm/other", false},
		{"/var/lib/kubelet/fifo/" + id, false},
		{"shm/" + id, false},
	} {
		if got := isPodShm(tt.path, id); got != tt.want {
			t.Errorf("isPodShm(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

// mountPodShm mounts a 64 MiB nosuid,nodev,noexec tmpfs of mode 1777,
// once even when asked twice; RemovePodShm leaves no mount and no
// directory, and is a no-op the second time.
func TestPodShm_MountAndRemove(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (mount)")
	}
	r := &Runtime{stateDir: t.TempDir()}
	id := NewID()
	t.Cleanup(func() { _ = unmountShm(r.shmDir(id)) })
	for range 2 {
		p, err := r.mountPodShm(id)
		if err != nil {
			t.Fatal(err)
		}
		if p != r.shmDir(id) || !isPodShm(p, id) {
			t.Fatalf("mounted on %s, want %s", p, r.shmDir(id))
		}
	}
	p := r.shmDir(id)
	ms := mountsAt(t, p)
	if len(ms) != 1 {
		t.Fatalf("mounts on %s: %v, want one", p, ms)
	}
	for _, want := range []string{"tmpfs", "nosuid", "nodev", "noexec", "size=65536k"} {
		if !strings.Contains(ms[0], want) {
			t.Errorf("mount %q lacks %s", ms[0], want)
		}
	}
	if fi, err := os.Stat(p); err != nil {
		t.Error(err)
	} else if m := fi.Mode() & (os.ModePerm | os.ModeSticky); m != 0o777|os.ModeSticky {
		t.Errorf("the tmpfs's root has mode %v, want 1777 (drwxrwxrwt)", m)
	}
	if got := r.PodShmSandboxIDs(); !slices.Equal(got, []string{id}) {
		t.Errorf("PodShmSandboxIDs = %v, want [%s]", got, id)
	}
	for range 2 {
		if err := r.RemovePodShm(id); err != nil {
			t.Fatal(err)
		}
	}
	if ms := mountsAt(t, p); len(ms) != 0 {
		t.Errorf("mounts left on %s: %v", p, ms)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("%s left: %v", p, err)
	}
	if got := r.PodShmSandboxIDs(); len(got) != 0 {
		t.Errorf("PodShmSandboxIDs after removal = %v", got)
	}
	if err := r.RemovePodShm("../x"); err == nil {
		t.Error("RemovePodShm(../x) succeeded")
	}
}

// mountsAt lists the lines of /proc/self/mountinfo of mounts on dir.
func mountsAt(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == dir {
			out = append(out, line)
		}
	}
	return out
}
