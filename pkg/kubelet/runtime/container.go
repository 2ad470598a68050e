package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/defaults"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/image-spec/identity"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// SandboxConfig describes a pod sandbox.
type SandboxConfig struct {
	ID        string            // empty: a new random ID
	Labels    map[string]string // pod labels; kind and netns are added
	Image     string            // the pause image
	Hostname  string
	NetNSPath string // /run/netns/<id>, already configured by CNI; empty: the node's network and UTS namespaces (hostNetwork)
	// CgroupParent, when set, is the pod's cgroup (/kubepods/burstable/pod<uid>):
	// the sandbox's cgroup is <CgroupParent>/<id>. Empty: containerd's
	// default, /<namespace>/<id>.
	CgroupParent string
	// HostIPC runs the pod in the node's IPC namespace, with the node's
	// /dev/shm; otherwise the pod gets an IPC namespace and a /dev/shm
	// tmpfs of its own (shm.go).
	HostIPC bool
}

// ContainerConfig describes an app or init container.
type ContainerConfig struct {
	Labels    map[string]string // pod and container labels; kind, sandbox and log path are added
	Image     Image
	Sandbox   Container // the running sandbox whose namespaces are joined
	NetNSPath string

	Command, Args []string // the pod's command/args (nil: the image's)
	Env           []string // KEY=VALUE, after the image's
	WorkingDir    string
	Mounts        []specs.Mount
	LogPath       string // CRI-format log file
	// CgroupParent is the pod's cgroup, as for the sandbox.
	CgroupParent string
	// Stdin keeps a pipe to the container's stdin, written by attach
	// (kubectl attach -i); StdinOnce closes it after the first attach
	// session ends; TTY gives the container a terminal (its output is
	// then one stream, logged as stdout).
	Stdin, StdinOnce, TTY bool

	CPUShares   uint64
	CPUQuota    int64 // microseconds per CPUPeriod; 0: unlimited
	CPUPeriod   uint64
	MemoryLimit int64 // bytes; 0: unlimited

	Security Security
	// StopSignal, when set, is recorded for Stop (the image's StopSignal).
	StopSignal string
}

// Security is a container's resolved securityContext.
type Security struct {
	UID *uint32 // nil: the image's user
	GID *uint32 // nil: the user's primary group (from the image's /etc/passwd)
	// AdditionalGIDs are supplementalGroups and fsGroup.
	AdditionalGIDs []uint32
	Privileged     bool
	// CapAdd and CapDrop are "CAP_"-prefixed names, or "ALL".
	CapAdd, CapDrop []string
	ReadOnlyRootfs  bool
	NoNewPrivileges bool
}

// specOpts are the OCI settings that make s; inImage wraps the options
// that read the image's user files.
func (s Security) specOpts(inImage func(oci.SpecOpts) oci.SpecOpts) []oci.SpecOpts {
	var opts []oci.SpecOpts
	if s.UID != nil {
		opts = append(opts, inImage(oci.WithUserID(*s.UID)))
	}
	if s.GID != nil || len(s.AdditionalGIDs) > 0 {
		opts = append(opts, func(_ context.Context, _ oci.Client, _ *containers.Container, sp *oci.Spec) error {
			if s.GID != nil {
				sp.Process.User.GID = *s.GID
			}
			for _, g := range s.AdditionalGIDs {
				if !slices.Contains(sp.Process.User.AdditionalGids, g) {
					sp.Process.User.AdditionalGids = append(sp.Process.User.AdditionalGids, g)
				}
			}
			return nil
		})
	}
	if s.Privileged {
		opts = append(opts, oci.WithPrivileged, oci.WithAllDevicesAllowed, oci.WithHostDevices)
	} else {
		if slices.Contains(s.CapDrop, "ALL") {
			opts = append(opts, oci.WithCapabilities(nil))
		}
		if slices.Contains(s.CapAdd, "ALL") {
			opts = append(opts, oci.WithAllKnownCapabilities)
		}
		opts = append(opts,
			oci.WithDroppedCapabilities(slices.DeleteFunc(slices.Clone(s.CapDrop), func(c string) bool { return c == "ALL" })),
			oci.WithAddedCapabilities(slices.DeleteFunc(slices.Clone(s.CapAdd), func(c string) bool { return c == "ALL" })))
	}
	if s.ReadOnlyRootfs {
		opts = append(opts, oci.WithRootFSReadonly())
	}
	if s.NoNewPrivileges {
		opts = append(opts, oci.WithNoNewPrivileges)
	}
	return opts
}

