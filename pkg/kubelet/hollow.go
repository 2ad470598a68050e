package kubelet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/kstack/kstack/pkg/daemon"
	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// Hollow mode: --hollow-nodes=N runs N kubelets in one process for scale
// tests. Each is a real kubelet (its own Node, Lease, status loop, pod
// workers and probes) on the fake runtime and network of runtime/fake.
// They share what can be shared: one client (one HTTP/2 connection and
// rate limiter), one pod informer, whose events are dispatched to the
// kubelet of the pod's spec.nodeName, and one Event broadcaster. Per node
// that leaves a few goroutines (lease, status, housekeeping) and the
// fake's maps.

// nodeNameIndex indexes the shared pod informer by spec.nodeName.
const nodeNameIndex = "spec.nodeName"

// runHollow runs cfg.HollowNodes hollow kubelets until ctx ends.
func runHollow(ctx context.Context, cfg Config) error {
	restCfg := cfg.RESTConfig
	if restCfg == nil {
		var err error
		// The nodes' heartbeats and status writes share one rate limiter.
		qps := max(50, 5*cfg.HollowNodes)
		restCfg, err = daemon.RESTConfig(daemon.ClientOptions{Kubeconfig: cfg.Kubeconfig, QPS: float32(qps), Burst: 2 * qps, UserAgent: "kubelet/kstack (hollow)"})
		if err != nil {
			return err
		}
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return fmt.Errorf("clientset: %w", err)
	}
	shared, factory, err := newSharedPods(client)
	if err != nil {
		return err
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()

	// One event broadcaster (one client, one rate limit) for all nodes;
	// each records as its own host.
	events, err := startEventBroadcaster(ctx, restCfg, cfg.eventQPS(), cfg.EventBurst)
	if err != nil {
		return err
	}
	defer events.Shutdown()

	kubelets := make([]*Kubelet, cfg.HollowNodes)
	for i := range kubelets {
		kubelets[i] = newHollow(hollowConfig(cfg, i), client, restCfg)
		kubelets[i].shared = shared
		kubelets[i].recorder = newEventRecorder(events, kubelets[i].cfg.NodeName)
	}
	slog.Info("hollow kubelets starting", "nodes", cfg.HollowNodes, "prefix", cfg.HollowNodePrefix)
	var wg sync.WaitGroup
	errs := make([]error, len(kubelets))
	for i, k := range kubelets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := k.Run(ctx); err != nil && ctx.Err() == nil {
				errs[i] = fmt.Errorf("hollow node %s: %w", k.cfg.NodeName, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// hollowConfig is the configuration of hollow node i: its own name, root
// and log directories; no HTTPS server (N kubelets cannot share a port)
// and no --pod-cidr (node IPAM assigns each its own).
func hollowConfig(cfg Config, i int) Config {
	c := cfg
	c.HollowNodes = 0
	c.Runtime = RuntimeFake
	c.NodeName = cfg.HollowNodePrefix + strconv.Itoa(i)
	c.RootDir = filepath.Join(cfg.RootDir, "hollow", c.NodeName)
	c.PodLogsDir = filepath.Join(cfg.PodLogsDir, "hollow", c.NodeName)
	c.Port = 0
	c.PodCIDR = ""
	return c
}

// sharedPods is one pod informer for all hollow kubelets of a process.
type sharedPods struct {
	informer cache.SharedIndexInformer
	lister   corelisters.PodLister

	mu       sync.RWMutex
	handlers map[string]cache.ResourceEventHandler // by node name
}

func newSharedPods(client kubernetes.Interface) (*sharedPods, informers.SharedInformerFactory, error) {
	factory := informers.NewSharedInformerFactory(client, 0)
	pods := factory.Core().V1().Pods()
	s := &sharedPods{informer: pods.Informer(), lister: pods.Lister(), handlers: map[string]cache.ResourceEventHandler{}}
	err := s.informer.AddIndexers(cache.Indexers{nodeNameIndex: func(obj any) ([]string, error) {
		if p, ok := obj.(*v1.Pod); ok && p.Spec.NodeName != "" {
			return []string{p.Spec.NodeName}, nil
		}
		return nil, nil
	}})
	if err != nil {
		return nil, nil, fmt.Errorf("pod informer index: %w", err)
	}
	_, err = s.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if h := s.handler(obj); h != nil {
				h.OnAdd(obj, false)
			}
		},
		UpdateFunc: func(oldObj, obj any) {
			if h := s.handler(obj); h != nil {
				h.OnUpdate(oldObj, obj)
			}
		},
		DeleteFunc: func(obj any) {
			if h := s.handler(obj); h != nil {
				h.OnDelete(obj)
			}
		},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("pod informer: %w", err)
	}
	return s, factory, nil
}

// handler is the handler of the node obj (a pod) is bound to, or nil.
func (s *sharedPods) handler(obj any) cache.ResourceEventHandler {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	p, ok := obj.(*v1.Pod)
	if !ok || p.Spec.NodeName == "" {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.handlers[p.Spec.NodeName]
}

// add routes the events of node's pods to h from now on, waits for the
// informer's cache and hands h the pods already bound to node (an event
// that races with this is delivered twice, which a level-triggered
// handler does not mind).
func (s *sharedPods) add(ctx context.Context, node string, h cache.ResourceEventHandler) error {
	s.mu.Lock()
	s.handlers[node] = h
	s.mu.Unlock()
	if !cache.WaitForCacheSync(ctx.Done(), s.informer.HasSynced) {
		return ctx.Err()
	}
	objs, err := s.informer.GetIndexer().ByIndex(nodeNameIndex, node)
	if err != nil {
		return fmt.Errorf("pods of %s: %w", node, err)
	}
	for _, obj := range objs {
		h.OnAdd(obj, true)
	}
	return nil
}
