package queue

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
)

func qpod(name string, prio int32) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name)}, Spec: corev1.PodSpec{Priority: &prio}}
}

func newQueue() (*PriorityQueue, *clocktesting.FakeClock) {
	clk := clocktesting.NewFakeClock(time.Unix(1000, 0))
	return New(WithClock(clk)), clk
}

func TestQueue_PopsByPriorityThenTime(t *testing.T) {
	q, clk := newQueue()
	q.Add(qpod("low-old", 1))
	clk.Step(time.Second)
	q.Add(qpod("high", 10))
	clk.Step(time.Second)
	q.Add(qpod("low-new", 1))
	var got []string
	for i := 0; i < 3; i++ {
		got = append(got, q.Pop(context.Background()).Pod.Name)
	}
	want := []string{"high", "low-old", "low-new"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %v, want %v", got, want)
		}
	}
}

func TestQueue_BackoffDoublesToTenSeconds(t *testing.T) {
	tests := []struct {
		attempts int
		want     time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {4, 8 * time.Second}, {5, 10 * time.Second}, {9, 10 * time.Second}}
	q, _ := newQueue()
	for _, tt := range tests {
		if got := q.backoffDuration(&QueuedPodInfo{Attempts: tt.attempts}); got != tt.want {
			t.Errorf("attempts %d: backoff %v, want %v", tt.attempts, got, tt.want)
		}
	}
}

func TestQueue_UnschedulableParkedUntilEvent(t *testing.T) {
	q, clk := newQueue()
	q.Add(qpod("p", 0))
	pi := q.Pop(context.Background())
	pi.UnschedulablePlugins = map[string]struct{}{"NodeResourcesFit": {}}
	q.AddUnschedulable(pi, false)
	if a, b, u := q.Lengths(); a != 0 || b != 0 || u != 1 {
		t.Fatalf("lengths active %d backoff %d parked %d, want parked 1", a, b, u)
	}
	// An event for other plugins does not move it.
	q.MoveAllToActiveOrBackoffQueue(Event{Label: "AssignedPodAdd", Plugins: map[string]struct{}{"InterPodAffinity": {}}})
	if _, _, u := q.Lengths(); u != 1 {
		t.Fatalf("moved by an unrelated event")
	}
	// A node event moves it; still inside its backoff, so to backoffQ.
	q.MoveAllToActiveOrBackoffQueue(Event{Label: "NodeAdd"})
	if a, b, _ := q.Lengths(); a != 0 || b != 1 {
		t.Fatalf("after NodeAdd active %d backoff %d, want backoff 1", a, b)
	}
	clk.Step(1100 * time.Millisecond)
	q.FlushBackoffCompleted()
	if a, _, _ := q.Lengths(); a != 1 {
		t.Fatalf("backoff not completed after 1.1s")
	}
}

func TestQueue_EventDuringAttemptSendsToBackoff(t *testing.T) {
	q, _ := newQueue()
	q.Add(qpod("p", 0))
	pi := q.Pop(context.Background())
	q.MoveAllToActiveOrBackoffQueue(Event{Label: "NodeAdd"}) // while p is being tried
	q.AddUnschedulable(pi, false)
	if _, b, u := q.Lengths(); b != 1 || u != 0 {
		t.Fatalf("backoff %d parked %d, want backoff 1 (it may have missed the event)", b, u)
	}
}

func TestQueue_LeftoverFlushAfterFiveMinutes(t *testing.T) {
	q, clk := newQueue()
	q.Add(qpod("p", 0))
	q.AddUnschedulable(q.Pop(context.Background()), false)
	clk.Step(4 * time.Minute)
	q.FlushUnschedulableLeftover()
	if _, _, u := q.Lengths(); u != 1 {
		t.Fatalf("flushed before 5 minutes")
	}
	clk.Step(2 * time.Minute)
	q.FlushUnschedulableLeftover()
	if a, _, u := q.Lengths(); a != 1 || u != 0 {
		t.Fatalf("active %d parked %d after 6 minutes, want active 1", a, u)
	}
}

func TestQueue_GatedPodsWaitForGatesRemoved(t *testing.T) {
	q, _ := newQueue()
	p := qpod("g", 0)
	p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/wait"}}
	q.Add(p)
	if a, _, _ := q.Lengths(); a != 0 {
		t.Fatalf("gated pod is active")
	}
	p = p.DeepCopy()
	p.Spec.SchedulingGates = nil
	q.Update(p)
	if got := q.Pop(context.Background()); got == nil || got.Pod.Name != "g" {
		t.Fatalf("ungated pod not popped")
	}
}

func TestQueue_DeleteAndClose(t *testing.T) {
	q, _ := newQueue()
	q.Add(qpod("p", 0))
	q.Delete(qpod("p", 0))
	q.Close()
	if got := q.Pop(context.Background()); got != nil {
		t.Fatalf("popped %s after delete and close", got.Pod.Name)
	}
}

func TestQueue_ParkedPodMovesOnSpecOrLabelChangeNotStatus(t *testing.T) {
	q, clk := newQueue()
	q.Add(qpod("p", 0))
	pi := q.Pop(context.Background())
	q.AddUnschedulable(pi, false)
	clk.Step(2 * time.Second) // past its backoff

	statusOnly := pi.Pod.DeepCopy()
	statusOnly.ResourceVersion = "2"
	statusOnly.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable"}}
	q.Update(statusOnly)
	if a, b, u := q.Lengths(); a != 0 || b != 0 || u != 1 {
		t.Fatalf("status update: active %d backoff %d parked %d, want still parked", a, b, u)
	}
	relabelled := statusOnly.DeepCopy()
	relabelled.ResourceVersion = "3"
	relabelled.Labels = map[string]string{"tier": "web"}
	q.Update(relabelled)
	if a, _, u := q.Lengths(); a != 1 || u != 0 {
		t.Fatalf("label update: active %d parked %d, want active", a, u)
	}
	pi = q.Pop(context.Background())
	q.AddUnschedulable(pi, false)
	clk.Step(10 * time.Second)
	tolerating := pi.Pod.DeepCopy()
	tolerating.Spec.Tolerations = []corev1.Toleration{{Key: "spot", Operator: corev1.TolerationOpExists}}
	q.Update(tolerating)
	if a, _, u := q.Lengths(); a != 1 || u != 0 {
		t.Fatalf("spec update: active %d parked %d, want active", a, u)
	}
}
