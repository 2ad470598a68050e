// Package kubelet is the node agent: it registers the Node, keeps its
// Lease and status fresh, and runs the pods bound to the node on containerd
// (package runtime) with CNI networking (package network).
//
// Data flow: a pod informer (fieldSelector spec.nodeName=<node>) and
// containerd's task-exit events wake one worker goroutine per pod UID;
// the worker's syncPod reads the pod from the informer's cache and the
// pod's containers from containerd (found by their labels), converges
// them (sandbox, init containers in order, app containers with restart
// policy and CrashLoopBackOff, graceful kill on deletion) and writes
// pods/status only when it changed. Everything is level-triggered: a
// restarted kubelet re-lists, re-adopts running containers and carries on.
package kubelet

import (
	"context"
	"fmt"
	"k8s.io/client-go/rest"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/kstack/kstack/pkg/daemon"
	"github.com/kstack/kstack/pkg/kubelet/network"
	"github.com/kstack/kstack/pkg/kubelet/runtime"
	"github.com/kstack/kstack/pkg/kubelet/runtime/fake"
	"github.com/kstack/kstack/pkg/kubelet/volume"
	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/clock"
)

// Backoff of crashing containers and failing image pulls, as upstream.
const (
	backoffInitial = 10 * time.Second
	backoffMax     = 300 * time.Second
)

// containerRuntime runs sandboxes and containers (package runtime).
type containerRuntime interface {
	List(ctx context.Context, podUID string) ([]runtime.Container, error)
	RunSandbox(ctx context.Context, cfg runtime.SandboxConfig) (runtime.Container, error)
	StartContainer(ctx context.Context, cfg runtime.ContainerConfig) (runtime.Container, error)
	Stop(ctx context.Context, id string, grace time.Duration) error
	Remove(ctx context.Context, id string) error
}

// imageService makes images present (package runtime).
type imageService interface {
	EnsureImage(ctx context.Context, image string, always, never bool) (runtime.Image, error)
}

// nodeRuntime is what the node loops need of the runtime besides the pod
// workers' calls: its health and version, the images for the node status,
// exit events, and re-attaching logs after a restart.
type nodeRuntime interface {
	Version(ctx context.Context) (string, error)
	ListImages(ctx context.Context) ([]runtime.ImageInfo, error)
	WatchExits(ctx context.Context, fn func(containerID string))
	Reattach(ctx context.Context, c runtime.Container) error
	Close() error
}

// podNetwork wires sandboxes into the node's pod network (package network;
// runtime/fake in hollow mode). SetPodCIDR configures it from the node's
// podCIDR; Status is nil once it can set up pods.
type podNetwork interface {
	Status() error
	SetPodCIDR(podCIDR string) error
	SetUp(ctx context.Context, sandboxID, netnsPath string, pod network.PodRef) (net.IP, error)
	TearDown(ctx context.Context, sandboxID, netnsPath string, pod network.PodRef) error
	NetNSPath(id string) string
	CreateNetNS(path string) error
	RemoveNetNS(path string) error
}

// cniNetwork is the real pod network: CNI plus network namespaces
// bind-mounted under the netns dir.
type cniNetwork struct{ *network.Network }

func (cniNetwork) CreateNetNS(path string) error { return network.CreateNetNS(path) }
func (cniNetwork) RemoveNetNS(path string) error { return network.RemoveNetNS(path) }

var (
	_ containerRuntime = (*runtime.Runtime)(nil)
	_ imageService     = (*runtime.Runtime)(nil)
	_ nodeRuntime      = (*runtime.Runtime)(nil)
	_ prober           = (*runtime.Runtime)(nil)
	_ podNetwork       = cniNetwork{}
	_ containerRuntime = (*fake.Runtime)(nil)
	_ imageService     = (*fake.Runtime)(nil)
	_ nodeRuntime      = (*fake.Runtime)(nil)
	_ prober           = (*fake.Runtime)(nil)
	_ podNetwork       = (*fake.Network)(nil)
)

