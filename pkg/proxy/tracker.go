package proxy

import (
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// defaultStickySeconds is upstream's default ClientIP affinity timeout.
const defaultStickySeconds = 10800

// Tracker keeps the Services and EndpointSlices seen by the informers.
// Its event handlers only update maps under a lock, mark the Service
// changed and call onChange (which requests a sync); Snapshot, called by
// the sync, turns changed Services into ServicePorts and Endpoints.
type Tracker struct {
	nodeName string
	onChange func()
	// start: trigger times before it are a previous life's (the
	// informers' initial list) and are not recorded, as upstream.
	start time.Time

	mu       sync.Mutex
	services map[types.NamespacedName]*v1.Service
	slices   map[types.NamespacedName]map[string]*discovery.EndpointSlice
	changed  map[types.NamespacedName]bool
	triggers []int64
	// derived state, recomputed for changed Services only
	ports map[types.NamespacedName][]*ServicePort
	eps   map[types.NamespacedName]map[ServicePortName][]Endpoint
	// the snapshot's maps, updated in place for changed Services so a
	// Snapshot costs O(changes), not O(Services)
	snapServices  map[ServicePortName]*ServicePort
	snapEndpoints map[ServicePortName][]Endpoint
}

// TrackerOption changes a Tracker's seams.
type TrackerOption func(*Tracker)

// TrackerClock sets the clock whose now is the tracker's start (tests).
func TrackerClock(c clock.PassiveClock) TrackerOption { return func(t *Tracker) { t.start = c.Now() } }

// NewTracker returns a tracker for the node nodeName; onChange (may be
// nil) is called after every change, without the lock held.
func NewTracker(nodeName string, onChange func(), opts ...TrackerOption) *Tracker {
	t := &Tracker{
		nodeName: nodeName,
		onChange: onChange,
		start:    time.Now(),
		services: map[types.NamespacedName]*v1.Service{},
		slices:   map[types.NamespacedName]map[string]*discovery.EndpointSlice{},
		changed:  map[types.NamespacedName]bool{},
		ports:    map[types.NamespacedName][]*ServicePort{},
		eps:      map[types.NamespacedName]map[ServicePortName][]Endpoint{},

		snapServices:  map[ServicePortName]*ServicePort{},
		snapEndpoints: map[ServicePortName][]Endpoint{},
	}
	for _, o := range opts {
		o(t)
	}
	return t
}

// Register adds the tracker's handlers to Service and EndpointSlice
// informers. The returned func reports when both handlers have been
// given the informers' initial lists: wait for it (not only for the
// informers' HasSynced, which does not wait for handlers) before the
// first sync, or that sync sees part of the Services and deletes the
// chains of the others left by a previous run.
func (t *Tracker) Register(services, slices cache.SharedInformer) (cache.InformerSynced, error) {
	svcReg, err := services.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { t.setService(o, false) },
		UpdateFunc: func(_, o any) { t.setService(o, false) },
		DeleteFunc: func(o any) { t.setService(o, true) },
	})
	if err != nil {
		return nil, err
	}
	sliceReg, err := slices.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { t.setSlice(o, false) },
		UpdateFunc: func(_, o any) { t.setSlice(o, false) },
		DeleteFunc: func(o any) { t.setSlice(o, true) },
	})
	if err != nil {
		return nil, err
	}
	return func() bool { return svcReg.HasSynced() && sliceReg.HasSynced() }, nil
}

func unwrap(o any) any {
	if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
		return d.Obj
	}
	return o
}

func (t *Tracker) setService(o any, deleted bool) {
	svc, ok := unwrap(o).(*v1.Service)
	if !ok {
		return
	}
	if deleted {
		t.DeleteService(svc)
	} else {
		t.UpdateService(svc)
	}
}

func (t *Tracker) setSlice(o any, deleted bool) {
	s, ok := unwrap(o).(*discovery.EndpointSlice)
	if !ok {
		return
	}
	if deleted {
		t.DeleteSlice(s)
	} else {
		t.UpdateSlice(s)
	}
}

// UpdateService records an added or changed Service.
func (t *Tracker) UpdateService(svc *v1.Service) {
	key := types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}
	t.mu.Lock()
	t.services[key] = svc
	t.changed[key] = true
	t.mu.Unlock()
	t.notify()
}

// DeleteService forgets a Service.
func (t *Tracker) DeleteService(svc *v1.Service) {
	key := types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}
	t.mu.Lock()
	delete(t.services, key)
	t.changed[key] = true
	t.mu.Unlock()
	t.notify()
}

