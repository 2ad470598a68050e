// Package garbagecollector deletes objects whose owners are gone, as
// upstream's garbage collector does through ownerReferences:
//
//   - background: a dependent whose owners are all gone (absent, or present
//     with another UID) is deleted; dangling references beside a live owner
//     are removed;
//   - foreground: an owner being deleted with the foregroundDeletion
//     finalizer has its dependents deleted (in the foreground too); the
//     finalizer comes off once no dependent with blockOwnerDeletion remains;
//   - orphan: an owner being deleted with the orphan finalizer has its
//     reference removed from every dependent, then the finalizer removed.
//
// Objects come from metadata informers over every resource discovery lists
// as list/watch/delete-able (re-discovered periodically), indexed by UID and
// by owner UID. Before deleting anything, an owner that the cache does not
// hold is read live, so a slow informer never deletes a dependent of a live
// owner.
package garbagecollector

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/kstack/kstack/pkg/controller"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"
)

// Name is the controller's workqueue name.
const Name = "garbagecollector"

// Finalizers the collector acts on.
const (
	OrphanFinalizer     = metav1.FinalizerOrphanDependents
	ForegroundFinalizer = metav1.FinalizerDeleteDependents
)

// ignored resources are never collected (as upstream: events).
var ignored = map[schema.GroupResource]bool{
	{Group: "", Resource: "events"}:                 true,
	{Group: "events.k8s.io", Resource: "events"}:    true,
	{Group: "authentication.k8s.io", Resource: "*"}: true,
}

// objRef names one object.
type objRef struct {
	GVR             schema.GroupVersionResource
	Namespace, Name string
}

func (r objRef) key() string {
	return strings.Join([]string{r.GVR.Group, r.GVR.Version, r.GVR.Resource, r.Namespace, r.Name}, "|")
}

func parseKey(k string) (objRef, bool) {
	p := strings.Split(k, "|")
	if len(p) != 5 {
		return objRef{}, false
	}
	return objRef{GVR: schema.GroupVersionResource{Group: p[0], Version: p[1], Resource: p[2]}, Namespace: p[3], Name: p[4]}, true
}

// node is what the collector remembers of an object.
type node struct {
	ref        objRef
	owners     []metav1.OwnerReference
	deleting   bool
	finalizers []string
}

// Controller is the garbage collector.
type Controller struct {
	md       metadata.Interface
	disc     discovery.DiscoveryInterface
	mapper   *restmapper.DeferredDiscoveryRESTMapper
	factory  metadatainformer.SharedInformerFactory
	queue    controller.Queue
	resync   time.Duration
	informed chan struct{}

	mu         sync.RWMutex
	watched    map[schema.GroupVersionResource]cache.SharedIndexInformer
	byUID      map[types.UID]*node
	dependents map[types.UID]map[types.UID]bool
}

// New returns a collector that writes and reads live through md, discovers
// through disc and watches through factory's metadata informers.
func New(md metadata.Interface, disc discovery.DiscoveryInterface, factory metadatainformer.SharedInformerFactory) *Controller {
	return &Controller{
		md:         md,
		disc:       disc,
		mapper:     restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc)),
		factory:    factory,
		queue:      controller.NewQueue(Name),
		resync:     30 * time.Second,
		informed:   make(chan struct{}),
		watched:    map[schema.GroupVersionResource]cache.SharedIndexInformer{},
		byUID:      map[types.UID]*node{},
		dependents: map[types.UID]map[types.UID]bool{},
	}
}

// Run discovers resources, starts their informers and collects with
// workers goroutines until ctx ends; discovery repeats every 30 seconds
// so new resources (custom ones) are watched too.
func (c *Controller) Run(ctx context.Context, workers int) {
	if err := c.discover(ctx); err != nil {
		slog.Warn("garbage collector discovery incomplete", "err", err)
	}
	c.mu.RLock()
	var synced []cache.InformerSynced
	for _, inf := range c.watched {
		synced = append(synced, inf.HasSynced)
	}
	c.mu.RUnlock()
	// A resource whose informer cannot sync (forbidden, broken watch) must
	// not stall collection forever: owners missing from the cache are read
	// live anyway.
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	if !cache.WaitForNamedCacheSync(Name, wctx.Done(), synced...) && ctx.Err() == nil {
		slog.Warn("garbage collector starting before every informer synced")
	}
	cancel()
	if ctx.Err() != nil {
		return
	}
	go func() {
		t := time.NewTicker(c.resync)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := c.discover(ctx); err != nil {
					slog.Debug("garbage collector re-discovery incomplete", "err", err)
				}
			}
		}
	}()
	controller.RunWorkers(ctx, Name, c.queue, workers, c.sync)
}

