package apiserver

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/kstack/kstack/api"
	"github.com/kstack/kstack/pkg/storage"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ipAllocator hands out ClusterIPs from --service-cluster-ip-range. Each
// allocated address is an IPAddress object (networking.k8s.io/v1, as
// upstream's allocator keeps them), so etcd's create-if-absent makes two
// apiservers, or two concurrent creates, unable to take the same address;
// the in-memory set only avoids needless tries.
type ipAllocator struct {
	s     *Server
	cidr  *net.IPNet
	base  uint32
	size  uint32 // addresses in the range, network and broadcast included
	mu    sync.Mutex
	used  map[uint32]bool
	cidrS string
}

func newIPAllocator(cidr string, s *Server) (*ipAllocator, error) {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		return nil, err
	}
	if n.IP.To4() == nil {
		return nil, fmt.Errorf("--service-cluster-ip-range %s: only IPv4 ranges are supported", cidr)
	}
	ones, bits := n.Mask.Size()
	if bits-ones < 2 || bits-ones > 20 {
		return nil, fmt.Errorf("--service-cluster-ip-range %s: the range must be between /12 and /30", cidr)
	}
	return &ipAllocator{s: s, cidr: n, base: binary.BigEndian.Uint32(n.IP.To4()), size: 1 << (bits - ones), used: map[uint32]bool{}, cidrS: n.String()}, nil
}

// firstServiceIP is the range's first address, the kubernetes Service's.
func firstServiceIP(cidr string) (net.IP, error) {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		return nil, err
	}
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, binary.BigEndian.Uint32(n.IP.To4())+1)
	return ip, nil
}

func (a *ipAllocator) ipAt(off uint32) string {
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, a.base+off)
	return ip.String()
}

func (a *ipAllocator) offset(s string) (uint32, bool) {
	ip := net.ParseIP(s).To4()
	if ip == nil || !a.cidr.Contains(ip) {
		return 0, false
	}
	off := binary.BigEndian.Uint32(ip) - a.base
	if off == 0 || off == a.size-1 {
		return 0, false // network and broadcast addresses
	}
	return off, true
}

func (a *ipAllocator) store() *resourceStore {
	rs, _ := a.s.lookup("networking.k8s.io", "v1", "ipaddresses")
	return rs
}

// allocate takes requested (or a free address when empty) for svc.
func (a *ipAllocator) allocate(ctx context.Context, svc *corev1.Service, requested string, dryRun bool) (string, error) {
	fld := field.NewPath("spec", "clusterIPs").Index(0)
	if requested != "" {
		off, ok := a.offset(requested)
		if !ok {
			return "", invalidService(svc, fld, []string{requested},
				fmt.Sprintf("failed to allocate IP %s: provided IP is not in the valid range. The range of valid IPs is %s", requested, a.cidrS))
		}
		if err := a.claim(ctx, svc, off, dryRun); err != nil {
			if apierrors.IsAlreadyExists(err) {
				return "", invalidService(svc, fld, []string{requested}, fmt.Sprintf("failed to allocate IP %s: provided IP is already allocated", requested))
			}
			return "", err
		}
		return requested, nil
	}
	// Dynamic allocation prefers the upper part of the range, leaving the
	// lower band for addresses people ask for (as upstream).
	usable := a.size - 2
	band := min(max(16, usable/16), 256)
	if band >= usable {
		band = 0
	}
	for tries := 0; tries < 64; tries++ {
		off, ok := a.pickFree(band, usable, tries)
		if !ok {
			break
		}
		err := a.claim(ctx, svc, off, dryRun)
		if err == nil {
			return a.ipAt(off), nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return "", err
		}
	}
	return "", apierrors.NewInternalError(errors.New("failed to allocate a serviceIP: range is full"))
}

// pickFree reserves (in memory) a free offset: the upper band first, the
// whole range after some misses.
func (a *ipAllocator) pickFree(band, usable uint32, tries int) (uint32, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	lo, n := band+1, usable-band
	if tries > 8 || n == 0 {
		lo, n = 1, usable
	}
	start := rand.Uint32N(n)
	for i := uint32(0); i < n; i++ {
		off := lo + (start+i)%n
		if !a.used[off] {
			a.used[off] = true
			return off, true
		}
	}
	return 0, false
}

