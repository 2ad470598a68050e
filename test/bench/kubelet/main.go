// Command kubelet benchmarks the kstack kubelet.
//
// Hollow mode (the default; no root): starts etcd, the apiserver and one
// kubelet process with --hollow-nodes=N, gives each node a podCIDR (node
// IPAM's job, played here), waits for every node to be Ready, then creates
// pods bound to the nodes and measures pod startup latency (create to
// Running, as a watch observes it) and the kubelet process's RSS.
//
//	go run ./test/bench/kubelet                          # 100 hollow nodes, 10 pods each
//	go run ./test/bench/kubelet --nodes 10 --pods-per-node 3
//
// Real mode (root, a running cluster, e.g. `make up`): creates batches of
// 1, 30 and 100 pods bound to --node (images present), measures the same
// latency and the kubelet's RSS with the pods running, then deletes them.
//
//	go run ./test/bench/kubelet --real --kubeconfig <admin kubeconfig> --node <name>
//
// It prints a markdown table; docs/benchmarks.md keeps the results.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kstack/kstack/test/bench/benchproc"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

type options struct {
	nodes, podsPerNode int
	etcdBin            string
	keep               bool

	real       bool
	kubeconfig string
	node       string
	image      string
	kubeletPID int
	batches    string

	containerdPID     int
	containerdAddress string
	runs              int
	settle            time.Duration
}