// discover adds an informer for every deletable, watchable resource not yet
// watched.
func (c *Controller) discover(ctx context.Context) error {
	c.mapper.Reset()
	lists, derr := discovery.ServerPreferredResources(c.disc)
	if lists == nil && derr != nil {
		return fmt.Errorf("discover resources: %w", derr)
	}
	filtered := discovery.FilteredBy(discovery.SupportsAllVerbs{Verbs: []string{"list", "watch", "delete"}}, lists)
	gvrs, err := discovery.GroupVersionResources(filtered)
	if err != nil {
		return err
	}
	c.mu.Lock()
	added := false
	for gvr := range gvrs {
		if strings.Contains(gvr.Resource, "/") || ignored[gvr.GroupResource()] || ignored[schema.GroupResource{Group: gvr.Group, Resource: "*"}] {
			continue
		}
		if _, ok := c.watched[gvr]; ok {
			continue
		}
		inf := c.factory.ForResource(gvr).Informer()
		gvr := gvr
		_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { c.observe(gvr, nil, obj) },
			UpdateFunc: func(old, cur any) { c.observe(gvr, old, cur) },
			DeleteFunc: func(obj any) { c.forget(gvr, obj) },
		})
		c.watched[gvr] = inf
		added = true
	}
	c.mu.Unlock()
	if added {
		c.factory.Start(ctx.Done())
	}
	return derr
}

func asMeta(obj any) (*metav1.PartialObjectMetadata, bool) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	m, ok := obj.(*metav1.PartialObjectMetadata)
	return m, ok
}

func refOf(gvr schema.GroupVersionResource, m *metav1.PartialObjectMetadata) objRef {
	return objRef{GVR: gvr, Namespace: m.Namespace, Name: m.Name}
}

// observe indexes an added or updated object and enqueues what it affects.
func (c *Controller) observe(gvr schema.GroupVersionResource, oldObj, obj any) {
	m, ok := asMeta(obj)
	if !ok {
		return
	}
	n := &node{ref: refOf(gvr, m), owners: m.OwnerReferences, deleting: m.DeletionTimestamp != nil, finalizers: m.Finalizers}
	c.mu.Lock()
	if prev, ok := c.byUID[m.UID]; ok {
		for _, o := range prev.owners {
			delete(c.dependents[o.UID], m.UID)
		}
	}
	c.byUID[m.UID] = n
	for _, o := range m.OwnerReferences {
		if c.dependents[o.UID] == nil {
			c.dependents[o.UID] = map[types.UID]bool{}
		}
		c.dependents[o.UID][m.UID] = true
	}
	c.mu.Unlock()
	if len(m.OwnerReferences) > 0 || (n.deleting && (hasFinalizer(m.Finalizers, OrphanFinalizer) || hasFinalizer(m.Finalizers, ForegroundFinalizer))) {
		c.queue.Add(n.ref.key())
	}
	c.enqueueDeletingOwners(m.OwnerReferences)
	if old, ok := asMeta(oldObj); ok {
		c.enqueueDeletingOwners(old.OwnerReferences)
	}
}

// forget drops a deleted object and enqueues its dependents and owners.
func (c *Controller) forget(gvr schema.GroupVersionResource, obj any) {
	m, ok := asMeta(obj)
	if !ok {
		return
	}
	c.mu.Lock()
	if prev, ok := c.byUID[m.UID]; ok {
		for _, o := range prev.owners {
			delete(c.dependents[o.UID], m.UID)
		}
	}
	delete(c.byUID, m.UID)
	var deps []objRef
	for uid := range c.dependents[m.UID] {
		if d, ok := c.byUID[uid]; ok {
			deps = append(deps, d.ref)
		}
	}
	c.mu.Unlock()
	for _, d := range deps {
		c.queue.Add(d.key())
	}
	c.enqueueDeletingOwners(m.OwnerReferences)
}

func (c *Controller) enqueueDeletingOwners(refs []metav1.OwnerReference) {
	c.mu.RLock()
	var keys []string
	for _, o := range refs {
		if n, ok := c.byUID[o.UID]; ok && n.deleting {
			keys = append(keys, n.ref.key())
		}
	}
	c.mu.RUnlock()
	for _, k := range keys {
		c.queue.Add(k)
	}
}

func hasFinalizer(fs []string, f string) bool {
	for _, x := range fs {
		if x == f {
			return true
		}
	}
	return false
}

