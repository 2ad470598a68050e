// Command controller benchmarks the kstack controller-manager: it starts
// etcd, the kstack apiserver and the controller-manager binary (only the
// deployment and replicaset controllers) as separate processes, so the
// controller-manager's RSS is its own; creates N Deployments × R replicas
// at once; plays the scheduler and the kubelet for every pod (binds it to
// one of a few fake nodes, then marks it Running and Ready); and reports
// the time until every Deployment is Available with all replicas updated,
// and the controller-manager's RSS and CPU time.
//
//	go run ./test/bench/controller                            # 1,000 x 3
//	go run ./test/bench/controller --deployments 10000        # 30,000 pods
//	go run ./test/bench/controller --quick                    # 100 x 3
//
// It prints a markdown table; docs/benchmarks.md keeps the results.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kstack/kstack/test/bench/benchproc"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

type options struct {
	deployments, replicas int
	nodes                 int
	quick, keep           bool
	etcdBin               string
	qps                   int
	clients               int
	kubelets              int
}

func main() {
	var o options
	flag.IntVar(&o.deployments, "deployments", 1000, "Deployments created at once.")
	flag.IntVar(&o.replicas, "replicas", 3, "Replicas of each Deployment.")
	flag.IntVar(&o.nodes, "nodes", 100, "Fake Ready nodes the pods are bound to.")
	flag.BoolVar(&o.quick, "quick", false, "Smoke run: 100 Deployments.")
	flag.BoolVar(&o.keep, "keep", false, "Keep the temp dir (logs, etcd data).")
	flag.StringVar(&o.etcdBin, "etcd-bin", "etcd", "etcd binary to start.")
	flag.IntVar(&o.qps, "controller-manager-qps", 200, "The controller-manager's --kube-api-qps (burst is twice that).")
	flag.IntVar(&o.clients, "clients", 50, "Concurrent clients creating Deployments.")
	flag.IntVar(&o.kubelets, "kubelets", 50, "Concurrent clients binding pods and marking them ready.")
	flag.Parse()
	if o.quick {
		o.deployments = 100
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
		TempPrefix: "cm-bench-", Keep: o.keep, EtcdBin: o.etcdBin,
		Component: "controller-manager", Protobuf: true,
	})
	if err != nil {
		return err
	}
	defer env.Stop()
	dir, cmBin, cs, kubeconfig := env.Dir, env.ComponentBin, env.Client, env.Kubeconfig
	for i := 0; i < o.nodes; i++ {
		if _, err := cs.CoreV1().Nodes().Create(ctx, fakeNode(i), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create node: %w", err)
		}
	}
	ns := "cm-bench"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	port, err := benchproc.FreePort()
	if err != nil {
		return err
	}
	cm, err := benchproc.StartProcess("controller-manager", dir, cmBin, "--kubeconfig="+kubeconfig, "--leader-elect=false",
		"--controllers=deployment,replicaset", "--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(port),
		"--kube-api-qps="+strconv.Itoa(o.qps), "--kube-api-burst="+strconv.Itoa(2*o.qps))
	if err != nil {
		return err
	}
	defer cm.Stop()
	time.Sleep(2 * time.Second) // informers synced on an empty namespace
	idleRSS, _ := benchproc.RSSMiB(cm.Pid())
	cpu0, _ := benchproc.CPUSeconds(cm.Pid())

	// The kubelets: bind each new pod, then mark it Running and Ready.
	pods := make(chan *corev1.Pod, o.deployments*o.replicas)
	pw, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	defer pw.Stop()
	go func() {
		for ev := range pw.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok && ev.Type == watch.Added {
				pods <- p
			}
		}
	}()
	var kubeletErrs sync.Map
	var bound atomic.Int64
	var wg sync.WaitGroup
	kctx, kstop := context.WithCancel(ctx)
	defer func() { kstop(); wg.Wait() }()
	for w := 0; w < o.kubelets; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-kctx.Done():
					return
				case p := <-pods:
					if err := kubelet(kctx, cs, p, fmt.Sprintf("node-%05d", int(bound.Add(1))%o.nodes)); err != nil && kctx.Err() == nil {
						kubeletErrs.Store(p.Name, err)
					}
				}
			}
		}()
	}
	// The Deployments' progress.
	dw, err := cs.AppsV1().Deployments(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	defer dw.Stop()
	availableAt := map[string]time.Duration{}
	var mu sync.Mutex
	t0 := time.Now()
	go func() {
		for ev := range dw.ResultChan() {
			d, ok := ev.Object.(*appsv1.Deployment)
			if !ok || !available(d, int32(o.replicas)) {
				continue
			}
			mu.Lock()
			if _, seen := availableAt[d.Name]; !seen {
				availableAt[d.Name] = time.Since(t0)
			}
			mu.Unlock()
		}
	}()
	if err := benchproc.Parallel(ctx, o.clients, o.deployments, func(i int) error {
		_, err := cs.AppsV1().Deployments(ns).Create(ctx, benchDeployment(fmt.Sprintf("d-%05d", i), int32(o.replicas)), metav1.CreateOptions{})
		return err
	}); err != nil {
		return fmt.Errorf("create deployments: %w", err)
	}
	created := time.Since(t0)
	benchproc.Logf("created %d deployments in %v", o.deployments, created.Round(time.Millisecond))
	var peakRSS float64
	for {
		mu.Lock()
		n := len(availableAt)
		mu.Unlock()
		if n >= o.deployments {
			break
		}
		if err := cm.Exited(); err != nil {
			return fmt.Errorf("controller-manager exited: %w", err)
		}
		if r, err := benchproc.RSSMiB(cm.Pid()); err == nil {
			peakRSS = math.Max(peakRSS, r)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Since(t0) > 30*time.Minute {
			return fmt.Errorf("only %d/%d deployments available after 30 minutes", n, o.deployments)
		}
	}
	all := time.Since(t0)
	cpu1, _ := benchproc.CPUSeconds(cm.Pid())
	rss, _ := benchproc.RSSMiB(cm.Pid())
	peakRSS = math.Max(peakRSS, rss)
	nerr := 0
	kubeletErrs.Range(func(_, _ any) bool { nerr++; return true })
	var half time.Duration
	mu.Lock()
	times := make([]time.Duration, 0, len(availableAt))
	for _, d := range availableAt {
		times = append(times, d)
	}
	mu.Unlock()
	half = nth(times, len(times)/2)
	fmt.Fprintf(out, "| deployments × replicas | created in | half Available | all Available | controller-manager RSS idle / end / peak | controller-manager CPU | kubelet errors |\n")
	fmt.Fprintf(out, "|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(out, "| %d × %d (qps %d) | %v | %v | %v | %.0f / %.0f / %.0f MiB | %.1f s | %d |\n", o.deployments, o.replicas, o.qps,
		created.Round(time.Millisecond), half.Round(time.Millisecond), all.Round(time.Millisecond), idleRSS, rss, peakRSS, cpu1-cpu0, nerr)
	return nil
}

// nth is the n-th smallest of ds.
func nth(ds []time.Duration, n int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(n, len(s)-1)]
}

// available reports whether d is Available with all replicas updated.
func available(d *appsv1.Deployment, replicas int32) bool {
	if d.Status.ObservedGeneration < d.Generation || d.Status.UpdatedReplicas != replicas || d.Status.AvailableReplicas != replicas {
		return false
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// kubelet binds pod to node and marks it Running and Ready.
func kubelet(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod, node string) error {
	b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
		Target: corev1.ObjectReference{Kind: "Node", Name: node}}
	if err := cs.CoreV1().Pods(pod.Namespace).Bind(ctx, b, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("bind %s: %w", pod.Name, err)
	}
	for attempt := 0; ; attempt++ {
		p, err := cs.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := metav1.Now()
		p.Status.Phase = corev1.PodRunning
		p.Status.PodIP = "10.244.0.1"
		p.Status.StartTime = &now
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}}
		_, err = cs.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
		if err == nil || attempt > 5 {
			return err
		}
	}
}

func fakeNode(i int) *corev1.Node {
	name := fmt.Sprintf("node-%05d", i)
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: metav1.Now()}}}}
}

func benchDeployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: appsv1.DeploymentSpec{
		Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}}}},
	}}
}
