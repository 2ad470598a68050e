package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"mime"
	"net"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/kstack/kstack/api"
	"github.com/kstack/kstack/pkg/storage"
	clientv3 "go.etcd.io/etcd/client/v3"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
)

// bootstrap creates what every cluster has (the system namespaces, the
// system priority classes, the kubernetes Service) and repairs the
// allocators against the stored Services. It is idempotent.
func (s *Server) bootstrap(ctx context.Context) error {
	for _, name := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := s.ensure(ctx, "", "namespaces", ns); err != nil {
			return fmt.Errorf("namespace %s: %w", name, err)
		}
		if err := s.ensureNamespaceDefaults(ctx, name); err != nil {
			return err
		}
	}
	for _, name := range []string{"system-node-critical", "system-cluster-critical"} {
		pc := systemPriorityClass(name)
		pc.Description = "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary."
		if name == "system-node-critical" {
			pc.Description = "Used for system critical pods that must not be moved from their current node."
		}
		if err := s.ensure(ctx, "scheduling.k8s.io", "priorityclasses", pc); err != nil {
			return fmt.Errorf("priorityclass %s: %w", name, err)
		}
	}
	if err := s.bootstrapPolicy(ctx); err != nil {
		return fmt.Errorf("default RBAC policy: %w", err)
	}
	if err := s.publishConfigMaps(ctx); err != nil {
		return fmt.Errorf("kube-system configmaps: %w", err)
	}
	if err := s.repairAllocators(ctx); err != nil {
		return fmt.Errorf("repair service allocators: %w", err)
	}
	if err := s.ensureKubernetesService(ctx); err != nil {
		return fmt.Errorf("kubernetes service: %w", err)
	}
	if err := s.reconcileKubernetesEndpoints(ctx); err != nil {
		return fmt.Errorf("kubernetes endpoints: %w", err)
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.stopBackground = cancel
	go s.maintain(bg)
	return nil
}

// maintain keeps this apiserver listed in the kubernetes endpoints and
// repairs the allocators, periodically.
func (s *Server) maintain(ctx context.Context) {
	endpoints := time.NewTicker(10 * time.Second)
	repair := time.NewTicker(3 * time.Minute)
	defer endpoints.Stop()
	defer repair.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-endpoints.C:
			if err := s.reconcileKubernetesEndpoints(ctx); err != nil && ctx.Err() == nil {
				slog.Warn("reconcile kubernetes endpoints", "err", err)
			}
		case <-repair.C:
			if err := s.repairAllocators(ctx); err != nil && ctx.Err() == nil {
				slog.Warn("repair service allocators", "err", err)
			}
		}
	}
}

// ensure creates obj through the full create pipeline unless it exists.
func (s *Server) ensure(ctx context.Context, group, resource string, obj runtime.Object) error {
	rs := s.storeFor(group, resource)
	acc, _ := meta.Accessor(obj)
	err := rs.storage.Get(ctx, rs.key(acc.GetNamespace(), acc.GetName()), storage.GetOptions{}, rs.cfg.NewFunc())
	if err == nil || !apierrors.IsNotFound(err) {
		return err
	}
	_, err = s.createObject(ctx, rs, acc.GetNamespace(), obj, false)
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

func (s *Server) storeFor(group, resource string) *resourceStore {
	if rs, ok := s.byStorage[schemaGR(group, resource)]; ok {
		return rs
	}
	panic("no store for " + group + "/" + resource)
}

// advertiseAddress is the IP the kubernetes Service's endpoints name.
func (s *Server) advertiseAddress() net.IP {
	if s.cfg.AdvertiseAddress != nil {
		return s.cfg.AdvertiseAddress
	}
	if s.cfg.BindAddress != nil && !s.cfg.BindAddress.IsUnspecified() {
		return s.cfg.BindAddress
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
				return n.IP
			}
		}
	}
	return net.ParseIP("127.0.0.1")
}

func (s *Server) securePort() int32 {
	if _, p, err := net.SplitHostPort(s.listenAddr()); err == nil {
		if n, err := strconv.Atoi(p); err == nil {
			return int32(n)
		}
	}
	return int32(s.cfg.SecurePort)
}

func (s *Server) listenAddr() string {
	if s.cfg.Listener != nil {
		return s.cfg.Listener.Addr().String()
	}
	return net.JoinHostPort(s.cfg.BindAddress.String(), strconv.Itoa(s.cfg.SecurePort))
}

