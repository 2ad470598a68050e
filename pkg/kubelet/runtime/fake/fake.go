// Package fake is the container runtime and pod network of a hollow
// kubelet (--runtime=fake): everything above them (node registration,
// lease, status, pod workers, probes) is the real kubelet, but containers
// are entries in a map. A container runs as soon as it is started and
// never exits on its own; a stop or removal takes effect at once; pod IPs
// are handed out from the node's podCIDR. Nothing touches the host, so a
// hollow kubelet needs no root, and one process can run many of them.
package fake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/kstack/kstack/pkg/kubelet/network"
	"github.com/kstack/kstack/pkg/kubelet/runtime"
)

// Version is the runtime version a hollow node reports.
const Version = "1.6.20-fake"

// Runtime keeps one node's fake containers in memory. It implements what
// the kubelet asks of package runtime: containers, images, exec (exit code
// 0 unless SetExec scripts it, so exec probes pass) and the node-level
// calls.
type Runtime struct {
	mu         sync.Mutex
	seq        int64
	containers map[string]*entry
	images     map[string]struct{}
	exec       ExecFunc
}

type entry struct {
	seq int64
	c   runtime.Container
}

// NewRuntime returns an empty fake runtime.
func NewRuntime() *Runtime {
	return &Runtime{containers: map[string]*entry{}, images: map[string]struct{}{}}
}

// List returns the containers, of one pod when podUID is set, oldest
// first. The labels of the returned containers are shared: callers must
// not change them.
func (r *Runtime) List(_ context.Context, podUID string) ([]runtime.Container, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	es := make([]*entry, 0, 4)
	for _, e := range r.containers {
		if podUID == "" || e.c.Labels[runtime.LabelPodUID] == podUID {
			es = append(es, e)
		}
	}
	sort.Slice(es, func(i, j int) bool { return es[i].seq < es[j].seq })
	out := make([]runtime.Container, len(es))
	for i, e := range es {
		out[i] = e.c
	}
	return out, nil
}

// RunSandbox records a running sandbox.
func (r *Runtime) RunSandbox(_ context.Context, cfg runtime.SandboxConfig) (runtime.Container, error) {
	id := cfg.ID
	if id == "" {
		id = runtime.NewID()
	}
	labels := copyLabels(cfg.Labels, 3)
	labels[runtime.LabelKind] = runtime.KindSandbox
	labels[runtime.LabelNetNS] = cfg.NetNSPath
	labels[runtime.LabelImageID] = imageID(cfg.Image)
	return r.add(id, cfg.Image, labels), nil
}

// StartContainer records a running app or init container.
func (r *Runtime) StartContainer(_ context.Context, cfg runtime.ContainerConfig) (runtime.Container, error) {
	if cfg.Sandbox.State != runtime.StateRunning {
		return runtime.Container{}, errors.New("sandbox is not running")
	}
	labels := copyLabels(cfg.Labels, 4)
	labels[runtime.LabelKind] = runtime.KindContainer
	labels[runtime.LabelSandboxID] = cfg.Sandbox.ID
	labels[runtime.LabelImageID] = cfg.Image.ID
	if cfg.LogPath != "" {
		labels[runtime.LabelLogPath] = cfg.LogPath
	}
	return r.add(runtime.NewID(), cfg.Image.Ref, labels), nil
}

func (r *Runtime) add(id, image string, labels map[string]string) runtime.Container {
	now := time.Now()
	labels[runtime.LabelStartedAt] = now.UTC().Format(time.RFC3339Nano)
	c := runtime.Container{ID: id, Labels: labels, Image: image, CreatedAt: now, StartedAt: now, State: runtime.StateRunning, Pid: 1}
	r.mu.Lock()
	r.seq++
	r.containers[id] = &entry{seq: r.seq, c: c}
	r.mu.Unlock()
	return c
}

// Stop marks a running container exited: 143 (SIGTERM) with a grace
// period, 137 (SIGKILL) without. A missing or stopped one is no error.
func (r *Runtime) Stop(_ context.Context, id string, grace time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.containers[id]
	if e == nil || e.c.State == runtime.StateExited {
		return nil
	}
	e.c.State = runtime.StateExited
	e.c.FinishedAt = time.Now()
	e.c.Pid = 0
	e.c.ExitCode = 137
	if grace > 0 {
		e.c.ExitCode = 143
	}
	return nil
}

// Remove forgets a container; a missing one is no error.
func (r *Runtime) Remove(_ context.Context, id string) error {
	r.mu.Lock()
	delete(r.containers, id)
	r.mu.Unlock()
	return nil
}

// EnsureImage says every image is present (pull policy Never included).
func (r *Runtime) EnsureImage(_ context.Context, image string, _, _ bool) (runtime.Image, error) {
	ref, err := runtime.NormalizeImage(image)
	if err != nil {
		return runtime.Image{}, fmt.Errorf("%w: %w", runtime.ErrImagePull, err)
	}
	r.mu.Lock()
	r.images[ref] = struct{}{}
	r.mu.Unlock()
	return runtime.Image{Ref: ref, ID: imageID(ref)}, nil
}

