// Package apiserver serves the Kubernetes REST API from etcd: routing,
// content negotiation, the request pipeline (decode, default, validate,
// admit, store, encode), watch streaming, discovery, OpenAPI, health and
// metrics. Storage lives in pkg/storage; the types' rules in api/.
package apiserver

import (
	"context"
	"crypto"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kstack/kstack/api"
	"github.com/kstack/kstack/pkg/admission"
	"github.com/kstack/kstack/pkg/apiserver/audit"
	"github.com/kstack/kstack/pkg/apiserver/openapi"
	"github.com/kstack/kstack/pkg/auth"
	"github.com/kstack/kstack/pkg/auth/authn"
	"github.com/kstack/kstack/pkg/auth/authz"
	"github.com/kstack/kstack/pkg/auth/pki"
	"github.com/kstack/kstack/pkg/storage"
	"github.com/kstack/kstack/pkg/storage/embedded"
	"github.com/kstack/kstack/pkg/storage/encryption"
	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Config is the apiserver's configuration; the flags in cmd/apiserver
// carry kube-apiserver's names.
type Config struct {
	// EtcdServers are the etcd client URLs; empty runs an embedded etcd
	// with its data under DataDir.
	EtcdServers                           []string
	EtcdPrefix                            string
	EtcdCAFile, EtcdCertFile, EtcdKeyFile string
	// EtcdCompactionInterval between compactions; 0 disables them.
	EtcdCompactionInterval time.Duration
	DataDir                string
	// EventTTL is how long events (core/v1 and events.k8s.io/v1, one
	// storage) are kept after their last write: etcd deletes them with
	// their lease (upstream's --event-ttl). 0 keeps them forever.
	EventTTL time.Duration
	// LeaseReuseDurationSeconds is how long an etcd lease for objects with
	// a TTL is reused (upstream's --lease-reuse-duration-seconds); 0 is the
	// default, 60.
	LeaseReuseDurationSeconds int64

	BindAddress net.IP
	SecurePort  int
	// AdvertiseAddress is the address the kubernetes Service's endpoints
	// point at; empty takes BindAddress (or the host's first address).
	AdvertiseAddress  net.IP
	TLSCertFile       string
	TLSPrivateKeyFile string
	// CertDir holds a generated self-signed serving certificate when no
	// TLSCertFile is given.
	CertDir string

	ServiceClusterIPRange string
	ServiceNodePortRange  string

	MaxRequestsInflight         int
	MaxMutatingRequestsInflight int
	RequestTimeout              time.Duration

	// Profiling serves Go's pprof handlers under /debug/pprof/ (upstream's
	// --profiling).
	Profiling bool

	// Authentication (kube-apiserver's flags).
	ClientCAFile                     string
	TokenAuthFile                    string
	AnonymousAuth                    bool
	ServiceAccountIssuers            []string
	ServiceAccountKeyFiles           []string
	ServiceAccountSigningKeyFile     string
	ServiceAccountMaxTokenExpiration time.Duration
	ServiceAccountJWKSURI            string
	APIAudiences                     []string

	// AuthorizationModes from --authorization-mode: AlwaysAllow,
	// AlwaysDeny, Node, RBAC.
	AuthorizationModes []string

	// Admission plugins switched on and off beyond the defaults.
	EnableAdmissionPlugins  []string
	DisableAdmissionPlugins []string

	EncryptionProviderConfig string

	AuditPolicyFile                                    string
	AuditLogPath                                       string
	AuditLogMaxAge, AuditLogMaxBackup, AuditLogMaxSize int

	KubeletClientCertificate    string
	KubeletClientKey            string
	KubeletCertificateAuthority string

	// Listener, when set, is used instead of binding BindAddress:SecurePort
	// (tests).
	Listener net.Listener
}

// Validate checks the configuration and fills defaults.
func (c *Config) Validate() error {
	if c.EtcdPrefix == "" {
		c.EtcdPrefix = "/registry"
	}
	c.EtcdPrefix = "/" + strings.Trim(c.EtcdPrefix, "/")
	if len(c.EtcdServers) == 0 && c.DataDir == "" {
		return errors.New("--data-dir is required when --etcd-servers is empty (the embedded etcd keeps its data there)")
	}
	if c.SecurePort <= 0 || c.SecurePort > 65535 {
		if c.Listener == nil {
			return fmt.Errorf("--secure-port %d must be between 1 and 65535", c.SecurePort)
		}
	}
	if (c.TLSCertFile == "") != (c.TLSPrivateKeyFile == "") {
		return errors.New("--tls-cert-file and --tls-private-key-file must be given together")
	}
	if c.TLSCertFile == "" && c.CertDir == "" {
		return errors.New("either --tls-cert-file/--tls-private-key-file or --cert-dir (for a self-signed certificate) is required")
	}
	if c.ServiceClusterIPRange == "" {
		c.ServiceClusterIPRange = "10.0.0.0/24"
	}
	if _, _, err := net.ParseCIDR(c.ServiceClusterIPRange); err != nil {
		return fmt.Errorf("--service-cluster-ip-range %q: %v", c.ServiceClusterIPRange, err)
	}
	if c.ServiceNodePortRange == "" {
		c.ServiceNodePortRange = "30000-32767"
	}
	if _, _, err := parsePortRange(c.ServiceNodePortRange); err != nil {
		return fmt.Errorf("--service-node-port-range: %v", err)
	}
	if c.EventTTL < 0 {
		return fmt.Errorf("--event-ttl %v must not be negative", c.EventTTL)
	}
	if c.LeaseReuseDurationSeconds < 0 {
		return errors.New("--lease-reuse-duration-seconds should be greater than or equal to 1")
	}
	if c.LeaseReuseDurationSeconds == 0 {
		c.LeaseReuseDurationSeconds = int64(storage.DefaultLeaseReuseDuration / time.Second)
	}
	if c.MaxRequestsInflight < 0 || c.MaxMutatingRequestsInflight < 0 {
		return errors.New("--max-requests-inflight and --max-mutating-requests-inflight must not be negative")
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = time.Minute
	}
	if c.BindAddress == nil {
		c.BindAddress = net.IPv4zero
	}
	for _, m := range c.AuthorizationModes {
		switch m {
		case "AlwaysAllow", "AlwaysDeny", "Node", "RBAC":
		default:
			return fmt.Errorf("--authorization-mode %q: supported modes are AlwaysAllow, AlwaysDeny, Node, RBAC", m)
		}
	}
	for _, p := range append(append([]string(nil), c.EnableAdmissionPlugins...), c.DisableAdmissionPlugins...) {
		if !knownAdmissionPlugins[p] {
			return fmt.Errorf("admission plugin %q is unknown: kstack has %s", p, strings.Join(admissionPluginNames(), ", "))
		}
	}
	if c.ServiceAccountSigningKeyFile != "" && len(c.ServiceAccountIssuers) == 0 {
		return errors.New("--service-account-issuer is required with --service-account-signing-key-file")
	}
	if (c.KubeletClientCertificate == "") != (c.KubeletClientKey == "") {
		return errors.New("--kubelet-client-certificate and --kubelet-client-key must be given together")
	}
	if c.AuditPolicyFile != "" && c.AuditLogPath == "" {
		return errors.New("--audit-policy-file needs --audit-log-path")
	}
	return nil
}

// knownAdmissionPlugins are the admission plugins kstack implements;
// defaultAdmissionPlugins are on unless disabled (upstream's defaults, as
// far as kstack has them).
var (
	knownAdmissionPlugins = map[string]bool{
		"NamespaceLifecycle": true, "LimitRanger": true, "ServiceAccount": true, "NodeRestriction": true,
		"DefaultTolerationSeconds": true, "Priority": true, "ResourceQuota": true, "PodSecurity": true,
		"TaintNodesByCondition": true,
	}
	defaultAdmissionPlugins = []string{"NamespaceLifecycle", "LimitRanger", "ServiceAccount", "Priority",
		"DefaultTolerationSeconds", "TaintNodesByCondition", "ResourceQuota", "PodSecurity"}
)

func admissionPluginNames() []string {
	var out []string
	for n := range knownAdmissionPlugins {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// admissionEnabled reports whether plugin runs under c.
func (c *Config) admissionEnabled(plugin string) bool {
	for _, p := range c.DisableAdmissionPlugins {
		if p == plugin {
			return false
		}
	}
	for _, p := range c.EnableAdmissionPlugins {
		if p == plugin {
			return true
		}
	}
	for _, p := range defaultAdmissionPlugins {
		if p == plugin {
			return true
		}
	}
	return false
}

// Server is a running apiserver's state.
type Server struct {
	cfg    Config
	client *clientv3.Client

	stores map[gvrKey]*resourceStore
	// byStorage finds a resource's store by group and resource, in the
	// version it is stored as (storeFor: the server's own reads and writes).
	byStorage map[schema.GroupResource]*resourceStore
	cachers   []*storage.Cacher
	metrics   *serverMetrics
	registry  *prometheus.Registry
	openapi   *openapi.Service
	discovery *discoveryDocs

	authenticator   *authn.Chain
	authorizer      auth.Authorizer
	rbacIndex       *authz.Index
	rbac            *authz.RBAC
	nodeGraph       *authz.Graph
	auditor         *audit.Auditor
	signer          *authn.Signer
	saKeys          []crypto.PublicKey
	saAuthenticator *authn.ServiceAccount
	// tokenAuthenticators check bearer tokens (TokenReview).
	tokenAuthenticators []authn.TokenAuthenticator

	// kubeletTransport reaches kubelets (nodes/proxy).
	kubeletTransport kubeletTransport
	// fieldManagers serve server-side apply.
	fieldManagers fieldManagers
	// watchEncodings shares event encodings among watchers.
	watchEncodings encodingCache

	// deletedNamespaces are namespaces this server marked for deletion
	// lately: admission reads them live, not from a cache that may lag.
	deletedNamespaces recentSet

	// admission runs the ServiceAccount, LimitRanger, PodSecurity and
	// ResourceQuota plugins (pkg/admission); see admission.go.
	admission *admission.Chain

	ipAlloc   *ipAllocator
	portAlloc *portAllocator

	// stopBackground ends the maintenance loop started by bootstrap.
	stopBackground func()

	readyOnce    sync.Once
	ready        chan struct{} // closed when caches are synced and bootstrap done
	bootstrapErr error
}

type gvrKey struct{ group, version, resource string }

func schemaGR(group, resource string) schema.GroupResource {
	return schema.GroupResource{Group: group, Resource: resource}
}

// eventsResource is where events of both groups are stored; they expire
// after Config.EventTTL.
var eventsResource = schema.GroupResource{Resource: "events"}

// lookup finds the store of a served resource.
func (s *Server) lookup(group, version, resource string) (*resourceStore, bool) {
	rs, ok := s.stores[gvrKey{group, version, resource}]
	return rs, ok
}

// newServer builds the stores and caches on an etcd client.
func newServer(ctx context.Context, cfg Config, client *clientv3.Client) (*Server, error) {
	s := &Server{
		cfg:       cfg,
		client:    client,
		stores:    map[gvrKey]*resourceStore{},
		byStorage: map[schema.GroupResource]*resourceStore{},
		registry:  prometheus.NewRegistry(),
		ready:     make(chan struct{}),
	}
	s.metrics = newServerMetrics(s.registry)
	if err := storage.RegisterMetrics(s.registry); err != nil {
		return nil, err
	}
	// One storage (and watch cache) per stored resource, shared by the
	// versions that serve it.
	var transformers encryption.Transformers
	if cfg.EncryptionProviderConfig != "" {
		var err error
		transformers, err = encryption.LoadConfig(cfg.EncryptionProviderConfig)
		if err != nil {
			return nil, fmt.Errorf("--encryption-provider-config: %w", err)
		}
	}
	shared := map[schema.GroupResource]*storage.Cacher{}
	// One lease manager for every store whose objects expire (events).
	leases := storage.NewLeaseManager(client, storage.LeaseManagerConfig{
		ReuseDuration: time.Duration(cfg.LeaseReuseDurationSeconds) * time.Second,
	})
	for _, res := range api.Resources() {
		res := res
		if res.Virtual {
			s.stores[gvrKey{res.Group, res.Version, res.Resource}] = &resourceStore{res: &res, servedGVK: res.GroupVersionKind(), storageGVK: res.GroupVersionKind()}
			continue
		}
		r := &res
		cfgS := newStorageConfig(r, cfg.EtcdPrefix)
		gr := r.StorageGroupResource()
		if t := transformers.For(gr); t != nil {
			cfgS.Transformer = t
		}
		if gr == eventsResource {
			cfgS.TTL = cfg.EventTTL
		}
		cacher, ok := shared[gr]
		if !ok {
			var err error
			cacher, err = storage.NewCacher(storage.NewStore(client, cfgS, storage.WithLeaseManager(leases)), cfgS)
			if err != nil {
				return nil, fmt.Errorf("watch cache for %s: %w", gr, err)
			}
			shared[gr] = cacher
			s.cachers = append(s.cachers, cacher)
		}
		obj := r.New()
		rs := &resourceStore{
			res:        r,
			storage:    cacher,
			cfg:        cfgS,
			servedGVK:  r.GroupVersionKind(),
			storageGVK: r.StorageGVK(),
			hasSpec:    specField(obj).IsValid(),
			hasStatus:  statusField(obj).IsValid(),
		}
		s.stores[gvrKey{r.Group, r.Version, r.Resource}] = rs
		if rs.servedGVK == rs.storageGVK {
			s.byStorage[r.GroupResource()] = rs
		}
	}
	var err error
	s.ipAlloc, err = newIPAllocator(cfg.ServiceClusterIPRange, s)
	if err != nil {
		return nil, err
	}
	s.portAlloc, err = newPortAllocator(cfg.ServiceNodePortRange, s)
	if err != nil {
		return nil, err
	}
	s.installHooks()
	s.admission = admission.NewChain(s.cfg.admissionEnabled, admissionStore{s})
	if err := s.setupAuthentication(); err != nil {
		return nil, err
	}
	if err := authn.RegisterMetrics(s.registry); err != nil {
		return nil, err
	}
	s.setupAuthorization()
	s.auditor, err = audit.NewFromFlags(cfg.AuditPolicyFile, cfg.AuditLogPath, cfg.AuditLogMaxAge, cfg.AuditLogMaxBackup, cfg.AuditLogMaxSize)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	if s.auditor != nil {
		if err := audit.RegisterMetrics(s.registry); err != nil {
			return nil, err
		}
	}
	s.openapi, err = openapi.New(api.Resources())
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	s.discovery = newDiscoveryDocs()
	return s, nil
}

// Run starts the apiserver and blocks until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	rs, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	<-ctx.Done()
	return rs.Wait()
}

// Running is a started apiserver.
type Running struct {
	// Addr is the address the server listens on.
	Addr   string
	Server *Server
	// CAData is the PEM of the serving certificate's CA (the self-signed
	// one when no --tls-cert-file was given; nil otherwise).
	CAData []byte
	done   chan error
}

// Ready is closed when the server serves: caches synced, bootstrap done.
func (r *Running) Ready() <-chan struct{} { return r.Server.ready }

// Wait blocks until the server has shut down.
func (r *Running) Wait() error { return <-r.done }

// Start brings up etcd (embedded unless EtcdServers), the stores, watch
// caches and HTTPS server, and returns once it listens; cancel ctx to stop.
func Start(ctx context.Context, cfg Config) (*Running, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var closers []func()
	cleanup := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	endpoints := cfg.EtcdServers
	if len(endpoints) == 0 {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, err
		}
		e, eps, err := embedded.Start(ctx, filepath.Join(cfg.DataDir, "etcd"))
		if err != nil {
			return nil, fmt.Errorf("start embedded etcd: %w", err)
		}
		closers = append(closers, func() { e.Close() })
		endpoints = eps
		slog.Info("embedded etcd started", "dataDir", filepath.Join(cfg.DataDir, "etcd"), "endpoints", eps)
	}
	etcdCfg := clientv3.Config{
		Endpoints:          endpoints,
		DialTimeout:        10 * time.Second,
		MaxCallSendMsgSize: 8 << 20,
		MaxCallRecvMsgSize: 0,
	}
	if cfg.EtcdCertFile != "" || cfg.EtcdCAFile != "" {
		tlsInfo := transport.TLSInfo{CertFile: cfg.EtcdCertFile, KeyFile: cfg.EtcdKeyFile, TrustedCAFile: cfg.EtcdCAFile}
		tc, err := tlsInfo.ClientConfig()
		if err != nil {
			cleanup()
			return nil, fmt.Errorf("etcd TLS: %w", err)
		}
		etcdCfg.TLS = tc
	}
	client, err := clientv3.New(etcdCfg)
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("connect to etcd %v: %w", endpoints, err)
	}
	closers = append(closers, func() { client.Close() })

	s, err := newServer(ctx, cfg, client)
	if err != nil {
		cleanup()
		return nil, err
	}
	tlsCfg, caData, err := servingTLS(cfg)
	if err != nil {
		cleanup()
		return nil, err
	}
	tlsCfg.ClientAuth = s.clientAuth()
	s.registerCertExpiry()
	ln := cfg.Listener
	if ln == nil {
		ln, err = net.Listen("tcp", net.JoinHostPort(cfg.BindAddress.String(), strconv.Itoa(cfg.SecurePort)))
		if err != nil {
			cleanup()
			return nil, fmt.Errorf("listen on %s:%d: %w", cfg.BindAddress, cfg.SecurePort, err)
		}
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(slog.Default().Handler(), slog.LevelDebug),
	}
	running := &Running{Addr: ln.Addr().String(), Server: s, CAData: caData, done: make(chan error, 1)}

	cctx, cancelCaches := context.WithCancel(context.Background())
	for _, c := range s.cachers {
		go c.Run(cctx)
	}
	if cfg.EtcdCompactionInterval > 0 {
		go storage.StartCompactor(cctx, client, cfg.EtcdCompactionInterval)
	}
	go s.startup(cctx)

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(tls.NewListener(ln, tlsCfg)) }()
	slog.Info("apiserver listening", "address", running.Addr)
	go func() {
		var err error
		select {
		case <-ctx.Done():
		case err = <-serveErr:
		}
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if s.isReady() {
			s.removeSelfFromEndpoints(sctx)
		}
		_ = srv.Shutdown(sctx)
		cancel()
		srv.Close()
		cancelCaches()
		for _, c := range s.cachers {
			c.Stop()
		}
		if s.stopBackground != nil {
			s.stopBackground()
		}
		cleanup()
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		running.done <- err
	}()
	return running, nil
}

