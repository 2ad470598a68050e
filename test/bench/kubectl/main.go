// Command kubectl measures kstack's kubectl next to upstream's: the start
// of `kubectl version --client` (goal < 50 ms) and `kubectl get pods` on
// 5,000 pods (goal < 1 s), against a fresh etcd and apiserver. It prints a
// table of medians and 90th percentiles; numbers, not pass/fail.
//
//	go run ./test/bench/kubectl [--pods 5000] [--runs 10] [--upstream _output/tools/kubectl]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kstack/kstack/test/bench/benchproc"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

type options struct {
	pods                  int
	runs                  int
	ours, upstream        string
	apiserverBin, etcdBin string
	keep                  bool
}

func main() {
	var o options
	flag.IntVar(&o.pods, "pods", 5000, "Pods to create for the get benchmark.")
	flag.IntVar(&o.runs, "runs", 10, "Timed runs of each command per binary.")
	flag.StringVar(&o.ours, "kubectl", "", "Our kubectl binary (default: build ./cmd/kubectl).")
	flag.StringVar(&o.upstream, "upstream", "_output/tools/kubectl", "Upstream kubectl to compare with (skipped when missing).")
	flag.StringVar(&o.apiserverBin, "apiserver-bin", "", "apiserver binary (default: build ./cmd/apiserver).")
	flag.StringVar(&o.etcdBin, "etcd-bin", envOr("KSTACK_ETCD", "etcd"), "etcd binary (3.5.13 or later).")
	flag.BoolVar(&o.keep, "keep", false, "Keep the temp dir after the run.")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func run(o options) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "kstack-bench-kubectl-")
	if err != nil {
		return err
	}
	var procs []*benchproc.Process
	defer func() {
		for i := len(procs) - 1; i >= 0; i-- {
			procs[i].Stop()
		}
		if !o.keep {
			os.RemoveAll(dir)
		}
	}()
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	if o.ours == "" {
		o.ours = filepath.Join(dir, "kubectl")
		logf("building ./cmd/kubectl")
		if err := goBuild(root, o.ours, "./cmd/kubectl"); err != nil {
			return err
		}
	}
	if o.apiserverBin == "" {
		o.apiserverBin = filepath.Join(dir, "apiserver")
		logf("building ./cmd/apiserver")
		if err := goBuild(root, o.apiserverBin, "./cmd/apiserver"); err != nil {
			return err
		}
	}
	bins := []struct{ name, path string }{{"kstack", o.ours}}
	up := o.upstream
	if !filepath.IsAbs(up) {
		up = filepath.Join(root, up)
	}
	if _, err := os.Stat(up); err == nil {
		bins = append(bins, struct{ name, path string }{"upstream v1.37", up})
	} else {
		logf("upstream kubectl %s missing: measuring ours only", up)
	}

	etcd, etcdURL, err := benchproc.StartEtcd(ctx, o.etcdBin, dir)
	if err != nil {
		return err
	}
	procs = append(procs, etcd)
	api, url, caFile, token, err := benchproc.StartAPIServer(ctx, o.apiserverBin, dir, etcdURL)
	if err != nil {
		return err
	}
	procs = append(procs, api)
	logf("apiserver at %s", url)
	cfg := &rest.Config{Host: url, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAFile: caFile}, QPS: -1}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	logf("creating %d pods", o.pods)
	if err := createPods(ctx, cs, "bench", o.pods); err != nil {
		return err
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: bench
  cluster: {server: %q, certificate-authority: %q}
users:
- name: bench
  user: {token: %q}
contexts:
- name: bench
  context: {cluster: bench, user: bench, namespace: bench}
current-context: bench
`, url, caFile, token)), 0o600); err != nil {
		return err
	}

	type row struct {
		what, bin string
		med, p90  time.Duration
		goal      time.Duration
	}
	var rows []row
	for _, b := range bins {
		home := filepath.Join(dir, "home-"+strings.Fields(b.name)[0])
		os.MkdirAll(home, 0o755)
		env := []string{"HOME=" + home, "KUBECONFIG=" + kubeconfig, "PATH=" + os.Getenv("PATH")}
		// One untimed run of each warms the page cache and the discovery cache.
		for _, args := range [][]string{{"version", "--client"}, {"get", "pods"}} {
			out, err := runOnce(b.path, env, args)
			if err != nil {
				return fmt.Errorf("%s %v: %w", b.name, args, err)
			}
			if args[0] == "get" {
				if lines := strings.Count(out, "\n"); lines != o.pods+1 {
					return fmt.Errorf("%s get pods printed %d lines, want %d", b.name, lines, o.pods+1)
				}
			}
		}
		for _, c := range []struct {
			what string
			args []string
			goal time.Duration
		}{
			{"version --client", []string{"version", "--client"}, 50 * time.Millisecond},
			{fmt.Sprintf("get pods (%d)", o.pods), []string{"get", "pods"}, time.Second},
		} {
			var ds []time.Duration
			for i := 0; i < o.runs; i++ {
				start := time.Now()
				if _, err := runOnce(b.path, env, c.args); err != nil {
					return err
				}
				ds = append(ds, time.Since(start))
			}
			sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
			rows = append(rows, row{c.what, b.name, ds[len(ds)/2], ds[(len(ds)*9)/10-boolInt(len(ds) >= 10)], c.goal})
		}
	}
	fmt.Printf("| command | kubectl | median | p90 | goal |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Printf("| `%s` | %s | %s | %s | < %s |\n", r.what, r.bin, ms(r.med), ms(r.p90), ms(r.goal))
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

func runOnce(bin string, env, args []string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%w: %s", err, stderr.String())
	}
	return string(out), nil
}

// createPods creates n pods in ns with a few parallel writers.
func createPods(ctx context.Context, cs kubernetes.Interface, ns string, n int) error {
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	work := make(chan int)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				p := &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pod-%05d", i), Labels: map[string]string{"app": "bench"}},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "kstack.local/pause:1.0"}}},
				}
				if _, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		select {
		case work <- i:
		case err := <-errs:
			close(work)
			wg.Wait()
			return err
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

func goBuild(root, out, pkg string) error {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %w\n%s", pkg, err, b)
	}
	return nil
}
