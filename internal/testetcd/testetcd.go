// Package testetcd starts real etcd servers for tests: Start runs the etcd
// binary (the same server the project deploys), StartEmbedded runs one in
// the test process. Both are stopped by t.Cleanup.
package testetcd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/kstack/kstack/pkg/storage/embedded"
)

// minVersion is the oldest etcd whose watch progress notifications a
// consistent read from the watch cache can rely on.
var minVersion = [3]int{3, 5, 13}

// Binary returns the etcd binary to run: $KSTACK_ETCD, else etcd on PATH.
// It fails the test when there is none or it is older than 3.5.13.
func Binary(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("KSTACK_ETCD")
	if bin == "" {
		p, err := exec.LookPath("etcd")
		if err != nil {
			t.Fatalf("testetcd: no etcd binary: set KSTACK_ETCD or put etcd >= 3.5.13 on PATH (run hack/install-deps.sh)")
		}
		bin = p
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("testetcd: %s --version: %v: %s (run hack/install-deps.sh)", bin, err, out)
	}
	v, err := parseVersion(out)
	if err != nil {
		t.Fatalf("testetcd: %s: %v (run hack/install-deps.sh)", bin, err)
	}
	if less(v, minVersion) {
		t.Fatalf("testetcd: %s is etcd %d.%d.%d, need >= 3.5.13 (watch progress fix); run hack/install-deps.sh",
			bin, v[0], v[1], v[2])
	}
	return bin
}

var versionRE = regexp.MustCompile(`etcd Version: (\d+)\.(\d+)\.(\d+)`)

func parseVersion(out []byte) ([3]int, error) {
	m := versionRE.FindSubmatch(out)
	if m == nil {
		return [3]int{}, fmt.Errorf("cannot read the version from %q", bytes.TrimSpace(out))
	}
	var v [3]int
	for i := range v {
		v[i], _ = strconv.Atoi(string(m[i+1]))
	}
	return v, nil
}

func less(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// Start runs the etcd binary with a temporary data dir on free loopback
// ports and fast ticks, waits until it answers and returns its endpoints and
// a client. The client is closed and the process killed and reaped when the
// test ends.
func Start(t testing.TB) ([]string, *clientv3.Client) {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		endpoints, client, err := startBinary(t, bin, dir, attempt)
		if err == nil {
			return endpoints, client
		}
		lastErr = err
	}
	t.Fatalf("testetcd: %v", lastErr)
	return nil, nil
}

func startBinary(t testing.TB, bin, dir string, attempt int) ([]string, *clientv3.Client, error) {
	cport, err := embedded.FreePort()
	if err != nil {
		return nil, nil, err
	}
	pport, err := embedded.FreePort()
	if err != nil {
		return nil, nil, err
	}
	curl := fmt.Sprintf("http://127.0.0.1:%d", cport)
	purl := fmt.Sprintf("http://127.0.0.1:%d", pport)
	var logs bytes.Buffer
	cmd := exec.Command(bin,
		"--name=test",
		"--data-dir="+fmt.Sprintf("%s/data%d", dir, attempt),
		"--listen-client-urls="+curl, "--advertise-client-urls="+curl,
		"--listen-peer-urls="+purl, "--initial-advertise-peer-urls="+purl,
		"--initial-cluster=test="+purl,
		"--heartbeat-interval=10", "--election-timeout=100",
		"--log-level=error",
	)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	// A test binary killed by its timeout must not leave etcd behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}

	endpoints := []string{curl}
	client, err := clientv3.New(clientv3.Config{
		Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
	})
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("etcd client: %w", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err = client.Get(ctx, "health")
		cancel()
		if err == nil {
			break
		}
		select {
		case <-exited:
			client.Close()
			return nil, nil, fmt.Errorf("etcd exited: %s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			client.Close()
			stop()
			return nil, nil, fmt.Errorf("etcd not ready after 20s: %v: %s", err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() {
		client.Close()
		stop()
	})
	return endpoints, client, nil
}

// StartEmbedded runs etcd inside the test process (TickMs=10,
// ElectionMs=100, loopback, quiet) and returns its endpoints and a client,
// both closed when the test ends.
func StartEmbedded(t testing.TB) ([]string, *clientv3.Client) {
	t.Helper()
	e, endpoints, err := embedded.Start(context.Background(), t.TempDir(), embedded.WithFastTicks())
	if err != nil {
		t.Fatalf("testetcd: %v", err)
	}
	client, err := clientv3.New(clientv3.Config{
		Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
	})
	if err != nil {
		e.Close()
		t.Fatalf("testetcd: etcd client: %v", err)
	}
	t.Cleanup(func() {
		client.Close()
		e.Close()
	})
	return endpoints, client
}
