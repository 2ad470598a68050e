package benchproc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
)

// Logf writes a progress line, prefixed with the time of day, to stderr.
func Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// TempDir makes the benchmark's temp dir. cleanup removes it unless keep
// is set, in which case its path is logged now so it can be inspected.
func TempDir(prefix string, keep bool) (dir string, cleanup func(), err error) {
	dir, err = os.MkdirTemp("", prefix)
	if err != nil {
		return "", nil, err
	}
	if keep {
		Logf("temp dir %s", dir)
		return dir, func() {}, nil
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// GoBuild builds pkg (a path such as ./cmd/apiserver, relative to the
// module root) of the module the benchmark runs in into out.
func GoBuild(ctx context.Context, pkg, out string) error {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %w\n%s", pkg, err, b)
	}
	return nil
}

// WriteKubeconfig writes a kubeconfig for the server at url, trusted by
// caFile, with a bearer token, to path.
func WriteKubeconfig(path, url, caFile, token string) error {
	kc := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: %s\n    certificate-authority: %s\nusers:\n- name: u\n  user:\n    token: %s\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\n", url, caFile, token)
	return os.WriteFile(path, []byte(kc), 0o600)
}

// Parallel runs f(0..n-1) on workers goroutines, stopping at the first
// error, which it returns (or ctx's error when ctx ended first).
func Parallel(ctx context.Context, workers, n int, f func(i int) error) error {
	var mu sync.Mutex
	var first error
	next := 0
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil || i >= n || ctx.Err() != nil
				mu.Unlock()
				if stop {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// ClientConfig is a client config for the apiserver StartAPIServer
// started, without client-side rate limits (the benchmark measures the
// server).
func ClientConfig(url, caFile, token string) *rest.Config {
	return &rest.Config{Host: url, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAFile: caFile},
		QPS: -1, UserAgent: "kstack-bench"}
}

// Protobuf makes cfg send and accept protobuf, and returns it.
func Protobuf(cfg *rest.Config) *rest.Config {
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf"
	return cfg
}

// ControlPlane is etcd and the apiserver StartControlPlane started.
type ControlPlane struct {
	Etcd, APIServer    *Process
	URL, CAFile, Token string
}

// StartControlPlane starts etcd (etcdBin) and the apiserver (apiBin, with
// extraArgs) against it, their files in dir. On an error nothing it
// started is left running.
func StartControlPlane(ctx context.Context, etcdBin, apiBin, dir string, extraArgs ...string) (*ControlPlane, error) {
	etcd, etcdURL, err := StartEtcd(ctx, etcdBin, dir)
	if err != nil {
		return nil, err
	}
	api, url, caFile, token, err := StartAPIServer(ctx, apiBin, dir, etcdURL, extraArgs...)
	if err != nil {
		etcd.Stop()
		return nil, err
	}
	return &ControlPlane{Etcd: etcd, APIServer: api, URL: url, CAFile: caFile, Token: token}, nil
}

// Stop stops the apiserver, then etcd.
func (c *ControlPlane) Stop() {
	c.APIServer.Stop()
	c.Etcd.Stop()
}
