// Package endpointslice publishes, for every Service with a selector, the
// EndpointSlices of the pods it selects: at most 100 endpoints per slice,
// one group of slices per address family and resolved port set (named
// target ports resolve per pod), endpoint conditions ready, serving and
// terminating, nodeName, zone and the pod as targetRef;
// publishNotReadyAddresses makes every endpoint ready.
package endpointslice

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/kstack/kstack/pkg/controller"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	discoveryinformers "k8s.io/client-go/informers/discovery/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
)

// Name is the controller's workqueue name.
const Name = "endpointslice"

// ManagedBy is this controller's value of the managed-by label.
const ManagedBy = "endpointslice-controller.k8s.io"

// MaxEndpointsPerSlice is upstream's default --max-endpoints-per-slice.
const MaxEndpointsPerSlice = 100

// Controller is the EndpointSlice controller.
type Controller struct {
	client      kubernetes.Interface
	svcLister   corelisters.ServiceLister
	podLister   corelisters.PodLister
	nodeLister  corelisters.NodeLister
	sliceLister discoverylisters.EndpointSliceLister
	synced      []cache.InformerSynced
	queue       controller.Queue
	maxPerSlice int
	tracker     *tracker
	triggers    *triggerTimes
}

// New returns an EndpointSlice controller.
func New(client kubernetes.Interface, svcs coreinformers.ServiceInformer, pods coreinformers.PodInformer, nodes coreinformers.NodeInformer, slices discoveryinformers.EndpointSliceInformer) *Controller {
	c := &Controller{
		client: client, svcLister: svcs.Lister(), podLister: pods.Lister(), nodeLister: nodes.Lister(), sliceLister: slices.Lister(),
		synced:      []cache.InformerSynced{svcs.Informer().HasSynced, pods.Informer().HasSynced, nodes.Informer().HasSynced, slices.Informer().HasSynced},
		queue:       controller.NewQueue(Name),
		maxPerSlice: MaxEndpointsPerSlice,
		tracker:     newTracker(),
		triggers:    newTriggerTimes(),
	}
	enqueue := func(obj any) { controller.Enqueue(c.queue, obj) }
	_, _ = svcs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) }, DeleteFunc: enqueue})
	podChanged := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if pod, ok := obj.(*corev1.Pod); ok {
			for _, k := range controller.ServicesForPod(c.svcLister, pod) {
				c.queue.Add(k)
			}
		}
	}
	_, _ = pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: podChanged, UpdateFunc: func(o, n any) { podChanged(o); podChanged(n) }, DeleteFunc: podChanged})
	sliceChanged := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if s, ok := obj.(*discoveryv1.EndpointSlice); ok && s.Labels[discoveryv1.LabelManagedBy] == ManagedBy {
			if svc := s.Labels[discoveryv1.LabelServiceName]; svc != "" {
				c.queue.Add(s.Namespace + "/" + svc)
			}
		}
	}
	_, _ = slices.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: sliceChanged, UpdateFunc: func(_, n any) { sliceChanged(n) }, DeleteFunc: sliceChanged})
	return c
}

// Run syncs Services with workers goroutines until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	if !controller.WaitForSync(ctx, Name, c.synced...) {
		return
	}
	controller.RunWorkers(ctx, Name, c.queue, workers, c.sync)
}

// group is the desired endpoints of one address type and port set.
type group struct {
	addressType discoveryv1.AddressType
	ports       []discoveryv1.EndpointPort
	endpoints   []discoveryv1.Endpoint
}

func (g *group) key() string {
	var b strings.Builder
	b.WriteString(string(g.addressType))
	for _, p := range g.ports {
		fmt.Fprintf(&b, "|%s/%d/%s", deref(p.Name), deref(p.Port), deref(p.Protocol))
	}
	return b.String()
}

func deref[T any](p *T) T {
	var z T
	if p == nil {
		return z
	}
	return *p
}

