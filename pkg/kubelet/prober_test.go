package kubelet

import (
	"context"
	"testing"
	"time"

	"github.com/kstack/kstack/pkg/kubelet/runtime"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	testingclock "k8s.io/utils/clock/testing"
)

// scriptedExec answers exec probes with the next exit code.
type scriptedExec struct{ codes []int }

func (s *scriptedExec) Exec(context.Context, string, []string, time.Duration) (int, error) {
	code := s.codes[0]
	s.codes = s.codes[1:]
	return code, nil
}

func TestRunProbe_ThresholdsAndPeriod(t *testing.T) {
	clock := testingclock.NewFakeClock(t0)
	exec := &scriptedExec{codes: []int{1, 0, 1, 1, 0, 0}}
	k := &Kubelet{clock: clock, prober: exec, probes: map[types.UID]map[string]*probeState{}}
	pod := testPod(v1.RestartPolicyAlways, nil, "a")
	s := &podSync{k: k, pod: pod}
	c := &pod.Spec.Containers[0]
	p := &v1.Probe{
		ProbeHandler:        v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"check"}}},
		InitialDelaySeconds: 5, PeriodSeconds: 2, FailureThreshold: 2, SuccessThreshold: 2,
	}
	inst := runtime.Container{ID: "c1", StartedAt: t0, State: runtime.StateRunning}
	steps := []struct {
		advance time.Duration
		want    bool
		probed  bool
	}{
		{0, false, false},              // initial delay: readiness starts failing
		{5 * time.Second, false, true}, // exit 1
		{time.Second, false, false},    // not due within the period
		{time.Second, false, true},     // exit 0: one success of two
		{2 * time.Second, false, true}, // exit 1
		{2 * time.Second, false, true}, // exit 1
		{2 * time.Second, false, true}, // exit 0
		{2 * time.Second, true, true},  // exit 0: two successes
	}
	left := len(exec.codes)
	for i, st := range steps {
		clock.Step(st.advance)
		if got := s.runProbe(context.Background(), "readiness", p, c, inst, ""); got != st.want {
			t.Errorf("step %d: ready = %v, want %v", i, got, st.want)
		}
		probed := len(exec.codes) < left
		left = len(exec.codes)
		if probed != st.probed {
			t.Errorf("step %d: probed = %v, want %v", i, probed, st.probed)
		}
	}
}