// ensureKubernetesService creates default/kubernetes on the range's first
// address, port 443 → the secure port.
func (s *Server) ensureKubernetesService(ctx context.Context) error {
	ip, err := firstServiceIP(s.cfg.ServiceClusterIPRange)
	if err != nil {
		return err
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default", Labels: map[string]string{"component": "apiserver", "provider": "kubernetes"}},
		Spec: corev1.ServiceSpec{
			Type:      corev1.ServiceTypeClusterIP,
			ClusterIP: ip.String(),
			Ports: []corev1.ServicePort{{Name: "https", Protocol: corev1.ProtocolTCP, Port: 443,
				TargetPort: intstrFromInt(int(s.securePort()))}},
			SessionAffinity: corev1.ServiceAffinityNone,
		},
	}
	return s.ensure(ctx, "", "services", svc)
}

// masterLeaseTTL is how long an apiserver stays listed in the kubernetes
// Service's endpoints after its last renewal (upstream's lease reconciler
// uses 15 s too).
const masterLeaseTTL = 15

// reconcileKubernetesEndpoints renews this apiserver's lease
// (<prefix>/masterleases/<ip>, an etcd key with a TTL, as upstream keeps
// them) and writes the live apiservers into the kubernetes Endpoints and
// EndpointSlice: an apiserver that stops renewing drops out.
func (s *Server) reconcileKubernetesEndpoints(ctx context.Context) error {
	addr := s.advertiseAddress().String()
	prefix := s.cfg.EtcdPrefix + "/masterleases/"
	lease, err := s.client.Grant(ctx, masterLeaseTTL)
	if err != nil {
		return err
	}
	if _, err := s.client.Put(ctx, prefix+addr, addr, clientv3.WithLease(lease.ID)); err != nil {
		return err
	}
	resp, err := s.client.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return err
	}
	var addrs []string
	for _, kv := range resp.Kvs {
		addrs = append(addrs, string(kv.Value))
	}
	return s.writeKubernetesEndpoints(ctx, addrs)
}

// removeSelfFromEndpoints drops this apiserver's lease and endpoint at
// shutdown, so clients stop being sent to it at once.
func (s *Server) removeSelfFromEndpoints(ctx context.Context) {
	addr := s.advertiseAddress().String()
	prefix := s.cfg.EtcdPrefix + "/masterleases/"
	if _, err := s.client.Delete(ctx, prefix+addr); err != nil {
		return
	}
	resp, err := s.client.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return
	}
	var addrs []string
	for _, kv := range resp.Kvs {
		addrs = append(addrs, string(kv.Value))
	}
	if err := s.writeKubernetesEndpoints(ctx, addrs); err != nil {
		slog.Warn("remove apiserver from kubernetes endpoints", "err", err)
	}
}

// writeKubernetesEndpoints makes the kubernetes Endpoints and EndpointSlice
// list exactly addrs (sorted) on the secure port; unchanged objects are not
// rewritten.
func (s *Server) writeKubernetesEndpoints(ctx context.Context, addrs []string) error {
	sort.Strings(addrs)
	port := s.securePort()
	eps := s.storeFor("", "endpoints")
	_, err := s.updateOrCreate(ctx, eps, "default", "kubernetes", func(existing runtime.Object, exists bool) (runtime.Object, error) {
		ep := existing.(*corev1.Endpoints).DeepCopy()
		if !exists {
			ep = &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default",
				Labels: map[string]string{"endpointslice.kubernetes.io/skip-mirror": "true"}}}
		}
		if len(addrs) == 0 {
			ep.Subsets = nil
			return ep, nil
		}
		ss := corev1.EndpointSubset{Ports: []corev1.EndpointPort{{Name: "https", Port: port, Protocol: corev1.ProtocolTCP}}}
		for _, a := range addrs {
			ss.Addresses = append(ss.Addresses, corev1.EndpointAddress{IP: a})
		}
		ep.Subsets = []corev1.EndpointSubset{ss}
		return ep, nil
	})
	if err != nil {
		return err
	}
	slices := s.storeFor("discovery.k8s.io", "endpointslices")
	_, err = s.updateOrCreate(ctx, slices, "default", "kubernetes", func(existing runtime.Object, exists bool) (runtime.Object, error) {
		sl := existing.(*discoveryv1.EndpointSlice).DeepCopy()
		if !exists {
			sl = &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default",
				Labels: map[string]string{discoveryv1.LabelServiceName: "kubernetes", discoveryv1.LabelManagedBy: "kube-apiserver"}}}
		}
		sl.AddressType = discoveryv1.AddressTypeIPv4
		sl.Endpoints = nil
		for _, a := range addrs {
			ready := true
			sl.Endpoints = append(sl.Endpoints, discoveryv1.Endpoint{Addresses: []string{a}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
		}
		name, proto := "https", corev1.ProtocolTCP
		sl.Ports = []discoveryv1.EndpointPort{{Name: &name, Port: &port, Protocol: &proto}}
		return sl, nil
	})
	return err
}