// ConfigUser is the image config's user ("" when unset).
func (i Image) ConfigUser(ctx context.Context) (string, error) {
	if i.img == nil {
		return "", nil
	}
	ic, err := i.img.Spec(ctx)
	if err != nil {
		return "", fmt.Errorf("image config of %s: %w", i.Ref, err)
	}
	return ic.Config.User, nil
}

// ConfigStopSignal is the image config's StopSignal ("" when unset).
func (i Image) ConfigStopSignal(ctx context.Context) (string, error) {
	if i.img == nil {
		return "", nil
	}
	ic, err := i.img.Spec(ctx)
	if err != nil {
		return "", fmt.Errorf("image config of %s: %w", i.Ref, err)
	}
	return ic.Config.StopSignal, nil
}

// NewID returns a random 64-hex-digit container ID.
func NewID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// RunSandbox creates and starts a pod's pause container and returns it,
// with the pod's /dev/shm (shm.go). On failure nothing is left behind.
func (r *Runtime) RunSandbox(ctx context.Context, cfg SandboxConfig) (_ Container, retErr error) {
	img, err := r.EnsureImage(ctx, cfg.Image, false, false)
	if err != nil {
		return Container{}, fmt.Errorf("sandbox image: %w", err)
	}
	labels := copyLabels(cfg.Labels)
	labels[LabelKind] = KindSandbox
	labels[LabelNetNS] = cfg.NetNSPath
	labels[LabelImageID] = img.ID
	id := cfg.ID
	if id == "" {
		id = NewID()
	}
	// A sandbox writes nothing to its root: when the image has the
	// directories its mounts go on, it runs on a read-only view of the
	// image, a bind mount without the upper and work directories of a
	// writable overlay to make, mount and remove for every pod.
	view := sandboxOnView(img)
	specOpts := []oci.SpecOpts{
		r.withImageRoot(img, oci.WithImageConfig(img.img)),
		oci.WithoutRunMount,
		netNamespace(cfg.NetNSPath),
		oci.WithAnnotations(map[string]string{AnnotationShimGroup: id}),
	}
	if view {
		specOpts = append(specOpts, oci.WithRootFSReadonly())
	}
	if cfg.NetNSPath == "" {
		// A hostNetwork pod also shares the node's UTS namespace (its
		// hostname), as upstream.
		specOpts = append(specOpts, oci.WithHostNamespace(specs.UTSNamespace))
	} else {
		specOpts = append(specOpts, oci.WithHostname(cfg.Hostname))
	}
	shm := devShm
	if cfg.HostIPC {
		if _, err := os.Stat(devShm); err != nil {
			return Container{}, fmt.Errorf("host %s is not available for host IPC: %w", devShm, err)
		}
		specOpts = append(specOpts, oci.WithHostNamespace(specs.IPCNamespace))
	} else {
		if shm, err = r.mountPodShm(id); err != nil {
			return Container{}, err
		}
		defer func() {
			if retErr != nil {
				_ = unmountShm(shm)
			}
		}()
	}
	labels[LabelShm] = shm
	specOpts = append(specOpts, withDevShm(shm, sandboxShmOptions))
	specOpts = append(specOpts, withCgroupParent(labels, cfg.CgroupParent, id)...)
	return r.createAndStart(ctx, id, img, view, labels, specOpts, "")
}

