// Command proxy benchmarks kube-proxy's iptables sync on this machine: for
// each Service count it creates a fresh network namespace and N ClusterIP
// Services with 2 endpoints each, and measures
//
//   - the first full sync (render + one iptables-restore);
//   - a partial sync after one endpoint of one Service changes;
//   - the slower partial path: a Service loses its last endpoint (REJECT
//     rule, KUBE-SERVICES rebuilt) and gets it back;
//   - the floor: the smallest restore into the same table at that moment
//     (one chain, one rule), which bounds any partial sync on this kernel;
//   - the process's RSS.
//
// With --api (the default) the Services and EndpointSlices are created in
// a real etcd + apiserver (processes) and reach the proxier through
// client-go informers, the tracker and the runner, as in kube-proxy: each
// change is timed from the EndpointSlice UPDATE request to the end of the
// iptables-restore that put it in the kernel. With --api=false the
// tracker is fed directly and the time starts at the tracker update.
// Needs root; the host's iptables are untouched.
//
//	go run ./test/bench/proxy                              # 1,000 and 10,000 Services
//	go run ./test/bench/proxy --services 1000 --api=false  # quick
//
// It prints a markdown table; docs/benchmarks.md keeps the results.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kstack/kstack/pkg/proxy"
	"github.com/kstack/kstack/pkg/proxy/iptables"
	"github.com/kstack/kstack/test/bench/benchproc"
	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

type options struct {
	counts   string
	partials int
	api      bool
	etcdBin  string
	apiBin   string
	keep     bool
}

func main() {
	var o options
	flag.StringVar(&o.counts, "services", "1000,10000", "Comma-separated Service counts.")
	flag.IntVar(&o.partials, "partials", 7, "Changes to time per kind and count (the median is reported).")
	flag.BoolVar(&o.api, "api", true, "Feed the proxier through a real apiserver and informers (else straight into the tracker).")
	flag.StringVar(&o.etcdBin, "etcd-bin", "etcd", "etcd binary for --api (3.5.13 or later).")
	flag.StringVar(&o.apiBin, "apiserver-bin", "", "Apiserver binary for --api (default: build ./cmd/apiserver).")
	flag.BoolVar(&o.keep, "keep", false, "Keep each network namespace (kpbench-<pid>-<n>) for inspection; delete it with ip netns del.")
	flag.Parse()
	from := "tracker update"
	if o.api {
		from = "EndpointSlice UPDATE request"
	}
	fmt.Printf("Times from the %s to the end of the iptables-restore that applied it (median; in brackets the iptables-restore alone).\n\n", from)
	fmt.Println("| Services | nat rules | first full sync | one endpoint changed | last endpoint gone / back | floor: a one-rule restore | RSS |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, c := range strings.Split(o.counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil {
			fail(err)
		}
		if err := run(o, n); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench proxy:", err)
	os.Exit(1)
}

const namespace = "bench"

func serviceName(i int) string { return fmt.Sprintf("svc-%d", i) }

func service(i int) *v1.Service {
	ip := fmt.Sprintf("10.96.%d.%d", 100+i/250, i%250+1)
	return &v1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: serviceName(i)},
		Spec: v1.ServiceSpec{ClusterIP: ip, ClusterIPs: []string{ip}, Type: v1.ServiceTypeClusterIP,
			Ports: []v1.ServicePort{{Name: "http", Port: 80, Protocol: v1.ProtocolTCP}}}}
}

// slice gives Service i its endpoints: two, the second shifted by gen;
// none when gen < 0.
func slice(i, gen int) *discovery.EndpointSlice {
	pn, port, proto, yes := "http", int32(8080), v1.ProtocolTCP, true
	name := serviceName(i)
	es := &discovery.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name + "-1",
		Labels: map[string]string{discovery.LabelServiceName: name}},
		AddressType: discovery.AddressTypeIPv4,
		Ports:       []discovery.EndpointPort{{Name: &pn, Port: &port, Protocol: &proto}},
		Endpoints:   []discovery.Endpoint{},
	}
	if gen < 0 {
		return es
	}
	for k := 0; k < 2; k++ {
		ip := fmt.Sprintf("10.%d.%d.%d", 128+k*(1+gen%60), i/250, i%250+1)
		es.Endpoints = append(es.Endpoints, discovery.Endpoint{Addresses: []string{ip}, Conditions: discovery.EndpointConditions{Ready: &yes}})
	}
	return es
}

