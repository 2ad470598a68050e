package controllermanager

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/kstack/kstack/pkg/controller/cronjob"
	"github.com/kstack/kstack/pkg/controller/daemonset"
	"github.com/kstack/kstack/pkg/controller/deployment"
	"github.com/kstack/kstack/pkg/controller/disruption"
	"github.com/kstack/kstack/pkg/controller/endpoint"
	"github.com/kstack/kstack/pkg/controller/endpointslice"
	"github.com/kstack/kstack/pkg/controller/endpointslicemirroring"
	"github.com/kstack/kstack/pkg/controller/garbagecollector"
	"github.com/kstack/kstack/pkg/controller/job"
	"github.com/kstack/kstack/pkg/controller/namespace"
	"github.com/kstack/kstack/pkg/controller/nodeipam"
	"github.com/kstack/kstack/pkg/controller/nodelifecycle"
	"github.com/kstack/kstack/pkg/controller/persistentvolume"
	"github.com/kstack/kstack/pkg/controller/podautoscaler"
	"github.com/kstack/kstack/pkg/controller/podgc"
	"github.com/kstack/kstack/pkg/controller/pvcprotection"
	"github.com/kstack/kstack/pkg/controller/pvprotection"
	"github.com/kstack/kstack/pkg/controller/replicaset"
	"github.com/kstack/kstack/pkg/controller/replication"
	"github.com/kstack/kstack/pkg/controller/resourcequota"
	"github.com/kstack/kstack/pkg/controller/rootcacertpublisher"
	"github.com/kstack/kstack/pkg/controller/serviceaccount"
	"github.com/kstack/kstack/pkg/controller/statefulset"
	"github.com/kstack/kstack/pkg/controller/ttlafterfinished"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/scale"
)

// Runner is a started controller's loop; it returns when ctx ends.
type Runner func(ctx context.Context)

// Constructor builds a controller from the shared context (informers are
// registered here and started by the controller-manager afterwards).
type Constructor func(ctx context.Context, cc *Context) (Runner, error)

// Registration describes one controller.
type Registration struct {
	// Name is the canonical name for --controllers ("replicaset-controller").
	Name string
	// Aliases are the short names upstream also accepts ("replicaset").
	Aliases []string
	// ServiceAccount is its identity in kube-system with
	// --use-service-account-credentials.
	ServiceAccount string
	// DisabledByDefault leaves it out of "*".
	DisabledByDefault bool
	New               Constructor
}

// registry is every controller this binary knows, by canonical name.
var registry = map[string]Registration{}

func register(r Registration) { registry[r.Name] = r }

func init() {
	register(Registration{Name: "replicaset-controller", Aliases: []string{"replicaset"}, ServiceAccount: "replicaset-controller",
		New: func(ctx context.Context, cc *Context) (Runner, error) {
			client, err := cc.Client("replicaset-controller")
			if err != nil {
				return nil, err
			}
			c := replicaset.New(client, cc.Informers.Apps().V1().ReplicaSets(), cc.Informers.Core().V1().Pods(),
				replicaset.WithRecorder(cc.Recorder(ctx, client, "replicaset-controller")))
			return func(ctx context.Context) { c.Run(ctx, cc.Config.ConcurrentReplicaSetSyncs) }, nil
		}})
	register(Registration{Name: "replicationcontroller-controller", Aliases: []string{"replicationcontroller"}, ServiceAccount: "replication-controller",
		New: func(ctx context.Context, cc *Context) (Runner, error) {
			client, err := cc.Client("replication-controller")
			if err != nil {
				return nil, err
			}
			c := replication.New(client, cc.Informers.Core().V1().ReplicationControllers(), cc.Informers.Core().V1().Pods(),
				replicaset.WithRecorder(cc.Recorder(ctx, client, "replication-controller")))
			return func(ctx context.Context) { c.Run(ctx, cc.Config.ConcurrentRCSyncs) }, nil
		}})
	register(Registration{Name: "deployment-controller", Aliases: []string{"deployment"}, ServiceAccount: "deployment-controller",
		New: func(ctx context.Context, cc *Context) (Runner, error) {
			client, err := cc.Client("deployment-controller")
			if err != nil {
				return nil, err
			}
			i := cc.Informers
			c := deployment.New(client, i.Apps().V1().Deployments(), i.Apps().V1().ReplicaSets(), i.Core().V1().Pods(),
				deployment.WithRecorder(cc.Recorder(ctx, client, "deployment-controller")))
			return func(ctx context.Context) { c.Run(ctx, cc.Config.ConcurrentDeploymentSyncs) }, nil
		}})
}