// cached returns the object from its informer.
func (c *Controller) cached(ref objRef) (*metav1.PartialObjectMetadata, bool) {
	c.mu.RLock()
	inf, ok := c.watched[ref.GVR]
	c.mu.RUnlock()
	if !ok {
		return nil, false
	}
	k := ref.Name
	if ref.Namespace != "" {
		k = ref.Namespace + "/" + ref.Name
	}
	obj, exists, err := inf.GetIndexer().GetByKey(k)
	if err != nil || !exists {
		return nil, false
	}
	return asMeta(obj)
}

func (c *Controller) resource(r objRef) metadata.ResourceInterface {
	if r.Namespace == "" {
		return c.md.Resource(r.GVR)
	}
	return c.md.Resource(r.GVR).Namespace(r.Namespace)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ref, ok := parseKey(key)
	if !ok {
		return nil
	}
	obj, ok := c.cached(ref)
	if !ok {
		return nil // deleted: its dependents were enqueued when it went
	}
	if obj.DeletionTimestamp != nil {
		switch {
		case hasFinalizer(obj.Finalizers, OrphanFinalizer):
			return c.orphanDependents(ctx, ref, obj)
		case hasFinalizer(obj.Finalizers, ForegroundFinalizer):
			return c.deleteDependents(ctx, ref, obj)
		}
		return nil
	}
	if len(obj.OwnerReferences) == 0 {
		return nil
	}
	return c.checkOwners(ctx, ref, obj)
}

// ownerState is what the collector knows of one owner.
type ownerState int

const (
	ownerPresent ownerState = iota
	ownerAbsent
	ownerWaiting // being deleted in the foreground
)

// owner reports the state of the owner o of an object in namespace ns.
func (c *Controller) owner(ctx context.Context, ns string, o metav1.OwnerReference) (ownerState, error) {
	gv, err := schema.ParseGroupVersion(o.APIVersion)
	if err != nil {
		return ownerPresent, fmt.Errorf("owner %s: %w", o.Name, err)
	}
	mapping, err := c.mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: o.Kind}, gv.Version)
	if err != nil {
		c.mapper.Reset()
		if mapping, err = c.mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: o.Kind}, gv.Version); err != nil {
			return ownerPresent, fmt.Errorf("owner kind %s %s: %w", o.APIVersion, o.Kind, err)
		}
	}
	ref := objRef{GVR: mapping.Resource, Name: o.Name}
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		ref.Namespace = ns
	}
	state := func(m *metav1.PartialObjectMetadata) ownerState {
		if m.UID != o.UID {
			return ownerAbsent
		}
		if m.DeletionTimestamp != nil && hasFinalizer(m.Finalizers, ForegroundFinalizer) {
			return ownerWaiting
		}
		return ownerPresent
	}
	if m, ok := c.cached(ref); ok && m.UID == o.UID {
		return state(m), nil
	}
	// Not in the cache (or another UID there): read it live.
	m, err := c.resource(ref).Get(ctx, o.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return ownerAbsent, nil
	}
	if err != nil {
		return ownerPresent, fmt.Errorf("get owner %s %s: %w", o.Kind, o.Name, err)
	}
	return state(m), nil
}

// checkOwners deletes obj when its owners are gone or waiting for their
// dependents, and removes dangling references beside live owners.
func (c *Controller) checkOwners(ctx context.Context, ref objRef, obj *metav1.PartialObjectMetadata) error {
	var solid, waiting int
	var dangling []types.UID
	for _, o := range obj.OwnerReferences {
		st, err := c.owner(ctx, obj.Namespace, o)
		if err != nil {
			return err
		}
		switch st {
		case ownerPresent:
			solid++
		case ownerAbsent:
			dangling = append(dangling, o.UID)
		case ownerWaiting:
			waiting++
		}
	}
	switch {
	case solid > 0:
		if len(dangling) == 0 {
			return nil
		}
		return c.removeOwnerRefs(ctx, ref, obj.UID, dangling)
	case waiting > 0:
		return c.delete(ctx, ref, obj, metav1.DeletePropagationForeground)
	default:
		policy := metav1.DeletePropagationBackground
		if hasFinalizer(obj.Finalizers, OrphanFinalizer) {
			policy = metav1.DeletePropagationOrphan
		} else if hasFinalizer(obj.Finalizers, ForegroundFinalizer) {
			policy = metav1.DeletePropagationForeground
		}
		return c.delete(ctx, ref, obj, policy)
	}
}

