// Package runtime runs a kubelet's pod sandboxes and containers on
// containerd through its Go client.
//
// A pod is a sandbox container running the pause image, which owns the
// pod's IPC and UTS namespaces and sits in the network namespace the kubelet
// created (and CNI configured) at /run/netns/<id>; every app container joins
// those three namespaces. Each container carries labels (pod UID, name and
// namespace, container name, restart count) so a restarted kubelet finds and
// adopts what runs. stdout and stderr reach the kubelet through FIFOs and are
// written as CRI-format log files.
//
// Only the kubelet's own containerd namespace is touched: runc's state is
// host-global per namespace, so two kubelets on one machine must use two
// namespaces.
package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	tasks "github.com/containerd/containerd/api/services/tasks/v1"
	tasktypes "github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Labels every kstack container carries.
const (
	LabelPodUID        = "io.kubernetes.pod.uid"
	LabelPodName       = "io.kubernetes.pod.name"
	LabelPodNamespace  = "io.kubernetes.pod.namespace"
	LabelContainerName = "io.kubernetes.container.name"
	LabelRestartCount  = "io.kubernetes.container.restartCount"
	// LabelKind is KindSandbox or KindContainer.
	LabelKind = "kstack.io/kind"
	// LabelAttempt counts a pod's sandboxes (0 for the first).
	LabelAttempt = "kstack.io/sandbox-attempt"
	// LabelNetNS is a sandbox's network namespace path.
	LabelNetNS = "kstack.io/netns"
	// LabelPodIP is a sandbox's pod IP from CNI.
	LabelPodIP = "kstack.io/pod-ip"
	// LabelSandboxID ties an app container to its sandbox.
	LabelSandboxID = "kstack.io/sandbox-id"
	// LabelLogPath is where the container's CRI-format log goes.
	LabelLogPath = "kstack.io/log-path"
	// LabelImageID is the image's manifest digest.
	LabelImageID = "kstack.io/image-id"
	// LabelStartedAt is set (RFC3339Nano) once the task started.
	LabelStartedAt = "kstack.io/started-at"
	// LabelSpecHash lets the kubelet notice a changed container spec.
	LabelSpecHash = "kstack.io/spec-hash"

	KindSandbox   = "sandbox"
	KindContainer = "container"
)

// State is a container's lifecycle state as the kubelet sees it.
type State string

// Container states.
const (
	StateCreated State = "created" // no task, or a task never started
	StateRunning State = "running"
	StateExited  State = "exited"
	StateUnknown State = "unknown"
)

// Container is one containerd container with its task's state.
type Container struct {
	ID         string
	Labels     map[string]string
	Image      string
	CreatedAt  time.Time
	StartedAt  time.Time // zero when never started
	FinishedAt time.Time // zero unless exited
	State      State
	ExitCode   int
	Pid        uint32
}

// RestartCount is the container's restart count label.
func (c Container) RestartCount() int {
	n, _ := strconv.Atoi(c.Labels[LabelRestartCount])
	return n
}

// Runtime is a containerd client bound to one namespace.
type Runtime struct {
	client    *client.Client
	namespace string
	stateDir  string

	mu  sync.Mutex
	ios map[string]*cio.DirectIO // container ID -> attached stdio
	// logs are the CRI log writers of attached containers and the
	// rotation settings (logs.go).
	logs logState
	// images caches image metadata by image digest (image.go).
	images map[digest.Digest]*imageMeta
	// usersDir holds copies of images' user files (imageusers.go).
	usersDir string
}

