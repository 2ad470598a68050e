// Command apiserver benchmarks an apiserver: pod create throughput and
// latency, LIST of a namespace's pods (whole and paged), watch delivery to
// one and to 100 watchers, and the server's resident memory, each in JSON
// and in protobuf. By default it starts a real etcd and the kstack
// apiserver binary as separate processes (so the RSS is the apiserver's
// alone); with --server and --ca (or --kubeconfig) it measures a server
// that is already running, for comparison with upstream.
//
//	go run ./test/bench/apiserver            # full size (5,000 pods per encoding)
//	go run ./test/bench/apiserver --quick    # smoke run
//	go run ./test/bench/apiserver --server https://127.0.0.1:6443 --ca ca.crt --server-pid 1234
//
// It prints a markdown table; docs/benchmarks.md keeps the results.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/kstack/kstack/test/bench/benchproc"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// options are the command's flags.
type options struct {
	server, ca, kubeconfig string
	serverPID              int
	apiserverBin, etcdBin  string
	quick, keep            bool
	profileDir             string

	pods, clients, listRuns, pageRuns int
	watchUpdates, fanoutUpdates       int
	fanoutWatchers                    int
	settle                            time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.server, "server", "", "URL of an already running apiserver to measure instead of starting one (needs --ca or --kubeconfig).")
	flag.StringVar(&o.ca, "ca", "", "CA file that signs --server's serving certificate.")
	flag.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of an already running apiserver (e.g. kind's), instead of --server/--ca.")
	flag.IntVar(&o.serverPID, "server-pid", 0, "PID of the already running apiserver, for its RSS (0: RSS not measured).")
	flag.StringVar(&o.apiserverBin, "apiserver-bin", "", "apiserver binary to start (default: build ./cmd/apiserver into the temp dir).")
	flag.StringVar(&o.etcdBin, "etcd-bin", "etcd", "etcd binary to start (3.5.13 or later).")
	flag.BoolVar(&o.quick, "quick", false, "Smoke run: 500 pods, fewer repetitions.")
	flag.BoolVar(&o.keep, "keep", false, "Keep the temp dir (logs, etcd data) after the run.")
	flag.StringVar(&o.profileDir, "profile-dir", "", "Write CPU profiles of the server's create and LIST phases and heap profiles into this directory (needs /debug/pprof).")
	flag.DurationVar(&o.settle, "settle", 15*time.Second, "Wait after the mass deletion before reading the RSS.")
	flag.Parse()
	o.pods, o.clients, o.listRuns, o.pageRuns = 5000, 50, 20, 10
	o.watchUpdates, o.fanoutUpdates, o.fanoutWatchers = 500, 200, 100
	if o.quick {
		o.pods, o.listRuns, o.pageRuns = 500, 5, 3
		o.watchUpdates, o.fanoutUpdates = 50, 20
		o.settle = 3 * time.Second
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

// encoding is one wire format under test.
type encoding struct {
	name, contentType string
}

var encodings = []encoding{
	{"JSON", "application/json"},
	{"protobuf", "application/vnd.kubernetes.protobuf"},
}

// encodingResult holds one encoding's figures.
type encodingResult struct {
	create          createResult
	listRV, listRV0 latencies
	rawRV           latencies // consistent LIST, body read but not decoded
	paged           latencies
	pages           int
	watch1, fanout  latencies
	namespace       string
	cpu             map[string]string // phase -> CPU use of each process
}

// memory holds the server's RSS at the three points, in MiB (0: unknown).
type memory struct {
	idle, loaded, deleted float64
}

// run starts (or connects to) the server, runs every phase for each
// encoding, and writes the report. Everything it starts is stopped and
// removed before it returns.
func run(ctx context.Context, o options, out io.Writer) (err error) {
	base, pids, cleanup, err := target(ctx, o)
	if err != nil {
		return err
	}
	defer cleanup()
	pid := pids["apiserver"]
	meter := benchproc.NewCPUMeter(pids)

	var mem memory
	if pid > 0 {
		time.Sleep(2 * time.Second) // let start-up garbage settle
		if mem.idle, err = benchproc.RSSMiB(pid); err != nil {
			return err
		}
		benchproc.Logf("idle RSS %.0f MiB", mem.idle)
	}

	suffix := fmt.Sprintf("%d", time.Now().Unix())
	results := map[string]*encodingResult{}
	for _, enc := range encodings {
		cfg := rest.CopyConfig(base)
		cfg.ContentType = enc.contentType
		cfg.AcceptContentTypes = enc.contentType
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return err
		}
		ns := "bench-" + strings.ToLower(enc.name) + "-" + suffix
		res, err := runEncoding(ctx, o, cs, enc, ns, meter)
		if err != nil {
			return fmt.Errorf("%s: %w", enc.name, err)
		}
		results[enc.name] = res
	}

	cs, err := kubernetes.NewForConfig(base)
	if err != nil {
		return err
	}
	if pid > 0 {
		if mem.loaded, err = benchproc.RSSMiB(pid); err != nil {
			return err
		}
		benchproc.Logf("RSS with %d pods: %.0f MiB", o.pods*len(encodings), mem.loaded)
	}
	heapProfile(ctx, o, cs, "heap-loaded.pprof")
	for _, enc := range encodings {
		if err := deleteAll(ctx, cs, results[enc.name].namespace); err != nil {
			return err
		}
	}
	if pid > 0 {
		benchproc.Logf("deleted; waiting %v", o.settle)
		select {
		case <-time.After(o.settle):
		case <-ctx.Done():
			return ctx.Err()
		}
		if mem.deleted, err = benchproc.RSSMiB(pid); err != nil {
			return err
		}
		benchproc.Logf("RSS after deletion: %.0f MiB", mem.deleted)
	}
	heapProfile(ctx, o, cs, "heap-deleted.pprof")
	for _, enc := range encodings {
		_ = cs.CoreV1().Namespaces().Delete(ctx, results[enc.name].namespace, metav1.DeleteOptions{})
	}
	report(out, o, results, mem)
	return nil
}

// target returns the client config of the server under test and its PID,
// starting etcd and the apiserver unless --server/--kubeconfig name one.
// cleanup stops what was started and removes the temp dir.
func target(ctx context.Context, o options) (cfg *rest.Config, pids map[string]int, cleanup func(), err error) {
	cleanup = func() {}
	pids = map[string]int{"bench": 0}
	if o.serverPID > 0 {
		pids["apiserver"] = o.serverPID
	}
	if o.kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", o.kubeconfig)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("load kubeconfig: %w", err)
		}
		return tune(cfg), pids, cleanup, nil
	}
	if o.server != "" {
		if o.ca == "" {
			return nil, nil, nil, errors.New("--server needs --ca")
		}
		return tune(&rest.Config{Host: o.server, TLSClientConfig: rest.TLSClientConfig{CAFile: o.ca}}), pids, cleanup, nil
	}

	dir, err := os.MkdirTemp("", "kstack-bench-")
	if err != nil {
		return nil, nil, nil, err
	}
	var procs []*benchproc.Process
	cleanup = func() {
		for i := len(procs) - 1; i >= 0; i-- {
			procs[i].Stop()
		}
		if o.keep {
			benchproc.Logf("kept %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	}
	defer func() {
		if err != nil {
			cleanup()
		}
	}()
	bin := o.apiserverBin
	if bin == "" {
		bin = filepath.Join(dir, "apiserver")
		benchproc.Logf("building ./cmd/apiserver")
		if err := benchproc.GoBuild(ctx, "./cmd/apiserver", bin); err != nil {
			return nil, nil, nil, err
		}
	}
	etcd, etcdURL, err := benchproc.StartEtcd(ctx, o.etcdBin, dir)
	if err != nil {
		return nil, nil, nil, err
	}
	procs = append(procs, etcd)
	pids["etcd"] = etcd.Pid()
	benchproc.Logf("etcd at %s (pid %d)", etcdURL, etcd.Pid())
	api, url, caFile, token, err := benchproc.StartAPIServer(ctx, bin, dir, etcdURL)
	if err != nil {
		return nil, nil, nil, err
	}
	procs = append(procs, api)
	benchproc.Logf("apiserver at %s (pid %d)", url, api.Pid())
	pids["apiserver"] = api.Pid()
	cfg = benchproc.ClientConfig(url, caFile, token)
	return cfg, pids, cleanup, nil
}

// tune removes client-side rate limits: the benchmark measures the server.
func tune(cfg *rest.Config) *rest.Config {
	cfg.QPS = -1
	cfg.Burst = 0
	cfg.UserAgent = "kstack-bench"
	return cfg
}

// runEncoding runs the create, LIST and watch phases in a fresh namespace.
func runEncoding(ctx context.Context, o options, cs kubernetes.Interface, enc encoding, ns string, meter *benchproc.CPUMeter) (*encodingResult, error) {
	res := &encodingResult{namespace: ns, cpu: map[string]string{}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("create namespace: %w", err)
	}
	name := strings.ToLower(enc.name)
	phase := func(label string, ops int) {
		res.cpu[label] = meter.End(ops)
		benchproc.Logf("%s: %s: %s", enc.name, label, res.cpu[label])
	}

	benchproc.Logf("%s: creating %d pods from %d clients", enc.name, o.pods, o.clients)
	prof := cpuProfile(ctx, o, cs, "create-"+name+".pprof", 5)
	meter.Begin()
	var err error
	if res.create, err = createPods(ctx, cs, ns, o.pods, o.clients); err != nil {
		return nil, err
	}
	phase("create", o.pods)
	waitProfile(prof)
	benchproc.Logf("%s: %.0f creates/s, p50 %v, p99 %v", enc.name, res.create.perSecond, ms(res.create.lat.pct(50)), ms(res.create.lat.pct(99)))

	prof = cpuProfile(ctx, o, cs, "list-"+name+".pprof", 5)
	meter.Begin()
	if res.listRV, err = listWhole(ctx, cs, ns, "", o.pods, o.listRuns); err != nil {
		return nil, err
	}
	if res.listRV0, err = listWhole(ctx, cs, ns, "0", o.pods, o.listRuns); err != nil {
		return nil, err
	}
	phase("list", 2*o.listRuns)
	waitProfile(prof)
	meter.Begin()
	if res.rawRV, err = listRaw(ctx, cs, ns, "", o.listRuns); err != nil {
		return nil, err
	}
	phase("raw list", o.listRuns)
	limit := int64(max(1, o.pods/10))
	meter.Begin()
	if res.paged, res.pages, err = listPaged(ctx, cs, ns, limit, o.pods, o.pageRuns); err != nil {
		return nil, err
	}
	phase("paged list", o.pageRuns)
	benchproc.Logf("%s: LIST p50 %v (rv=0 %v, raw %v), %d pages p50 %v", enc.name, ms(res.listRV.pct(50)), ms(res.listRV0.pct(50)), ms(res.rawRV.pct(50)), res.pages, ms(res.paged.pct(50)))

	meter.Begin()
	if res.watch1, err = watchDelivery(ctx, cs, ns, "watch-one", 1, o.watchUpdates); err != nil {
		return nil, fmt.Errorf("watch delivery: %w", err)
	}
	phase("watch", 0)
	meter.Begin()
	if res.fanout, err = watchDelivery(ctx, cs, ns, "watch-fanout", o.fanoutWatchers, o.fanoutUpdates); err != nil {
		return nil, fmt.Errorf("watch fan-out: %w", err)
	}
	phase("fan-out", 0)
	benchproc.Logf("%s: watch p99 %v, fan-out to %d p99 %v", enc.name, ms(res.watch1.pct(99)), o.fanoutWatchers, ms(res.fanout.pct(99)))
	return res, nil
}

// deleteAll removes every pod of ns with one deletecollection and waits
// until the namespace is empty.
func deleteAll(ctx context.Context, cs kubernetes.Interface, ns string) error {
	err := cs.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: ptr[int64](0)}, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("deletecollection pods in %s: %w", ns, err)
	}
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		l, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{Limit: 1})
		if err != nil {
			return false, err
		}
		return len(l.Items) == 0, nil
	})
}