// timedIPT times each iptables-restore.
type timedIPT struct {
	iptables.Exec
	mu   sync.Mutex
	last time.Duration
}

func (t *timedIPT) Restore(data []byte) error {
	start := time.Now()
	err := t.Exec.Restore(data)
	t.mu.Lock()
	t.last = time.Since(start)
	t.mu.Unlock()
	return err
}

// synced is what the sync that applied a change reports to its waiter.
type synced struct {
	done    time.Time
	restore time.Duration
	err     error
}

// bench is one run: a proxier in a netns, driven by the runner.
type bench struct {
	tr      *proxy.Tracker
	p       *iptables.Proxier
	ipt     *timedIPT
	runner  *proxy.Runner
	mu      sync.Mutex
	waiters map[types.NamespacedName]chan synced
	first   chan synced
}

func (b *bench) sync() error {
	snap := b.tr.Snapshot()
	err := b.p.Sync(snap)
	b.ipt.mu.Lock()
	s := synced{done: time.Now(), restore: b.ipt.last, err: err}
	b.ipt.mu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.first != nil {
		b.first <- s
		b.first = nil
	}
	for nn := range snap.Changed {
		if ch := b.waiters[nn]; ch != nil {
			ch <- s
			delete(b.waiters, nn)
		}
	}
	return err
}

// change runs do and waits until the sync that applied Service i's
// change has finished.
func (b *bench) change(i int, do func() error) (total, restore time.Duration, err error) {
	nn := types.NamespacedName{Namespace: namespace, Name: serviceName(i)}
	ch := make(chan synced, 1)
	b.mu.Lock()
	b.waiters[nn] = ch
	b.mu.Unlock()
	start := time.Now()
	if err := do(); err != nil {
		return 0, 0, err
	}
	select {
	case s := <-ch:
		return s.done.Sub(start), s.restore, s.err
	case <-time.After(2 * time.Minute):
		return 0, 0, fmt.Errorf("change of %s not synced after 2 minutes", nn)
	}
}

func run(o options, n int) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ns := fmt.Sprintf("kpbench-%d-%d", os.Getpid(), n)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns add: %v: %s", err, out)
	}
	if !o.keep {
		defer exec.Command("ip", "netns", "del", ns).Run()
	}
	ipt := &timedIPT{Exec: iptables.Exec{Prefix: []string{"nsenter", "--net=/run/netns/" + ns, "--"}}}
	p, err := iptables.New(iptables.Config{ClusterCIDR: "10.244.0.0/16", SyncPeriod: time.Hour}, ipt, ipt)
	if err != nil {
		return err
	}
	b := &bench{p: p, ipt: ipt, waiters: map[types.NamespacedName]chan synced{}, first: make(chan synced, 1)}
	b.runner = proxy.NewRunner(b.sync, 0, time.Hour)
	b.tr = proxy.NewTracker("bench-node", b.runner.Request)

	// setSlice applies Service i's slice of generation gen.
	var setSlice func(i, gen int) error
	if o.api {
		cs, stop, err := startAPI(ctx, o)
		if err != nil {
			return err
		}
		defer stop()
		benchproc.Logf("creating %d Services and EndpointSlices", n)
		rvs, err := create(ctx, cs, n)
		if err != nil {
			return err
		}
		factory := informers.NewSharedInformerFactory(cs, 0)
		trackerSynced, err := b.tr.Register(factory.Core().V1().Services().Informer(), factory.Discovery().V1().EndpointSlices().Informer())
		if err != nil {
			return err
		}
		factory.Start(ctx.Done())
		defer factory.Shutdown()
		if !cache.WaitForCacheSync(ctx.Done(), trackerSynced) {
			return fmt.Errorf("informers not synced")
		}
		setSlice = func(i, gen int) error {
			es := slice(i, gen)
			es.ResourceVersion = rvs[i]
			out, err := cs.DiscoveryV1().EndpointSlices(namespace).Update(ctx, es, metav1.UpdateOptions{})
			if err == nil {
				rvs[i] = out.ResourceVersion
			}
			return err
		}
	} else {
		for i := 0; i < n; i++ {
			b.tr.UpdateService(service(i))
			b.tr.UpdateSlice(slice(i, 0))
		}
		setSlice = func(i, gen int) error { b.tr.UpdateSlice(slice(i, gen)); return nil }
	}

	benchproc.Logf("first sync of %d Services", n)
	start := time.Now()
	done := make(chan struct{})
	go func() { b.runner.Loop(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	first := <-b.first
	if first.err != nil {
		return fmt.Errorf("full sync: %w", first.err)
	}
	full := first.done.Sub(start)

	var one, oneRestore, gone, goneRestore, floor []time.Duration
	for k := 1; k <= o.partials; k++ {
		// The floor: the smallest change iptables-restore can make to
		// this table now (one chain with one rule), under the same load.
		start := time.Now()
		if err := ipt.Exec.Restore([]byte("*nat\n:KUBE-BENCH-FLOOR - [0:0]\n-A KUBE-BENCH-FLOOR -j RETURN\nCOMMIT\n")); err != nil {
			return fmt.Errorf("floor restore: %w", err)
		}
		floor = append(floor, time.Since(start))
		if err := ipt.Exec.Restore([]byte("*nat\n:KUBE-BENCH-FLOOR - [0:0]\n-X KUBE-BENCH-FLOOR\nCOMMIT\n")); err != nil {
			return fmt.Errorf("floor cleanup: %w", err)
		}
		i := (k * 7919) % n
		total, restore, err := b.change(i, func() error { return setSlice(i, k) })
		if err != nil {
			return fmt.Errorf("endpoint change: %w", err)
		}
		one, oneRestore = append(one, total), append(oneRestore, restore)
		j := (k*104729 + 13) % n
		for _, gen := range []int{-1, 0} {
			total, restore, err := b.change(j, func() error { return setSlice(j, gen) })
			if err != nil {
				return fmt.Errorf("endpoints gone/back: %w", err)
			}
			gone, goneRestore = append(gone, total), append(goneRestore, restore)
		}
	}
	rules := 0
	if out, err := exec.Command("nsenter", "--net=/run/netns/"+ns, "--", "iptables-save", "-t", "nat").Output(); err == nil {
		rules = strings.Count(string(out), "\n-A ")
	}
	fmt.Printf("| %d | %d | %s | %s (%s) | %s (%s) | %s | %s |\n", n, rules, full.Round(100*time.Millisecond),
		median(one), median(oneRestore), median(gone), median(goneRestore), median(floor), rss())
	return nil
}

func median(ds []time.Duration) string {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2].Round(100 * time.Microsecond).String()
}

