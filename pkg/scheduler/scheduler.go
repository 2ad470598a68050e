// Package scheduler places pending pods on nodes: informers feed a node
// cache and a scheduling queue; one loop pops a pod, filters and scores
// the nodes of a cache snapshot with the pod's profile's plugins, assumes
// the pod on the best node and binds it asynchronously through
// pods/binding. A pod that fits nowhere may preempt lower-priority pods;
// failures are explained by a PodScheduled=False condition and a
// FailedScheduling event.
//
//	informers ─ assigned pods, nodes ─▶ cache ─ UpdateSnapshot ─▶ snapshot
//	          ─ pending pods ─────────▶ queue ─ Pop ─▶ scheduleOne ─▶ assume ─▶ go bind
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	corelisters "k8s.io/client-go/listers/core/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"

	"github.com/kstack/kstack/pkg/daemon"
	"github.com/kstack/kstack/pkg/scheduler/cache"
	"github.com/kstack/kstack/pkg/scheduler/framework"
	"github.com/kstack/kstack/pkg/scheduler/plugins"
	"github.com/kstack/kstack/pkg/scheduler/queue"
)

// Scheduler is one running scheduler (all its profiles).
type Scheduler struct {
	client      kubernetes.Interface
	informers   informers.SharedInformerFactory
	podLister   corelisters.PodLister
	cache       *cache.Cache
	queue       *queue.PriorityQueue
	snapshot    *cache.Snapshot
	nominator   *nominator
	profiles    map[string]*profile
	parallelism int
	percentage  int32
	metrics     *Metrics
	clock       clock.Clock
	broadcaster events.EventBroadcaster
	// bindSlots bounds the pods/binding calls in flight.
	bindSlots chan struct{}

	nextStartNodeIndex int
	synced             []toolscache.InformerSynced
}

type profile struct {
	fwk        *framework.Framework
	recorder   events.EventRecorder
	percentage *int32
}

// Option adjusts New.
type Option func(*Scheduler)

// WithClock sets the clock of the queue and cache (tests).
func WithClock(c clock.Clock) Option { return func(s *Scheduler) { s.clock = c } }

// New builds a scheduler on client for cfg's profiles; it registers its
// informers in a new factory and its metrics in m (NewMetrics(nil) when
// nil). Start the informers with Run.
func New(client kubernetes.Interface, cfg *Config, m *Metrics, opts ...Option) (*Scheduler, error) {
	if m == nil {
		m = NewMetrics(nil)
	}
	s := &Scheduler{client: client, snapshot: cache.NewSnapshot(), nominator: newNominator(), profiles: map[string]*profile{}, parallelism: 16, metrics: m, clock: clock.RealClock{}}
	for _, o := range opts {
		o(s)
	}
	cc := cfg.Component
	if cc.Parallelism != nil {
		s.parallelism = int(*cc.Parallelism)
	}
	if cc.PercentageOfNodesToScore != nil {
		s.percentage = *cc.PercentageOfNodesToScore
	}
	initial, maxB := queue.DefaultInitialBackoff, queue.DefaultMaxBackoff
	if cc.PodInitialBackoffSeconds != nil {
		initial = time.Duration(*cc.PodInitialBackoffSeconds) * time.Second
	}
	if cc.PodMaxBackoffSeconds != nil {
		maxB = time.Duration(*cc.PodMaxBackoffSeconds) * time.Second
	}
	s.queue = queue.New(queue.WithClock(s.clock), queue.WithBackoff(initial, maxB), queue.WithMetrics(m))
	s.cache = cache.New(s.clock, cfg.AssumedPodTTL)
	s.informers = informers.NewSharedInformerFactory(client, 0)
	s.broadcaster = events.NewBroadcaster(newLimitedEventSink(&events.EventSinkImpl{Interface: client.EventsV1()}, maxInFlightEvents))
	s.bindSlots = make(chan struct{}, maxInFlightBindings)

	reg := plugins.NewRegistry()
	for i := range cc.Profiles {
		p := &cc.Profiles[i]
		specs, err := ResolvePlugins(p)
		if err != nil {
			return nil, fmt.Errorf("profile %s: %w", p.SchedulerName, err)
		}
		recorder := s.broadcaster.NewRecorder(scheme.Scheme, p.SchedulerName)
		fwk, err := framework.New(reg, specs, framework.Options{ProfileName: p.SchedulerName, Client: client,
			Informers: s.informers, Snapshot: s.snapshot, Parallelism: s.parallelism, Nominator: s.nominator, Recorder: recorder})
		if err != nil {
			return nil, err
		}
		s.profiles[p.SchedulerName] = &profile{fwk: fwk, recorder: recorder, percentage: p.PercentageOfNodesToScore}
	}
	s.addEventHandlers()
	return s, nil
}