// UpdateSlice records an added or changed EndpointSlice (IPv4 only; others
// are ignored).
func (t *Tracker) UpdateSlice(s *discovery.EndpointSlice) {
	key, ok := sliceService(s)
	if !ok || s.AddressType != discovery.AddressTypeIPv4 {
		return
	}
	t.mu.Lock()
	if t.slices[key] == nil {
		t.slices[key] = map[string]*discovery.EndpointSlice{}
	}
	t.slices[key][s.Name] = s
	t.changed[key] = true
	t.addTrigger(s)
	t.mu.Unlock()
	t.notify()
}

// DeleteSlice forgets an EndpointSlice.
func (t *Tracker) DeleteSlice(s *discovery.EndpointSlice) {
	key, ok := sliceService(s)
	if !ok {
		return
	}
	t.mu.Lock()
	if m := t.slices[key]; m != nil {
		delete(m, s.Name)
		if len(m) == 0 {
			delete(t.slices, key)
		}
	}
	t.changed[key] = true
	t.mu.Unlock()
	t.notify()
}

func (t *Tracker) addTrigger(s *discovery.EndpointSlice) {
	v, ok := s.Annotations[v1.EndpointsLastChangeTriggerTime]
	if !ok {
		return
	}
	if ts, err := time.Parse(time.RFC3339Nano, v); err == nil && ts.After(t.start) {
		t.triggers = append(t.triggers, ts.UnixNano())
	}
}

func (t *Tracker) notify() {
	if t.onChange != nil {
		t.onChange()
	}
}

func sliceService(s *discovery.EndpointSlice) (types.NamespacedName, bool) {
	name := s.Labels[discovery.LabelServiceName]
	if name == "" {
		return types.NamespacedName{}, false
	}
	return types.NamespacedName{Namespace: s.Namespace, Name: name}, true
}

// Snapshot returns the current state and the Services changed since the
// previous Snapshot, and clears the change set. Its cost is proportional
// to the changes: the maps are the tracker's own, updated in place by the
// next Snapshot, so a snapshot may be used only until then (the one sync
// that asked for it) and must never be modified.
func (t *Tracker) Snapshot() *Snapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	for key := range t.changed {
		for _, p := range t.ports[key] {
			delete(t.snapServices, p.Name)
			delete(t.snapEndpoints, p.Name)
		}
		svc := t.services[key]
		var ports []*ServicePort
		if svc != nil {
			ports = servicePorts(svc)
		}
		if len(ports) == 0 {
			delete(t.ports, key)
			delete(t.eps, key)
			continue
		}
		t.ports[key] = ports
		t.eps[key] = endpointsFor(ports, t.slices[key], t.nodeName)
		for _, p := range ports {
			t.snapServices[p.Name] = p
		}
		for name, eps := range t.eps[key] {
			t.snapEndpoints[name] = eps
		}
	}
	snap := &Snapshot{
		Services:     t.snapServices,
		Endpoints:    t.snapEndpoints,
		Ports:        t.ports,
		Changed:      t.changed,
		TriggerTimes: t.triggers,
	}
	t.changed = map[types.NamespacedName]bool{}
	t.triggers = nil
	return snap
}

// servicePorts converts a Service to its ports; headless, ExternalName and
// non-IPv4 Services have none.
func servicePorts(svc *v1.Service) []*ServicePort {
	if svc.Spec.Type == v1.ServiceTypeExternalName {
		return nil
	}
	clusterIP := ""
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 && svc.Spec.ClusterIP != "" {
		ips = []string{svc.Spec.ClusterIP}
	}
	for _, ip := range ips {
		if p := net.ParseIP(ip); p != nil && p.To4() != nil {
			clusterIP = p.String()
			break
		}
	}
	if clusterIP == "" {
		return nil
	}
	sticky := int32(0)
	if svc.Spec.SessionAffinity == v1.ServiceAffinityClientIP {
		sticky = defaultStickySeconds
		if c := svc.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
			sticky = *c.ClientIP.TimeoutSeconds
		}
	}
	var externalIPs, lbIPs []string
	for _, ip := range svc.Spec.ExternalIPs {
		if p := net.ParseIP(ip); p != nil && p.To4() != nil {
			externalIPs = append(externalIPs, p.String())
		}
	}
	for _, ing := range svc.Status.LoadBalancer.Ingress {
		if p := net.ParseIP(ing.IP); p != nil && p.To4() != nil {
			lbIPs = append(lbIPs, p.String())
		}
	}
	usesNodePorts := svc.Spec.Type == v1.ServiceTypeNodePort || svc.Spec.Type == v1.ServiceTypeLoadBalancer
	var sourceRanges []string
	if svc.Spec.Type == v1.ServiceTypeLoadBalancer {
		sourceRanges = loadBalancerSourceRanges(svc)
	}
	var out []*ServicePort
	for _, sp := range svc.Spec.Ports {
		p := &ServicePort{
			Name: ServicePortName{
				NamespacedName: types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name},
				Port:           sp.Name,
				Protocol:       sp.Protocol,
			},
			ClusterIP:                clusterIP,
			Port:                     sp.Port,
			Protocol:                 sp.Protocol,
			ExternalIPs:              externalIPs,
			LoadBalancerIPs:          lbIPs,
			LoadBalancerSourceRanges: sourceRanges,
			StickyMaxAgeSeconds:      sticky,
			InternalPolicyLocal:      svc.Spec.InternalTrafficPolicy != nil && *svc.Spec.InternalTrafficPolicy == v1.ServiceInternalTrafficPolicyLocal,
		}
		if p.Protocol == "" {
			p.Protocol = v1.ProtocolTCP
			p.Name.Protocol = v1.ProtocolTCP
		}
		if usesNodePorts {
			p.NodePort = sp.NodePort
		}
		if p.ExternallyAccessible() && svc.Spec.ExternalTrafficPolicy == v1.ServiceExternalTrafficPolicyLocal {
			p.ExternalPolicyLocal = true
			p.HealthCheckNodePort = svc.Spec.HealthCheckNodePort
		}
		out = append(out, p)
	}
	return out
}