func sliceKey(s *discoveryv1.EndpointSlice) string {
	g := group{addressType: s.AddressType, ports: s.Ports}
	return g.key()
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	existing, err := c.sliceLister.EndpointSlices(ns).List(labels.SelectorFromSet(labels.Set{
		discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: ManagedBy}))
	if err != nil {
		return err
	}
	svc, err := c.svcLister.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.tracker.forget(key)
		c.triggers.forget(key)
		return nil // the slices' owner reference lets the garbage collector remove them
	}
	if err != nil {
		return err
	}
	c.tracker.settle(key, existing)
	if c.tracker.stale(key, existing) {
		// Our own last writes are not in the cache yet; their events
		// requeue the Service.
		return nil
	}
	if svc.Spec.Selector == nil || svc.Spec.Type == corev1.ServiceTypeExternalName {
		return c.deleteSlices(ctx, key, existing)
	}
	pods, err := c.podLister.Pods(ns).List(labels.ValidatedSetSelector(svc.Spec.Selector))
	if err != nil {
		return err
	}
	groups := c.desired(svc, pods)
	return c.reconcile(ctx, key, svc, groups, existing, c.triggers.compute(key, svc, pods))
}

// addressTypes are the Service's address families.
func addressTypes(svc *corev1.Service) []discoveryv1.AddressType {
	var out []discoveryv1.AddressType
	for _, f := range svc.Spec.IPFamilies {
		if f == corev1.IPv6Protocol {
			out = append(out, discoveryv1.AddressTypeIPv6)
		} else {
			out = append(out, discoveryv1.AddressTypeIPv4)
		}
	}
	if len(out) == 0 {
		out = []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4}
	}
	return out
}

// desired groups the endpoints of pods by address type and port set.
func (c *Controller) desired(svc *corev1.Service, pods []*corev1.Pod) []*group {
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	byKey := map[string]*group{}
	var order []*group
	for _, at := range addressTypes(svc) {
		for _, pod := range pods {
			if !controller.ShouldPodBeInEndpoints(pod, true) {
				continue
			}
			ip := podIP(pod, at)
			if ip == "" {
				continue
			}
			ports := endpointPorts(svc, pod)
			g := &group{addressType: at, ports: ports}
			if prev, ok := byKey[g.key()]; ok {
				g = prev
			} else {
				byKey[g.key()] = g
				order = append(order, g)
			}
			g.endpoints = append(g.endpoints, c.endpoint(svc, pod, ip))
		}
	}
	return order
}

func podIP(pod *corev1.Pod, at discoveryv1.AddressType) string {
	ips := []string{pod.Status.PodIP}
	for _, p := range pod.Status.PodIPs {
		ips = append(ips, p.IP)
	}
	for _, s := range ips {
		ip := net.ParseIP(s)
		if ip == nil {
			continue
		}
		if (ip.To4() != nil) == (at == discoveryv1.AddressTypeIPv4) {
			return s
		}
	}
	return ""
}

// endpointPorts resolves the Service's ports for pod; ports whose named
// target the pod lacks are left out.
func endpointPorts(svc *corev1.Service, pod *corev1.Pod) []discoveryv1.EndpointPort {
	var out []discoveryv1.EndpointPort
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		port, err := controller.FindPort(pod, sp)
		if err != nil {
			continue
		}
		name, proto := sp.Name, sp.Protocol
		out = append(out, discoveryv1.EndpointPort{Name: &name, Port: &port, Protocol: &proto, AppProtocol: sp.AppProtocol})
	}
	return out
}

func (c *Controller) endpoint(svc *corev1.Service, pod *corev1.Pod, ip string) discoveryv1.Endpoint {
	ready := controller.IsPodReady(pod)
	terminating := pod.DeletionTimestamp != nil
	serving := ready
	if svc.Spec.PublishNotReadyAddresses {
		ready, serving = true, true
	}
	readyCond := ready && !terminating
	if svc.Spec.PublishNotReadyAddresses {
		readyCond = true
	}
	ep := discoveryv1.Endpoint{
		Addresses:  []string{ip},
		Conditions: discoveryv1.EndpointConditions{Ready: &readyCond, Serving: &serving, Terminating: &terminating},
		TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
	}
	if pod.Spec.NodeName != "" {
		n := pod.Spec.NodeName
		ep.NodeName = &n
		if node, err := c.nodeLister.Get(n); err == nil {
			if z, ok := node.Labels[corev1.LabelTopologyZone]; ok {
				ep.Zone = &z
			}
		}
	}
	if pod.Spec.Hostname != "" && pod.Spec.Subdomain == svc.Name {
		h := pod.Spec.Hostname
		ep.Hostname = &h
	}
	return ep
}