func init() {
	register(Registration{Name: "garbage-collector-controller", Aliases: []string{"garbagecollector"}, ServiceAccount: "generic-garbage-collector",
		New: func(ctx context.Context, cc *Context) (Runner, error) {
			md, err := cc.MetadataClient("generic-garbage-collector")
			if err != nil {
				return nil, err
			}
			disc, err := cc.Discovery("generic-garbage-collector")
			if err != nil {
				return nil, err
			}
			c := garbagecollector.New(md, disc, cc.MetadataInformers)
			return func(ctx context.Context) { c.Run(ctx, cc.Config.ConcurrentGCSyncs) }, nil
		}})
	register(Registration{Name: "namespace-controller", Aliases: []string{"namespace"}, ServiceAccount: "namespace-controller",
		New: func(ctx context.Context, cc *Context) (Runner, error) {
			client, err := cc.Client("namespace-controller")
			if err != nil {
				return nil, err
			}
			md, err := cc.MetadataClient("namespace-controller")
			if err != nil {
				return nil, err
			}
			disc, err := cc.Discovery("namespace-controller")
			if err != nil {
				return nil, err
			}
			c := namespace.New(client, md, disc, cc.Informers.Core().V1().Namespaces())
			return func(ctx context.Context) { c.Run(ctx, cc.Config.ConcurrentNamespaceSyncs) }, nil
		}})
}

func init() {
	register(Registration{Name: "endpointslice-controller", Aliases: []string{"endpointslice"}, ServiceAccount: "endpointslice-controller",
		New: func(ctx context.Context, cc *Context) (Runner, error) {
			client, err := cc.Client("endpointslice-controller")
			if err != nil {
				return nil, err
			}
			i := cc.Informers.Core().V1()
			c := endpointslice.New(client, i.Services(), i.Pods(), i.Nodes(), cc.Informers.Discovery().V1().EndpointSlices())
			return func(ctx context.Context) { c.Run(ctx, cc.Config.ConcurrentServiceEndpointSyncs) }, nil
		}})
	register(Registration{Name: "endpoints-controller", Aliases: []string{"endpoint"}, ServiceAccount: "endpoint-controller",
		New: func(ctx context.Context, cc *Context) (Runner, error) {
			client, err := cc.Client("endpoint-controller")
			if err != nil {
				return nil, err
			}
			i := cc.Informers.Core().V1()
			c := endpoint.New(client, i.Services(), i.Pods(), i.Endpoints())
			return func(ctx context.Context) { c.Run(ctx, cc.Config.ConcurrentEndpointSyncs) }, nil
		}})
}

func init() {
	register(Registration{Name: "node-lifecycle-controller", Aliases: []string{"nodelifecycle"}, ServiceAccount: "node-controller",
		New: func(ctx context.Context, cc *Context) (Runner, error) {
			client, err := cc.Client("node-controller")
			if err != nil {
				return nil, err
			}
			i := cc.Informers
			cfg := cc.Config
			c := nodelifecycle.New(client, i.Core().V1().Nodes(), i.Coordination().V1().Leases(), i.Core().V1().Pods(), nodelifecycle.Options{
				MonitorPeriod: cfg.NodeMonitorPeriod, GracePeriod: cfg.NodeMonitorGracePeriod, StartupGracePeriod: cfg.NodeStartupGracePeriod,
				EvictionRate: cfg.NodeEvictionRate, SecondaryEvictionRate: cfg.SecondaryNodeEvictionRate,
				UnhealthyZoneThreshold: cfg.UnhealthyZoneThreshold, LargeClusterSizeThreshold: cfg.LargeClusterSizeThreshold,
				Recorder: cc.Recorder(ctx, client, "node-controller")})
			return func(ctx context.Context) { c.Run(ctx, 1) }, nil
		}})
	register(Registration{Name: "node-ipam-controller", Aliases: []string{"nodeipam"}, ServiceAccount: "node-controller",
		New: func(ctx context.Context, cc *Context) (Runner, error) {
			if !cc.Config.AllocateNodeCIDRs {
				return nil, nil
			}
			client, err := cc.Client("node-controller")
			if err != nil {
				return nil, err
			}
			c, err := nodeipam.New(client, cc.Informers.Core().V1().Nodes(), cc.Config.ClusterCIDR, cc.Config.NodeCIDRMaskSize,
				cc.Recorder(ctx, client, "cidrAllocator"))
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) { c.Run(ctx, 1) }, nil
		}})
}