// cpuProfile fetches a CPU profile of the server for the next `seconds`
// into --profile-dir; waitProfile waits for it. Without --profile-dir it
// does nothing.
func cpuProfile(ctx context.Context, o options, cs kubernetes.Interface, file string, seconds int) chan struct{} {
	done := make(chan struct{})
	if o.profileDir == "" {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		fetchDebug(ctx, o, cs, "/debug/pprof/profile", fmt.Sprint(seconds), file)
	}()
	return done
}

func waitProfile(done chan struct{}) { <-done }

// heapProfile saves the server's heap profile into --profile-dir.
func heapProfile(ctx context.Context, o options, cs kubernetes.Interface, file string) {
	if o.profileDir != "" {
		fetchDebug(ctx, o, cs, "/debug/pprof/heap", "", file)
	}
}

func fetchDebug(ctx context.Context, o options, cs kubernetes.Interface, path, seconds, file string) {
	req := cs.CoreV1().RESTClient().Get().AbsPath(path)
	if seconds != "" {
		req = req.Param("seconds", seconds)
	}
	data, err := req.DoRaw(ctx)
	if err == nil {
		err = os.MkdirAll(o.profileDir, 0o755)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(o.profileDir, file), data, 0o644)
	}
	if err != nil {
		benchproc.Logf("profile %s: %v", file, err)
	}
}

// podSizes returns the bench pod's size in JSON and protobuf.
func podSizes() (int, int) {
	p := benchPod("pod-00000")
	p.Namespace = "bench-json-1700000000"
	j, _ := json.Marshal(p)
	b, _ := p.Marshal()
	return len(j), len(b)
}
