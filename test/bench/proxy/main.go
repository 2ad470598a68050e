// Command proxy benchmarks kube-proxy's iptables sync on this machine: for
// each Service count it creates a fresh network namespace, feeds N
// ClusterIP Services with 2 endpoints each to the tracker and measures the
// first full sync (render + one iptables-restore), then a partial sync
// after one EndpointSlice changes (tracker update to rules in the kernel),
// and the process's RSS. Needs root; the host's iptables are untouched.
//
//	go run ./test/bench/proxy                    # 1,000 and 10,000 Services
//	go run ./test/bench/proxy --services 1000    # quick
//
// It prints a markdown table; docs/benchmarks.md keeps the results.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/kstack/kstack/pkg/proxy"
	"github.com/kstack/kstack/pkg/proxy/iptables"
	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func main() {
	counts := flag.String("services", "1000,10000", "Comma-separated Service counts.")
	partials := flag.Int("partials", 5, "Partial syncs to time per count (the median is reported).")
	flag.BoolVar(&keep, "keep", false, "Keep each network namespace (kpbench-<pid>-<n>) for inspection; delete it with ip netns del.")
	flag.Parse()
	fmt.Println("| Services | rules (nat) | first full sync | partial sync, one endpoint changed (median) | RSS after |")
	fmt.Println("|---|---|---|---|---|")
	for _, c := range strings.Split(*counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil {
			fail(err)
		}
		if err := run(n, *partials); err != nil {
			fail(err)
		}
	}
}

var keep bool

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench proxy:", err)
	os.Exit(1)
}

func service(i int) (*v1.Service, *discovery.EndpointSlice) {
	name := fmt.Sprintf("svc-%d", i)
	ip := fmt.Sprintf("10.96.%d.%d", i/250, i%250+1)
	svc := &v1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "bench", Name: name},
		Spec: v1.ServiceSpec{ClusterIP: ip, ClusterIPs: []string{ip}, Type: v1.ServiceTypeClusterIP,
			Ports: []v1.ServicePort{{Name: "http", Port: 80, Protocol: v1.ProtocolTCP}}}}
	return svc, slice(name, i, 0)
}

// slice gives Service i two endpoints; gen shifts the second one.
func slice(name string, i, gen int) *discovery.EndpointSlice {
	pn, port, proto, yes := "http", int32(8080), v1.ProtocolTCP, true
	es := &discovery.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "bench", Name: name + "-1",
		Labels: map[string]string{discovery.LabelServiceName: name}},
		AddressType: discovery.AddressTypeIPv4,
		Ports:       []discovery.EndpointPort{{Name: &pn, Port: &port, Protocol: &proto}}}
	for k := 0; k < 2; k++ {
		ip := fmt.Sprintf("10.%d.%d.%d", 128+k+2*(gen%32), i/250, i%250+1)
		es.Endpoints = append(es.Endpoints, discovery.Endpoint{Addresses: []string{ip}, Conditions: discovery.EndpointConditions{Ready: &yes}})
	}
	return es
}

func run(n, partials int) error {
	ns := fmt.Sprintf("kpbench-%d-%d", os.Getpid(), n)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns add: %v: %s", err, out)
	}
	if !keep {
		defer exec.Command("ip", "netns", "del", ns).Run()
	}
	ipt := iptables.Exec{Prefix: []string{"nsenter", "--net=/run/netns/" + ns, "--"}}
	p, err := iptables.New(iptables.Config{ClusterCIDR: "10.244.0.0/16", SyncPeriod: time.Hour}, ipt, ipt)
	if err != nil {
		return err
	}
	tr := proxy.NewTracker("bench-node", nil)
	for i := 0; i < n; i++ {
		s, es := service(i)
		tr.UpdateService(s)
		tr.UpdateSlice(es)
	}
	start := time.Now()
	if err := p.Sync(tr.Snapshot()); err != nil {
		return fmt.Errorf("full sync: %w", err)
	}
	full := time.Since(start)
	var times []time.Duration
	for k := 1; k <= partials; k++ {
		i := (k * 7919) % n
		start := time.Now()
		tr.UpdateSlice(slice(fmt.Sprintf("svc-%d", i), i, k))
		if err := p.Sync(tr.Snapshot()); err != nil {
			return fmt.Errorf("partial sync: %w", err)
		}
		times = append(times, time.Since(start))
	}
	for i := range times {
		for j := i + 1; j < len(times); j++ {
			if times[j] < times[i] {
				times[i], times[j] = times[j], times[i]
			}
		}
	}
	rules := 0
	if out, err := exec.Command("nsenter", "--net=/run/netns/"+ns, "--", "iptables-save", "-t", "nat").Output(); err == nil {
		rules = strings.Count(string(out), "\n-A ")
	}
	fmt.Printf("| %d | %d | %s | %s | %s |\n", n, rules, full.Round(time.Millisecond), times[len(times)/2].Round(time.Millisecond), rss())
	return nil
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