// StartContainer creates and starts an app container in cfg.Sandbox's
// namespaces and returns it.
func (r *Runtime) StartContainer(ctx context.Context, cfg ContainerConfig) (Container, error) {
	if cfg.Sandbox.Pid == 0 {
		return Container{}, errors.New("sandbox is not running")
	}
	ic, err := cfg.Image.img.Spec(ctx)
	if err != nil {
		return Container{}, fmt.Errorf("image config of %s: %w", cfg.Image.Ref, err)
	}
	args := ProcessArgs(ic.Config.Entrypoint, ic.Config.Cmd, cfg.Command, cfg.Args)
	if len(args) == 0 {
		return Container{}, fmt.Errorf("no command specified and image %s has none", cfg.Image.Ref)
	}
	labels := copyLabels(cfg.Labels)
	labels[LabelKind] = KindContainer
	labels[LabelSandboxID] = cfg.Sandbox.ID
	labels[LabelLogPath] = cfg.LogPath
	labels[LabelImageID] = cfg.Image.ID
	if cfg.StopSignal != "" {
		labels[LabelStopSignal] = cfg.StopSignal
	}
	if cfg.Stdin {
		labels[LabelStdin] = "true"
		if cfg.StdinOnce {
			labels[LabelStdin] = "once"
		}
	}
	if cfg.TTY {
		labels[LabelTTY] = "true"
	}
	proc := func(t string) string { return fmt.Sprintf("/proc/%d/ns/%s", cfg.Sandbox.Pid, t) }
	specOpts := []oci.SpecOpts{
		r.withImageRoot(cfg.Image, oci.WithImageConfig(cfg.Image.img)),
		// No tmpfs on /run: the image's /run is the container's, as with
		// containerd's CRI plugin.
		oci.WithoutRunMount,
		oci.WithProcessArgs(args...),
		netNamespace(cfg.NetNSPath),
		oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.IPCNamespace, Path: proc("ipc")}),
		oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.UTSNamespace, Path: proc("uts")}),
		// The pod's /dev/shm, unless the container mounts its own there
		// (an emptyDir of medium Memory), which replaces it as upstream.
		withDevShm(containerShm(cfg), containerShmOptions),
		oci.WithMounts(cfg.Mounts),
		oci.WithAnnotations(map[string]string{AnnotationShimGroup: cfg.Sandbox.ID}),
	}
	if len(cfg.Env) > 0 {
		specOpts = append(specOpts, oci.WithEnv(cfg.Env))
	}
	if cfg.WorkingDir != "" {
		specOpts = append(specOpts, oci.WithProcessCwd(cfg.WorkingDir))
	}
	if cfg.TTY {
		specOpts = append(specOpts, oci.WithTTY)
	}
	if cfg.CPUShares > 0 {
		specOpts = append(specOpts, oci.WithCPUShares(cfg.CPUShares))
	}
	if cfg.CPUQuota > 0 {
		specOpts = append(specOpts, oci.WithCPUCFS(cfg.CPUQuota, cfg.CPUPeriod))
	}
	if cfg.MemoryLimit > 0 {
		specOpts = append(specOpts, oci.WithMemoryLimit(uint64(cfg.MemoryLimit)))
	}
	specOpts = append(specOpts, cfg.Security.specOpts(func(o oci.SpecOpts) oci.SpecOpts { return r.withImageRoot(cfg.Image, o) })...)
	id := NewID()
	specOpts = append(specOpts, withCgroupParent(labels, cfg.CgroupParent, id)...)
	return r.createAndStart(ctx, id, cfg.Image, false, labels, specOpts, cfg.LogPath)
}

// containerShm is what cfg's container binds at /dev/shm: its sandbox's
// (LabelShm), or nothing when the container's own mounts have one there.
// A sandbox without the label (an older kubelet's) leaves containerd's
// default private tmpfs.
func containerShm(cfg ContainerConfig) string {
	if hasMountAt(cfg.Mounts, devShm) {
		return ""
	}
	return cfg.Sandbox.Labels[LabelShm]
}

// LabelCgroupsPath is a container's cgroup path (relative to each
// hierarchy's mount) when the kubelet chose it (a pod cgroup).
const LabelCgroupsPath = "kstack.io/cgroups-path"

// withCgroupParent places container id in the cgroup parent/id (and
// records it in labels); nothing when parent is empty.
func withCgroupParent(labels map[string]string, parent, id string) []oci.SpecOpts {
	if parent == "" {
		return nil
	}
	p := path.Join(parent, id)
	labels[LabelCgroupsPath] = p
	return []oci.SpecOpts{oci.WithCgroup(p)}
}

// AnnotationShimGroup, in a container's OCI spec, makes the runc v2 shim
// serve every container with the same value from one shim process: the
// kubelet groups a pod's containers by their sandbox's ID, as containerd's
// CRI plugin does (io.kubernetes.cri.sandbox-id). One shim per pod instead of
// one per container halves the shim processes to start and to keep (each
// a Go process of several MiB).
const AnnotationShimGroup = "io.containerd.runc.v2.group"

// netNamespace joins the network namespace at path; an empty path is the
// node's own namespace (hostNetwork), the one containerd runs in.
func netNamespace(path string) oci.SpecOpts {
	if path == "" {
		return oci.WithHostNamespace(specs.NetworkNamespace)
	}
	return oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: path})
}

