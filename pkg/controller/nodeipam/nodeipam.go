// Package nodeipam gives every node a spec.podCIDR from --cluster-cidr
// (subnets of --node-cidr-mask-size), as upstream's range allocator: the
// CIDRs nodes already hold are occupied first (so a restart never
// reassigns), and a deleted node's CIDR is released.
package nodeipam

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"sync"

	"github.com/kstack/kstack/pkg/controller"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
)

// Name is the controller's workqueue name.
const Name = "nodeipam"

// Controller is the node IPAM controller.
type Controller struct {
	client   kubernetes.Interface
	lister   corelisters.NodeLister
	synced   cache.InformerSynced
	queue    controller.Queue
	cidrs    *CIDRSet
	recorder record.EventRecorder

	// assigned holds the CIDRs patched onto nodes whose update the
	// informer has not delivered yet: a sync in that window must not
	// allocate a second one (upstream keeps nodesInProcessing for this).
	mu       sync.Mutex
	assigned map[string]string
}

// New returns a controller allocating /maskSize subnets of clusterCIDR.
func New(client kubernetes.Interface, nodes coreinformers.NodeInformer, clusterCIDR string, maskSize int, recorder record.EventRecorder) (*Controller, error) {
	_, cluster, err := net.ParseCIDR(clusterCIDR)
	if err != nil {
		return nil, fmt.Errorf("--cluster-cidr %q: %w", clusterCIDR, err)
	}
	set, err := NewCIDRSet(cluster, maskSize)
	if err != nil {
		return nil, err
	}
	if recorder == nil {
		recorder = &record.FakeRecorder{}
	}
	c := &Controller{client: client, lister: nodes.Lister(), synced: nodes.Informer().HasSynced,
		queue: controller.NewQueue(Name), cidrs: set, recorder: recorder, assigned: map[string]string{}}
	_, _ = nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { controller.Enqueue(c.queue, obj) },
		UpdateFunc: func(_, obj any) { controller.Enqueue(c.queue, obj) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if n, ok := obj.(*corev1.Node); ok {
				for _, cidr := range podCIDRs(n) {
					c.cidrs.Release(cidr)
				}
				c.mu.Lock()
				if cidr, ok := c.assigned[n.Name]; ok {
					delete(c.assigned, n.Name)
					c.cidrs.Release(cidr)
				}
				c.mu.Unlock()
				c.enqueueWaiting()
			}
		},
	})
	return c, nil
}

// enqueueWaiting queues the nodes still without a CIDR, so a released
// one goes to them now rather than after their retry backoff.
func (c *Controller) enqueueWaiting() {
	nodes, err := c.lister.List(labels.Everything())
	if err != nil {
		return
	}
	for _, n := range nodes {
		if len(podCIDRs(n)) == 0 {
			c.queue.Add(n.Name)
		}
	}
}

func podCIDRs(n *corev1.Node) []string {
	if len(n.Spec.PodCIDRs) > 0 {
		return n.Spec.PodCIDRs
	}
	if n.Spec.PodCIDR != "" {
		return []string{n.Spec.PodCIDR}
	}
	return nil
}

// Run occupies the CIDRs nodes hold, then allocates for the others.
func (c *Controller) Run(ctx context.Context, workers int) {
	if !controller.WaitForSync(ctx, Name, c.synced) {
		return
	}
	nodes, _ := c.lister.List(labels.Everything())
	for _, n := range nodes {
		for _, cidr := range podCIDRs(n) {
			c.cidrs.Occupy(cidr)
		}
	}
	controller.RunWorkers(ctx, Name, c.queue, workers, c.sync)
}

func (c *Controller) sync(ctx context.Context, name string) error {
	n, err := c.lister.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if have := podCIDRs(n); len(have) > 0 {
		c.mu.Lock()
		if cidr, ok := c.assigned[name]; ok {
			delete(c.assigned, name)
			if !slices.Contains(have, cidr) {
				c.cidrs.Release(cidr) // someone else set the node's CIDR
			}
		}
		c.mu.Unlock()
		for _, cidr := range have {
			c.cidrs.Occupy(cidr)
		}
		return nil
	}
	c.mu.Lock()
	_, inFlight := c.assigned[name]
	c.mu.Unlock()
	if inFlight {
		return nil // patched; the informer's update will follow
	}
	cidr, err := c.cidrs.Allocate()
	if err != nil {
		c.recorder.Eventf(n, corev1.EventTypeNormal, "CIDRNotAvailable", "Node %s status is now: CIDRNotAvailable", n.Name)
		return fmt.Errorf("allocate a pod CIDR for node %s: %w", name, err)
	}
	patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"podCIDR": cidr, "podCIDRs": []string{cidr}}})
	if _, err := c.client.CoreV1().Nodes().Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		c.cidrs.Release(cidr)
		if apierrors.IsNotFound(err) {
			return nil
		}
		c.recorder.Eventf(n, corev1.EventTypeWarning, "CIDRAssignmentFailed", "Node %s status is now: CIDRAssignmentFailed", n.Name)
		return fmt.Errorf("set pod CIDR %s on node %s: %w", cidr, name, err)
	}
	c.mu.Lock()
	c.assigned[name] = cidr
	c.mu.Unlock()
	return nil
}