func init() {
	register(Registration{Name: "serviceaccount-controller", Aliases: []string{"serviceaccount"}, ServiceAccount: "service-account-controller",
		New: func(ctx context.Context, cc *Context) (Runner, error) {
			client, err := cc.Client("service-account-controller")
			if err != nil {
				return nil, err
			}
			c := serviceaccount.New(client, cc.Informers.Core().V1().Namespaces(), cc.Informers.Core().V1().ServiceAccounts())
			return func(ctx context.Context) { c.Run(ctx, cc.Config.ConcurrentServiceAccountSyncs) }, nil
		}})
	register(Registration{Name: "root-ca-certificate-publisher-controller", Aliases: []string{"root-ca-cert-publisher"}, ServiceAccount: "root-ca-cert-publisher",
		New: func(ctx context.Context, cc *Context) (Runner, error) {
			ca, err := cc.rootCA()
			if err != nil {
				return nil, err
			}
			client, err := cc.Client("root-ca-cert-publisher")
			if err != nil {
				return nil, err
			}
			c, err := rootcacertpublisher.New(client, ca, cc.Informers.Core().V1().Namespaces(), cc.Informers.Core().V1().ConfigMaps())
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) { c.Run(ctx, 1) }, nil
		}})
}

func init() {
	register(Registration{Name: "resourcequota-controller", Aliases: []string{"resourcequota"}, ServiceAccount: "resourcequota-controller",
		New: func(ctx context.Context, cc *Context) (Runner, error) {
			const sa = "resourcequota-controller"
			client, err := cc.Client(sa)
			if err != nil {
				return nil, err
			}
			md, err := cc.MetadataClient(sa)
			if err != nil {
				return nil, err
			}
			disc, err := cc.Discovery(sa)
			if err != nil {
				return nil, err
			}
			i := cc.Informers.Core().V1()
			c := resourcequota.New(client, md, disc, i.ResourceQuotas(), i.Pods(), i.Services(), i.PersistentVolumeClaims(),
				i.ConfigMaps(), i.Secrets(), cc.Config.ResourceQuotaSyncPeriod)
			return func(ctx context.Context) { c.Run(ctx, cc.Config.ConcurrentResourceQuotaSyncs) }, nil
		}})
}

func init() {
	register(Registration{Name: "job-controller", Aliases: []string{"job"}, ServiceAccount: "job-controller",
		New: func(ctx context.Context, cc *Context) (Runner, error) {
			client, err := cc.Client("job-controller")
			if err != nil {
				return nil, err
			}
			c := job.New(client, cc.Informers.Batch().V1().Jobs(), cc.Informers.Core().V1().Pods(),
				job.WithRecorder(cc.Recorder(ctx, client, "job-controller")))
			return func(ctx context.Context) { c.Run(ctx, cc.Config.ConcurrentJobSyncs) }, nil
		}})
	register(Registration{Name: "ttl-after-finished-controller", Aliases: []string{"ttl-after-finished"}, ServiceAccount: "ttl-after-finished-controller",
		New: func(ctx context.Context, cc *Context) (Runner, error) {
			client, err := cc.Client("ttl-after-finished-controller")
			if err != nil {
				return nil, err
			}
			c := ttlafterfinished.New(client, cc.Informers.Batch().V1().Jobs())
			return func(ctx context.Context) { c.Run(ctx, 5) }, nil
		}})
	register(Registration{Name: "pod-garbage-collector-controller", Aliases: []string{"podgc"}, ServiceAccount: "pod-garbage-collector",
		New: func(ctx context.Context, cc *Context) (Runner, error) {
			client, err := cc.Client("pod-garbage-collector")
			if err != nil {
				return nil, err
			}
			c := podgc.New(client, cc.Informers.Core().V1().Pods(), cc.Informers.Core().V1().Nodes(), cc.Config.TerminatedPodGCThreshold)
			return func(ctx context.Context) { c.Run(ctx) }, nil
		}})
}

