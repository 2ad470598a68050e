package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// latencies summarises a set of durations.
type latencies []time.Duration

// pct returns the p-th percentile (nearest rank), 0 when empty.
func (l latencies) pct(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	i := int(p/100*float64(len(s))+0.5) - 1
	i = max(0, min(i, len(s)-1))
	return s[i]
}

// benchPod is a realistic pod of about 1.5 KB in JSON: one container with
// resources, env, ports, a probe, and the labels a Deployment leaves.
func benchPod(name string) *corev1.Pod {
	env := []corev1.EnvVar{
		{Name: "LOG_LEVEL", Value: "info"},
		{Name: "HTTP_PORT", Value: "8080"},
		{Name: "METRICS_PORT", Value: "9090"},
		{Name: "DATABASE_URL", Value: "postgres://app:secret@db.bench.svc.cluster.local:5432/app?sslmode=disable"},
		{Name: "CACHE_TTL", Value: "300s"},
		{Name: "FEATURE_FLAGS", Value: "alpha=false,beta=true,gamma=true"},
		{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Labels: map[string]string{
				"app":                          "bench-web",
				"tier":                         "frontend",
				"pod-template-hash":            "7c9f8d6b5d",
				"app.kubernetes.io/name":       "bench-web",
				"app.kubernetes.io/version":    "1.4.2",
				"app.kubernetes.io/managed-by": "kstack-bench",
			},
			Annotations: map[string]string{
				"kubectl.kubernetes.io/default-container": "web",
			},
		},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:    "web",
				Image:   "registry.example.com/bench/web:1.4.2",
				Command: []string{"/usr/local/bin/web"},
				Args:    []string{"--listen=:8080", "--metrics=:9090", "--graceful-timeout=20s"},
				Ports: []corev1.ContainerPort{
					{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
					{Name: "metrics", ContainerPort: 9090, Protocol: corev1.ProtocolTCP},
				},
				Env: env,
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{
						corev1.ResourceCPU:    resource.MustParse("100m"),
						corev1.ResourceMemory: resource.MustParse("128Mi"),
					},
					Limits: corev1.ResourceList{
						corev1.ResourceCPU:    resource.MustParse("500m"),
						corev1.ResourceMemory: resource.MustParse("256Mi"),
					},
				},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromString("http")}},
					PeriodSeconds:    10,
					FailureThreshold: 3,
				},
				ImagePullPolicy: corev1.PullIfNotPresent,
			}},
			RestartPolicy:                 corev1.RestartPolicyAlways,
			TerminationGracePeriodSeconds: ptr[int64](30),
			DNSPolicy:                     corev1.DNSClusterFirst,
			NodeSelector:                  map[string]string{"kubernetes.io/os": "linux"},
		},
	}
}

func ptr[T any](v T) *T { return &v }

// createResult is the create phase's outcome.
type createResult struct {
	perSecond float64
	lat       latencies
}

// createPods creates n pods named pod-00000... from `clients` concurrent
// workers and measures each call.
func createPods(ctx context.Context, cs kubernetes.Interface, ns string, n, clients int) (createResult, error) {
	var next atomic.Int64
	lat := make(latencies, n)
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				pod := benchPod(fmt.Sprintf("pod-%05d", i))
				t := time.Now()
				_, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
				lat[i] = time.Since(t)
				if err != nil {
					errs <- fmt.Errorf("create pod %d: %w", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return createResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return createResult{}, err
	}
	return createResult{perSecond: float64(n) / elapsed.Seconds(), lat: lat}, nil
}

// listWhole lists the namespace's pods runs times with the given
// resourceVersion and checks the count.
func listWhole(ctx context.Context, cs kubernetes.Interface, ns, rv string, want, runs int) (latencies, error) {
	var lat latencies
	for range runs {
		t := time.Now()
		l, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{ResourceVersion: rv})
		d := time.Since(t)
		if err != nil {
			return nil, fmt.Errorf("list pods (rv %q): %w", rv, err)
		}
		if len(l.Items) != want {
			return nil, fmt.Errorf("list pods (rv %q): %d items, want %d", rv, len(l.Items), want)
		}
		lat = append(lat, d)
	}
	return lat, nil
}

