// Package controllermanager runs kstack's controllers in one process: it
// builds the shared informer factories, constructs the controllers chosen
// by --controllers from a name → constructor registry, starts the
// informers, and runs the controllers while this process holds the
// leader-election Lease. /healthz, /readyz and /metrics (with client-go's
// workqueue metrics per controller) are served on --secure-port.
package controllermanager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/kstack/kstack/pkg/controller"
	"github.com/kstack/kstack/pkg/daemon"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
)

// Context is what a controller constructor gets: the configuration, the
// shared informer factories (started after every constructor ran) and a
// way to get the controller's own client.
type Context struct {
	Config            *Config
	RootClient        kubernetes.Interface
	Informers         informers.SharedInformerFactory
	MetadataInformers metadatainformer.SharedInformerFactory
	// InformersStarted is closed once the factories have been started;
	// controllers that add informers later (garbagecollector) start them.
	InformersStarted chan struct{}

	builder *clientBuilder
}

// ClientConfig returns the REST config for the controller whose identity is
// the service account sa.
func (cc *Context) ClientConfig(ctx context.Context, sa string) (*rest.Config, error) {
	return cc.builder.config(ctx, sa)
}

// Client returns the typed clientset for the service account sa.
func (cc *Context) Client(sa string) (kubernetes.Interface, error) {
	cfg, err := cc.builder.config(context.Background(), sa)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// MetadataClient returns a metadata-only client for sa.
func (cc *Context) MetadataClient(sa string) (metadata.Interface, error) {
	cfg, err := cc.builder.config(context.Background(), sa)
	if err != nil {
		return nil, err
	}
	return metadata.NewForConfig(cfg)
}

// DynamicClient returns a dynamic client for sa.
func (cc *Context) DynamicClient(sa string) (dynamic.Interface, error) {
	cfg, err := cc.builder.config(context.Background(), sa)
	if err != nil {
		return nil, err
	}
	return dynamic.NewForConfig(cfg)
}

// Discovery returns a discovery client for sa.
func (cc *Context) Discovery(sa string) (discovery.DiscoveryInterface, error) {
	cfg, err := cc.builder.config(context.Background(), sa)
	if err != nil {
		return nil, err
	}
	return discovery.NewDiscoveryClientForConfig(cfg)
}

// Recorder returns an event recorder for component writing with client.
func (cc *Context) Recorder(ctx context.Context, client kubernetes.Interface, component string) record.EventRecorder {
	return controller.NewRecorder(ctx, client, component)
}

// Run runs the controller-manager until ctx ends or leadership is lost.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	restCfg := cfg.RESTConfig
	if restCfg == nil {
		var err error
		if cfg.Client.UserAgent == "" {
			cfg.Client.UserAgent = "kstack-controller-manager"
		}
		restCfg, err = daemon.RESTConfig(cfg.Client)
		if err != nil {
			return err
		}
	}
	root, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	srv := daemon.NewServer(cfg.Profiling)
	daemon.RegisterWorkqueueMetrics(srv.Registry)
	daemon.RegisterClientCertExpiry(srv.Registry, restCfg)

	var started sync.Map // controller name -> true once started
	var leading atomic.Bool
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	serve := daemon.ServeOptions{BindAddress: cfg.BindAddress, Port: cfg.SecurePort,
		CertFile: cfg.TLSCertFile, KeyFile: cfg.TLSPrivateKeyFile}
	if serve.Port != 0 {
		auth, err := daemon.NewDelegatedAuth(cfg.Auth, restCfg)
		if err != nil {
			return err
		}
		auth.Guard(srv)
		serve.RequestClientCert = auth.RequestsClientCerts()
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.ListenAndServe(ctx, serve) }()
	names, _ := EnabledControllers(cfg.Controllers)
	for _, n := range names {
		n := n
		// A standby is healthy; the leader is once each controller started.
		srv.AddCheck(daemon.Check{Name: n, ReadyOnly: true, Run: func(context.Context) error {
			if _, ok := started.Load(n); leading.Load() && !ok {
				return fmt.Errorf("controller %s has not started", n)
			}
			return nil
		}})
	}
	runErr := daemon.RunOrLead(ctx, root, cfg.LeaderElection, func(ctx context.Context) {
		leading.Store(true)
		if err := start(ctx, &cfg, restCfg, root, names, &started); err != nil {
			slog.Error("controllers failed to start", "err", err)
			cancel()
		}
		<-ctx.Done()
	})
	cancel()
	if err := <-serveErr; err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}

// start builds and runs the named controllers; it returns once they run.
func start(ctx context.Context, cfg *Config, restCfg *rest.Config, root kubernetes.Interface, names []string, started *sync.Map) error {
	mdClient, err := metadata.NewForConfig(restCfg)
	if err != nil {
		return err
	}
	cc := &Context{
		Config:            cfg,
		RootClient:        root,
		Informers:         informers.NewSharedInformerFactory(root, 0),
		MetadataInformers: metadatainformer.NewSharedInformerFactory(mdClient, 0),
		InformersStarted:  make(chan struct{}),
		builder:           &clientBuilder{root: restCfg, client: root, useSA: cfg.UseServiceAccountCredentials},
	}
	var runners []Runner
	var errs []error
	for _, n := range names {
		r, err := registry[n].New(ctx, cc)
		if err != nil {
			errs = append(errs, fmt.Errorf("start %s: %w", n, err))
			continue
		}
		if r == nil {
			slog.Info("controller disabled by its configuration", "controller", n)
			continue
		}
		runners = append(runners, r)
		started.Store(n, true)
		slog.Info("started controller", "controller", n)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	cc.Informers.Start(ctx.Done())
	cc.MetadataInformers.Start(ctx.Done())
	close(cc.InformersStarted)
	for _, r := range runners {
		go r(ctx)
	}
	return nil
}