func main() {
	var o options
	flag.IntVar(&o.nodes, "nodes", 100, "Hollow nodes in the one kubelet process.")
	flag.IntVar(&o.podsPerNode, "pods-per-node", 10, "Pods bound to each hollow node.")
	flag.StringVar(&o.etcdBin, "etcd-bin", "etcd", "etcd binary to start.")
	flag.BoolVar(&o.keep, "keep", false, "Keep the temp dir (logs, etcd data).")
	flag.BoolVar(&o.real, "real", false, "Benchmark a real kubelet of a running cluster instead.")
	flag.StringVar(&o.kubeconfig, "kubeconfig", "", "Real mode: an admin kubeconfig.")
	flag.StringVar(&o.node, "node", "", "Real mode: the node to bind the pods to.")
	flag.StringVar(&o.image, "image", "kstack.local/pause:1.0", "Real mode: the pods' image (present on the node).")
	flag.IntVar(&o.kubeletPID, "kubelet-pid", 0, "Real mode: the kubelet's PID for its RSS (default: the process named kubelet).")
	flag.StringVar(&o.batches, "batches", "1,30,100", "Real mode: pod batch sizes.")
	flag.IntVar(&o.runs, "runs", 1, "Real mode: runs of each batch size (each row, then the median of each column).")
	flag.DurationVar(&o.settle, "settle", 0, "Real mode: wait this long before each batch after the first (the node finishes removing the previous batch; on a filesystem without a journal, ext4 skips inodes freed in the last minute when it allocates new ones).")
	flag.IntVar(&o.containerdPID, "containerd-pid", 0, "Real mode: the node's containerd PID; with it the table has the node's CPU time per pod (kubelet, containerd, its shims, runc, CNI plugins).")
	flag.StringVar(&o.containerdAddress, "containerd-address", "/run/kstack/containerd.sock", "Real mode: the node's containerd socket (finds its shims for the CPU figure).")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var err error
	if o.real {
		err = runReal(ctx, o, os.Stdout)
	} else {
		err = runHollow(ctx, o, os.Stdout)
	}
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func runHollow(ctx context.Context, o options, out io.Writer) error {
	env, err := benchproc.StartEnv(ctx, benchproc.EnvConfig{
		TempPrefix: "kubelet-bench-", Keep: o.keep, EtcdBin: o.etcdBin,
		Component: "kubelet",
	})
	if err != nil {
		return err
	}
	defer env.Stop()
	dir, kubeletBin, cs, kubeconfig := env.Dir, env.ComponentBin, env.Client, env.Kubeconfig
	start := time.Now()
	kl, err := benchproc.StartProcess("kubelet", dir, kubeletBin, "--kubeconfig="+kubeconfig, "--hollow-nodes="+strconv.Itoa(o.nodes),
		"--root-dir="+filepath.Join(dir, "kubelet-root"), "--pod-logs-dir="+filepath.Join(dir, "logs"), "--node-ip=127.0.0.1")
	if err != nil {
		return err
	}
	defer kl.Stop()

	// Node IPAM's part: a /24 of 10.128.0.0/9 per node.
	cidrSet := map[string]bool{}
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := kl.Exited(); err != nil {
			return false, err
		}
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		ready := 0
		for i := range nodes.Items {
			n := &nodes.Items[i]
			if n.Spec.PodCIDR == "" && !cidrSet[n.Name] {
				idx, _ := strconv.Atoi(strings.TrimPrefix(n.Name, "hollow-node-"))
				cidr := fmt.Sprintf("10.%d.%d.0/24", 128+idx/256, idx%256)
				patch := fmt.Sprintf(`{"spec":{"podCIDR":%q,"podCIDRs":[%q]}}`, cidr, cidr)
				if _, err := cs.CoreV1().Nodes().Patch(ctx, n.Name, "application/merge-patch+json", []byte(patch), metav1.PatchOptions{}); err == nil {
					cidrSet[n.Name] = true
				}
			}
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		return ready == o.nodes, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for %d hollow nodes Ready: %w\n%s", o.nodes, err, kl.Tail(20))
	}
	readyIn := time.Since(start)
	time.Sleep(2 * time.Second)
	idleRSS, _ := benchproc.RSSMiB(kl.Pid())
	benchproc.Logf("%d hollow nodes Ready in %v; kubelet RSS %.0f MiB", o.nodes, readyIn.Round(time.Millisecond), idleRSS)

	ns := "kubelet-bench"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	var nodes []string
	for i := 0; i < o.nodes; i++ {
		nodes = append(nodes, "hollow-node-"+strconv.Itoa(i))
	}
	lat, total, err := startPods(ctx, cs, ns, "kstack.local/pause:1.0", nodes, o.podsPerNode*o.nodes)
	if err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	rss, _ := benchproc.RSSMiB(kl.Pid())
	fmt.Fprintf(out, "| hollow nodes | pods | nodes Ready in | kubelet RSS idle | pods Running in | startup p50 | startup p99 | kubelet RSS with pods |\n|---|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(out, "| %d | %d | %v | %.0f MiB | %v | %v | %v | %.0f MiB |\n", o.nodes, len(lat), readyIn.Round(10*time.Millisecond), idleRSS,
		total.Round(10*time.Millisecond), pct(lat, 50), pct(lat, 99), rss)
	return nil
}

// startPods creates n pods bound round-robin to nodes, 20 at a time, and
// returns each one's latency from its create call to the first watch
// event that shows it Running, and the time until all are.
func startPods(ctx context.Context, cs kubernetes.Interface, ns, image string, nodes []string, n int) ([]time.Duration, time.Duration, error) {
	w, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, 0, err
	}
	defer w.Stop()
	var mu sync.Mutex
	created := map[string]time.Time{}
	running := map[string]time.Time{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || ev.Type == watch.Deleted || p.Status.Phase != corev1.PodRunning {
				continue
			}
			now := time.Now()
			mu.Lock()
			if _, seen := running[p.Name]; !seen {
				running[p.Name] = now
			}
			all := len(running) == n
			mu.Unlock()
			if all {
				return
			}
		}
	}()
	start := time.Now()
	sem := make(chan struct{}, 20)
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("bench-%05d", i)
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{
				NodeName:                      nodes[i%len(nodes)],
				TerminationGracePeriodSeconds: ptr.To[int64](1),
				Containers:                    []corev1.Container{{Name: "c", Image: image, ImagePullPolicy: corev1.PullIfNotPresent}},
			},
		}
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			t := time.Now()
			mu.Lock()
			created[name] = t
			mu.Unlock()
			if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
				errs <- err
			}
		}()
	}
	select {
	case <-done:
	case err := <-errs:
		return nil, 0, fmt.Errorf("create pod: %w", err)
	case <-time.After(10 * time.Minute):
		return nil, 0, errors.New("pods not Running after 10 minutes")
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	total := time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	lat := make([]time.Duration, 0, n)
	for name, t := range running {
		lat = append(lat, t.Sub(created[name]))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat, total, nil
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[min(max(i-1, 0), len(sorted)-1)].Round(time.Millisecond)
}

// findKubelet is the PID of the process named kubelet.
func findKubelet() (int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm")); err == nil && strings.TrimSpace(string(b)) == "kubelet" {
			return pid, nil
		}
	}
	return 0, errors.New("no process named kubelet: pass --kubelet-pid")
}

func runReal(ctx context.Context, o options, out io.Writer) error {
	if o.kubeconfig == "" || o.node == "" {
		return errors.New("--real needs --kubeconfig and --node")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS = -1
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	pid := o.kubeletPID
	if pid == 0 {
		if pid, err = findKubelet(); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "| pods | run | load avg (1 min) | all Running in | startup p50 | startup p99 | node CPU per pod | kubelet RSS with the pods |\n|---|---|---|---|---|---|---|---|\n")
	for _, b := range strings.Split(o.batches, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(b))
		if err != nil || n < 1 {
			return fmt.Errorf("--batches %q", o.batches)
		}
		var rows []realRow
		for run := 1; run <= max(o.runs, 1); run++ {
			if o.settle > 0 && (run > 1 || b != strings.Split(o.batches, ",")[0]) {
				benchproc.Logf("settling for %v", o.settle)
				time.Sleep(o.settle)
			}
			r, err := realBatch(ctx, cs, o, pid, n)
			if err != nil {
				return err
			}
			rows = append(rows, r)
			fmt.Fprintf(out, "| %d | %d | %s |\n", n, run, r)
		}
		if len(rows) > 1 {
			fmt.Fprintf(out, "| %d | median | %s |\n", n, medianRow(rows))
		}
	}
	return nil
}