func init() {
	register(Registration{Name: "cronjob-controller", Aliases: []string{"cronjob"}, ServiceAccount: "cronjob-controller",
		New: func(ctx context.Context, cc *Context) (Runner, error) {
			client, err := cc.Client("cronjob-controller")
			if err != nil {
				return nil, err
			}
			opts := []cronjob.Option{cronjob.WithRecorder(cc.Recorder(ctx, client, "cronjob-controller"))}
			if cc.Config.Clock != nil {
				opts = append(opts, cronjob.WithClock(cc.Config.Clock))
			}
			c := cronjob.New(client, cc.Informers.Batch().V1().CronJobs(), cc.Informers.Batch().V1().Jobs(), opts...)
			return func(ctx context.Context) { c.Run(ctx, 5) }, nil
		}})
}

func init() {
	register(Registration{Name: "statefulset-controller", Aliases: []string{"statefulset"}, ServiceAccount: "statefulset-controller",
		New: func(ctx context.Context, cc *Context) (Runner, error) {
			client, err := cc.Client("statefulset-controller")
			if err != nil {
				return nil, err
			}
			i := cc.Informers
			c := statefulset.New(client, i.Apps().V1().StatefulSets(), i.Core().V1().Pods(), i.Core().V1().PersistentVolumeClaims(),
				i.Apps().V1().ControllerRevisions(), cc.Recorder(ctx, client, "statefulset-controller"))
			return func(ctx context.Context) { c.Run(ctx, cc.Config.ConcurrentStatefulSetSyncs) }, nil
		}})
}

func init() {
	register(Registration{Name: "daemonset-controller", Aliases: []string{"daemonset"}, ServiceAccount: "daemon-set-controller",
		New: func(ctx context.Context, cc *Context) (Runner, error) {
			client, err := cc.Client("daemon-set-controller")
			if err != nil {
				return nil, err
			}
			i := cc.Informers
			c := daemonset.New(client, i.Apps().V1().DaemonSets(), i.Core().V1().Pods(), i.Core().V1().Nodes(), i.Apps().V1().ControllerRevisions(),
				cc.Recorder(ctx, client, "daemonset-controller"))
			return func(ctx context.Context) { c.Run(ctx, cc.Config.ConcurrentDaemonSetSyncs) }, nil
		}})
}

func init() {
	register(Registration{Name: "disruption-controller", Aliases: []string{"disruption"}, ServiceAccount: "disruption-controller",
		New: func(ctx context.Context, cc *Context) (Runner, error) {
			client, err := cc.Client("disruption-controller")
			if err != nil {
				return nil, err
			}
			i := cc.Informers
			c := disruption.New(client, i.Policy().V1().PodDisruptionBudgets(), i.Core().V1().Pods(), i.Apps().V1().ReplicaSets(),
				i.Apps().V1().Deployments(), i.Apps().V1().StatefulSets(), i.Core().V1().ReplicationControllers())
			return func(ctx context.Context) { c.Run(ctx, 5) }, nil
		}})
}

func init() {
	register(Registration{Name: "endpointslice-mirroring-controller", Aliases: []string{"endpointslicemirroring"}, ServiceAccount: "endpointslicemirroring-controller",
		New: func(ctx context.Context, cc *Context) (Runner, error) {
			client, err := cc.Client("endpointslicemirroring-controller")
			if err != nil {
				return nil, err
			}
			i := cc.Informers
			c := endpointslicemirroring.New(client, i.Core().V1().Services(), i.Core().V1().Endpoints(), i.Discovery().V1().EndpointSlices())
			return func(ctx context.Context) { c.Run(ctx, 5) }, nil
		}})
}

func init() {
	register(Registration{Name: "persistentvolume-binder-controller", Aliases: []string{"persistentvolume-binder"}, ServiceAccount: "persistent-volume-binder",
		New: func(ctx context.Context, cc *Context) (Runner, error) {
			client, err := cc.Client("persistent-volume-binder")
			if err != nil {
				return nil, err
			}
			i := cc.Informers
			c := persistentvolume.New(client, i.Core().V1().PersistentVolumes(), i.Core().V1().PersistentVolumeClaims(),
				i.Storage().V1().StorageClasses(), cc.Recorder(ctx, client, "persistentvolume-controller"))
			return func(ctx context.Context) { c.Run(ctx, 1) }, nil
		}})
	register(Registration{Name: "persistentvolumeclaim-protection-controller", Aliases: []string{"pvc-protection"}, ServiceAccount: "pvc-protection-controller",
		New: func(ctx context.Context, cc *Context) (Runner, error) {
			client, err := cc.Client("pvc-protection-controller")
			if err != nil {
				return nil, err
			}
			c := pvcprotection.New(client, cc.Informers.Core().V1().PersistentVolumeClaims(), cc.Informers.Core().V1().Pods())
			return func(ctx context.Context) { c.Run(ctx, 1) }, nil
		}})
	register(Registration{Name: "persistentvolume-protection-controller", Aliases: []string{"pv-protection"}, ServiceAccount: "pv-protection-controller",
		New: func(ctx context.Context, cc *Context) (Runner, error) {
			client, err := cc.Client("pv-protection-controller")
			if err != nil {
				return nil, err
			}
			c := pvprotection.New(client, cc.Informers.Core().V1().PersistentVolumes())
			return func(ctx context.Context) { c.Run(ctx, 1) }, nil
		}})
}