// Kubelet is a running node agent.
type Kubelet struct {
	cfg     Config
	client  kubernetes.Interface
	restCfg *rest.Config // for the client certificate's expiry metric
	// rt is the containerd runtime, nil in hollow mode (--runtime=fake);
	// the pod workers and node loops use it through the interfaces below.
	rt      *runtime.Runtime
	runtime containerRuntime
	images  imageService
	prober  prober
	node    nodeRuntime
	network podNetwork
	// hollow says containers are fake: network probes and hooks pass
	// without being run.
	hollow bool
	pods   corelisters.PodLister
	// podsSynced says the pod cache has synced; mirror pods wait for it.
	podsSynced func() bool
	// shared, when set, is the pod informer this kubelet shares with the
	// other hollow kubelets of the process.
	shared *sharedPods
	clock  clock.Clock
	hostIP string

	// static holds the pods of --pod-manifest-path (static.go).
	static *staticPods

	backoff *flowcontrol.Backoff
	// starting are the sandboxes being created, under mu (gc.go).
	starting map[string]bool

	mu      sync.Mutex
	workers map[types.UID]*podWorker
	owners  map[string]types.UID // container ID -> pod UID, for exit events
	waiting map[types.UID]map[string]waitingReason
	// probes are the probe states of each pod's containers.
	probes map[types.UID]map[string]*probeState
	// pullErrors is the last pull error per image backoff key.
	pullErrors map[string]string
	ready      chan struct{}
	// memoryPressure and diskPressure are the eviction manager's last
	// verdict; evictions are the pods it chose, with their messages
	// (evict.go).
	memoryPressure, diskPressure bool
	evictions                    map[types.UID]string
	nodeAlloc                    v1.ResourceList
	// volumes sets up pods' volumes (volumeManager makes it).
	volumes *volume.Manager
	// cgroupMu serializes pod cgroup changes (cgroups.go).
	cgroupMu sync.Mutex
	// recorder records the kubelet's events (events.go); Run makes it
	// unless set (hollow nodes share a broadcaster, tests inject one).
	recorder record.EventRecorder
	// nodeUID is the registered Node's UID, under mu (events.go).
	nodeUID types.UID
}

// Run starts the kubelet (or, with HollowNodes set, that many hollow
// kubelets) and blocks until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	cfg.Default()
	if cfg.HollowNodes > 0 {
		if err := cfg.Validate(); err != nil {
			return err
		}
		return runHollow(ctx, cfg)
	}
	k, err := New(ctx, cfg)
	if err != nil {
		return err
	}
	return k.Run(ctx)
}

// New connects to the apiserver and to containerd (or, with
// --runtime=fake, makes a hollow kubelet).
func New(ctx context.Context, cfg Config) (*Kubelet, error) {
	cfg.Default()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	restCfg := cfg.RESTConfig
	if restCfg == nil {
		var err error
		restCfg, err = daemon.RESTConfig(daemon.ClientOptions{Kubeconfig: cfg.Kubeconfig, QPS: 50, Burst: 100, UserAgent: "kubelet/kstack"})
		if err != nil {
			return nil, err
		}
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("clientset: %w", err)
	}
	if cfg.Runtime == RuntimeFake {
		return newHollow(cfg, client, restCfg), nil
	}
	rt, err := runtime.New(ctx, cfg.ContainerRuntimeEndpoint, cfg.ContainerdNamespace, cfg.StateDir)
	if err != nil {
		return nil, err
	}
	netw, err := network.New(network.Config{
		PluginDirs: cfg.CNIBinDirs,
		ConfDir:    cfg.CNIConfDir,
		CacheDir:   filepath.Join(cfg.RootDir, "cni-cache"),
		DataDir:    filepath.Join(cfg.RootDir, "cni-ipam"),
		Bridge:     cfg.CNIBridge,
		NetNSDir:   cfg.NetNSDir,
	})
	if err != nil {
		rt.Close()
		return nil, err
	}
	rt.SetLogRotation(cfg.ContainerLogMaxSize, cfg.ContainerLogMaxFiles)
	k := newKubelet(cfg, client, restCfg)
	k.rt, k.runtime, k.images, k.prober, k.node = rt, rt, rt, rt, rt
	k.network = cniNetwork{netw}
	return k, nil
}

// newHollow is a kubelet on the fake runtime and network.
func newHollow(cfg Config, client kubernetes.Interface, restCfg *rest.Config) *Kubelet {
	k := newKubelet(cfg, client, restCfg)
	rt := fake.NewRuntime()
	k.runtime, k.images, k.prober, k.node = rt, rt, rt, rt
	k.network = fake.NewNetwork()
	k.hollow = true
	return k
}

