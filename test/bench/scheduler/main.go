// Command scheduler benchmarks the kstack scheduler: it starts etcd, the
// kstack apiserver and the scheduler binary as separate processes (so the
// scheduler's RSS is its own), creates N fake Ready nodes (cpu 32, memory
// 128Gi, pods 110) and M pods with small requests before the scheduler
// starts, then --live more pods while it runs, and reports pods/s from the
// first to the last binding, per-pod latency and the scheduler's RSS.
//
//	go run ./test/bench/scheduler                          # 500 nodes x 5,000 pods
//	go run ./test/bench/scheduler --nodes 5000 --pods 10000
//	go run ./test/bench/scheduler --quick                  # 100 x 1,000
//
// It prints a markdown table; docs/benchmarks.md keeps the results.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"github.com/kstack/kstack/test/bench/benchproc"
	"io"
	"math"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

type options struct {
	nodes, pods, live int
	quick, keep       bool
	etcdBin           string
	qps               int
	clients           int
	apiBin, schedBin  string
	profileDir        string
}

func main() {
	var o options
	flag.IntVar(&o.nodes, "nodes", 500, "Number of fake Ready nodes.")
	flag.IntVar(&o.pods, "pods", 5000, "Pods created before the scheduler starts.")
	flag.IntVar(&o.live, "live", -1, "Pods created while the scheduler runs (default: pods/5).")
	flag.BoolVar(&o.quick, "quick", false, "Smoke run: 100 nodes, 1,000 pods.")
	flag.BoolVar(&o.keep, "keep", false, "Keep the temp dir (logs, etcd data).")
	flag.StringVar(&o.etcdBin, "etcd-bin", "etcd", "etcd binary to start (3.5.13 or later).")
	flag.IntVar(&o.qps, "scheduler-qps", 1000, "The scheduler's --kube-api-qps (burst is twice that).")
	flag.IntVar(&o.clients, "clients", 50, "Concurrent clients creating nodes and pods.")
	flag.StringVar(&o.apiBin, "apiserver-bin", "", "Apiserver binary to run (default: build ./cmd/apiserver).")
	flag.StringVar(&o.schedBin, "scheduler-bin", "", "Scheduler binary to run (default: build ./cmd/scheduler).")
	flag.StringVar(&o.profileDir, "profile", "", "Write 20 s CPU profiles of the scheduler and the apiserver, taken while the backlog drains, to this directory.")
	flag.Parse()
	if o.quick {
		o.nodes, o.pods = 100, 1000
	}
	if o.live < 0 {
		o.live = o.pods / 5
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, out io.Writer) error {
	env, err := benchproc.StartEnv(ctx, benchproc.EnvConfig{
		TempPrefix: "sched-bench-", Keep: o.keep, EtcdBin: o.etcdBin,
		Component: "scheduler", ComponentBin: o.schedBin, APIServerBin: o.apiBin,
		// The fake nodes have no node lifecycle controller to lift the
		// not-ready:NoSchedule taint TaintNodesByCondition puts on new
		// nodes; upstream's scheduler_perf runs without that plugin too.
		APIServerArgs: []string{"--disable-admission-plugins=TaintNodesByCondition"},
		Protobuf:      true,
	})
	if err != nil {
		return err
	}
	defer env.Stop()
	dir, schedBin, cs, kubeconfig := env.Dir, env.ComponentBin, env.Client, env.Kubeconfig
	api, etcd, url, token := env.APIServer, env.Etcd, env.URL, env.Token

	ns := "sched-bench"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	t0 := time.Now()
	if err := benchproc.Parallel(ctx, o.clients, o.nodes, func(i int) error {
		_, err := cs.CoreV1().Nodes().Create(ctx, fakeNode(i), metav1.CreateOptions{})
		return err
	}); err != nil {
		return fmt.Errorf("create nodes: %w", err)
	}
	benchproc.Logf("created %d nodes in %v", o.nodes, time.Since(t0).Round(time.Millisecond))

	rec := newRecorder(o.pods + o.live)
	w, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	defer w.Stop()
	go rec.watch(w)
	ew, err := cs.EventsV1().Events(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	defer ew.Stop()
	go rec.watchEvents(ew)

	t0 = time.Now()
	if err := benchproc.Parallel(ctx, o.clients, o.pods, func(i int) error {
		_, err := cs.CoreV1().Pods(ns).Create(ctx, benchPod(fmt.Sprintf("pre-%d", i)), metav1.CreateOptions{})
		return err
	}); err != nil {
		return fmt.Errorf("create pods: %w", err)
	}
	benchproc.Logf("created %d pending pods in %v", o.pods, time.Since(t0).Round(time.Millisecond))

	port, err := benchproc.FreePort()
	if err != nil {
		return err
	}
	sched, err := benchproc.StartProcess("scheduler", dir, schedBin, "--kubeconfig="+kubeconfig, "--leader-elect=false",
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(port),
		"--kube-api-qps="+strconv.Itoa(o.qps), "--kube-api-burst="+strconv.Itoa(2*o.qps))
	if err != nil {
		return err
	}
	defer sched.Stop()
	schedStart := time.Now()
	cpuStart := map[string]float64{}
	pids := map[string]int{"scheduler": sched.Pid(), "apiserver": api.Pid(), "etcd": etcd.Pid()}
	for name, pid := range pids {
		cpuStart[name], _ = benchproc.CPUSeconds(pid)
	}
	profDone := make(chan struct{})
	if o.profileDir != "" {
		go func() {
			defer close(profDone)
			profile(ctx, o.profileDir, fmt.Sprintf("https://127.0.0.1:%d", port), url, token)
		}()
	} else {
		close(profDone)
	}

	// Live pods: created while the scheduler works through the backlog.
	liveDone := make(chan error, 1)
	go func() {
		liveDone <- benchproc.Parallel(ctx, o.clients/5+1, o.live, func(i int) error {
			name := fmt.Sprintf("live-%d", i)
			rec.created(name, time.Now())
			_, err := cs.CoreV1().Pods(ns).Create(ctx, benchPod(name), metav1.CreateOptions{})
			return err
		})
	}()
	var peakRSS float64
	total := o.pods + o.live
	for rec.count() < total {
		if err := sched.Exited(); err != nil {
			return fmt.Errorf("scheduler exited: %w\n%s", err, sched.Tail(20))
		}
		if r, err := benchproc.RSSMiB(sched.Pid()); err == nil {
			peakRSS = math.Max(peakRSS, r)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Since(schedStart) > 30*time.Minute {
			return fmt.Errorf("only %d/%d pods bound after 30 minutes", rec.count(), total)
		}
	}
	if err := <-liveDone; err != nil {
		return fmt.Errorf("create live pods: %w", err)
	}
	cpuPerPod := func() string {
		var cpu []string
		for _, name := range []string{"scheduler", "apiserver", "etcd"} {
			if now, err := benchproc.CPUSeconds(pids[name]); err == nil {
				cpu = append(cpu, fmt.Sprintf("%s %.2f ms", name, 1000*(now-cpuStart[name])/float64(total)))
			}
		}
		return strings.Join(cpu, ", ")
	}
	benchproc.Logf("CPU per pod (scheduler start to last binding): %s", cpuPerPod())
	// The Scheduled events trail the bindings (their writes have fewer
	// slots): wait for them so the CPU per pod counts all the work.
	lastBound := time.Now()
	for rec.scheduledEvents() < total && time.Since(lastBound) < time.Minute && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	benchproc.Logf("%d Scheduled events, all in %v after the last binding; CPU per pod including them: %s",
		rec.scheduledEvents(), time.Since(lastBound).Round(10*time.Millisecond), cpuPerPod())
	rss, _ := benchproc.RSSMiB(sched.Pid())
	peakRSS = math.Max(peakRSS, rss)
	attemptP99 := scrapeQuantile(ctx, port, token, "scheduler_scheduling_attempt_duration_seconds", 0.99)
	<-profDone
	r := rec.result(schedStart)
	fmt.Fprintf(out, "| nodes | pods (before + live) | pods/s first→last binding | first binding after start | live pods: create→bound p50 / p99 | attempt p99 (metric) | scheduler RSS end / peak |\n")
	fmt.Fprintf(out, "|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(out, "| %d | %d + %d | %.0f | %v | %v / %v | %s | %.0f / %.0f MiB |\n", o.nodes, o.pods, o.live, r.podsPerSec,
		r.firstAfterStart.Round(time.Millisecond), r.liveP50.Round(time.Millisecond), r.liveP99.Round(time.Millisecond), attemptP99, rss, peakRSS)
	return nil
}

func fakeNode(i int) *corev1.Node {
	name := fmt.Sprintf("node-%05d", i)
	alloc := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("128Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			corev1.LabelHostname: name, corev1.LabelTopologyZone: fmt.Sprintf("zone-%d", i%3)}},
		Status: corev1.NodeStatus{Capacity: alloc, Allocatable: alloc,
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: metav1.Now()}}},
	}
}

func benchPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "bench"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")}}}}},
	}
}