func init() {
	register(Registration{Name: "horizontal-pod-autoscaler-controller", Aliases: []string{"horizontalpodautoscaling"}, ServiceAccount: "horizontal-pod-autoscaler",
		New: func(ctx context.Context, cc *Context) (Runner, error) {
			const sa = "horizontal-pod-autoscaler"
			client, err := cc.Client(sa)
			if err != nil {
				return nil, err
			}
			cfg, err := cc.ClientConfig(ctx, sa)
			if err != nil {
				return nil, err
			}
			disc, err := cc.Discovery(sa)
			if err != nil {
				return nil, err
			}
			mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))
			scales, err := scale.NewForConfig(cfg, mapper, dynamic.LegacyAPIPathResolverFunc, scale.NewDiscoveryScaleKindResolver(disc))
			if err != nil {
				return nil, err
			}
			i := cc.Informers
			c := podautoscaler.New(client, scales, mapper, podautoscaler.NewRESTMetricsClient(disc.RESTClient()),
				i.Autoscaling().V2().HorizontalPodAutoscalers(), i.Core().V1().Pods(), podautoscaler.Options{
					SyncPeriod: cc.Config.HorizontalPodAutoscalerSyncPeriod, DownscaleStabilization: cc.Config.HorizontalPodAutoscalerDownscaleStabilization,
					Tolerance: cc.Config.HorizontalPodAutoscalerTolerance, Recorder: cc.Recorder(ctx, client, "horizontal-pod-autoscaler")})
			return func(ctx context.Context) { c.Run(ctx, cc.Config.ConcurrentHorizontalPodAutoscalerSyncs) }, nil
		}})
}

// rootCA is --root-ca-file, or else the CA the controller-manager trusts
// for the apiserver (as upstream falls back to its kubeconfig's CA).
func (cc *Context) rootCA() ([]byte, error) {
	if f := cc.Config.RootCAFile; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("--root-ca-file: %w", err)
		}
		return b, nil
	}
	tls := cc.builder.root.TLSClientConfig
	if len(tls.CAData) > 0 {
		return tls.CAData, nil
	}
	if tls.CAFile != "" {
		return os.ReadFile(tls.CAFile)
	}
	return nil, nil
}

// KnownControllers lists the canonical names, sorted.
func KnownControllers() []string {
	var out []string
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// canonical maps a name or alias to the canonical name.
func canonical(name string) (string, bool) {
	if _, ok := registry[name]; ok {
		return name, true
	}
	for n, r := range registry {
		for _, a := range r.Aliases {
			if a == name {
				return n, true
			}
		}
	}
	return "", false
}

// EnabledControllers resolves --controllers (upstream syntax: "*" is the
// default set, "foo" enables foo, "-foo" disables it; an explicit choice
// wins over "*") to sorted canonical names.
func EnabledControllers(spec []string) ([]string, error) {
	star := false
	on, off := map[string]bool{}, map[string]bool{}
	for _, s := range spec {
		s = strings.TrimSpace(s)
		switch {
		case s == "*":
			star = true
		case strings.HasPrefix(s, "-"):
			n, ok := canonical(s[1:])
			if !ok {
				return nil, fmt.Errorf("--controllers: unknown controller %q (known: %s)", s[1:], strings.Join(KnownControllers(), ", "))
			}
			off[n] = true
		case s != "":
			n, ok := canonical(s)
			if !ok {
				return nil, fmt.Errorf("--controllers: unknown controller %q (known: %s)", s, strings.Join(KnownControllers(), ", "))
			}
			on[n] = true
		}
	}
	var out []string
	for n, r := range registry {
		if off[n] {
			continue
		}
		if on[n] || (star && !r.DisabledByDefault) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}