// reconcile makes the managed slices hold groups, reusing existing slices
// of the same address type and ports, at most maxPerSlice endpoints each.
// The slices it creates or updates carry trigger (see triggerTimes).
func (c *Controller) reconcile(ctx context.Context, key string, svc *corev1.Service, groups []*group, existing []*discoveryv1.EndpointSlice, trigger time.Time) error {
	if len(groups) == 0 {
		// A placeholder keeps the Service visible as having no endpoints.
		groups = []*group{{addressType: addressTypes(svc)[0]}}
	}
	pool := map[string][]*discoveryv1.EndpointSlice{}
	sort.Slice(existing, func(i, j int) bool { return existing[i].Name < existing[j].Name })
	for _, s := range existing {
		pool[sliceKey(s)] = append(pool[sliceKey(s)], s)
	}
	var errs []string
	for _, g := range groups {
		chunks := [][]discoveryv1.Endpoint{nil}
		if len(g.endpoints) > 0 {
			chunks = nil
			for i := 0; i < len(g.endpoints); i += c.maxPerSlice {
				chunks = append(chunks, g.endpoints[i:min(i+c.maxPerSlice, len(g.endpoints))])
			}
		}
		for _, eps := range chunks {
			desired := c.newSlice(svc, g, eps)
			k := g.key()
			if cands := pool[k]; len(cands) > 0 {
				cur := cands[0]
				pool[k] = cands[1:]
				if equality.Semantic.DeepEqual(cur.Endpoints, desired.Endpoints) && equality.Semantic.DeepEqual(cur.Labels, desired.Labels) &&
					len(cur.OwnerReferences) > 0 {
					continue
				}
				upd := cur.DeepCopy()
				upd.Endpoints, upd.Labels, upd.OwnerReferences = desired.Endpoints, desired.Labels, desired.OwnerReferences
				setTriggerTime(upd, trigger)
				out, err := c.client.DiscoveryV1().EndpointSlices(svc.Namespace).Update(ctx, upd, metav1.UpdateOptions{})
				if err != nil {
					errs = append(errs, fmt.Sprintf("update %s: %v", cur.Name, err))
					continue
				}
				c.tracker.wrote(key, out)
				continue
			}
			setTriggerTime(desired, trigger)
			out, err := c.client.DiscoveryV1().EndpointSlices(svc.Namespace).Create(ctx, desired, metav1.CreateOptions{})
			if err != nil {
				if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
					return nil
				}
				errs = append(errs, fmt.Sprintf("create: %v", err))
				continue
			}
			c.tracker.wrote(key, out)
		}
	}
	var stale []*discoveryv1.EndpointSlice
	for _, rest := range pool {
		stale = append(stale, rest...)
	}
	if err := c.deleteSlices(ctx, key, stale); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return fmt.Errorf("endpointslices of %s/%s: %s", svc.Namespace, svc.Name, strings.Join(errs, "; "))
	}
	return nil
}

func (c *Controller) newSlice(svc *corev1.Service, g *group, eps []discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	lbls := map[string]string{}
	for k, v := range svc.Labels {
		lbls[k] = v
	}
	lbls[discoveryv1.LabelServiceName] = svc.Name
	lbls[discoveryv1.LabelManagedBy] = ManagedBy
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		lbls[corev1.IsHeadlessService] = ""
	}
	t := true
	if eps == nil {
		eps = []discoveryv1.Endpoint{}
	}
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: svc.Name + "-",
			Namespace:    svc.Namespace,
			Labels:       lbls,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Service", Name: svc.Name, UID: svc.UID,
				Controller: &t, BlockOwnerDeletion: &t}},
		},
		AddressType: g.addressType,
		Endpoints:   eps,
		Ports:       g.ports,
	}
}

func (c *Controller) deleteSlices(ctx context.Context, key string, slices []*discoveryv1.EndpointSlice) error {
	for _, s := range slices {
		err := c.client.DiscoveryV1().EndpointSlices(s.Namespace).Delete(ctx, s.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete endpointslice %s: %w", s.Name, err)
		}
		c.tracker.deleted(key, s.Name)
	}
	return nil
}