// realRow is one batch's figures; cpu < 0 when not measured.
type realRow struct {
	load            float64
	total, p50, p99 time.Duration
	cpu, rss        float64
}

func (r realRow) String() string {
	cpu := "-"
	if r.cpu >= 0 {
		cpu = fmt.Sprintf("%.0f ms", 1000*r.cpu)
	}
	return fmt.Sprintf("%.1f | %v | %v | %v | %s | %.0f MiB", r.load, r.total.Round(10*time.Millisecond), r.p50, r.p99, cpu, r.rss)
}

func medianRow(rows []realRow) realRow {
	med := func(get func(realRow) float64) float64 {
		v := make([]float64, len(rows))
		for i, r := range rows {
			v[i] = get(r)
		}
		sort.Float64s(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	d := func(get func(realRow) time.Duration) time.Duration {
		return time.Duration(med(func(r realRow) float64 { return float64(get(r)) })).Round(time.Millisecond)
	}
	return realRow{
		load:  med(func(r realRow) float64 { return r.load }),
		total: d(func(r realRow) time.Duration { return r.total }),
		p50:   d(func(r realRow) time.Duration { return r.p50 }),
		p99:   d(func(r realRow) time.Duration { return r.p99 }),
		cpu:   med(func(r realRow) float64 { return r.cpu }),
		rss:   med(func(r realRow) float64 { return r.rss }),
	}
}

// realBatch starts n pods on the node in a fresh namespace, measures them
// and deletes them.
func realBatch(ctx context.Context, cs kubernetes.Interface, o options, kubeletPID, n int) (realRow, error) {
	ns := fmt.Sprintf("kubelet-bench-%d-%d", n, time.Now().UnixNano())
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return realRow{}, err
	}
	r := realRow{cpu: -1, load: loadAvg()}
	var cpu0 float64
	if o.containerdPID > 0 {
		cpu0 = nodeCPU(kubeletPID, o.containerdPID, o.containerdAddress)
	}
	lat, total, err := startPods(ctx, cs, ns, o.image, []string{o.node}, n)
	if err == nil && o.containerdPID > 0 {
		r.cpu = (nodeCPU(kubeletPID, o.containerdPID, o.containerdAddress) - cpu0) / float64(n)
	}
	r.rss, _ = benchproc.RSSMiB(kubeletPID)
	benchproc.Logf("batch of %d: all Running in %v; deleting", n, total.Round(10*time.Millisecond))
	cleanup(cs, ns)
	if err != nil {
		return realRow{}, err
	}
	r.total, r.p50, r.p99 = total, pct(lat, 50), pct(lat, 99)
	return r, nil
}

func loadAvg() float64 {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// procStat is a process's parent and its CPU seconds: its own user and
// system time plus that of its waited-for children.
func procStat(pid int) (ppid int, self, children float64, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, 0, false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 15 {
		return 0, 0, 0, false
	}
	num := func(i int) float64 { v, _ := strconv.ParseFloat(f[i], 64); return v / 100 } // USER_HZ
	ppid, _ = strconv.Atoi(f[1])
	return ppid, num(11) + num(12), num(13) + num(14), true
}

// nodeCPU is the CPU seconds the node's pod machinery has used: the
// kubelet and containerd with their reaped children (CNI plugins, shim
// start commands), and every shim of the containerd at address with its
// reaped children (runc) and its live ones (the containers).
func nodeCPU(kubeletPID, containerdPID int, address string) float64 {
	var total float64
	for _, pid := range []int{kubeletPID, containerdPID} {
		_, self, children, _ := procStat(pid)
		total += self + children
	}
	ents, _ := os.ReadDir("/proc")
	shims := map[int]bool{}
	parent := map[int]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, _, _, ok := procStat(pid)
		if !ok {
			continue
		}
		parent[pid] = ppid
		if cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && strings.Contains(string(cmd), "containerd-shim") &&
			strings.Contains(string(cmd), "\x00"+address+"\x00") {
			shims[pid] = true
		}
	}
	for pid, ppid := range parent {
		if shims[pid] {
			_, self, children, _ := procStat(pid)
			total += self + children
		} else if shims[ppid] {
			_, self, _, _ := procStat(pid)
			total += self
		}
	}
	return total
}

// cleanup deletes the batch's namespace and waits for its pods to go.
func cleanup(cs kubernetes.Interface, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_ = cs.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
	_ = wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		return err == nil && len(pods.Items) == 0, nil
	})
	_ = cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
}
