// Package resourcequota keeps each ResourceQuota's status.used current:
// pods' compute requests and limits (with the quota's scopes), counts of
// pods, services (node ports, load balancers), persistent volume claims
// (storage, per storage class), and count/<resource>[.<group>] of any
// resource. The apiserver's ResourceQuota admission charges creates
// against status.used; this controller recalculates it, which also
// releases what deleted objects held.
package resourcequota

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kstack/kstack/pkg/controller"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"
)

// Name is the controller's workqueue name.
const Name = "resourcequota"

// Controller is the resource quota controller.
type Controller struct {
	client    kubernetes.Interface
	md        metadata.Interface
	mapper    *restmapper.DeferredDiscoveryRESTMapper
	rqLister  corelisters.ResourceQuotaLister
	podLister corelisters.PodLister
	svcLister corelisters.ServiceLister
	pvcLister corelisters.PersistentVolumeClaimLister
	synced    []cache.InformerSynced
	queue     controller.Queue
	resync    time.Duration
}

// New returns a quota controller; resync is how often every quota is
// recalculated regardless of events (upstream's
// --resource-quota-sync-period, 5m).
func New(client kubernetes.Interface, md metadata.Interface, disc discovery.DiscoveryInterface, quotas coreinformers.ResourceQuotaInformer,
	pods coreinformers.PodInformer, svcs coreinformers.ServiceInformer, pvcs coreinformers.PersistentVolumeClaimInformer,
	cms coreinformers.ConfigMapInformer, secrets coreinformers.SecretInformer, resync time.Duration) *Controller {
	c := &Controller{
		client: client, md: md, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc)),
		rqLister: quotas.Lister(), podLister: pods.Lister(), svcLister: svcs.Lister(), pvcLister: pvcs.Lister(),
		synced: []cache.InformerSynced{quotas.Informer().HasSynced, pods.Informer().HasSynced, svcs.Informer().HasSynced,
			pvcs.Informer().HasSynced, cms.Informer().HasSynced, secrets.Informer().HasSynced},
		queue:  controller.NewQueue(Name),
		resync: resync,
	}
	_, _ = quotas.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { controller.Enqueue(c.queue, obj) },
		UpdateFunc: func(old, cur any) {
			o, n := old.(*corev1.ResourceQuota), cur.(*corev1.ResourceQuota)
			if !equality.Semantic.DeepEqual(o.Spec, n.Spec) || !equality.Semantic.DeepEqual(n.Spec.Hard, n.Status.Hard) {
				controller.Enqueue(c.queue, cur)
			}
		},
	})
	// Any change of a counted object recalculates its namespace's quotas.
	nsChanged := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if m, err := metaNamespace(obj); err == nil {
			c.enqueueNamespace(m)
		}
	}
	h := cache.ResourceEventHandlerFuncs{AddFunc: nsChanged, UpdateFunc: func(_, n any) { nsChanged(n) }, DeleteFunc: nsChanged}
	for _, inf := range []cache.SharedIndexInformer{pods.Informer(), svcs.Informer(), pvcs.Informer(), cms.Informer(), secrets.Informer()} {
		_, _ = inf.AddEventHandler(h)
	}
	return c
}

func metaNamespace(obj any) (string, error) {
	m, err := metaAccessor(obj)
	if err != nil {
		return "", err
	}
	return m.GetNamespace(), nil
}

func metaAccessor(obj any) (metav1.Object, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("not an object: %T", obj)
	}
	return m, nil
}

func (c *Controller) enqueueNamespace(ns string) {
	qs, err := c.rqLister.ResourceQuotas(ns).List(labels.Everything())
	if err != nil {
		return
	}
	for _, q := range qs {
		controller.Enqueue(c.queue, q)
	}
}

// Run recalculates quotas with workers goroutines until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	if !controller.WaitForSync(ctx, Name, c.synced...) {
		return
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(c.resync):
				qs, _ := c.rqLister.List(labels.Everything())
				for _, q := range qs {
					controller.Enqueue(c.queue, q)
				}
			}
		}
	}()
	controller.RunWorkers(ctx, Name, c.queue, workers, c.sync)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	q, err := c.rqLister.ResourceQuotas(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	used, err := c.usage(ctx, q)
	if err != nil {
		return err
	}
	st := corev1.ResourceQuotaStatus{Hard: q.Spec.Hard.DeepCopy(), Used: used}
	if equality.Semantic.DeepEqual(q.Status, st) {
		return nil
	}
	cp := q.DeepCopy()
	cp.Status = st
	if _, err := c.client.CoreV1().ResourceQuotas(ns).UpdateStatus(ctx, cp, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update status of quota %s: %w", key, err)
	}
	return nil
}