// ExecFunc answers a fake exec of cmd in container id: exit code, output
// (stdout then stderr) and error, as runtime.Runtime.Exec.
type ExecFunc func(id string, cmd []string, timeout time.Duration) (int, []byte, error)

// SetExec makes fn answer Exec from now on; nil restores the default
// (exit code 0, no output).
func (r *Runtime) SetExec(fn ExecFunc) {
	r.mu.Lock()
	r.exec = fn
	r.mu.Unlock()
}

// Exec succeeds at once with exit code 0 and no output, unless SetExec
// scripted it; output is cut to runtime.MaxExecOutput as the real
// runtime's.
func (r *Runtime) Exec(_ context.Context, id string, cmd []string, timeout time.Duration) (int, []byte, error) {
	r.mu.Lock()
	fn := r.exec
	r.mu.Unlock()
	if fn == nil {
		return 0, nil, nil
	}
	code, out, err := fn(id, cmd, timeout)
	return code, out[:min(len(out), runtime.MaxExecOutput)], err
}

// Version is the fake runtime's version.
func (r *Runtime) Version(context.Context) (string, error) { return Version, nil }

// ListImages lists the images containers used, 1 MiB each.
func (r *Runtime) ListImages(context.Context) ([]runtime.ImageInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]runtime.ImageInfo, 0, len(r.images))
	for ref := range r.images {
		out = append(out, runtime.ImageInfo{Names: []string{ref}, Size: 1 << 20})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Names[0] < out[j].Names[0] })
	return out, nil
}

// WatchExits returns at once: fake containers never exit on their own.
func (r *Runtime) WatchExits(context.Context, func(string)) {}

// Reattach has no output to reattach.
func (r *Runtime) Reattach(context.Context, runtime.Container) error { return nil }

// Close does nothing.
func (r *Runtime) Close() error { return nil }

func imageID(ref string) string {
	sum := sha256.Sum256([]byte(ref))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func copyLabels(in map[string]string, extra int) map[string]string {
	out := make(map[string]string, len(in)+extra+1)
	for k, v := range in {
		out[k] = v
	}
	return out
}

// Network hands out pod IPs from the node's podCIDR, as host-local does
// (the network address, the gateway .1 and the IPv4 broadcast address are
// never handed out), without touching the host.
type Network struct {
	mu     sync.Mutex
	prefix netip.Prefix
	next   netip.Addr
	used   map[netip.Addr]string // IP -> sandbox ID
	bySB   map[string]netip.Addr
}

// NewNetwork returns a Network that is not ready until SetPodCIDR.
func NewNetwork() *Network {
	return &Network{used: map[netip.Addr]string{}, bySB: map[string]netip.Addr{}}
}

// SetPodCIDR sets the range IPs come from; the IPs already handed out
// stay.
func (n *Network) SetPodCIDR(podCIDR string) error {
	p, err := netip.ParsePrefix(podCIDR)
	if err != nil {
		return fmt.Errorf("podCIDR %q: %w", podCIDR, err)
	}
	if p.Masked() != p {
		return fmt.Errorf("podCIDR %q is not a network address (want %s)", podCIDR, p.Masked())
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.prefix != p {
		n.prefix, n.next = p, first(p)
	}
	return nil
}

func first(p netip.Prefix) netip.Addr { return p.Addr().Next().Next() }

// Status is nil once the podCIDR is known.
func (n *Network) Status() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.prefix.IsValid() {
		return errors.New("network plugin not ready: the node has no podCIDR yet")
	}
	return nil
}

// SetUp allocates the next free IP of the podCIDR for the sandbox (the
// same one again for a sandbox that has one).
func (n *Network) SetUp(_ context.Context, sandboxID, _ string, pod network.PodRef) (net.IP, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.prefix.IsValid() {
		return nil, errors.New("network plugin not ready: the node has no podCIDR yet")
	}
	if ip, ok := n.bySB[sandboxID]; ok {
		return net.IP(ip.AsSlice()), nil
	}
	start := n.next
	for {
		ip := n.next
		n.next = n.next.Next()
		if !n.prefix.Contains(n.next) || (n.next.Is4() && !n.prefix.Contains(n.next.Next())) {
			n.next = first(n.prefix) // wrap, skipping the broadcast address
		}
		if _, taken := n.used[ip]; !taken && n.prefix.Contains(ip) {
			n.used[ip] = sandboxID
			n.bySB[sandboxID] = ip
			return net.IP(ip.AsSlice()), nil
		}
		if n.next == start {
			return nil, fmt.Errorf("no IP addresses available in range set %s for pod %s/%s", n.prefix, pod.Namespace, pod.Name)
		}
	}
}

// TearDown releases the sandbox's IP; an unknown sandbox is no error.
func (n *Network) TearDown(_ context.Context, sandboxID, _ string, _ network.PodRef) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if ip, ok := n.bySB[sandboxID]; ok {
		delete(n.used, ip)
		delete(n.bySB, sandboxID)
	}
	return nil
}

// NetNSPath is a name, not a path: fake pods have no network namespace.
func (n *Network) NetNSPath(id string) string { return "fake-netns/" + id }

// CreateNetNS does nothing.
func (n *Network) CreateNetNS(string) error { return nil }

// RemoveNetNS does nothing.
func (n *Network) RemoveNetNS(string) error { return nil }
