// Package containerdtest runs a private containerd for a test: its own
// root, state and socket under a directory of the test's, the CRI plugin
// off, stopped (and its snapshot mounts removed) when the test ends. The
// node e2e harness and the kubelet runtime's e2e tests share it.
package containerdtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Process is a test's private containerd.
type Process struct {
	// Sock is its gRPC socket (the ttrpc socket is Sock + ".ttrpc").
	Sock string

	t    testing.TB
	dir  string
	logf *os.File
	cmd  *exec.Cmd // nil while stopped
}

// Start runs a containerd with its root, state, config and log under dir
// and waits for its socket; t.Cleanup stops it and unmounts what is left
// mounted under its root.
func Start(t testing.TB, dir string) *Process {
	t.Helper()
	p := &Process{t: t, dir: dir, Sock: filepath.Join(dir, "ctrd.sock")}
	conf := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = %q
[ttrpc]
  address = %q
`, filepath.Join(dir, "ctrd-root"), filepath.Join(dir, "ctrd-state"), p.Sock, p.Sock+".ttrpc")
	if err := os.WriteFile(filepath.Join(dir, "containerd.toml"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	p.logf = logf
	t.Cleanup(func() {
		p.Stop(syscall.SIGTERM)
		logf.Close()
		// Snapshots are overlay mounts under the root; none may stay.
		_ = exec.Command("umount", "-R", filepath.Join(dir, "ctrd-root")).Run()
	})
	p.Start()
	return p
}

// Start runs the stopped containerd again and waits for its socket.
func (p *Process) Start() {
	t := p.t
	t.Helper()
	cmd := exec.Command("containerd", "--config", filepath.Join(p.dir, "containerd.toml"))
	cmd.Stdout, cmd.Stderr = p.logf, p.logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start containerd: %v", err)
	}
	p.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("unix", p.Sock); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("containerd did not come up; log in %s", p.logf.Name())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends containerd with sig (SIGKILL after 10 s) and waits for it;
// the shims, and so the containers, keep running.
func (p *Process) Stop(sig syscall.Signal) {
	if p.cmd == nil {
		return
	}
	cmd := p.cmd
	p.cmd = nil
	_ = cmd.Process.Signal(sig)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Require checks what a test on a private containerd needs: root,
// containerd and runc on PATH, and the image archives hack/images.sh
// builds into imagesDir. A missing one skips the test, or fails it when
// KSTACK_REQUIRE_E2E is set (CI). It returns imagesDir.
func Require(t testing.TB, imagesDir string, archives ...string) string {
	t.Helper()
	skip := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("KSTACK_REQUIRE_E2E") != "" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	if os.Geteuid() != 0 {
		skip("needs root")
	}
	for _, bin := range []string{"containerd", "runc"} {
		if _, err := exec.LookPath(bin); err != nil {
			skip("%s is not installed (hack/install-deps.sh): %v", bin, err)
		}
	}
	for _, f := range archives {
		if _, err := os.Stat(filepath.Join(imagesDir, f)); err != nil {
			skip("image archive %s missing: run hack/images.sh", f)
		}
	}
	return imagesDir
}