// recorder notes when each pod is first seen bound.
type recorder struct {
	mu        sync.Mutex
	events    int
	bound     map[string]time.Time
	createdAt map[string]time.Time
}

func newRecorder(n int) *recorder {
	return &recorder{bound: make(map[string]time.Time, n), createdAt: map[string]time.Time{}}
}

func (r *recorder) created(name string, t time.Time) {
	r.mu.Lock()
	r.createdAt[name] = t
	r.mu.Unlock()
}

func (r *recorder) watch(w watch.Interface) {
	for ev := range w.ResultChan() {
		p, ok := ev.Object.(*corev1.Pod)
		if !ok || p.Spec.NodeName == "" {
			continue
		}
		now := time.Now()
		r.mu.Lock()
		if _, seen := r.bound[p.Name]; !seen {
			r.bound[p.Name] = now
		}
		r.mu.Unlock()
	}
}

func (r *recorder) watchEvents(w watch.Interface) {
	for ev := range w.ResultChan() {
		if e, ok := ev.Object.(*eventsv1.Event); ok && ev.Type == watch.Added && e.Reason == "Scheduled" {
			r.mu.Lock()
			r.events++
			r.mu.Unlock()
		}
	}
}

func (r *recorder) scheduledEvents() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bound)
}

type result struct {
	podsPerSec       float64
	firstAfterStart  time.Duration
	liveP50, liveP99 time.Duration
}

