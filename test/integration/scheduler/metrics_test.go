package scheduler

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/kstack/kstack/pkg/scheduler"
)

func TestScheduler_MetricsWithUpstreamNames(t *testing.T) {
	e := newEnv(t)
	e.addNode(t, nodeSpec{name: "n1", cpu: "1"})
	cfg := e.schedulerConfig(t)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	client, err := kubernetes.NewForConfig(cfg.REST)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	sched, err := scheduler.New(client, cfg, scheduler.NewMetrics(reg))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); sched.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })

	e.createPod(t, pod("fits", "100m", "", nil))
	e.waitScheduled(t, "fits")
	e.createPod(t, pod("too-big", "2", "", nil))
	e.waitUnschedulable(t, "too-big")

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	// name -> "label=value,..." -> value
	got := map[string]map[string]float64{}
	for _, f := range families {
		got[f.GetName()] = map[string]float64{}
		for _, m := range f.GetMetric() {
			key := ""
			for _, l := range m.GetLabel() {
				key += fmt.Sprintf("%s=%s,", l.GetName(), l.GetValue())
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
			got[f.GetName()][key] = v
		}
	}
	checks := []struct{ name, labels string }{
		{"scheduler_schedule_attempts_total", "profile=default-scheduler,result=scheduled,"},
		{"scheduler_schedule_attempts_total", "profile=default-scheduler,result=unschedulable,"},
		{"scheduler_scheduling_attempt_duration_seconds", "profile=default-scheduler,result=scheduled,"},
		{"scheduler_scheduling_attempt_duration_seconds", "profile=default-scheduler,result=unschedulable,"},
		{"scheduler_queue_incoming_pods_total", "event=PodAdd,queue=active,"},
		{"scheduler_queue_incoming_pods_total", "event=ScheduleAttemptFailure,queue=unschedulable,"},
		{"scheduler_pending_pods", "queue=unschedulable,"},
	}
	for _, c := range checks {
		if v, ok := got[c.name][c.labels]; !ok || v < 1 {
			t.Errorf("%s{%s} = %v (present %v), want >= 1; have %v", c.name, c.labels, v, ok, got[c.name])
		}
	}
}

func TestScheduler_SystemDefaultSpreadForServicePods(t *testing.T) {
	e := newEnv(t)
	e.addNode(t, nodeSpec{name: "n1"})
	e.addNode(t, nodeSpec{name: "n2"})
	// Only PodTopologySpread scores, so the placement shows its system
	// default constraints (the pods have none of their own): a Service
	// selects them, so they spread over hostnames.
	path := filepath.Join(t.TempDir(), "config.yaml")
	data := `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
  plugins:
    score:
      disabled: [{name: "*"}]
      enabled: [{name: PodTopologySpread}]
`
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := scheduler.LoadConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.c.CoreV1().Services(e.ns).Create(t.Context(), &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(80)}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.schedulerConfig(t)
	cfg.Component = *loaded
	e.startScheduler(t, cfg)
	perNode := map[string]int{}
	for i := 0; i < 6; i++ {
		name := fmt.Sprintf("web-%d", i)
		e.createPod(t, pod(name, "100m", "", map[string]string{"app": "web"}))
		perNode[e.waitScheduled(t, name)]++ // one at a time: each sees the last
		if d := perNode["n1"] - perNode["n2"]; d > 1 || d < -1 {
			t.Fatalf("after %d pods n1=%d n2=%d: the system default spread did not balance them", i+1, perNode["n1"], perNode["n2"])
		}
	}
}