// endpointsFor maps each Service port to its endpoints in the slices,
// matching slice ports by name and protocol.
func endpointsFor(ports []*ServicePort, slices map[string]*discovery.EndpointSlice, nodeName string) map[ServicePortName][]Endpoint {
	out := map[ServicePortName][]Endpoint{}
	names := make([]string, 0, len(slices))
	for n := range slices {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, p := range ports {
		seen := map[string]bool{}
		var eps []Endpoint
		for _, n := range names {
			s := slices[n]
			for _, sp := range s.Ports {
				name, proto := "", v1.ProtocolTCP
				if sp.Name != nil {
					name = *sp.Name
				}
				if sp.Protocol != nil {
					proto = *sp.Protocol
				}
				if name != p.Name.Port || proto != p.Protocol || sp.Port == nil {
					continue
				}
				for _, e := range s.Endpoints {
					ep := endpoint(e, *sp.Port, nodeName)
					if ep.IP == "" || seen[ep.String()] {
						continue
					}
					seen[ep.String()] = true
					eps = append(eps, ep)
				}
			}
		}
		if len(eps) == 0 {
			continue
		}
		sort.Slice(eps, func(i, j int) bool {
			a, b := net.ParseIP(eps[i].IP).To4(), net.ParseIP(eps[j].IP).To4()
			if c := compareIP(a, b); c != 0 {
				return c < 0
			}
			return eps[i].Port < eps[j].Port
		})
		out[p.Name] = eps
	}
	return out
}

func compareIP(a, b net.IP) int {
	for i := range a {
		if a[i] != b[i] {
			return int(a[i]) - int(b[i])
		}
	}
	return 0
}

// endpoint converts a slice endpoint with upstream's condition defaults:
// ready unset means ready, serving unset follows ready, terminating unset
// means not terminating.
func endpoint(e discovery.Endpoint, port int32, nodeName string) Endpoint {
	if len(e.Addresses) == 0 {
		return Endpoint{}
	}
	ip := net.ParseIP(e.Addresses[0]).To4()
	if ip == nil {
		return Endpoint{}
	}
	ep := Endpoint{IP: ip.String(), Port: port, Ready: true}
	if e.Conditions.Ready != nil {
		ep.Ready = *e.Conditions.Ready
	}
	ep.Serving = ep.Ready
	if e.Conditions.Serving != nil {
		ep.Serving = *e.Conditions.Serving
	}
	if e.Conditions.Terminating != nil {
		ep.Terminating = *e.Conditions.Terminating
	}
	if e.NodeName != nil {
		ep.NodeName = *e.NodeName
		ep.IsLocal = nodeName != "" && *e.NodeName == nodeName
	}
	return ep
}

// sourceRangesAnnotation is upstream's older way to set
// spec.loadBalancerSourceRanges.
const sourceRangesAnnotation = "service.beta.kubernetes.io/load-balancer-source-ranges"

// loadBalancerSourceRanges are the Service's IPv4 source ranges in
// canonical form (the field, else the annotation's comma-separated list).
// Entries that do not parse are skipped, as upstream's kube-proxy does.
func loadBalancerSourceRanges(svc *v1.Service) []string {
	ranges := svc.Spec.LoadBalancerSourceRanges
	if len(ranges) == 0 {
		if a := strings.TrimSpace(svc.Annotations[sourceRangesAnnotation]); a != "" {
			ranges = strings.Split(a, ",")
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, r := range ranges {
		_, cidr, err := net.ParseCIDR(strings.TrimSpace(r))
		if err != nil || cidr.IP.To4() == nil || seen[cidr.String()] {
			continue
		}
		seen[cidr.String()] = true
		out = append(out, cidr.String())
	}
	return out
}