func (r *recorder) result(start time.Time) result {
	r.mu.Lock()
	defer r.mu.Unlock()
	var first, last time.Time
	for _, t := range r.bound {
		if first.IsZero() || t.Before(first) {
			first = t
		}
		if t.After(last) {
			last = t
		}
	}
	var lat []time.Duration
	for name, c := range r.createdAt {
		if b, ok := r.bound[name]; ok {
			lat = append(lat, b.Sub(c))
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(float64(len(lat))*p))]
	}
	res := result{firstAfterStart: first.Sub(start), liveP50: pct(0.5), liveP99: pct(0.99)}
	if d := last.Sub(first).Seconds(); d > 0 {
		res.podsPerSec = float64(len(r.bound)-1) / d
	}
	return res
}

// scrapeQuantile estimates a quantile of a histogram (summed over labels)
// from the scheduler's /metrics, as the upper bound of the bucket.
func scrapeQuantile(ctx context.Context, port int, token, name string, q float64) string {
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d/metrics", port), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return "?"
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	buckets := map[float64]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, name+"_bucket{") || !strings.Contains(line, `result="scheduled"`) {
			continue
		}
		i := strings.Index(line, `,le="`) + 1
		j := strings.Index(line[i+4:], `"`)
		le, err1 := strconv.ParseFloat(line[i+4:i+4+j], 64)
		v, err2 := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64)
		if err1 == nil && err2 == nil {
			buckets[le] += v
		}
	}
	var les []float64
	for le := range buckets {
		les = append(les, le)
	}
	sort.Float64s(les)
	if len(les) == 0 {
		return "?"
	}
	total := buckets[les[len(les)-1]]
	for i, le := range les {
		if buckets[le] >= q*total {
			if math.IsInf(le, 1) {
				if i == 0 {
					return "?"
				}
				return fmt.Sprintf("> %v", time.Duration(les[i-1]*float64(time.Second)))
			}
			return fmt.Sprintf("≤ %v", time.Duration(le*float64(time.Second)))
		}
	}
	return "?"
}

// profile takes CPU profiles of the scheduler and the apiserver at the
// same time, a second after the scheduler started (its caches have
// synced), and writes them to dir as scheduler.pprof and apiserver.pprof.
func profile(ctx context.Context, dir, schedURL, apiURL, token string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		benchproc.Logf("profile: %v", err)
		return
	}
	select {
	case <-ctx.Done():
		return
	case <-time.After(time.Second):
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	var wg sync.WaitGroup
	for name, base := range map[string]string{"scheduler": schedURL, "apiserver": apiURL} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/debug/pprof/profile?seconds=20", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := hc.Do(req)
			if err != nil {
				benchproc.Logf("profile %s: %v", name, err)
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != http.StatusOK {
				benchproc.Logf("profile %s: %s %v %.200s", name, resp.Status, err, body)
				return
			}
			path := filepath.Join(dir, name+".pprof")
			if err := os.WriteFile(path, body, 0o644); err != nil {
				benchproc.Logf("profile %s: %v", name, err)
				return
			}
			benchproc.Logf("wrote %s", path)
		}()
	}
	wg.Wait()
}
