//go:build e2e

package runtime

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/containerd/containerd/v2/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// failOnce fails the next containerd request of one method once armed, as
// a containerd that did not answer.
type failOnce struct {
	method string

	mu    sync.Mutex
	armed bool
}

func (f *failOnce) arm() {
	f.mu.Lock()
	f.armed = true
	f.mu.Unlock()
}

func (f *failOnce) dialOpts() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		f.mu.Lock()
		fail := f.armed && method == f.method
		if fail {
			f.armed = false
		}
		f.mu.Unlock()
		if fail {
			return status.Error(codes.Unavailable, "injected: containerd did not answer")
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	})}
}

// cancelAfter cancels a context once a containerd request of one method
// has returned: a caller that goes away at that exact point of a start.
type cancelAfter struct {
	method string

	mu     sync.Mutex
	cancel context.CancelFunc
}

func (c *cancelAfter) arm(cancel context.CancelFunc) {
	c.mu.Lock()
	c.cancel = cancel
	c.mu.Unlock()
}

func (c *cancelAfter) dialOpts() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if method == c.method {
			c.mu.Lock()
			if c.cancel != nil {
				c.cancel()
				c.cancel = nil
			}
			c.mu.Unlock()
		}
		return err
	})}
}

// A kubelet stopping while it starts a container (its context cancelled
// right after the task started, before the start time is recorded) leaves
// the container running and listed as such, for the next kubelet to adopt:
// a rolled-back start killed a container that had been seen running.
func TestStartContainer_CancelledAfterTheTaskStartedKeepsItRunning(t *testing.T) {
	images := requireRuntimeE2E(t)
	dir, sock, ns := testContainerd(t, "ksrt")

	ctx := context.Background()
	hook := &cancelAfter{method: "/containerd.services.tasks.v1.Tasks/Start"}
	failGet := &failOnce{method: "/containerd.services.tasks.v1.Tasks/Get"}
	r, err := New(ctx, sock, ns, filepath.Join(dir, "fifo"), client.WithExtraDialOpts(append(hook.dialOpts(), failGet.dialOpts()...)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	importTestImages(t, r, images)
	t.Cleanup(func() {
		cs, _ := r.List(ctx, "")
		for i := len(cs) - 1; i >= 0; i-- {
			if err := r.Remove(ctx, cs[i].ID); err != nil {
				t.Errorf("remove %s: %v", cs[i].ID, err)
			}
		}
	})
	pause, err := r.EnsureImage(ctx, "kstack.local/pause:1.0", false, true)
	if err != nil {
		t.Fatal(err)
	}
	busybox, err := r.EnsureImage(ctx, "kstack.local/busybox:1.0", false, true)
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{LabelPodUID: "uid-1", LabelPodName: "p", LabelPodNamespace: "default"}

	for _, tc := range []struct {
		name  string
		start func(t *testing.T, ctx context.Context) (Container, error)
	}{
		{"sandbox", func(_ *testing.T, ctx context.Context) (Container, error) {
			return r.RunSandbox(ctx, SandboxConfig{Labels: labels, Image: pause.Ref, Hostname: "p"})
		}},
		{"app container", func(t *testing.T, ctx context.Context) (Container, error) {
			sbs, err := r.List(context.Background(), "uid-1")
			if err != nil || len(sbs) == 0 {
				t.Fatalf("the sandbox: %v, %v", sbs, err)
			}
			return r.StartContainer(ctx, ContainerConfig{Labels: labels, Image: busybox, Sandbox: sbs[0],
				Command: []string{"sleep", "3600"}, LogPath: filepath.Join(dir, "logs", "c", "0.log")})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			hook.arm(cancel)
			c, err := tc.start(t, cctx)
			if cctx.Err() == nil {
				t.Fatal("the caller's context was not cancelled when the task started: the test did not test")
			}
			if err != nil {
				t.Fatalf("start with the caller gone after the task started: %v", err)
			}
			cs, err := r.List(ctx, "uid-1")
			if err != nil {
				t.Fatal(err)
			}
			for _, got := range cs {
				if got.ID != c.ID {
					continue
				}
				if got.State != StateRunning || got.StartedAt.IsZero() {
					t.Errorf("%s listed %s, started at %v; want running with its start time", tc.name, got.State, got.StartedAt)
				}
				return
			}
			t.Errorf("%s %s is gone after its start was cancelled; containers: %+v", tc.name, c.ID, cs)
		})
	}

	// A task lookup that fails is an error of the list, not a container in
	// an unknown state (which a sync replaces, killing it).
	failGet.arm()
	if cs, err := r.List(ctx, "uid-1"); err == nil {
		t.Errorf("List with a failed task lookup = %+v, want an error", cs)
	}
	cs, err := r.List(ctx, "uid-1")
	if err != nil || len(cs) != 2 {
		t.Fatalf("List after the failure = %+v, %v; want the two containers", cs, err)
	}
	for _, c := range cs {
		if c.State != StateRunning {
			t.Errorf("container %s is %s after a failed lookup, want running", c.ID, c.State)
		}
	}
}