// startAPI runs etcd and an apiserver with a /16 Service range.
func startAPI(ctx context.Context, o options) (kubernetes.Interface, func(), error) {
	dir, err := os.MkdirTemp("", "proxy-bench-")
	if err != nil {
		return nil, nil, err
	}
	var stops []func()
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
		os.RemoveAll(dir)
	}
	bin := o.apiBin
	if bin == "" {
		bin = filepath.Join(dir, "apiserver")
		benchproc.Logf("building the apiserver")
		if err := benchproc.GoBuild(ctx, "./cmd/apiserver", bin); err != nil {
			stop()
			return nil, nil, err
		}
	}
	etcd, etcdURL, err := benchproc.StartEtcd(ctx, o.etcdBin, dir)
	if err != nil {
		stop()
		return nil, nil, err
	}
	stops = append(stops, etcd.Stop)
	api, url, caFile, token, err := benchproc.StartAPIServer(ctx, bin, dir, etcdURL, "--service-cluster-ip-range=10.96.0.0/16")
	if err != nil {
		stop()
		return nil, nil, err
	}
	stops = append(stops, api.Stop)
	cfg := benchproc.Protobuf(benchproc.ClientConfig(url, caFile, token))
	cfg.UserAgent = "kstack-proxy-bench"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		stop()
		return nil, nil, err
	}
	return cs, stop, nil
}

// create makes the namespace and n Services with their slices, 16 at a
// time, and returns the slices' resource versions.
func create(ctx context.Context, cs kubernetes.Interface, n int) ([]string, error) {
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	rvs := make([]string, n)
	err := benchproc.Parallel(ctx, 16, n, func(i int) error {
		if _, err := cs.CoreV1().Services(namespace).Create(ctx, service(i), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create service %d: %w", i, err)
		}
		es, err := cs.DiscoveryV1().EndpointSlices(namespace).Create(ctx, slice(i, 0), metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create slice %d: %w", i, err)
		}
		rvs[i] = es.ResourceVersion
		return nil
	})
	return rvs, err
}

func rss() string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "?"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "VmRSS:") {
			return strings.TrimSpace(strings.TrimPrefix(sc.Text(), "VmRSS:"))
		}
	}
	return "?"
}