// claim creates the IPAddress object for off.
func (a *ipAllocator) claim(ctx context.Context, svc *corev1.Service, off uint32, dryRun bool) error {
	a.mu.Lock()
	a.used[off] = true
	a.mu.Unlock()
	if dryRun {
		a.unmark(off)
		return nil
	}
	ip := a.ipAt(off)
	obj := &networkingv1.IPAddress{
		ObjectMeta: metav1.ObjectMeta{
			Name: ip,
			Labels: map[string]string{
				"ipaddress.kubernetes.io/ip-family":  "IPv4",
				"ipaddress.kubernetes.io/managed-by": "ipallocator.k8s.io",
			},
			CreationTimestamp: metav1.Now(),
		},
		Spec: networkingv1.IPAddressSpec{ParentRef: &networkingv1.ParentReference{Resource: "services", Namespace: svc.Namespace, Name: svc.Name}},
	}
	obj.UID = newUID()
	rs := a.store()
	err := rs.storage.Create(ctx, rs.key("", ip), obj, &networkingv1.IPAddress{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		a.unmark(off)
	}
	return err
}

func (a *ipAllocator) unmark(off uint32) {
	a.mu.Lock()
	delete(a.used, off)
	a.mu.Unlock()
}

// release frees ip (deleting its IPAddress object).
func (a *ipAllocator) release(ctx context.Context, ip string) {
	off, ok := a.offset(ip)
	if !ok {
		return
	}
	rs := a.store()
	err := rs.storage.Delete(ctx, rs.key("", ip), &networkingv1.IPAddress{}, nil, nil)
	if err == nil || apierrors.IsNotFound(err) {
		a.unmark(off)
	}
}

// portAllocator hands out NodePorts from --service-node-port-range; the
// allocation bitmap is a RangeAllocation kept in etcd at
// <prefix>/ranges/servicenodeports (upstream's key), updated with
// compare-and-swap so concurrent creates on several apiservers agree.
type portAllocator struct {
	s          *Server
	base, size int
	rangeS     string
	store      *storage.Store
	key        string
}

func parsePortRange(s string) (int, int, error) {
	lo, hi, ok := strings.Cut(s, "-")
	a, err1 := strconv.Atoi(strings.TrimSpace(lo))
	b, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if !ok || err1 != nil || err2 != nil || a < 1 || b > 65535 || a > b {
		return 0, 0, fmt.Errorf("%q is not a port range like 30000-32767", s)
	}
	return a, b, nil
}

func newPortAllocator(r string, s *Server) (*portAllocator, error) {
	lo, hi, err := parsePortRange(r)
	if err != nil {
		return nil, err
	}
	cfg := storage.Config{
		Prefix:        s.cfg.EtcdPrefix + "/ranges",
		GroupResource: schemaGR("", "rangeallocations"),
		Codec:         api.Codecs.CodecForVersions(protobufInfo.Serializer, protobufInfo.Serializer, corev1.SchemeGroupVersion, corev1.SchemeGroupVersion),
		NewFunc:       func() runtime.Object { return &corev1.RangeAllocation{} },
		NewListFunc:   func() runtime.Object { return &corev1.RangeAllocation{} },
	}
	return &portAllocator{s: s, base: lo, size: hi - lo + 1, rangeS: r, store: storage.NewStore(s.client, cfg), key: cfg.ObjectKey("", "servicenodeports")}, nil
}

// update applies fn to the persisted bitmap with compare-and-swap.
func (p *portAllocator) update(ctx context.Context, fn func(bits *big.Int) error) error {
	return p.store.GuaranteedUpdate(ctx, p.key, &corev1.RangeAllocation{}, true, nil, func(existing runtime.Object) (runtime.Object, error) {
		ra := existing.(*corev1.RangeAllocation)
		bits := new(big.Int).SetBytes(ra.Data)
		if err := fn(bits); err != nil {
			return nil, err
		}
		ra.Range = p.rangeS
		ra.Data = bits.Bytes()
		ra.Name = "servicenodeports"
		return ra, nil
	})
}

// portRequest is one NodePort a Service needs: a fixed port, or 0 for any.
type portRequest struct {
	port int32
	path *field.Path
}

// allocate takes every requested port (0 → a free one) in one write and
// returns them in order.
func (p *portAllocator) allocate(ctx context.Context, svc *corev1.Service, reqs []portRequest, dryRun bool) ([]int32, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	var out []int32
	err := p.update(ctx, func(bits *big.Int) error {
		out = out[:0]
		for _, r := range reqs {
			if r.port != 0 {
				off := int(r.port) - p.base
				if off < 0 || off >= p.size {
					return invalidService(svc, r.path, r.port, fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %s", p.rangeS))
				}
				if bits.Bit(off) == 1 {
					return invalidService(svc, r.path, r.port, "provided port is already allocated")
				}
				bits.SetBit(bits, off, 1)
				out = append(out, r.port)
				continue
			}
			start := rand.IntN(p.size)
			found := false
			for i := 0; i < p.size; i++ {
				off := (start + i) % p.size
				if bits.Bit(off) == 0 {
					bits.SetBit(bits, off, 1)
					out = append(out, int32(p.base+off))
					found = true
					break
				}
			}
			if !found {
				return apierrors.NewInternalError(errors.New("failed to allocate a nodePort: range is full"))
			}
		}
		if dryRun {
			return errDryRun
		}
		return nil
	})
	if err == errDryRun {
		return out, nil
	}
	return out, err
}

// release frees ports.
func (p *portAllocator) release(ctx context.Context, ports []int32) {
	if len(ports) == 0 {
		return
	}
	_ = p.update(ctx, func(bits *big.Int) error {
		for _, port := range ports {
			if off := int(port) - p.base; off >= 0 && off < p.size {
				bits.SetBit(bits, off, 0)
			}
		}
		return nil
	})
}

func invalidService(svc *corev1.Service, path *field.Path, value any, msg string) error {
	return apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Service").GroupKind(), svc.Name, field.ErrorList{field.Invalid(path, value, msg)})
}

func needsClusterIP(svc *corev1.Service) bool {
	return svc.Spec.Type != corev1.ServiceTypeExternalName && svc.Spec.ClusterIP != corev1.ClusterIPNone
}

func needsNodePorts(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer
}

func needsHealthCheckPort(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
}

// dropTypeDependentFields clears, on a type change, the allocated values
// the new type does not use when the client merely carried them over from
// the stored object (as upstream does before validation).
func dropTypeDependentFields(svc, old *corev1.Service) {
	if svc.Spec.Type == old.Spec.Type {
		return
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName && svc.Spec.ClusterIP == old.Spec.ClusterIP {
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = "", nil
		svc.Spec.IPFamilies, svc.Spec.IPFamilyPolicy = nil, nil
	}
	if !needsNodePorts(svc) {
		for i := range svc.Spec.Ports {
			for _, op := range old.Spec.Ports {
				if op.NodePort != 0 && op.NodePort == svc.Spec.Ports[i].NodePort {
					svc.Spec.Ports[i].NodePort = 0
				}
			}
		}
	}
	if !needsHealthCheckPort(svc) && svc.Spec.HealthCheckNodePort == old.Spec.HealthCheckNodePort {
		svc.Spec.HealthCheckNodePort = 0
	}
}

// allocatedPorts lists the node ports a Service holds.
func allocatedPorts(svc *corev1.Service) []int32 {
	var out []int32
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 {
			out = append(out, p.NodePort)
		}
	}
	if svc.Spec.HealthCheckNodePort != 0 {
		out = append(out, svc.Spec.HealthCheckNodePort)
	}
	return out
}

func (s *Server) serviceHooks() *hooks {
	return &hooks{
		beginCreate: func(ctx context.Context, obj runtime.Object, dryRun bool) (func(bool), error) {
			svc := obj.(*corev1.Service)
			return s.allocateService(ctx, svc, nil, dryRun)
		},
		beginUpdate: func(ctx context.Context, obj, old runtime.Object, dryRun bool) (func(bool), error) {
			return s.allocateService(ctx, obj.(*corev1.Service), old.(*corev1.Service), dryRun)
		},
		prepareUpdate: func(_ context.Context, obj, old runtime.Object, sub string) error {
			if sub != "" {
				return nil
			}
			svc, oldSvc := obj.(*corev1.Service), old.(*corev1.Service)
			// Omitted allocated values keep what was allocated (a PUT
			// built from a manifest does not know them).
			if svc.Spec.Type == oldSvc.Spec.Type || (needsClusterIP(svc) && needsClusterIP(oldSvc)) {
				if svc.Spec.ClusterIP == "" && len(svc.Spec.ClusterIPs) == 0 {
					svc.Spec.ClusterIP, svc.Spec.ClusterIPs = oldSvc.Spec.ClusterIP, oldSvc.Spec.ClusterIPs
				}
				if len(svc.Spec.IPFamilies) == 0 {
					svc.Spec.IPFamilies = oldSvc.Spec.IPFamilies
				}
				if svc.Spec.IPFamilyPolicy == nil {
					svc.Spec.IPFamilyPolicy = oldSvc.Spec.IPFamilyPolicy
				}
			}
			if needsNodePorts(svc) && needsNodePorts(oldSvc) {
				for i := range svc.Spec.Ports {
					if svc.Spec.Ports[i].NodePort != 0 {
						continue
					}
					for _, op := range oldSvc.Spec.Ports {
						if op.Port == svc.Spec.Ports[i].Port && op.Protocol == svc.Spec.Ports[i].Protocol {
							svc.Spec.Ports[i].NodePort = op.NodePort
						}
					}
				}
			}
			if needsHealthCheckPort(svc) && needsHealthCheckPort(oldSvc) && svc.Spec.HealthCheckNodePort == 0 {
				svc.Spec.HealthCheckNodePort = oldSvc.Spec.HealthCheckNodePort
			}
			dropTypeDependentFields(svc, oldSvc)
			return nil
		},
		afterDelete: func(ctx context.Context, obj runtime.Object) {
			svc := obj.(*corev1.Service)
			if svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone {
				s.ipAlloc.release(ctx, svc.Spec.ClusterIP)
			}
			s.portAlloc.release(ctx, allocatedPorts(svc))
		},
	}
}

// allocateService gives svc its ClusterIP and node ports (only those it
// does not already hold, when old is the stored version) and returns the
// function that, after the write, releases either the new allocations (the
// write failed) or the ones the update gave up.
func (s *Server) allocateService(ctx context.Context, svc, old *corev1.Service, dryRun bool) (func(bool), error) {
	var newIP string
	var newPorts []int32
	undo := func() {
		if dryRun {
			return
		}
		if newIP != "" {
			s.ipAlloc.release(context.WithoutCancel(ctx), newIP)
		}
		s.portAlloc.release(context.WithoutCancel(ctx), newPorts)
	}
	oldIP := ""
	if old != nil && old.Spec.ClusterIP != corev1.ClusterIPNone {
		oldIP = old.Spec.ClusterIP
	}
	if svc.Spec.Type != corev1.ServiceTypeExternalName {
		single := corev1.IPFamilyPolicySingleStack
		if svc.Spec.IPFamilyPolicy == nil {
			svc.Spec.IPFamilyPolicy = &single
		}
		if len(svc.Spec.IPFamilies) == 0 {
			svc.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
		}
	}
	if svc.Spec.ClusterIP == "" && len(svc.Spec.ClusterIPs) > 0 {
		svc.Spec.ClusterIP = svc.Spec.ClusterIPs[0]
	}
	switch {
	case svc.Spec.ClusterIP == corev1.ClusterIPNone:
		svc.Spec.ClusterIPs = []string{corev1.ClusterIPNone}
	case needsClusterIP(svc) && (svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP != oldIP):
		ip, err := s.ipAlloc.allocate(ctx, svc, svc.Spec.ClusterIP, dryRun)
		if err != nil {
			return nil, err
		}
		newIP = ip
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = ip, []string{ip}
	case !needsClusterIP(svc):
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = "", nil
	}

	held := map[int32]bool{}
	if old != nil {
		for _, p := range allocatedPorts(old) {
			held[p] = true
		}
	}
	var reqs []portRequest
	var targets []*int32
	if needsNodePorts(svc) {
		for i := range svc.Spec.Ports {
			p := &svc.Spec.Ports[i]
			if p.NodePort != 0 && held[p.NodePort] {
				continue
			}
			reqs = append(reqs, portRequest{port: p.NodePort, path: field.NewPath("spec", "ports").Index(i).Child("nodePort")})
			targets = append(targets, &p.NodePort)
		}
	} else {
		for i := range svc.Spec.Ports {
			svc.Spec.Ports[i].NodePort = 0
		}
	}
	if needsHealthCheckPort(svc) {
		if svc.Spec.HealthCheckNodePort == 0 || !held[svc.Spec.HealthCheckNodePort] {
			reqs = append(reqs, portRequest{port: svc.Spec.HealthCheckNodePort, path: field.NewPath("spec", "healthCheckNodePort")})
			targets = append(targets, &svc.Spec.HealthCheckNodePort)
		}
	} else {
		svc.Spec.HealthCheckNodePort = 0
	}
	ports, err := s.portAlloc.allocate(ctx, svc, reqs, dryRun)
	if err != nil {
		undo()
		return nil, err
	}
	newPorts = ports
	for i, p := range ports {
		*targets[i] = p
	}
	return func(ok bool) {
		if !ok {
			undo()
			return
		}
		if old == nil || dryRun {
			return
		}
		// The update went through: free what the Service gave up.
		if oldIP != "" && oldIP != svc.Spec.ClusterIP {
			s.ipAlloc.release(context.WithoutCancel(ctx), oldIP)
		}
		keep := map[int32]bool{}
		for _, p := range allocatedPorts(svc) {
			keep[p] = true
		}
		var gone []int32
		for _, p := range allocatedPorts(old) {
			if !keep[p] {
				gone = append(gone, p)
			}
		}
		s.portAlloc.release(context.WithoutCancel(ctx), gone)
	}, nil
}