// registerCertExpiry exports the expiry of every certificate the server
// loads (kstack_certificate_expiration_timestamp_seconds{name}).
func (s *Server) registerCertExpiry() {
	serving := s.cfg.TLSCertFile
	if serving == "" {
		serving = filepath.Join(s.cfg.CertDir, "apiserver.crt")
	}
	for _, c := range []struct{ name, path string }{
		{"apiserver-serving", serving},
		{"client-ca", s.cfg.ClientCAFile},
		{"kubelet-client", s.cfg.KubeletClientCertificate},
		{"kubelet-certificate-authority", s.cfg.KubeletCertificateAuthority},
		{"etcd-client", s.cfg.EtcdCertFile},
		{"etcd-ca", s.cfg.EtcdCAFile},
	} {
		if c.path == "" {
			continue
		}
		if err := pki.RegisterCertExpiry(s.registry, c.name, c.path); err != nil {
			slog.Warn("certificate expiry metric", "certificate", c.name, "err", err)
		}
	}
}

// startup waits for the watch caches, then bootstraps the cluster's
// built-in objects, then reports ready.
func (s *Server) startup(ctx context.Context) {
	feedsReady := s.startAuthzFeeds(ctx)
	for {
		err := s.bootstrap(ctx)
		if err == nil {
			break
		}
		s.bootstrapErr = err
		slog.Error("bootstrap failed; retrying", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	select {
	case <-feedsReady:
	case <-ctx.Done():
		return
	}
	s.bootstrapErr = nil
	s.readyOnce.Do(func() { close(s.ready) })
	slog.Info("apiserver ready")
}

func (s *Server) isReady() bool {
	select {
	case <-s.ready:
		return true
	default:
		return false
	}
}

var errNotReady = apierrors.NewServiceUnavailable("the apiserver is starting")