// Run starts the informers, waits for them to sync, and schedules until
// ctx ends. lead, when not nil, gates the scheduling loop (leader
// election): informers run from the start so a standby is warm.
func (s *Scheduler) Run(ctx context.Context) {
	s.Start(ctx)
	if !s.WaitForCacheSync(ctx) {
		return
	}
	s.ScheduleLoop(ctx)
}

// Start starts the informers and the event broadcaster.
func (s *Scheduler) Start(ctx context.Context) {
	_ = s.broadcaster.StartRecordingToSinkWithContext(ctx)
	s.informers.Start(ctx.Done())
	go func() {
		<-ctx.Done()
		s.broadcaster.Shutdown()
	}()
}

// WaitForCacheSync waits until every informer has listed.
func (s *Scheduler) WaitForCacheSync(ctx context.Context) bool {
	for typ, ok := range s.informers.WaitForCacheSync(ctx.Done()) {
		if !ok {
			slog.Error("informer did not sync", "type", typ.String())
			return false
		}
	}
	return toolscache.WaitForCacheSync(ctx.Done(), s.synced...)
}

// HasSynced reports whether the informers have synced (readiness).
func (s *Scheduler) HasSynced() bool {
	for _, f := range s.synced {
		if !f() {
			return false
		}
	}
	return true
}

// ScheduleLoop runs the queue's flushers and schedules pods one at a time
// until ctx ends.
func (s *Scheduler) ScheduleLoop(ctx context.Context) {
	go s.queue.Run(ctx)
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.cache.CleanupExpired()
			}
		}
	}()
	for ctx.Err() == nil {
		s.scheduleOne(ctx)
	}
}

// Queue is the scheduling queue (tests and debugging).
func (s *Scheduler) Queue() *queue.PriorityQueue { return s.queue }

// responsible reports whether one of our profiles owns pod.
func (s *Scheduler) responsible(pod *corev1.Pod) bool {
	_, ok := s.profiles[pod.Spec.SchedulerName]
	return ok
}

// Plugins whose rejections each kind of event may cure.
var (
	assignedPodAddPlugins    = set(plugins.InterPodAffinityName, plugins.PodTopologySpreadName)
	assignedPodDeletePlugins = set(plugins.NodeResourcesFitName, plugins.NodePortsName, plugins.InterPodAffinityName, plugins.PodTopologySpreadName)
)

func set(names ...string) map[string]struct{} {
	m := map[string]struct{}{}
	for _, n := range names {
		m[n] = struct{}{}
	}
	return m
}

