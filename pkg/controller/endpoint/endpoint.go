// Package endpoint keeps the legacy Endpoints object of every Service with
// a selector: one subset per distinct resolved port set, ready pods in
// addresses and the others in notReadyAddresses (every pod ready with
// publishNotReadyAddresses), terminating pods left out.
package endpoint

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/kstack/kstack/pkg/controller"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// Name is the controller's workqueue name.
const Name = "endpoint"

// MaxCapacity is the most addresses one Endpoints holds; beyond it the
// object is truncated and annotated, as upstream.
const MaxCapacity = 1000

// OverCapacityAnnotation marks a truncated Endpoints.
const OverCapacityAnnotation = "endpoints.kubernetes.io/over-capacity"

// Controller is the Endpoints controller.
type Controller struct {
	client    kubernetes.Interface
	svcLister corelisters.ServiceLister
	podLister corelisters.PodLister
	epLister  corelisters.EndpointsLister
	synced    []cache.InformerSynced
	queue     controller.Queue
}

// New returns an Endpoints controller.
func New(client kubernetes.Interface, svcs coreinformers.ServiceInformer, pods coreinformers.PodInformer, eps coreinformers.EndpointsInformer) *Controller {
	c := &Controller{client: client, svcLister: svcs.Lister(), podLister: pods.Lister(), epLister: eps.Lister(),
		synced: []cache.InformerSynced{svcs.Informer().HasSynced, pods.Informer().HasSynced, eps.Informer().HasSynced},
		queue:  controller.NewQueue(Name)}
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
	_, _ = eps.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: enqueue})
	return c
}

// Run syncs Services with workers goroutines until ctx ends.
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
	svc, err := c.svcLister.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		err := c.client.CoreV1().Endpoints(ns).Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete endpoints %s: %w", key, err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if svc.Spec.Selector == nil {
		return nil // selector-less Services keep the Endpoints their users write
	}
	pods, err := c.podLister.Pods(ns).List(labels.ValidatedSetSelector(svc.Spec.Selector))
	if err != nil {
		return err
	}
	subsets, total := Subsets(svc, pods)
	desired := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{}}}
	for k, v := range svc.Labels {
		desired.Labels[k] = v
	}
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		desired.Labels[corev1.IsHeadlessService] = ""
	}
	if total > MaxCapacity {
		subsets = truncate(subsets, MaxCapacity)
		desired.Annotations = map[string]string{OverCapacityAnnotation: "truncated"}
	}
	desired.Subsets = subsets
	cur, err := c.epLister.Endpoints(ns).Get(name)
	if apierrors.IsNotFound(err) {
		if _, err := c.client.CoreV1().Endpoints(ns).Create(ctx, desired, metav1.CreateOptions{}); err != nil {
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil
			}
			return fmt.Errorf("create endpoints %s: %w", key, err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if equality.Semantic.DeepEqual(cur.Subsets, desired.Subsets) && equality.Semantic.DeepEqual(cur.Labels, desired.Labels) &&
		cur.Annotations[OverCapacityAnnotation] == desired.Annotations[OverCapacityAnnotation] {
		return nil
	}
	upd := cur.DeepCopy()
	upd.Subsets, upd.Labels = desired.Subsets, desired.Labels
	if desired.Annotations != nil {
		if upd.Annotations == nil {
			upd.Annotations = map[string]string{}
		}
		upd.Annotations[OverCapacityAnnotation] = "truncated"
	} else {
		delete(upd.Annotations, OverCapacityAnnotation)
	}
	if _, err := c.client.CoreV1().Endpoints(ns).Update(ctx, upd, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update endpoints %s: %w", key, err)
	}
	return nil
}

// Subsets computes svc's endpoint subsets from pods (sorted, one subset per
// port set) and the number of addresses.
func Subsets(svc *corev1.Service, pods []*corev1.Pod) ([]corev1.EndpointSubset, int) {
	type acc struct {
		ports           []corev1.EndpointPort
		ready, notReady []corev1.EndpointAddress
	}
	byPorts := map[string]*acc{}
	total := 0
	for _, pod := range pods {
		if !controller.ShouldPodBeInEndpoints(pod, svc.Spec.PublishNotReadyAddresses) {
			continue
		}
		ip := pod.Status.PodIP
		if ip == "" {
			ip = pod.Status.PodIPs[0].IP
		}
		var ports []corev1.EndpointPort
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			p, err := controller.FindPort(pod, sp)
			if err != nil {
				continue
			}
			ports = append(ports, corev1.EndpointPort{Name: sp.Name, Port: p, Protocol: sp.Protocol, AppProtocol: sp.AppProtocol})
		}
		if len(svc.Spec.Ports) > 0 && len(ports) == 0 {
			continue
		}
		sort.Slice(ports, func(i, j int) bool { return ports[i].Name < ports[j].Name })
		var kb strings.Builder
		for _, p := range ports {
			fmt.Fprintf(&kb, "%s/%d/%s|", p.Name, p.Port, p.Protocol)
		}
		a := byPorts[kb.String()]
		if a == nil {
			a = &acc{ports: ports}
			byPorts[kb.String()] = a
		}
		addr := corev1.EndpointAddress{IP: ip,
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID}}
		if pod.Spec.NodeName != "" {
			n := pod.Spec.NodeName
			addr.NodeName = &n
		}
		if pod.Spec.Hostname != "" && pod.Spec.Subdomain == svc.Name && svc.Spec.ClusterIP == corev1.ClusterIPNone {
			addr.Hostname = pod.Spec.Hostname
		}
		if svc.Spec.PublishNotReadyAddresses || controller.IsPodReady(pod) {
			a.ready = append(a.ready, addr)
		} else {
			a.notReady = append(a.notReady, addr)
		}
		total++
	}
	keys := make([]string, 0, len(byPorts))
	for k := range byPorts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []corev1.EndpointSubset
	for _, k := range keys {
		a := byPorts[k]
		byIP := func(s []corev1.EndpointAddress) func(i, j int) bool {
			return func(i, j int) bool { return s[i].IP < s[j].IP }
		}
		sort.Slice(a.ready, byIP(a.ready))
		sort.Slice(a.notReady, byIP(a.notReady))
		out = append(out, corev1.EndpointSubset{Addresses: a.ready, NotReadyAddresses: a.notReady, Ports: a.ports})
	}
	return out, total
}

// truncate keeps at most max addresses, ready ones first.
func truncate(subsets []corev1.EndpointSubset, max int) []corev1.EndpointSubset {
	left := max
	out := make([]corev1.EndpointSubset, len(subsets))
	for i, s := range subsets {
		n := min(left, len(s.Addresses))
		out[i] = corev1.EndpointSubset{Ports: s.Ports, Addresses: s.Addresses[:n]}
		left -= n
	}
	for i, s := range subsets {
		n := min(left, len(s.NotReadyAddresses))
		out[i].NotReadyAddresses = s.NotReadyAddresses[:n]
		left -= n
	}
	return out
}
