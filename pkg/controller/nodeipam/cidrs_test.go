package nodeipam

import (
	"net"
	"testing"
)

func TestCIDRSet(t *testing.T) {
	tests := []struct {
		cluster  string
		mask     int
		occupied []string
		want     []string
		full     bool
	}{
		{cluster: "10.244.0.0/16", mask: 24, want: []string{"10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"}},
		{cluster: "10.244.0.0/16", mask: 24, occupied: []string{"10.244.0.0/24", "10.244.2.0/24"}, want: []string{"10.244.1.0/24", "10.244.3.0/24"}},
		{cluster: "10.0.0.0/30", mask: 31, want: []string{"10.0.0.0/31", "10.0.0.2/31"}, full: true},
		{cluster: "fd00::/104", mask: 112, want: []string{"fd00::/112", "fd00::1:0/112"}},
	}
	for _, tc := range tests {
		_, n, _ := net.ParseCIDR(tc.cluster)
		s, err := NewCIDRSet(n, tc.mask)
		if err != nil {
			t.Fatalf("%s: %v", tc.cluster, err)
		}
		for _, o := range tc.occupied {
			if !s.Occupy(o) {
				t.Errorf("%s: occupy %s refused", tc.cluster, o)
			}
		}
		for _, w := range tc.want {
			got, err := s.Allocate()
			if err != nil || got != w {
				t.Errorf("%s: allocate = %s, %v; want %s", tc.cluster, got, err, w)
			}
		}
		if _, err := s.Allocate(); tc.full != (err == ErrFull) {
			t.Errorf("%s: full = %v, want %v", tc.cluster, err, tc.full)
		}
	}
	// Released subnets come back; foreign ones are refused.
	_, n, _ := net.ParseCIDR("10.0.0.0/30")
	s, _ := NewCIDRSet(n, 31)
	a, _ := s.Allocate()
	_, _ = s.Allocate()
	s.Release(a)
	if got, err := s.Allocate(); err != nil || got != a {
		t.Errorf("after release: %s, %v; want %s", got, err, a)
	}
	if s.Occupy("192.168.0.0/31") || s.Occupy("10.0.0.0/24") {
		t.Errorf("occupied a CIDR outside the set")
	}
}