// newKubelet is a kubelet without runtime and network.
func newKubelet(cfg Config, client kubernetes.Interface, restCfg *rest.Config) *Kubelet {
	hostIP := cfg.NodeIP
	if hostIP == "" {
		hostIP = defaultHostIP()
	}
	return &Kubelet{
		cfg: cfg, client: client, restCfg: restCfg,
		clock:      clock.RealClock{},
		hostIP:     hostIP,
		backoff:    flowcontrol.NewBackOff(backoffInitial, backoffMax),
		workers:    map[types.UID]*podWorker{},
		owners:     map[string]types.UID{},
		waiting:    map[types.UID]map[string]waitingReason{},
		pullErrors: map[string]string{},
		probes:     map[types.UID]map[string]*probeState{},
		ready:      make(chan struct{}),
	}
}

// Ready is closed once the node is registered and the pod cache synced.
func (k *Kubelet) Ready() <-chan struct{} { return k.ready }

// Run registers the node and serves pods until ctx ends. Containers keep
// running after it returns: a restarted kubelet adopts them.
func (k *Kubelet) Run(ctx context.Context) error {
	defer k.node.Close()
	if k.recorder == nil {
		b, err := startEventBroadcaster(ctx, k.restCfg, k.cfg.eventQPS(), k.cfg.EventBurst)
		if err != nil {
			return err
		}
		defer b.Shutdown()
		k.recorder = newEventRecorder(b, k.cfg.NodeName)
	}
	k.static = newStaticPods(k.cfg.StaticPodPath, k.cfg.NodeName)
	var wg sync.WaitGroup
	run := func(f func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	// On return (ctx ended): the loops first, then the pod workers.
	defer k.waitWorkers()
	defer wg.Wait()
	handler := k.podHandler(ctx)
	var factory informers.SharedInformerFactory
	var podInformer cache.SharedIndexInformer
	if k.shared != nil {
		k.pods = k.shared.lister
	} else {
		factory = informers.NewSharedInformerFactoryWithOptions(k.client, 0,
			informers.WithTweakListOptions(func(o *metav1.ListOptions) {
				o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", k.cfg.NodeName).String()
			}))
		podInformer = factory.Core().V1().Pods().Informer()
		k.pods = factory.Core().V1().Pods().Lister()
		k.podsSynced = podInformer.HasSynced
		if _, err := podInformer.AddEventHandler(handler); err != nil {
			return fmt.Errorf("pod informer: %w", err)
		}
		defer factory.Shutdown()
	}
	run(func(ctx context.Context) { k.node.WatchExits(ctx, k.containerExited) })
	if k.cfg.StaticPodPath != "" {
		// Static pods run whether or not the apiserver answers, as
		// upstream's (a control plane's own pods come from these files):
		// they start before the Node registers, and their mirror pods
		// follow once the API is there (static.go). Before housekeeping,
		// which would take their containers for those of deleted pods.
		if factory != nil {
			factory.Start(ctx.Done())
		}
		if k.cfg.PodCIDR != "" {
			if err := k.network.SetPodCIDR(k.cfg.PodCIDR); err != nil {
				slog.Warn("configure pod network", "podCIDR", k.cfg.PodCIDR, "err", err)
			}
		}
		k.loadStaticPods(ctx)
		run(k.staticPodLoop)
	}
	if err := k.registerNode(ctx); err != nil {
		return err
	}
	k.nodeEvent(v1.EventTypeNormal, eventStarting, "Starting kubelet.")
	if k.shared != nil {
		if err := k.shared.add(ctx, k.cfg.NodeName, handler); err != nil {
			return err
		}
	} else {
		factory.Start(ctx.Done())
		if !cache.WaitForCacheSync(ctx.Done(), podInformer.HasSynced) {
			return ctx.Err()
		}
	}
	if k.static.kick != nil {
		select { // the mirror pods, now that the cache shows them
		case k.static.kick <- struct{}{}:
		default:
		}
	}

	if k.cfg.Port != 0 && k.rt != nil {
		// /debug/pprof/ as upstream's enableProfilingHandler (on by
		// default), behind the API's authentication and authorization
		// (nodes/proxy).
		srv := daemon.NewServer(true)
		daemon.RegisterClientCertExpiry(srv.Registry, k.restCfg)
		srv.AddCheck(daemon.Check{Name: "containerd", Run: func(ctx context.Context) error {
			_, err := k.node.Version(ctx)
			return err
		}})
		srv.AddCheck(daemon.Check{Name: "syncloop", ReadyOnly: true, Run: func(context.Context) error { return k.network.Status() }})
		api, err := k.newServer(srv)
		if err != nil {
			return err
		}
		run(func(ctx context.Context) {
			if err := api.ListenAndServe(ctx); err != nil {
				slog.Error("kubelet server", "err", err)
			}
		})
	}
	evictor, err := k.newEvictionManager()
	if err != nil {
		return err
	}
	if evictor != nil {
		run(func(ctx context.Context) { k.evictionLoop(ctx, evictor) })
	}
	run(k.heartbeatLoop)
	run(k.statusLoop)
	k.housekeeping(ctx)
	run(k.housekeepingLoop)
	run(k.orphanGCLoop)
	close(k.ready)
	slog.Info("kubelet running", "node", k.cfg.NodeName, "containerdNamespace", k.cfg.ContainerdNamespace)
	<-ctx.Done()
	return nil
}

// waitWorkers waits for the pod workers to finish (ctx ended).
func (k *Kubelet) waitWorkers() {
	k.mu.Lock()
	workers := make([]*podWorker, 0, len(k.workers))
	for _, w := range k.workers {
		workers = append(workers, w)
	}
	k.mu.Unlock()
	for _, w := range workers {
		<-w.done
	}
}

// podHandler wakes the pod's worker on every change the kubelet acts on.
func (k *Kubelet) podHandler(ctx context.Context) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { k.podChanged(ctx, obj) },
		UpdateFunc: func(oldObj, obj any) {
			// Our own status writes come back as updates: no need to sync.
			if o, ok := oldObj.(*v1.Pod); ok && statusOnlyChange(o, obj.(*v1.Pod)) {
				return
			}
			k.podChanged(ctx, obj)
		},
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			k.podChanged(ctx, obj)
		},
	}
}