func (c *Controller) delete(ctx context.Context, ref objRef, obj *metav1.PartialObjectMetadata, policy metav1.DeletionPropagation) error {
	uid := obj.UID
	err := c.resource(ref).Delete(ctx, ref.Name, metav1.DeleteOptions{PropagationPolicy: &policy, Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete %s %s/%s: %w", ref.GVR.Resource, ref.Namespace, ref.Name, err)
	}
	slog.Debug("garbage collected", "resource", ref.GVR.Resource, "namespace", ref.Namespace, "name", ref.Name, "propagation", policy)
	return nil
}

// dependentsOf returns the cached dependents of uid.
func (c *Controller) dependentsOf(uid types.UID) []objRef {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []objRef
	for d := range c.dependents[uid] {
		if n, ok := c.byUID[d]; ok {
			out = append(out, n.ref)
		}
	}
	return out
}

// removeOwnerRefs patches the object's ownerReferences without uids, with
// its resourceVersion as a precondition.
func (c *Controller) removeOwnerRefs(ctx context.Context, ref objRef, uid types.UID, uids []types.UID) error {
	drop := map[types.UID]bool{}
	for _, u := range uids {
		drop[u] = true
	}
	fresh, err := c.resource(ref).Get(ctx, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if fresh.UID != uid {
		return nil
	}
	keep := []metav1.OwnerReference{}
	for _, o := range fresh.OwnerReferences {
		if !drop[o.UID] {
			keep = append(keep, o)
		}
	}
	if len(keep) == len(fresh.OwnerReferences) {
		return nil
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"ownerReferences": keep, "resourceVersion": fresh.ResourceVersion}})
	_, err = c.resource(ref).Patch(ctx, ref.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove owner references of %s %s/%s: %w", ref.GVR.Resource, ref.Namespace, ref.Name, err)
	}
	return nil
}

// removeFinalizer patches f out of the object's finalizers.
func (c *Controller) removeFinalizer(ctx context.Context, ref objRef, uid types.UID, f string) error {
	fresh, err := c.resource(ref).Get(ctx, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if fresh.UID != uid || !hasFinalizer(fresh.Finalizers, f) {
		return nil
	}
	keep := []string{}
	for _, x := range fresh.Finalizers {
		if x != f {
			keep = append(keep, x)
		}
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"finalizers": keep, "resourceVersion": fresh.ResourceVersion}})
	_, err = c.resource(ref).Patch(ctx, ref.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove finalizer %s from %s %s/%s: %w", f, ref.GVR.Resource, ref.Namespace, ref.Name, err)
	}
	return nil
}

// orphanDependents removes obj from its dependents' ownerReferences, then
// its orphan finalizer.
func (c *Controller) orphanDependents(ctx context.Context, ref objRef, obj *metav1.PartialObjectMetadata) error {
	for _, d := range c.dependentsOf(obj.UID) {
		m, ok := c.cached(d)
		if !ok {
			continue
		}
		if err := c.removeOwnerRefs(ctx, d, m.UID, []types.UID{obj.UID}); err != nil {
			return err
		}
	}
	return c.removeFinalizer(ctx, ref, obj.UID, OrphanFinalizer)
}

// deleteDependents deletes obj's dependents in the foreground and removes
// its foregroundDeletion finalizer once none that blocks remains.
func (c *Controller) deleteDependents(ctx context.Context, ref objRef, obj *metav1.PartialObjectMetadata) error {
	blocking := 0
	for _, d := range c.dependentsOf(obj.UID) {
		m, ok := c.cached(d)
		if !ok {
			continue
		}
		for _, o := range m.OwnerReferences {
			if o.UID == obj.UID && o.BlockOwnerDeletion != nil && *o.BlockOwnerDeletion {
				blocking++
			}
		}
		if m.DeletionTimestamp == nil {
			// A dependent with other live owners stays (upstream): it only
			// loses this owner.
			if err := c.checkOwnersForeground(ctx, d, m, obj.UID); err != nil {
				return err
			}
		}
	}
	if blocking > 0 {
		return nil // their deletion events bring the owner back here
	}
	return c.removeFinalizer(ctx, ref, obj.UID, ForegroundFinalizer)
}

// checkOwnersForeground deletes dependent m of the foreground-deleting
// owner unless another owner keeps it, in which case the reference to the
// deleting owner is removed.
func (c *Controller) checkOwnersForeground(ctx context.Context, ref objRef, m *metav1.PartialObjectMetadata, owner types.UID) error {
	for _, o := range m.OwnerReferences {
		if o.UID == owner {
			continue
		}
		st, err := c.owner(ctx, m.Namespace, o)
		if err != nil {
			return err
		}
		if st == ownerPresent {
			return c.removeOwnerRefs(ctx, ref, m.UID, []types.UID{owner})
		}
	}
	return c.delete(ctx, ref, m, metav1.DeletePropagationForeground)
}