// startTimeout bounds one container's create, start and start-time record,
// as upstream's --runtime-request-timeout (2m) bounds each runtime call.
const startTimeout = 2 * time.Minute

// createAndStart creates the container and its task, starts it and records
// the start time; on failure nothing is left behind. Once begun it runs to
// its end whether or not ctx ends (a kubelet stopping), bounded only by
// startTimeout: a start cut short after its task ran was rolled back, which
// killed a container others had already seen running, and a restarted
// kubelet found nothing to adopt and started another.
func (r *Runtime) createAndStart(ctx context.Context, id string, img Image, view bool, labels map[string]string, specOpts []oci.SpecOpts, logPath string) (_ Container, retErr error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), startTimeout)
	defer cancel()
	c, err := r.client.NewContainer(ctx, id,
		client.WithImage(img.img),
		r.withNewSnapshot(id, img, view),
		client.WithContainerLabels(labels),
		client.WithNewSpec(specOpts...),
	)
	if err != nil {
		return Container{}, fmt.Errorf("create container: %w", err)
	}
	defer func() {
		if retErr != nil {
			// A failed NewTask or Start leaves the container and its snapshot.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			_ = r.Remove(cctx, id)
		}
	}()
	creator := cio.NullIO
	if logPath != "" {
		creator = func(string) (cio.IO, error) {
			fifos, err := r.newFIFOs(id, labels[LabelStdin] != "", labels[LabelTTY] == "true")
			if err != nil {
				return nil, err
			}
			return r.attachLog(id, fifos, logPath)
		}
	}
	task, err := c.NewTask(ctx, creator)
	if err != nil {
		return Container{}, fmt.Errorf("create task: %w", err)
	}
	if err := task.Start(ctx); err != nil {
		return Container{}, fmt.Errorf("start task: %w", err)
	}
	started := time.Now()
	labels[LabelStartedAt] = started.UTC().Format(time.RFC3339Nano)
	if _, err := c.SetLabels(ctx, map[string]string{LabelStartedAt: labels[LabelStartedAt]}); err != nil {
		return Container{}, fmt.Errorf("record start time: %w", err)
	}
	return Container{ID: id, Labels: labels, Image: img.Ref, CreatedAt: started, StartedAt: started, State: StateRunning, Pid: task.Pid()}, nil
}

// withNewSnapshot prepares the container's rootfs snapshot on the image's
// unpacked layers in the default snapshotter (the one EnsureImage unpacks
// to). client.WithNewSnapshot would also ask containerd for the
// namespace's default snapshotter and for the snapshotter's capabilities
// (for user-namespace remapping, which the kubelet does not use): two
// requests per container. With view, the snapshot is a read-only view.
func (r *Runtime) withNewSnapshot(id string, img Image, view bool) client.NewContainerOpts {
	return func(ctx context.Context, cl *client.Client, c *containers.Container) error {
		diffIDs, err := img.img.RootFS(ctx)
		if err != nil {
			return err
		}
		c.Snapshotter = defaults.DefaultSnapshotter
		sn := cl.SnapshotService(c.Snapshotter)
		parent := identity.ChainID(diffIDs).String()
		if view {
			_, err = sn.View(ctx, id, parent)
		} else {
			_, err = sn.Prepare(ctx, id, parent)
		}
		if err != nil {
			return err
		}
		c.SnapshotKey = id
		c.Image = img.img.Name()
		return nil
	}
}