// listPaged lists the namespace's pods in pages of size limit, runs times,
// and measures each full walk.
func listPaged(ctx context.Context, cs kubernetes.Interface, ns string, limit int64, want, runs int) (latencies, int, error) {
	var lat latencies
	pages := 0
	for range runs {
		t := time.Now()
		got, cont := 0, ""
		pages = 0
		for {
			l, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{Limit: limit, Continue: cont})
			if err != nil {
				return nil, 0, fmt.Errorf("list page %d: %w", pages, err)
			}
			got += len(l.Items)
			pages++
			cont = l.Continue
			if cont == "" {
				break
			}
		}
		lat = append(lat, time.Since(t))
		if got != want {
			return nil, 0, fmt.Errorf("paged list: %d items, want %d", got, want)
		}
	}
	return lat, pages, nil
}

// watchDelivery measures, for `updates` sequential label updates of one
// pod, the time from just before the update call until each of `watchers`
// namespace watchers has received the event; it returns, per update, the
// time of the last watcher to receive it.
func watchDelivery(ctx context.Context, cs kubernetes.Interface, ns, name string, watchers, updates int) (latencies, error) {
	const warmup = 5
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pod, err := cs.CoreV1().Pods(ns).Create(ctx, benchPod(name), metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create watch target: %w", err)
	}
	type receipt struct {
		seq int
		at  time.Time
	}
	got := make(chan receipt, watchers*4)
	werr := make(chan error, watchers)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for range watchers {
		// Watching from the target's creation: every later event, no
		// synthetic ADDED events for the pods already there.
		w, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: pod.ResourceVersion})
		if err != nil {
			return nil, fmt.Errorf("start watch: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer w.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case ev, ok := <-w.ResultChan():
					if !ok {
						if ctx.Err() == nil {
							werr <- fmt.Errorf("watch closed early")
						}
						return
					}
					at := time.Now()
					if ev.Type == watch.Error {
						werr <- fmt.Errorf("watch error event: %v", ev.Object)
						return
					}
					p, ok := ev.Object.(*corev1.Pod)
					if !ok || p.Name != name || ev.Type != watch.Modified {
						continue
					}
					seq, err := strconv.Atoi(p.Labels["bench-seq"])
					if err != nil {
						continue
					}
					select {
					case got <- receipt{seq, at}:
					case <-ctx.Done():
						return
					}
				}
			}
		}()
	}
	var lat latencies
	for i := range warmup + updates {
		pod.Labels["bench-seq"] = strconv.Itoa(i)
		t := time.Now()
		pod, err = cs.CoreV1().Pods(ns).Update(ctx, pod, metav1.UpdateOptions{})
		if err != nil {
			return nil, fmt.Errorf("update %d: %w", i, err)
		}
		var last time.Time
		timeout := time.After(30 * time.Second)
		for n := 0; n < watchers; {
			select {
			case r := <-got:
				if r.seq == i {
					n++
					if r.at.After(last) {
						last = r.at
					}
				}
			case err := <-werr:
				return nil, err
			case <-timeout:
				return nil, fmt.Errorf("update %d: only %d of %d watchers got the event within 30s", i, n, watchers)
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if i >= warmup {
			lat = append(lat, last.Sub(t))
		}
	}
	return lat, nil
}

// listRaw lists the namespace's pods runs times without decoding the
// response: the time to the last byte, which leaves the client's decoding
// out of the figure.
func listRaw(ctx context.Context, cs kubernetes.Interface, ns, rv string, runs int) (latencies, error) {
	var lat latencies
	for range runs {
		t := time.Now()
		_, err := cs.CoreV1().RESTClient().Get().Namespace(ns).Resource("pods").Param("resourceVersion", rv).DoRaw(ctx)
		d := time.Since(t)
		if err != nil {
			return nil, fmt.Errorf("raw list pods (rv %q): %w", rv, err)
		}
		lat = append(lat, d)
	}
	return lat, nil
}
