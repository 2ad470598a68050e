package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kstack/kstack/pkg/daemon"
	"github.com/kstack/kstack/pkg/proxy"
	"github.com/kstack/kstack/pkg/proxy/iptables"
	"github.com/kstack/kstack/pkg/proxy/routes"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// Run starts kube-proxy and blocks until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	restCfg, err := daemon.RESTConfig(cfg.Client)
	if err != nil {
		return err
	}
	if restCfg.UserAgent == "" {
		restCfg.UserAgent = "kube-proxy"
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	nodeName := cfg.HostnameOverride
	if nodeName == "" {
		if nodeName, err = os.Hostname(); err != nil {
			return fmt.Errorf("hostname: %w", err)
		}
	}
	nodeName = strings.ToLower(strings.TrimSpace(nodeName))

	srv := daemon.NewServer(false)
	daemon.RegisterClientCertExpiry(srv.Registry, restCfg)
	metrics := proxy.NewMetrics(srv.Registry)
	health := proxy.NewHealth(clock.RealClock{}, 2*cfg.SyncPeriod)
	srv.AddCheck(daemon.Check{Name: "proxy-rules", Run: func(context.Context) error { return health.Check() }})

	proxier, err := iptables.New(iptables.Config{
		ClusterCIDR:         cfg.ClusterCIDR,
		MasqueradeAll:       cfg.MasqueradeAll,
		MasqueradeBit:       cfg.MasqueradeBit,
		NodePortAddresses:   cfg.NodePortAddresses,
		MasqueradePodEgress: cfg.PodRoutes,
		SyncPeriod:          cfg.SyncPeriod,
	}, iptables.Exec{}, iptables.Exec{}, iptables.WithMetrics(metrics))
	if err != nil {
		return err
	}
	var podRoutes *routes.Manager
	if cfg.PodRoutes {
		podRoutes = routes.New(nodeName, routes.Exec{})
		if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644); err != nil {
			return fmt.Errorf("enable IP forwarding: %w", err)
		}
	}

	// As upstream: Services and slices of Services another proxy owns,
	// and headless Services, are not ours.
	notOurs := func(o *metav1.ListOptions) {
		o.LabelSelector = "!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless"
	}
	svcFactory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTweakListOptions(notOurs))
	nodeFactory := informers.NewSharedInformerFactory(client, 0)
	svcInformer := svcFactory.Core().V1().Services().Informer()
	sliceInformer := svcFactory.Discovery().V1().EndpointSlices().Informer()
	nodeLister := nodeFactory.Core().V1().Nodes().Lister()
	nodeInformer := nodeFactory.Core().V1().Nodes().Informer()

	serviceHealth := proxy.NewServiceHealth(nil)
	defer serviceHealth.Close()
	var tracker *proxy.Tracker
	var nodesChanged atomic.Bool
	nodesChanged.Store(true)
	// lastRoutes: when the pod routes were last synced; every sync period
	// they are synced whether Nodes changed or not, which repairs drift
	// (a route someone deleted) as the periodic full iptables sync does.
	var lastRoutes time.Time
	// sync is the one function with side effects on the node.
	sync := func() error {
		snap := tracker.Snapshot()
		if err := proxier.Sync(snap); err != nil {
			return err
		}
		if err := serviceHealth.Sync(proxy.HealthChecks(snap)); err != nil {
			// Not a rules failure: logged, retried on the next sync.
			slog.Error("health check node ports", "err", err)
		}
		if podRoutes != nil && (nodesChanged.Swap(false) || time.Since(lastRoutes) >= cfg.SyncPeriod) {
			nodes, err := nodeLister.List(labels.Everything())
			if err == nil {
				err = podRoutes.Sync(nodes)
			}
			if err != nil {
				nodesChanged.Store(true)
				return fmt.Errorf("pod routes: %w", err)
			}
			lastRoutes = time.Now()
		}
		health.Synced()
		return nil
	}
	runner := proxy.NewRunner(sync, cfg.MinSyncPeriod, cfg.SyncPeriod)
	tracker = proxy.NewTracker(nodeName, runner.Request)
	trackerSynced, err := tracker.Register(svcInformer, sliceInformer)
	if err != nil {
		return err
	}
	if podRoutes != nil {
		if _, err := nodeInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { nodesChanged.Store(true); runner.Request() },
			UpdateFunc: func(any, any) { nodesChanged.Store(true); runner.Request() },
			DeleteFunc: func(any) { nodesChanged.Store(true); runner.Request() },
		}); err != nil {
			return err
		}
	}

	errc := make(chan error, 2)
	healthMux := http.NewServeMux()
	healthMux.Handle("/healthz", health)
	healthMux.Handle("/livez", health)
	go func() { errc <- daemon.ServePlain(ctx, cfg.HealthzBindAddress, healthMux) }()
	go func() { errc <- daemon.ServePlain(ctx, cfg.MetricsBindAddress, srv.Mux) }()

	svcFactory.Start(ctx.Done())
	nodeFactory.Start(ctx.Done())
	defer svcFactory.Shutdown()
	defer nodeFactory.Shutdown()
	synced := []cache.InformerSynced{svcInformer.HasSynced, sliceInformer.HasSynced, trackerSynced}
	if podRoutes != nil {
		synced = append(synced, nodeInformer.HasSynced)
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return ctx.Err()
	}
	slog.Info("kube-proxy running", "node", nodeName, "mode", "iptables", "clusterCIDR", cfg.ClusterCIDR)
	done := make(chan struct{})
	go func() { runner.Loop(ctx); close(done) }()
	select {
	case <-done:
		return nil
	case err := <-errc:
		if err != nil {
			return err
		}
		<-done
		return nil
	}
}

// Cleanup removes every iptables rule and chain and every pod route
// kube-proxy made (kube-proxy --cleanup).
func Cleanup() error {
	if err := iptables.Cleanup(iptables.Exec{}); err != nil {
		return err
	}
	return routes.New("", routes.Exec{}).Cleanup()
}