// newFIFOs makes a container's stdout and stderr FIFO paths under its own
// directory, removed when the IO is closed.
func (r *Runtime) newFIFOs(id string, stdin, tty bool) (*cio.FIFOSet, error) {
	dir := r.fifoDir(id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	cfg := cio.Config{Stdout: filepath.Join(dir, "stdout"), Terminal: tty}
	if !tty {
		cfg.Stderr = filepath.Join(dir, "stderr")
	}
	if stdin {
		cfg.Stdin = filepath.Join(dir, "stdin")
	}
	return cio.NewFIFOSet(cfg, func() error { return os.RemoveAll(dir) }), nil
}

// Labels of containers with a stdin ("true", or "once" for stdinOnce) and
// a terminal ("true").
const (
	LabelStdin = "kstack.io/stdin"
	LabelTTY   = "kstack.io/tty"
)

// Stdin is the pipe to running container id's stdin (a container started
// with Stdin). Writers share it; closing it ends the container's input.
func (r *Runtime) Stdin(id string) (io.WriteCloser, error) {
	r.mu.Lock()
	dio := r.ios[id]
	r.mu.Unlock()
	if dio == nil || dio.Stdin == nil {
		return nil, fmt.Errorf("container %s has no stdin", id)
	}
	return dio.Stdin, nil
}

// CloseStdin ends running container id's input: the shim keeps its own
// writer of the stdin pipe (so a restarted kubelet does not end it), so
// the container sees EOF only when the shim closes it (CloseIO).
func (r *Runtime) CloseStdin(ctx context.Context, id string) error {
	c, err := r.client.LoadContainer(ctx, id)
	if err != nil {
		return fmt.Errorf("load container %s: %w", id, err)
	}
	task, err := c.Task(ctx, nil)
	if err != nil {
		return fmt.Errorf("task of %s: %w", id, err)
	}
	r.mu.Lock()
	dio := r.ios[id]
	r.mu.Unlock()
	if dio != nil && dio.Stdin != nil {
		_ = dio.Stdin.Close()
	}
	return task.CloseIO(ctx, client.WithStdinCloser)
}

// ResizeTTY sets the size of running container id's terminal.
func (r *Runtime) ResizeTTY(ctx context.Context, id string, sz TermSize) error {
	c, err := r.client.LoadContainer(ctx, id)
	if err != nil {
		return fmt.Errorf("load container %s: %w", id, err)
	}
	task, err := c.Task(ctx, nil)
	if err != nil {
		return fmt.Errorf("task of %s: %w", id, err)
	}
	return task.Resize(ctx, uint32(sz.Width), uint32(sz.Height))
}

// Reattach resumes copying a running container's output to its log, after
// a kubelet restart. A container already attached is left alone.
func (r *Runtime) Reattach(ctx context.Context, c Container) error {
	logPath := c.Labels[LabelLogPath]
	if logPath == "" || c.State != StateRunning {
		return nil
	}
	r.mu.Lock()
	_, ok := r.ios[c.ID]
	r.mu.Unlock()
	if ok {
		return nil
	}
	cont, err := r.client.LoadContainer(ctx, c.ID)
	if err != nil {
		return fmt.Errorf("load container %s: %w", c.ID, err)
	}
	_, err = cont.Task(ctx, func(fifos *cio.FIFOSet) (cio.IO, error) {
		return r.attachLog(c.ID, fifos, logPath)
	})
	if err != nil {
		return fmt.Errorf("reattach to container %s: %w", c.ID, err)
	}
	return nil
}

// LabelStopSignal is the signal Stop sends first (the image's StopSignal).
const LabelStopSignal = "kstack.io/stop-signal"

// ParseSignal parses "SIGQUIT", "QUIT" or "3"; an empty or unknown name
// is SIGTERM.
func ParseSignal(s string) syscall.Signal {
	if s == "" {
		return syscall.SIGTERM
	}
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n)
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig
	}
	return syscall.SIGTERM
}

