// Package endpointslicemirroring mirrors the Endpoints of Services without
// a selector (written by their users) into EndpointSlices, so consumers of
// slices (kube-proxy, DNS) see them, as upstream: ready addresses as ready
// endpoints, notReadyAddresses as not ready, at most 100 endpoints per
// slice, owned by the Endpoints; an Endpoints labelled
// endpointslice.kubernetes.io/skip-mirror=true is not mirrored. Slice names
// derive from their content, so a repeated sync never duplicates one.
package endpointslicemirroring

import (
	"context"
	"fmt"
	"hash/fnv"
	"net"
	"sort"

	"github.com/kstack/kstack/pkg/controller"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/dump"
	"k8s.io/apimachinery/pkg/util/rand"
	coreinformers "k8s.io/client-go/informers/core/v1"
	discoveryinformers "k8s.io/client-go/informers/discovery/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
)

// Name is the controller's workqueue name.
const Name = "endpointslicemirroring"

// ManagedBy is this controller's managed-by label value.
const ManagedBy = "endpointslicemirroring-controller.k8s.io"

// SkipMirrorLabel opts an Endpoints out.
const SkipMirrorLabel = "endpointslice.kubernetes.io/skip-mirror"

// MaxEndpointsPerSlice is upstream's mirroring default.
const MaxEndpointsPerSlice = 100

// Controller is the mirroring controller.
type Controller struct {
	client      kubernetes.Interface
	svcLister   corelisters.ServiceLister
	epLister    corelisters.EndpointsLister
	sliceLister discoverylisters.EndpointSliceLister
	synced      []cache.InformerSynced
	queue       controller.Queue
}

// New returns a mirroring controller.
func New(client kubernetes.Interface, svcs coreinformers.ServiceInformer, eps coreinformers.EndpointsInformer, slices discoveryinformers.EndpointSliceInformer) *Controller {
	c := &Controller{client: client, svcLister: svcs.Lister(), epLister: eps.Lister(), sliceLister: slices.Lister(),
		synced: []cache.InformerSynced{svcs.Informer().HasSynced, eps.Informer().HasSynced, slices.Informer().HasSynced},
		queue:  controller.NewQueue(Name)}
	enqueue := func(obj any) { controller.Enqueue(c.queue, obj) }
	h := cache.ResourceEventHandlerFuncs{AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) }, DeleteFunc: enqueue}
	_, _ = svcs.Informer().AddEventHandler(h)
	_, _ = eps.Informer().AddEventHandler(h)
	sliceChanged := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if s, ok := obj.(*discoveryv1.EndpointSlice); ok && s.Labels[discoveryv1.LabelManagedBy] == ManagedBy {
			c.queue.Add(s.Namespace + "/" + s.Labels[discoveryv1.LabelServiceName])
		}
	}
	_, _ = slices.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: sliceChanged, UpdateFunc: func(_, o any) { sliceChanged(o) }, DeleteFunc: sliceChanged})
	return c
}

// Run mirrors with workers goroutines until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	if !controller.WaitForSync(ctx, Name, c.synced...) {
		return
	}
	controller.RunWorkers(ctx, Name, c.queue, workers, c.sync)
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
	var desired []*discoveryv1.EndpointSlice
	svc, serr := c.svcLister.Services(ns).Get(name)
	ep, eerr := c.epLister.Endpoints(ns).Get(name)
	if serr == nil && eerr == nil && svc.Spec.Selector == nil && ep.Labels[SkipMirrorLabel] != "true" {
		desired = Mirror(ep)
	}
	want := map[string]bool{}
	have := map[string]bool{}
	for _, s := range existing {
		have[s.Name] = true
	}
	for _, s := range desired {
		want[s.Name] = true
		if have[s.Name] {
			continue
		}
		if _, err := c.client.DiscoveryV1().EndpointSlices(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil &&
			!apierrors.IsAlreadyExists(err) && !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return fmt.Errorf("create mirrored endpointslice %s: %w", s.Name, err)
		}
	}
	for _, s := range existing {
		if want[s.Name] {
			continue
		}
		if err := c.client.DiscoveryV1().EndpointSlices(ns).Delete(ctx, s.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete mirrored endpointslice %s: %w", s.Name, err)
		}
	}
	return nil
}

// Mirror returns the slices that mirror ep.
func Mirror(ep *corev1.Endpoints) []*discoveryv1.EndpointSlice {
	var out []*discoveryv1.EndpointSlice
	t := true
	for _, ss := range ep.Subsets {
		var ports []discoveryv1.EndpointPort
		for _, p := range ss.Ports {
			p := p
			ports = append(ports, discoveryv1.EndpointPort{Name: &p.Name, Port: &p.Port, Protocol: &p.Protocol, AppProtocol: p.AppProtocol})
		}
		byType := map[discoveryv1.AddressType][]discoveryv1.Endpoint{}
		add := func(addrs []corev1.EndpointAddress, ready bool) {
			for _, a := range addrs {
				ip := net.ParseIP(a.IP)
				if ip == nil {
					continue
				}
				at := discoveryv1.AddressTypeIPv4
				if ip.To4() == nil {
					at = discoveryv1.AddressTypeIPv6
				}
				r := ready
				e := discoveryv1.Endpoint{Addresses: []string{a.IP}, Conditions: discoveryv1.EndpointConditions{Ready: &r}, TargetRef: a.TargetRef, NodeName: a.NodeName}
				if a.Hostname != "" {
					h := a.Hostname
					e.Hostname = &h
				}
				byType[at] = append(byType[at], e)
			}
		}
		add(ss.Addresses, true)
		add(ss.NotReadyAddresses, false)
		types := make([]string, 0, len(byType))
		for at := range byType {
			types = append(types, string(at))
		}
		sort.Strings(types)
		for _, at := range types {
			eps := byType[discoveryv1.AddressType(at)]
			for i := 0; i < len(eps); i += MaxEndpointsPerSlice {
				chunk := eps[i:min(i+MaxEndpointsPerSlice, len(eps))]
				lbls := map[string]string{}
				for k, v := range ep.Labels {
					lbls[k] = v
				}
				lbls[discoveryv1.LabelServiceName] = ep.Name
				lbls[discoveryv1.LabelManagedBy] = ManagedBy
				s := &discoveryv1.EndpointSlice{
					ObjectMeta: metav1.ObjectMeta{Namespace: ep.Namespace, Labels: lbls,
						OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Endpoints", Name: ep.Name, UID: ep.UID, Controller: &t, BlockOwnerDeletion: &t}}},
					AddressType: discoveryv1.AddressType(at), Endpoints: chunk, Ports: ports,
				}
				h := fnv.New32a()
				fmt.Fprint(h, dump.ForHash([]any{s.AddressType, s.Endpoints, s.Ports, lbls}))
				prefix := ep.Name
				if len(prefix) > 50 {
					prefix = prefix[:50]
				}
				s.Name = prefix + "-" + rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
				out = append(out, s)
			}
		}
	}
	return out
}
