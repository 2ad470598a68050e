package runtime

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The image-config and user options of containerd's oci package
// (WithImageConfig, which resolves the image's supplemental groups even
// without a user, and WithUserID) read the image's /etc/passwd and
// /etc/group from each new container's rootfs snapshot: a snapshot Mounts
// request and a read of the overlay per container. Those files are the
// image's, the same for every container of the image, so the runtime copies
// them once per image into a small directory and runs containerd's own
// options against that directory (the options read a rootfs path when the
// container has no snapshot), keeping their exact semantics. When the
// copy cannot be made (an unusual layout), the options run as before.

// imageUsers is the copy of one image's user files.
type imageUsers struct {
	mu   sync.Mutex
	root string // a directory with etc/passwd and etc/group as in the image (either may be absent)
	// failed: the files could not be copied; use the container's rootfs.
	failed bool
	// mountPoints: the image's root has the directories a sandbox's
	// mounts go on (sandboxMountPoints), so a sandbox can run on a
	// read-only view of the image (set with the copy).
	mountPoints bool
}

// sandboxMountPoints are the directories the mounts of a sandbox's spec
// (containerd's default mounts without /run) go on; runc creates a missing
// one in the rootfs, which a read-only view cannot take.
var sandboxMountPoints = []string{"proc", "dev", "sys"}

// userFiles are the files the oci package's user options read.
var userFiles = []string{"etc/passwd", "etc/group"}

// withImageRoot runs opt (an oci option that reads the rootfs's user files)
// against the copy of img's user files instead of the container's snapshot.
func (r *Runtime) withImageRoot(img Image, opt oci.SpecOpts) oci.SpecOpts {
	return func(ctx context.Context, cl oci.Client, c *containers.Container, s *oci.Spec) error {
		m, ok := img.img.(cachedImage)
		if !ok || c.Snapshotter == "" || c.SnapshotKey == "" {
			return opt(ctx, cl, c, s)
		}
		root, err := r.imageUserRoot(ctx, cl, c, m.meta)
		if err != nil {
			return err
		}
		if root == "" {
			return opt(ctx, cl, c, s)
		}
		noSnapshot := *c
		noSnapshot.Snapshotter, noSnapshot.SnapshotKey = "", ""
		if s.Root == nil {
			s.Root = &specs.Root{}
		}
		saved := s.Root.Path
		s.Root.Path = root
		err = opt(ctx, cl, &noSnapshot, s)
		s.Root.Path = saved
		return err
	}
}

// imageUserRoot is the directory with meta's image's user files, copied
// from container c's fresh snapshot the first time; "" when they cannot be
// copied.
func (r *Runtime) imageUserRoot(ctx context.Context, cl oci.Client, c *containers.Container, meta *imageMeta) (string, error) {
	u := &meta.users
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.root != "" {
		// One stat per container: a copy removed behind the runtime's
		// back (a new runtime on the same state directory removes
		// stale ones) is made again, never read as an image without
		// user files.
		if _, err := os.Stat(filepath.Join(u.root, "etc")); err == nil {
			return u.root, nil
		}
		u.root = ""
	}
	if u.failed {
		return "", nil
	}
	base, err := r.imageUsersDir()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(base, "image-")
	if err != nil {
		return "", err
	}
	if err := os.Mkdir(filepath.Join(dir, "etc"), 0o700); err != nil {
		return "", err
	}
	mounts, err := cl.SnapshotService(c.Snapshotter).Mounts(ctx, c.SnapshotKey)
	if err != nil {
		return "", fmt.Errorf("mounts of %s: %w", c.SnapshotKey, err)
	}
	err = mount.WithReadonlyTempMount(ctx, mounts, func(rootfs string) error {
		root, err := os.OpenRoot(rootfs)
		if err != nil {
			return err
		}
		defer root.Close()
		u.mountPoints = true
		for _, name := range sandboxMountPoints {
			if fi, err := root.Lstat(name); err != nil || !fi.IsDir() {
				u.mountPoints = false
			}
		}
		for _, name := range userFiles {
			b, err := readInRoot(root, name)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// Not an error of the container: resolve from its rootfs as
		// containerd would.
		u.failed, u.mountPoints = true, false
		_ = os.RemoveAll(dir)
		return "", nil
	}
	u.root = dir
	return dir, nil
}

// readInRoot reads name in root, following symbolic links as the image
// sees them (an absolute target is relative to the image's root).
func readInRoot(root *os.Root, name string) ([]byte, error) {
	for range 16 {
		fi, err := root.Lstat(name)
		if err != nil {
			return nil, err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			if !fi.Mode().IsRegular() {
				return nil, fmt.Errorf("%s is not a regular file", name)
			}
			return root.ReadFile(name)
		}
		target, err := root.Readlink(name)
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(target, "/") {
			name = strings.TrimLeft(target, "/")
		} else {
			name = path.Join(path.Dir(name), target)
		}
		if name == "" || name == "." || strings.HasPrefix(name, "../") || name == ".." {
			return nil, fmt.Errorf("link %s leaves the image", target)
		}
	}
	return nil, errors.New("too many links")
}

// sandboxOnView says whether a sandbox of img can run on a read-only
// view of the image instead of a writable snapshot: known after the
// image's first container, when its root has the sandbox's mount points.
func sandboxOnView(img Image) bool {
	m, ok := img.img.(cachedImage)
	if !ok {
		return false
	}
	u := &m.meta.users
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.root != "" && u.mountPoints
}

const usersDirPrefix = ".image-users-"

// removeStaleUsersDirs removes the image user files of earlier runtimes
// on stateDir (a kubelet that did not close its runtime).
func removeStaleUsersDirs(stateDir string) {
	old, _ := filepath.Glob(filepath.Join(stateDir, usersDirPrefix+"*"))
	for _, d := range old {
		_ = os.RemoveAll(d)
	}
}

// imageUsersDir is this runtime's directory of image user files, made on
// first use under the state directory and removed by Close.
func (r *Runtime) imageUsersDir() (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.usersDir != "" {
		if _, err := os.Stat(r.usersDir); err == nil {
			return r.usersDir, nil
		}
	}
	d, err := os.MkdirTemp(r.stateDir, usersDirPrefix)
	if err != nil {
		return "", err
	}
	r.usersDir = d
	return d, nil
}