// Stop signals the container's task with its stop signal (SIGTERM unless
// the image says otherwise), then SIGKILL after grace, and waits for it to
// exit. A missing or stopped task is not an error.
func (r *Runtime) Stop(ctx context.Context, id string, grace time.Duration) error {
	c, err := r.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load container %s: %w", id, err)
	}
	task, err := c.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("task of %s: %w", id, err)
	}
	exited, err := task.Wait(ctx)
	if err != nil {
		return fmt.Errorf("wait for %s: %w", id, err)
	}
	st, err := task.Status(ctx)
	if err != nil {
		return fmt.Errorf("status of %s: %w", id, err)
	}
	if st.Status == client.Stopped {
		return nil
	}
	if st.Status == client.Created {
		// Never started: nothing to stop gracefully.
		grace = 0
	}
	if grace > 0 {
		sig := syscall.SIGTERM
		if labels, err := c.Labels(ctx); err == nil {
			sig = ParseSignal(labels[LabelStopSignal])
		}
		if err := task.Kill(ctx, sig); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("%s %s: %w", unix.SignalName(sig), id, err)
		}
		timer := time.NewTimer(grace)
		defer timer.Stop()
		select {
		case <-exited:
			return nil
		case <-timer.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := task.Kill(ctx, syscall.SIGKILL, client.WithKillAll); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("SIGKILL %s: %w", id, err)
	}
	select {
	case <-exited:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("container %s did not exit 10s after SIGKILL", id)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Remove kills the container's task if needed, deletes it, the container
// and its snapshot, and closes its log. A missing container is not an error.
func (r *Runtime) Remove(ctx context.Context, id string) error {
	defer r.closeIO(id)
	c, err := r.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load container %s: %w", id, err)
	}
	if task, err := c.Task(ctx, nil); err == nil {
		if err := r.Stop(ctx, id, 0); err != nil {
			return err
		}
		if _, err := task.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("delete task %s: %w", id, err)
		}
	} else if !errdefs.IsNotFound(err) {
		return fmt.Errorf("task of %s: %w", id, err)
	}
	// A sandbox's /dev/shm tmpfs, once nothing runs on it and before the
	// container (and so the label that finds it) goes.
	if info, err := c.Info(ctx, client.WithoutRefreshedMetadata); err == nil {
		if p := info.Labels[LabelShm]; info.Labels[LabelKind] == KindSandbox && isPodShm(p, id) {
			if err := unmountShm(p); err != nil {
				return fmt.Errorf("sandbox %s: %w", id, err)
			}
		}
	}
	if err := c.Delete(ctx, client.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete container %s: %w", id, err)
	}
	return nil
}

func (r *Runtime) closeIO(id string) {
	r.mu.Lock()
	dio := r.ios[id]
	delete(r.ios, id)
	r.mu.Unlock()
	if dio != nil {
		_ = dio.Close()
	}
	_ = os.RemoveAll(r.fifoDir(id))
}

// ProcessArgs is the container's argv from the image's entrypoint and cmd
// and the pod's command and args, as upstream: command replaces the
// entrypoint and drops the image's cmd; args replace cmd.
func ProcessArgs(entrypoint, cmd, command, args []string) []string {
	var out []string
	switch {
	case len(command) > 0:
		out = append(out, command...)
		out = append(out, args...)
	case len(args) > 0:
		out = append(out, entrypoint...)
		out = append(out, args...)
	default:
		out = append(out, entrypoint...)
		out = append(out, cmd...)
	}
	return out
}

func copyLabels(in map[string]string) map[string]string {
	out := make(map[string]string, len(in)+4)
	for k, v := range in {
		out[k] = v
	}
	return out
}

// LabelOOMKilled is set to "true" on a container whose task the kernel's
// OOM killer ended (its memory cgroup counted an oom_kill).
const LabelOOMKilled = "kstack.io/oom-killed"

// RecordOOM checks whether exited container c was OOM-killed, from its
// memory cgroup's oom_kill counter (cgroup v1 memory.oom_control, v2
// memory.events), which lives until the task is deleted; the answer is
// kept as a label (and set in c.Labels) so it survives the cgroup.
func (r *Runtime) RecordOOM(ctx context.Context, c *Container) error {
	if c.State != StateExited || c.Labels[LabelOOMKilled] != "" {
		return nil
	}
	cont, err := r.client.LoadContainer(ctx, c.ID)
	if err != nil {
		return fmt.Errorf("load container %s: %w", c.ID, err)
	}
	spec, err := cont.Spec(ctx)
	if err != nil {
		return fmt.Errorf("spec of %s: %w", c.ID, err)
	}
	oom := false
	if spec.Linux != nil && spec.Linux.CgroupsPath != "" {
		p := spec.Linux.CgroupsPath
		for _, f := range []string{
			filepath.Join("/sys/fs/cgroup/memory", p, "memory.oom_control"),
			filepath.Join("/sys/fs/cgroup", p, "memory.events"),
			filepath.Join("/sys/fs/cgroup/unified", p, "memory.events"),
		} {
			if n, ok := oomKills(f); ok {
				oom = n > 0
				break
			}
		}
	}
	v := strconv.FormatBool(oom)
	if _, err := cont.SetLabels(ctx, map[string]string{LabelOOMKilled: v}); err != nil {
		return fmt.Errorf("label %s: %w", c.ID, err)
	}
	if c.Labels == nil {
		c.Labels = map[string]string{}
	}
	c.Labels[LabelOOMKilled] = v
	return nil
}

// oomKills reads the oom_kill counter of a cgroup file.
func oomKills(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n, true
		}
	}
	return 0, false
}
