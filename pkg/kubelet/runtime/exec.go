package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TermSize is a terminal's size in characters.
type TermSize struct {
	Width, Height uint16
}

// ExecIO are the streams of an interactive exec (kubectl exec). Nil
// streams are not connected. With TTY, stderr is merged into stdout.
type ExecIO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	TTY            bool
	// Resize carries terminal size changes (TTY only); may be nil.
	Resize <-chan TermSize
}

// execTarget is the running task of container id and the process spec of
// cmd in it: the container's process settings (user, env, cwd) with cmd's
// arguments and tty. The container's record is read once (the client's
// LoadContainer then Spec would read it twice).
func (r *Runtime) execTarget(ctx context.Context, id string, cmd []string, tty bool) (client.Task, specs.Process, error) {
	c, err := r.client.LoadContainer(ctx, id)
	if err != nil {
		return nil, specs.Process{}, fmt.Errorf("load container %s: %w", id, err)
	}
	info, err := c.Info(ctx, client.WithoutRefreshedMetadata)
	if err != nil {
		return nil, specs.Process{}, fmt.Errorf("container %s: %w", id, err)
	}
	var spec oci.Spec
	if info.Spec == nil || json.Unmarshal(info.Spec.GetValue(), &spec) != nil || spec.Process == nil {
		return nil, specs.Process{}, fmt.Errorf("container %s has no process spec", id)
	}
	task, err := c.Task(ctx, nil)
	if err != nil {
		return nil, specs.Process{}, fmt.Errorf("container %s is not running: %w", id, err)
	}
	p := *spec.Process
	p.Args, p.Terminal = cmd, tty
	return task, p, nil
}

// ExecStream runs cmd in the running container id with the container's
// process settings (user, env, cwd) and streams, and returns its exit
// code once it exited and its output was delivered. When ctx ends the
// process is killed.
func (r *Runtime) ExecStream(ctx context.Context, id string, cmd []string, streams ExecIO) (int, error) {
	task, pspec, err := r.execTarget(ctx, id, cmd, streams.TTY)
	if err != nil {
		return 0, err
	}
	if streams.TTY {
		pspec.Env = append(append([]string(nil), pspec.Env...), "TERM=xterm")
	}
	var first *TermSize
	if streams.TTY && streams.Resize != nil {
		// kubectl sends the terminal's size right after the streams are
		// up: wait a moment for it so the process starts with it
		// (runc applies process.consoleSize before exec) instead of
		// racing a resize against the command's first ioctl.
		select {
		case sz, ok := <-streams.Resize:
			if ok {
				first = &sz
				pspec.ConsoleSize = &specs.Box{Height: uint(sz.Height), Width: uint(sz.Width)}
			}
		case <-time.After(time.Second):
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	execID := "exec-" + NewID()[:16]
	fifoDir := filepath.Join(r.stateDir, "exec")
	if err := os.MkdirAll(fifoDir, 0o700); err != nil {
		return 0, err
	}
	var proc client.Process
	var stdin io.Reader
	if streams.Stdin != nil {
		// At the end of the client's stdin, close the process's stdin.
		stdin = &eofCloser{r: streams.Stdin, onEOF: func() {
			if proc != nil {
				cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				_ = proc.CloseIO(cctx, client.WithStdinCloser)
			}
		}}
	}
	stdout, stderr := streams.Stdout, streams.Stderr
	opts := []cio.Opt{cio.WithFIFODir(fifoDir), cio.WithStreams(stdin, stdout, stderr)}
	if streams.TTY {
		opts = append(opts, cio.WithTerminal)
	}
	ready := make(chan struct{})
	if ec, ok := stdin.(*eofCloser); ok {
		ec.ready = ready
	}
	proc, err = task.Exec(ctx, execID, &pspec, cio.NewCreator(opts...))
	close(ready)
	if err != nil {
		return 0, fmt.Errorf("exec in %s: %w", id, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = proc.Delete(dctx, client.WithProcessKill)
	}()
	exited, err := proc.Wait(ctx)
	if err != nil {
		return 0, fmt.Errorf("wait for exec in %s: %w", id, err)
	}
	if err := proc.Start(ctx); err != nil {
		return 0, fmt.Errorf("start exec in %s: %w", id, err)
	}
	if first != nil {
		resize(ctx, proc, *first)
	}
	if streams.TTY && streams.Resize != nil {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case sz, ok := <-streams.Resize:
					if !ok {
						return
					}
					resize(ctx, proc, sz)
				}
			}
		}()
	}
	select {
	case st := <-exited:
		code, _, err := st.Result()
		// Deliver the output still in the pipes.
		if pio := proc.IO(); pio != nil {
			done := make(chan struct{})
			go func() { pio.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				pio.Cancel()
			}
		}
		return int(code), err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// eofCloser calls onEOF once when r ends.
type eofCloser struct {
	r     io.Reader
	onEOF func()
	ready chan struct{} // closed once the process exists
	done  bool
}

func (e *eofCloser) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && !e.done {
		e.done = true
		if e.ready != nil {
			<-e.ready
		}
		// Let the FIFO copy finish before the shim closes stdin.
		go func() {
			time.Sleep(50 * time.Millisecond)
			e.onEOF()
		}()
	}
	if errors.Is(err, io.EOF) || err != nil {
		return n, io.EOF
	}
	return n, nil
}

// DialInNetNS connects to 127.0.0.1:port inside the network namespace at
// netnsPath (a pod's; empty: the node's own), as the kubelet's
// port-forward does.
func DialInNetNS(ctx context.Context, netnsPath string, port int) (net.Conn, error) {
	if netnsPath == "" { // a hostNetwork pod: the node's namespace
		var d net.Dialer
		return d.DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", port))
	}
	type result struct {
		conn net.Conn
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		goruntime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			goruntime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("current netns: %w", err)}
			return
		}
		defer orig.Close()
		target, err := os.Open(netnsPath)
		if err != nil {
			goruntime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("pod netns: %w", err)}
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			goruntime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("enter pod netns: %w", err)}
			return
		}
		var d net.Dialer
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		conn, err := d.DialContext(dctx, "tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		cancel()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err == nil {
			goruntime.UnlockOSThread()
		} // else: the thread stays locked and dies with this goroutine
		ch <- result{conn, err}
	}()
	res := <-ch
	return res.conn, res.err
}