func (k *Kubelet) podChanged(ctx context.Context, obj any) {
	pod, ok := obj.(*v1.Pod)
	if !ok || k.mirrorPodChanged(ctx, pod) {
		return
	}
	k.wake(ctx, pod.UID, pod.Namespace, pod.Name)
}

// statusOnlyChange says whether an update of a pod changed nothing the
// kubelet acts on.
func statusOnlyChange(o, p *v1.Pod) bool {
	return apiequality.Semantic.DeepEqual(o.Spec, p.Spec) &&
		apiequality.Semantic.DeepEqual(o.DeletionTimestamp, p.DeletionTimestamp) &&
		apiequality.Semantic.DeepEqual(o.DeletionGracePeriodSeconds, p.DeletionGracePeriodSeconds) &&
		apiequality.Semantic.DeepEqual(o.Labels, p.Labels) &&
		apiequality.Semantic.DeepEqual(o.Annotations, p.Annotations)
}

func (k *Kubelet) containerExited(id string) {
	k.mu.Lock()
	uid, ok := k.owners[id]
	w := k.workers[uid]
	k.mu.Unlock()
	if ok && w != nil {
		w.poke()
	}
}

// housekeepingLoop adopts what runs without a worker: containers of pods
// this kubelet does not know (deleted while it was down) get a worker,
// which cleans them up.
func (k *Kubelet) housekeepingLoop(ctx context.Context) {
	t := time.NewTicker(k.cfg.SyncFrequency)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			k.housekeeping(ctx)
		}
	}
}

func (k *Kubelet) housekeeping(ctx context.Context) {
	cs, err := k.runtime.List(ctx, "")
	if err != nil {
		slog.Warn("housekeeping: list containers", "err", err)
		return
	}
	for _, c := range cs {
		if err := k.node.Reattach(ctx, c); err != nil {
			slog.Warn("reattach container log", "container", c.ID, "err", err)
		}
		uid := types.UID(c.Labels[runtime.LabelPodUID])
		if uid == "" {
			continue
		}
		k.wake(ctx, uid, c.Labels[runtime.LabelPodNamespace], c.Labels[runtime.LabelPodName])
	}
}

// defaultHostIP is the source address of the default route.
func defaultHostIP() string {
	conn, err := net.Dial("udp", "192.0.2.1:9")
	if err != nil {
		return "127.0.0.1"
	}
	defer conn.Close()
	return conn.LocalAddr().(*net.UDPAddr).IP.String()
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}