// repairAllocators makes the allocators agree with the stored Services:
// every ClusterIP has its IPAddress, IPAddresses without a Service go, and
// the NodePort bitmap is rebuilt from the Services.
func (s *Server) repairAllocators(ctx context.Context) error {
	svcs := s.storeFor("", "services")
	list := &corev1.ServiceList{}
	if err := svcs.storage.GetList(ctx, svcs.cfg.ListKey(""), storage.ListOptions{}, list); err != nil {
		return err
	}
	ipOwner := map[string]*corev1.Service{}
	for i := range list.Items {
		svc := &list.Items[i]
		if svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone {
			ipOwner[svc.Spec.ClusterIP] = svc
		}
	}
	ipStore := s.ipAlloc.store()
	ips := &networkingv1.IPAddressList{}
	if err := ipStore.storage.GetList(ctx, ipStore.cfg.ListKey(""), storage.ListOptions{}, ips); err != nil {
		return err
	}
	s.ipAlloc.mu.Lock()
	s.ipAlloc.used = map[uint32]bool{}
	s.ipAlloc.mu.Unlock()
	for i := range ips.Items {
		ip := &ips.Items[i]
		off, ok := s.ipAlloc.offset(ip.Name)
		if !ok {
			continue
		}
		if _, owned := ipOwner[ip.Name]; !owned && time.Since(ip.CreationTimestamp.Time) > time.Minute {
			// Leaked (a create that failed half-way): free it.
			_ = ipStore.storage.Delete(ctx, ipStore.key("", ip.Name), &networkingv1.IPAddress{}, nil, nil)
			continue
		}
		s.ipAlloc.mu.Lock()
		s.ipAlloc.used[off] = true
		s.ipAlloc.mu.Unlock()
		delete(ipOwner, ip.Name)
	}
	for ip, svc := range ipOwner {
		if off, ok := s.ipAlloc.offset(ip); ok {
			if err := s.ipAlloc.claim(ctx, svc, off, false); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
		}
	}
	var ports []int32
	for i := range list.Items {
		ports = append(ports, allocatedPorts(&list.Items[i])...)
	}
	return s.portAlloc.update(ctx, func(bits *big.Int) error {
		bits.SetInt64(0)
		for _, p := range ports {
			if off := int(p) - s.portAlloc.base; off >= 0 && off < s.portAlloc.size {
				bits.SetBit(bits, off, 1)
			}
		}
		return nil
	})
}

// patchScale applies a PATCH body to a Scale.
func patchScale(r *http.Request, cur *autoscalingv1.Scale, body []byte) (*autoscalingv1.Scale, error) {
	original, err := json.Marshal(cur)
	if err != nil {
		return nil, err
	}
	var patched []byte
	switch types.PatchType(mediaType(r.Header.Get("Content-Type"))) {
	case types.JSONPatchType:
		p, err := jsonpatch.DecodePatch(body)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		patched, err = p.Apply(original)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
	case types.MergePatchType:
		patched, err = jsonpatch.MergePatch(original, body)
	case types.StrategicMergePatchType:
		patched, err = strategicpatch.StrategicMergePatch(original, body, &autoscalingv1.Scale{})
	default:
		return nil, unsupportedMediaType(r.Header.Get("Content-Type"))
	}
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	out := &autoscalingv1.Scale{}
	if err := json.Unmarshal(patched, out); err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	return out, nil
}

// schemeKinds is the served GroupVersionKind of obj's Go type.
func schemeKinds(obj runtime.Object) (schema.GroupVersionKind, bool, error) {
	gvks, unversioned, err := api.Scheme.ObjectKinds(obj)
	if err != nil {
		return schema.GroupVersionKind{}, false, err
	}
	return gvks[0], unversioned, nil
}

func mediaType(ct string) string {
	mt, _, _ := mime.ParseMediaType(ct)
	return mt
}

func intstrFromInt(n int) intstr.IntOrString { return intstr.FromInt32(int32(n)) }