func (s *Scheduler) addEventHandlers() {
	podInformer := s.informers.InformerFor(&corev1.Pod{}, func(c kubernetes.Interface, resync time.Duration) toolscache.SharedIndexInformer {
		return coreinformers.NewFilteredPodInformer(c, metav1.NamespaceAll, resync, toolscache.Indexers{toolscache.NamespaceIndex: toolscache.MetaNamespaceIndexFunc},
			func(o *metav1.ListOptions) {
				o.FieldSelector = fields.AndSelectors(
					fields.OneTermNotEqualSelector("status.phase", string(corev1.PodSucceeded)),
					fields.OneTermNotEqualSelector("status.phase", string(corev1.PodFailed))).String()
			})
	})
	s.podLister = corelisters.NewPodLister(podInformer.GetIndexer())
	asPod := func(obj any) *corev1.Pod {
		switch t := obj.(type) {
		case *corev1.Pod:
			return t
		case toolscache.DeletedFinalStateUnknown:
			p, _ := t.Obj.(*corev1.Pod)
			return p
		}
		return nil
	}
	assigned := func(obj any) bool {
		p := asPod(obj)
		return p != nil && p.Spec.NodeName != ""
	}
	r1, _ := podInformer.AddEventHandler(toolscache.FilteringResourceEventHandler{
		FilterFunc: assigned,
		Handler: toolscache.ResourceEventHandlerFuncs{
			AddFunc: func(obj any) {
				p := asPod(obj)
				s.cache.AddPod(p)
				s.queue.MoveAllToActiveOrBackoffQueue(queue.Event{Label: "AssignedPodAdd", Plugins: assignedPodAddPlugins, Pod: p})
			},
			UpdateFunc: func(oldObj, obj any) {
				old, p := asPod(oldObj), asPod(obj)
				s.cache.UpdatePod(p)
				if ev, ok := assignedPodUpdateEvent(old, p); ok {
					s.queue.MoveAllToActiveOrBackoffQueue(ev)
				}
			},
			DeleteFunc: func(obj any) {
				p := asPod(obj)
				if p == nil {
					return
				}
				s.cache.RemovePod(p)
				s.queue.MoveAllToActiveOrBackoffQueue(queue.Event{Label: "AssignedPodDelete", Plugins: assignedPodDeletePlugins, Pod: p})
			},
		},
	})
	r2, _ := podInformer.AddEventHandler(toolscache.FilteringResourceEventHandler{
		FilterFunc: func(obj any) bool {
			p := asPod(obj)
			return p != nil && p.Spec.NodeName == "" && s.responsible(p)
		},
		Handler: toolscache.ResourceEventHandlerFuncs{
			AddFunc: func(obj any) {
				if p := asPod(obj); !s.cache.IsAssumed(p) {
					s.nominator.update(nil, p)
					s.queue.Add(p)
				}
			},
			UpdateFunc: func(oldObj, obj any) {
				if p := asPod(obj); !s.cache.IsAssumed(p) {
					s.nominator.update(asPod(oldObj), p)
					s.queue.Update(p)
				}
			},
			DeleteFunc: func(obj any) {
				if p := asPod(obj); p != nil {
					s.nominator.forget(p.UID)
					s.queue.Delete(p)
					if p.Status.NominatedNodeName != "" {
						// The room it held on its nominated node is free.
						s.queue.MoveAllToActiveOrBackoffQueue(queue.Event{Label: "UnscheduledPodDelete", Plugins: assignedPodDeletePlugins, Pod: p})
					}
				}
			},
		},
	})
	nodeInformer := s.informers.Core().V1().Nodes().Informer()
	r3, _ := nodeInformer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			n := obj.(*corev1.Node)
			s.cache.AddNode(n)
			s.queue.MoveAllToActiveOrBackoffQueue(queue.Event{Label: "NodeAdd"})
		},
		UpdateFunc: func(oldObj, obj any) {
			old, n := oldObj.(*corev1.Node), obj.(*corev1.Node)
			s.cache.UpdateNode(n)
			if nodeSchedulingChanged(old, n) {
				s.queue.MoveAllToActiveOrBackoffQueue(queue.Event{Label: "NodeUpdate"})
			}
		},
		DeleteFunc: func(obj any) {
			var n *corev1.Node
			switch t := obj.(type) {
			case *corev1.Node:
				n = t
			case toolscache.DeletedFinalStateUnknown:
				n, _ = t.Obj.(*corev1.Node)
			}
			if n != nil {
				s.cache.RemoveNode(n)
			}
		},
	})
	for _, r := range []toolscache.ResourceEventHandlerRegistration{r1, r2, r3} {
		if r != nil {
			s.synced = append(s.synced, r.HasSynced)
		}
	}
}

