package controller

import (
	"errors"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestExpectations(t *testing.T) {
	e := NewExpectations()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e.now = func() time.Time { return now }
	if !e.Satisfied("a") {
		t.Fatal("unknown key must be satisfied")
	}
	e.ExpectCreations("a", 2)
	e.CreationObserved("a")
	if e.Satisfied("a") {
		t.Fatal("one creation outstanding")
	}
	e.CreationObserved("a")
	if !e.Satisfied("a") {
		t.Fatal("all creations observed")
	}
	e.ExpectDeletions("a", []string{"ns/p1", "ns/p2"})
	e.DeletionObserved("a", "ns/p1")
	e.DeletionObserved("a", "ns/p1") // twice is once
	if e.Satisfied("a") {
		t.Fatal("p2 outstanding")
	}
	now = now.Add(ExpectationsTimeout + time.Second)
	if !e.Satisfied("a") {
		t.Fatal("expired expectations must not block forever")
	}
}

func pod(name, node string, phase corev1.PodPhase, ready bool, readySince time.Time, restarts int32, created time.Time) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(created)},
		Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Phase: phase}}
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st, LastTransitionTime: metav1.NewTime(readySince)}}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{RestartCount: restarts}}
	return p
}

func TestLessValuable_DeletionOrder(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pods := []*corev1.Pod{
		pod("ready-old", "n", corev1.PodRunning, true, t0, 0, t0),
		pod("unscheduled", "", corev1.PodPending, false, t0, 0, t0),
		pod("ready-recent", "n", corev1.PodRunning, true, t0.Add(time.Hour), 0, t0),
		pod("pending", "n", corev1.PodPending, false, t0, 0, t0),
		pod("notready", "n", corev1.PodRunning, false, t0, 0, t0),
		pod("unknown", "n", corev1.PodUnknown, false, t0, 0, t0),
		pod("notready-restarts", "n", corev1.PodRunning, false, t0, 5, t0),
		pod("notready-newer", "n", corev1.PodRunning, false, t0, 0, t0.Add(time.Minute)),
	}
	sort.SliceStable(pods, func(i, j int) bool { return LessValuable(pods[i], pods[j]) })
	var got []string
	for _, p := range pods {
		got = append(got, p.Name)
	}
	want := []string{"unscheduled", "pending", "unknown", "notready-restarts", "notready-newer", "notready", "ready-recent", "ready-old"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("deletion order = %v, want %v", got, want)
		}
	}
}

func TestIsPodAvailable(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := pod("p", "n", corev1.PodRunning, true, now.Add(-5*time.Second), 0, now)
	for _, tc := range []struct {
		minReady int32
		want     bool
	}{{0, true}, {3, true}, {10, false}} {
		if got := IsPodAvailable(p, tc.minReady, now); got != tc.want {
			t.Errorf("minReadySeconds %d: available = %v, want %v", tc.minReady, got, tc.want)
		}
	}
}

func TestSlowStartBatch(t *testing.T) {
	tests := []struct {
		name      string
		count     int
		failAfter int32 // calls that succeed before every call fails
		wantOK    int
		wantCalls int32
	}{
		{"all succeed", 10, 100, 10, 10},
		{"first fails: one call only", 10, 0, 0, 1},
		{"fails in the third batch (1,2,4)", 10, 3, 3, 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			ok, err := SlowStartBatch(tc.count, 1, func() error {
				if calls.Add(1) > tc.failAfter {
					return errors.New("quota")
				}
				return nil
			})
			if ok != tc.wantOK || calls.Load() != tc.wantCalls || (err != nil) != (tc.wantOK < tc.count) {
				t.Errorf("ok=%d calls=%d err=%v; want ok=%d calls=%d", ok, calls.Load(), err, tc.wantOK, tc.wantCalls)
			}
		})
	}
}

func TestFindPort(t *testing.T) {
	p := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Ports: []corev1.ContainerPort{
		{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
		{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP},
	}}}}}
	tests := []struct {
		port    corev1.ServicePort
		want    int32
		wantErr bool
	}{
		{corev1.ServicePort{Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}, 8080, false},
		{corev1.ServicePort{Port: 53, TargetPort: intstr.FromString("dns"), Protocol: corev1.ProtocolTCP}, 0, true},
		{corev1.ServicePort{Port: 80, TargetPort: intstr.FromInt32(9090), Protocol: corev1.ProtocolTCP}, 9090, false},
		{corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP}, 80, false},
	}
	for _, tc := range tests {
		got, err := FindPort(p, &tc.port)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("FindPort(%v) = %d, %v; want %d (err %v)", tc.port.TargetPort, got, err, tc.want, tc.wantErr)
		}
	}
}