// usage measures everything q's hard limits name.
func (c *Controller) usage(ctx context.Context, q *corev1.ResourceQuota) (corev1.ResourceList, error) {
	used := corev1.ResourceList{}
	for name := range q.Spec.Hard {
		used[name] = resource.MustParse("0")
	}
	var podNames, otherNames []corev1.ResourceName
	for name := range q.Spec.Hard {
		if isPodResource(name) {
			podNames = append(podNames, name)
		} else if !scoped(q) {
			otherNames = append(otherNames, name)
		}
	}
	if len(podNames) > 0 {
		pods, err := c.podLister.Pods(q.Namespace).List(labels.Everything())
		if err != nil {
			return nil, err
		}
		for _, p := range pods {
			if scoped(q) && !podMatchesScopes(p, q) {
				continue
			}
			addUsed(used, PodUsage(p, q.Spec.Hard), q.Spec.Hard)
		}
	}
	counted := map[schema.GroupResource]bool{}
	for _, name := range otherNames {
		s := string(name)
		switch {
		case name == corev1.ResourceServices || s == "count/services" || name == corev1.ResourceServicesNodePorts || name == corev1.ResourceServicesLoadBalancers:
			if counted[schema.GroupResource{Resource: "services"}] {
				continue
			}
			counted[schema.GroupResource{Resource: "services"}] = true
			svcs, err := c.svcLister.Services(q.Namespace).List(labels.Everything())
			if err != nil {
				return nil, err
			}
			for _, svc := range svcs {
				addUsed(used, ServiceUsage(svc), q.Spec.Hard)
			}
		case name == corev1.ResourcePersistentVolumeClaims || s == "count/persistentvolumeclaims" || name == corev1.ResourceRequestsStorage ||
			strings.Contains(s, ".storageclass.storage.k8s.io/"):
			if counted[schema.GroupResource{Resource: "persistentvolumeclaims"}] {
				continue
			}
			counted[schema.GroupResource{Resource: "persistentvolumeclaims"}] = true
			pvcs, err := c.pvcLister.PersistentVolumeClaims(q.Namespace).List(labels.Everything())
			if err != nil {
				return nil, err
			}
			for _, pvc := range pvcs {
				addUsed(used, PVCUsage(pvc), q.Spec.Hard)
			}
		default:
			gr, ok := countedResource(name)
			if !ok {
				continue // a name this controller does not measure
			}
			n, err := c.count(ctx, q.Namespace, gr)
			if err != nil {
				return nil, err
			}
			used[name] = *resource.NewQuantity(int64(n), resource.DecimalSI)
		}
	}
	return used, nil
}

func addUsed(used, u, hard corev1.ResourceList) {
	for k, v := range u {
		if _, ok := hard[k]; !ok {
			continue
		}
		q := used[k]
		q.Add(v)
		used[k] = q
	}
}

// legacyNames are the pre-count/ names of some core counts.
var legacyNames = map[corev1.ResourceName]string{
	corev1.ResourceConfigMaps:             "configmaps",
	corev1.ResourceSecrets:                "secrets",
	corev1.ResourceQuotas:                 "resourcequotas",
	corev1.ResourceReplicationControllers: "replicationcontrollers",
}

// countedResource parses count/<resource>[.<group>] and the legacy names.
func countedResource(name corev1.ResourceName) (schema.GroupResource, bool) {
	if r, ok := legacyNames[name]; ok {
		return schema.GroupResource{Resource: r}, true
	}
	s, ok := strings.CutPrefix(string(name), "count/")
	if !ok {
		return schema.GroupResource{}, false
	}
	r, g, _ := strings.Cut(s, ".")
	return schema.GroupResource{Group: g, Resource: r}, true
}

// count lists gr's objects in ns (metadata only).
func (c *Controller) count(ctx context.Context, ns string, gr schema.GroupResource) (int, error) {
	gvr, err := c.mapper.ResourceFor(gr.WithVersion(""))
	if err != nil {
		c.mapper.Reset()
		if gvr, err = c.mapper.ResourceFor(gr.WithVersion("")); err != nil {
			return 0, nil // not served (yet): nothing to count
		}
	}
	l, err := c.md.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return 0, fmt.Errorf("count %s in %s: %w", gr, ns, err)
	}
	return len(l.Items), nil
}