// assignedPodUpdateEvent is the event an update of a bound pod makes, if
// any may help parked pods, as upstream's AssignedPodUpdate hints: new
// labels (affinity and topology spread see other pods by label), smaller
// requests (resources freed). Status churn alone moves nothing.
func assignedPodUpdateEvent(old, p *corev1.Pod) (queue.Event, bool) {
	if old == nil || p == nil {
		return queue.Event{}, false
	}
	var names []string
	if !mapsEqual(old.Labels, p.Labels) {
		names = append(names, plugins.InterPodAffinityName, plugins.PodTopologySpreadName)
	}
	oldReq, newReq := framework.PodRequests(old), framework.PodRequests(p)
	if newReq.MilliCPU < oldReq.MilliCPU || newReq.Memory < oldReq.Memory || newReq.EphemeralStorage < oldReq.EphemeralStorage {
		names = append(names, plugins.NodeResourcesFitName)
	}
	if len(names) == 0 {
		return queue.Event{}, false
	}
	return queue.Event{Label: "AssignedPodUpdate", Plugins: set(names...), Pod: p}, true
}

// nodeSchedulingChanged reports changes that may let parked pods fit
// (heartbeats alone do not).
func nodeSchedulingChanged(old, n *corev1.Node) bool {
	if old.Spec.Unschedulable != n.Spec.Unschedulable || !mapsEqual(old.Labels, n.Labels) ||
		len(old.Spec.Taints) != len(n.Spec.Taints) || len(old.Status.Images) != len(n.Status.Images) {
		return true
	}
	for i := range old.Spec.Taints {
		if !old.Spec.Taints[i].MatchTaint(&n.Spec.Taints[i]) || old.Spec.Taints[i].Value != n.Spec.Taints[i].Value {
			return true
		}
	}
	if len(old.Status.Allocatable) != len(n.Status.Allocatable) {
		return true
	}
	for k, v := range old.Status.Allocatable {
		if nv, ok := n.Status.Allocatable[k]; !ok || nv.Cmp(v) != 0 {
			return true
		}
	}
	return false
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// RunDaemon is the scheduler daemon: client, health/metrics server,
// informers, then (with leader election, only while leading) the
// scheduling loop, until ctx ends.
func RunDaemon(ctx context.Context, cfg *Config) error {
	rc := cfg.REST
	if rc == nil {
		opts := cfg.Client
		cc := cfg.Component.ClientConnection
		if opts.Kubeconfig == "" {
			opts.Kubeconfig = cc.Kubeconfig
		}
		if opts.QPS == 0 {
			opts.QPS = cc.QPS
		}
		if opts.Burst == 0 {
			opts.Burst = int(cc.Burst)
		}
		if opts.ContentType == "" {
			opts.ContentType = cc.ContentType
		}
		if opts.UserAgent == "" {
			opts.UserAgent = "kstack-scheduler"
		}
		var err error
		if rc, err = daemon.RESTConfig(opts); err != nil {
			return err
		}
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("client for %s: %w", rc.Host, err)
	}
	srv := daemon.NewServer(cfg.Profiling)
	daemon.RegisterClientCertExpiry(srv.Registry, rc)
	sched, err := New(client, cfg, NewMetrics(srv.Registry))
	if err != nil {
		return err
	}
	serve := cfg.Serve
	if serve.Port != 0 {
		auth, err := daemon.NewDelegatedAuth(cfg.Auth, rc)
		if err != nil {
			return err
		}
		auth.Guard(srv)
		serve.RequestClientCert = auth.RequestsClientCerts()
	}
	srv.AddCheck(daemon.Check{Name: "sched-handler-sync", ReadyOnly: true, Run: func(context.Context) error {
		if !sched.HasSynced() {
			return errors.New("waiting for the informers to sync")
		}
		return nil
	}})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.ListenAndServe(ctx, serve) }()

	sched.Start(ctx)
	if !sched.WaitForCacheSync(ctx) {
		return ctx.Err()
	}
	slog.Info("scheduler caches synced", "profiles", len(sched.profiles))
	err = daemon.RunOrLeadAs(ctx, client, cfg.LeaderElection, cfg.LeaderIdentity, sched.ScheduleLoop)
	cancel()
	if serr := <-serveErr; err == nil && serr != nil {
		err = fmt.Errorf("health server: %w", serr)
	}
	return err
}
