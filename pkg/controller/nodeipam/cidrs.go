package nodeipam

import (
	"errors"
	"fmt"
	"math/big"
	"net"
	"sync"
)

// ErrFull says every subnet of the cluster CIDR is in use.
var ErrFull = errors.New("cluster CIDR is full")

// CIDRSet hands out the subnets of size maskSize of a cluster CIDR.
type CIDRSet struct {
	mu       sync.Mutex
	base     *big.Int
	bits     int // 32 or 128
	maskSize int
	count    int
	used     map[int]bool
	next     int
}

// NewCIDRSet divides cluster into subnets of /maskSize.
func NewCIDRSet(cluster *net.IPNet, maskSize int) (*CIDRSet, error) {
	ones, bits := cluster.Mask.Size()
	if maskSize < ones || maskSize > bits {
		return nil, fmt.Errorf("node mask size %d must be between %d and %d", maskSize, ones, bits)
	}
	if maskSize-ones > 24 {
		return nil, fmt.Errorf("node mask size %d leaves too many subnets in %s (at most 2^24)", maskSize, cluster)
	}
	ip := cluster.IP.To4()
	if ip == nil || bits == 128 {
		ip = cluster.IP.To16()
	}
	return &CIDRSet{base: new(big.Int).SetBytes(ip), bits: bits, maskSize: maskSize,
		count: 1 << (maskSize - ones), used: map[int]bool{}}, nil
}

func (s *CIDRSet) subnet(i int) *net.IPNet {
	off := new(big.Int).Lsh(big.NewInt(int64(i)), uint(s.bits-s.maskSize))
	v := new(big.Int).Add(s.base, off).Bytes()
	ip := make(net.IP, s.bits/8)
	copy(ip[len(ip)-len(v):], v)
	return &net.IPNet{IP: ip, Mask: net.CIDRMask(s.maskSize, s.bits)}
}

// index returns the subnet index of cidr, or false if it is not one of
// the set's subnets.
func (s *CIDRSet) index(cidr string) (int, bool) {
	ip, n, err := net.ParseCIDR(cidr)
	if err != nil {
		return 0, false
	}
	if ones, _ := n.Mask.Size(); ones != s.maskSize {
		return 0, false
	}
	if v4 := ip.To4(); v4 != nil && s.bits == 32 {
		ip = v4
	}
	off := new(big.Int).Sub(new(big.Int).SetBytes(ip), s.base)
	if off.Sign() < 0 {
		return 0, false
	}
	i := new(big.Int).Rsh(off, uint(s.bits-s.maskSize))
	if !i.IsInt64() || i.Int64() >= int64(s.count) {
		return 0, false
	}
	return int(i.Int64()), true
}

// Occupy marks cidr used (a node already has it); false if it is not in
// the set.
func (s *CIDRSet) Occupy(cidr string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index(cidr)
	if ok {
		s.used[i] = true
	}
	return ok
}

// Release frees cidr.
func (s *CIDRSet) Release(cidr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.index(cidr); ok {
		delete(s.used, i)
	}
}

// Allocate returns a free subnet.
func (s *CIDRSet) Allocate() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := 0; k < s.count; k++ {
		i := (s.next + k) % s.count
		if !s.used[i] {
			s.used[i] = true
			s.next = (i + 1) % s.count
			return s.subnet(i).String(), nil
		}
	}
	return "", ErrFull
}