// resize sets an exec's terminal size. Right after Start the shim may not
// have the process's console yet (the client's first size usually comes
// that early), so a failure is retried for a short while.
func resize(ctx context.Context, proc client.Process, sz TermSize) {
	for range 40 {
		if proc.Resize(ctx, uint32(sz.Width), uint32(sz.Height)) == nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// MaxExecOutput bounds the output Exec returns: 10 KiB, upstream's exec
// prober's maxReadLength.
const MaxExecOutput = 10 << 10

// ErrExecTimedOut is wrapped by Exec's error when the command outlived its
// timeout (see ExecTimeoutError).
var ErrExecTimedOut = errors.New("command timed out")

// ExecTimeoutError is Exec's error for cmd killed after timeout, worded as
// upstream's CRI client's: `command timed out: "sleep 10" timed out after
// 1s`.
func ExecTimeoutError(cmd []string, timeout time.Duration) error {
	return fmt.Errorf("%w: %q timed out after %s", ErrExecTimedOut, strings.Join(cmd, " "), timeout)
}

// Exec runs cmd in the running container id (its process settings,
// without a terminal or stdin) and returns its exit code and output: its
// stdout followed by its stderr, as upstream's runtime hands exec probes
// their output, cut to MaxExecOutput bytes. When timeout (if positive)
// passes first the process is killed and the error wraps ErrExecTimedOut.
// Output a background child still writes after the command exited is read
// until the timeout at most. Other errors mean the command did not run or
// its end could not be seen.
func (r *Runtime) Exec(ctx context.Context, id string, cmd []string, timeout time.Duration) (int, []byte, error) {
	var deadline <-chan time.Time
	if timeout > 0 {
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		deadline = timer.C
	}
	task, pspec, err := r.execTarget(ctx, id, cmd, false)
	if err != nil {
		return 0, nil, err
	}
	fifoDir := filepath.Join(r.stateDir, "exec")
	if err := os.MkdirAll(fifoDir, 0o700); err != nil {
		return 0, nil, err
	}
	stdout, stderr := &boundedBuffer{max: MaxExecOutput}, &boundedBuffer{max: MaxExecOutput}
	proc, err := task.Exec(ctx, "exec-"+NewID()[:16], &pspec,
		cio.NewCreator(cio.WithFIFODir(fifoDir), cio.WithStreams(nil, stdout, stderr)))
	if err != nil {
		return 0, nil, fmt.Errorf("exec in %s: %w", id, err)
	}
	defer func() {
		// Delete also ends the output copy and removes the FIFOs.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = proc.Delete(dctx, client.WithProcessKill)
	}()
	exited, err := proc.Wait(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("wait for exec in %s: %w", id, err)
	}
	if err := proc.Start(ctx); err != nil {
		return 0, nil, fmt.Errorf("start exec in %s: %w", id, err)
	}
	select {
	case st := <-exited:
		code, _, err := st.Result()
		if err != nil {
			return 0, nil, fmt.Errorf("wait for exec in %s: %w", id, err)
		}
		// Take the output still in the pipes, but not past the timeout: a
		// background child may hold them open.
		if pio := proc.IO(); pio != nil {
			drained := make(chan struct{})
			go func() { pio.Wait(); close(drained) }() // ends by the deferred Delete at the latest
			select {
			case <-drained:
			case <-deadline:
			case <-ctx.Done():
			}
		}
		out := append(stdout.Bytes(), stderr.Bytes()...)
		return int(code), out[:min(len(out), MaxExecOutput)], nil
	case <-deadline:
		return 0, nil, ExecTimeoutError(cmd, timeout)
	case <-ctx.Done():
		return 0, nil, ctx.Err()
	}
}

// boundedBuffer keeps the first max bytes written to it and drops the rest
// without failing, so a chatty command never blocks on its pipe. It is
// safe for concurrent use.
type boundedBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// Bytes is a copy of what was kept.
func (b *boundedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf)
}
