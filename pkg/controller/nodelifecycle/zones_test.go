package nodelifecycle

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestComputeZoneState(t *testing.T) {
	ready := &corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue}
	notReady := &corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionFalse}
	unknown := &corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionUnknown}
	tests := []struct {
		name  string
		conds []*corev1.NodeCondition
		want  ZoneState
	}{
		{"all ready", []*corev1.NodeCondition{ready, ready}, StateNormal},
		{"none ready", []*corev1.NodeCondition{notReady, unknown}, StateFullDisruption},
		{"never reported counts as not ready", []*corev1.NodeCondition{nil}, StateFullDisruption},
		{"two not ready is never partial", []*corev1.NodeCondition{notReady, notReady, ready}, StateNormal},
		{"three of four not ready", []*corev1.NodeCondition{notReady, unknown, nil, ready}, StatePartialDisruption},
		{"three of six is below 0.55", []*corev1.NodeCondition{notReady, notReady, notReady, ready, ready, ready}, StateNormal},
		{"empty zone", nil, StateNormal},
	}
	for _, tc := range tests {
		if got := ComputeZoneState(tc.conds, 0.55); got != tc.want {
			t.Errorf("%s: ComputeZoneState = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestZoneEvictionRate(t *testing.T) {
	o := Options{EvictionRate: 0.1, SecondaryEvictionRate: 0.01, LargeClusterSizeThreshold: 50}
	tests := []struct {
		st   ZoneState
		size int
		want float32
	}{
		{StateNormal, 10, 0.1},
		{StateFullDisruption, 10, 0.1},
		{StatePartialDisruption, 50, 0},
		{StatePartialDisruption, 51, 0.01},
	}
	for _, tc := range tests {
		if got := o.ZoneEvictionRate(tc.st, tc.size); got != tc.want {
			t.Errorf("ZoneEvictionRate(%s, %d) = %v, want %v", tc.st, tc.size, got, tc.want)
		}
	}
}

func TestZoneKey(t *testing.T) {
	node := func(l map[string]string) *corev1.Node { return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Labels: l}} }
	if k := ZoneKey(node(nil)); k != "" {
		t.Errorf("unlabelled node zone %q", k)
	}
	a := ZoneKey(node(map[string]string{corev1.LabelTopologyRegion: "r", corev1.LabelTopologyZone: "a"}))
	beta := ZoneKey(node(map[string]string{corev1.LabelFailureDomainBetaRegion: "r", corev1.LabelFailureDomainBetaZone: "a"}))
	b := ZoneKey(node(map[string]string{corev1.LabelTopologyRegion: "r", corev1.LabelTopologyZone: "b"}))
	if a != beta || a == b || a == "" {
		t.Errorf("zone keys a=%q beta=%q b=%q", a, beta, b)
	}
}