// New connects to containerd at address (a unix socket path) and works in
// namespace; stateDir holds the FIFOs and the pods' /dev/shm mount points
// (it must survive a kubelet restart, not a reboot: a tmpfs such as
// /run/kstack/kubelet, as containerd's CRI plugin keeps them under
// /run/containerd). opts are more client options (tests add gRPC
// interceptors).
func New(ctx context.Context, address, namespace, stateDir string, opts ...client.Opt) (*Runtime, error) {
	if namespace == "" {
		return nil, errors.New("a containerd namespace is required")
	}
	opts = append([]client.Opt{client.WithDefaultNamespace(namespace), client.WithTimeout(10 * time.Second)}, opts...)
	c, err := client.New(address, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to containerd at %s: %w", address, err)
	}
	r := &Runtime{client: c, namespace: namespace, stateDir: stateDir, ios: map[string]*cio.DirectIO{}}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		c.Close()
		return nil, fmt.Errorf("runtime state dir: %w", err)
	}
	removeStaleUsersDirs(stateDir)
	return r, nil
}

// Close closes the connection (running containers keep running).
func (r *Runtime) Close() error {
	r.mu.Lock()
	if r.usersDir != "" {
		_ = os.RemoveAll(r.usersDir)
		r.usersDir = ""
	}
	r.mu.Unlock()
	return r.client.Close()
}

// Namespace is the containerd namespace the runtime works in.
func (r *Runtime) Namespace() string { return r.namespace }

// Version is containerd's version, e.g. "1.6.20".
func (r *Runtime) Version(ctx context.Context) (string, error) {
	v, err := r.client.Version(ctx)
	if err != nil {
		return "", fmt.Errorf("containerd version: %w", err)
	}
	return v.Version, nil
}

// List returns the kstack containers (sandboxes and app containers), of
// one pod when podUID is set, oldest first.
func (r *Runtime) List(ctx context.Context, podUID string) ([]Container, error) {
	filter := fmt.Sprintf("labels.%q", LabelKind)
	if podUID != "" {
		filter = fmt.Sprintf("labels.%q==%q", LabelPodUID, podUID)
	}
	cs, err := r.client.Containers(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var out []Container
	for _, c := range cs {
		// The list already carries each container's metadata: reading it
		// again (Info's default) would cost a request per container.
		info, err := c.Info(ctx, client.WithoutRefreshedMetadata)
		if err != nil {
			return nil, fmt.Errorf("container %s: %w", c.ID(), err)
		}
		if info.Labels[LabelKind] == "" {
			continue
		}
		ct := Container{ID: c.ID(), Labels: info.Labels, Image: info.Image, CreatedAt: info.CreatedAt, State: StateCreated}
		if s := info.Labels[LabelStartedAt]; s != "" {
			ct.StartedAt, _ = time.Parse(time.RFC3339Nano, s)
		}
		if err := r.taskState(ctx, &ct); err != nil {
			// Not "unknown": a sync would replace a container that may
			// well be running because containerd did not answer once.
			return nil, fmt.Errorf("task of container %s: %w", c.ID(), err)
		}
		out = append(out, ct)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

// fifoDir is where a container's stdio FIFOs live.
func (r *Runtime) fifoDir(id string) string { return filepath.Join(r.stateDir, id) }

// taskState fills c's state, pid and exit from its task with one request
// (the client's Task then Status would be two). A failed request is an
// error; a task containerd reports without a process is StateUnknown.
func (r *Runtime) taskState(ctx context.Context, c *Container) error {
	resp, err := r.client.TaskService().Get(ctx, &tasks.GetRequest{ContainerID: c.ID})
	switch {
	case status.Code(err) == codes.NotFound || errdefs.IsNotFound(err):
		return nil // no task: created, never started (or its task deleted)
	case err != nil:
		return err
	case resp.Process == nil:
		c.State = StateUnknown
		return nil
	}
	p := resp.Process
	c.Pid = p.Pid
	switch p.Status {
	case tasktypes.Status_RUNNING, tasktypes.Status_PAUSED, tasktypes.Status_PAUSING:
		c.State = StateRunning
	case tasktypes.Status_STOPPED:
		c.State = StateExited
		c.ExitCode = int(p.ExitStatus)
		if p.ExitedAt != nil {
			c.FinishedAt = p.ExitedAt.AsTime()
		}
	case tasktypes.Status_CREATED:
		c.State = StateCreated
	default:
		c.State = StateUnknown
	}
	return nil
}
