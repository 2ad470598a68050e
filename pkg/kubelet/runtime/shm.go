package runtime

// A pod's /dev/shm, as containerd's CRI plugin makes it: the containers of
// one pod share an IPC namespace (the sandbox's), so they share one
// /dev/shm too, or POSIX shared memory (shm_open) between them would not
// work. RunSandbox mounts a tmpfs for the pod under the runtime's state
// directory (<state>/shm/<sandbox ID>; 64 MiB, nosuid, nodev, noexec, mode
// 1777) and records its path in the sandbox's LabelShm; the sandbox and
// every container of the pod bind it at /dev/shm in place of containerd's
// default private tmpfs. A hostIPC pod binds the host's /dev/shm instead.
//
// The tmpfs lives as long as its sandbox container: Remove unmounts it
// (from the label, so a restarted kubelet, or a runtime on another state
// directory, finds it); a failed RunSandbox unmounts it; and the kubelet's
// orphan collection removes those whose sandbox is gone without a Remove
// (PodShmSandboxIDs, RemovePodShm), e.g. a kubelet killed between the
// mount and the container's creation.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// LabelShm, on a sandbox, is the host path its pod's containers bind at
// /dev/shm: the pod's own tmpfs, or the host's /dev/shm for a hostIPC
// pod. Containers of a sandbox without it (made by an older kubelet) keep
// containerd's default private /dev/shm.
const LabelShm = "kstack.io/shm"

const (
	// devShm is where the pod's shared memory goes, in the containers and
	// (for hostIPC) on the host.
	devShm = "/dev/shm"
	// podShmSize is the size of a pod's tmpfs, as containerd's CRI plugin
	// (defaultShmSize).
	podShmSize = 64 << 20
	// shmDirName is the directory of the pods' tmpfs under the state dir.
	shmDirName = "shm"
)

// Mount options of the /dev/shm bind mounts. The sandbox's is read-only
// as upstream's; it names the tmpfs's flags too, since runc makes a
// read-only bind by a remount that would otherwise clear them. The
// containers' read-write bind keeps the source's flags.
var (
	sandboxShmOptions   = []string{"rbind", "ro", "nosuid", "nodev", "noexec"}
	containerShmOptions = []string{"rbind", "rw"}
)

// shmDir is where sandbox id's tmpfs is mounted.
func (r *Runtime) shmDir(id string) string { return filepath.Join(r.stateDir, shmDirName, id) }

// mountPodShm makes and mounts sandbox id's tmpfs and returns its path. A
// leftover of an earlier attempt with the same ID is unmounted first, so
// mounts never stack.
func (r *Runtime) mountPodShm(id string) (string, error) {
	dir := r.shmDir(id)
	if err := unmountShm(dir); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("pod shm: %w", err)
	}
	opts := fmt.Sprintf("mode=1777,size=%d", podShmSize)
	if err := unix.Mount("shm", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, opts); err != nil {
		_ = os.Remove(dir)
		return "", fmt.Errorf("mount pod shm on %s: %w", dir, err)
	}
	return dir, nil
}

// unmountShm unmounts whatever is mounted on dir and removes the
// directory; a missing one is not an error. The unmount is lazy: a
// container that still holds the tmpfs keeps its own bind of it.
func unmountShm(dir string) error {
	for range 16 {
		err := unix.Unmount(dir, unix.MNT_DETACH)
		if err == nil {
			continue // another mount may be stacked below
		}
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EINVAL) { // EINVAL: not a mount point
			return fmt.Errorf("unmount pod shm %s: %w", dir, err)
		}
		break
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove pod shm: %w", err)
	}
	return nil
}

// isPodShm says whether p, a sandbox's LabelShm, is that sandbox's own
// tmpfs (which its removal unmounts), never the host's /dev/shm.
func isPodShm(p, sandboxID string) bool {
	return p != "" && p != devShm && filepath.IsAbs(p) &&
		filepath.Base(p) == sandboxID && filepath.Base(filepath.Dir(p)) == shmDirName
}

// withDevShm replaces the spec's /dev/shm mounts (containerd's default
// private tmpfs) with a bind mount of src; with src empty, only removes
// them (the container's own mounts bring another).
func withDevShm(src string, options []string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		s.Mounts = slices.DeleteFunc(s.Mounts, func(m specs.Mount) bool { return path.Clean(m.Destination) == devShm })
		if src != "" {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: devShm, Type: "bind", Source: src, Options: slices.Clone(options)})
		}
		return nil
	}
}

// hasMountAt says whether mounts has one on dest.
func hasMountAt(mounts []specs.Mount, dest string) bool {
	return slices.ContainsFunc(mounts, func(m specs.Mount) bool { return path.Clean(m.Destination) == dest })
}

// PodShmSandboxIDs lists the sandboxes that have a /dev/shm directory
// (mounted or not) under the runtime's state directory. The kubelet's
// orphan collection calls it before it lists what is live.
func (r *Runtime) PodShmSandboxIDs() []string {
	entries, _ := os.ReadDir(filepath.Join(r.stateDir, shmDirName))
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.IsDir() {
			ids = append(ids, e.Name())
		}
	}
	return ids
}

// RemovePodShm unmounts and removes sandbox id's /dev/shm tmpfs, for a
// sandbox that no longer exists (Remove does it for one that does).
func (r *Runtime) RemovePodShm(id string) error {
	if id == "" || id == "." || id == ".." || filepath.Base(id) != id {
		return fmt.Errorf("invalid sandbox ID %q", id)
	}
	return unmountShm(r.shmDir(id))
}
