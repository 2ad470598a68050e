// Package expose is `kubectl expose`: make a Service for a pod,
// service, replication controller, deployment or replica set, with the
// selector, ports and protocols taken from that object unless given.
package expose

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

type options struct {
	f     *util.Factory
	print *genericclioptions.PrintFlags

	filenames                                         resource.FilenameOptions
	protocol, port, svcType, loadBalancerIP, selector string
	labels, targetPort, externalIP, name              string
	sessionAffinity, clusterIP                        string
	overrides, overrideType                           string
	fieldManager                                      string
	saveConfig                                        bool
}

// New returns the expose command.
func New(f *util.Factory) *cobra.Command {
	o := &options{f: f, print: util.NewPrintFlags("exposed")}
	cmd := &cobra.Command{
		Use:                   "expose (-f FILENAME | TYPE NAME) [--port=port] [--protocol=TCP|UDP|SCTP] [--target-port=number-or-name] [--name=name] [--external-ip=external-ip-of-service] [--type=type]",
		DisableFlagsInUseLine: true,
		Short:                 "Take a replication controller, service, deployment or pod and expose it as a new Kubernetes service",
		Long: `Expose a resource as a new Kubernetes service.

 Looks up a deployment, service, replica set, replication controller or pod by name and uses the selector for that resource as the selector for a new service on the specified port. A deployment or replica set will be exposed as a service only if its selector is convertible to a selector that service supports, i.e. when the selector contains only the matchLabels component. Note that if no port is specified via --port and the exposed resource has multiple ports, all will be re-used by the new service. Also if no labels are specified, the new service will re-use the labels from the resource it exposes.

 Possible resources include (case insensitive):

 pod (po), service (svc), replicationcontroller (rc), deployment (deploy), replicaset (rs)`,
		Example: `  # Create a service for a replicated nginx, which serves on port 80 and connects to the containers on port 8000
  kubectl expose rc nginx --port=80 --target-port=8000`,
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args) },
	}
	o.print.AddFlags(cmd)
	flags := cmd.Flags()
	flags.StringVar(&o.protocol, "protocol", "", "The network protocol for the service to be created. Default is 'TCP'.")
	flags.StringVar(&o.port, "port", "", "The port that the service should serve on. Copied from the resource being exposed, if unspecified")
	flags.StringVar(&o.svcType, "type", "", "Type for this service: ClusterIP, NodePort, LoadBalancer, or ExternalName. Default is 'ClusterIP'.")
	flags.StringVar(&o.loadBalancerIP, "load-balancer-ip", "", "IP to assign to the LoadBalancer. If empty, an ephemeral IP will be created and used (cloud-provider specific).")
	flags.StringVar(&o.selector, "selector", "", "A label selector to use for this service. Only equality-based selector requirements are supported. If empty (the default) infer the selector from the resource being exposed.")
	flags.StringVarP(&o.labels, "labels", "l", "", "Labels to apply to the service created by this call.")
	flags.StringVar(&o.targetPort, "target-port", "", "Name or number for the port on the container that the service should direct traffic to. Optional.")
	flags.StringVar(&o.externalIP, "external-ip", "", "Additional external IP address (not managed by Kubernetes) to accept for the service. If this IP is routed to a node, the service can be accessed by this IP in addition to its generated service IP.")
	flags.StringVar(&o.name, "name", "", "The name for the newly created object.")
	flags.StringVar(&o.sessionAffinity, "session-affinity", "", "If non-empty, set the session affinity for the service to this; legal values: 'None', 'ClientIP'")
	flags.StringVar(&o.clusterIP, "cluster-ip", "", "ClusterIP to be assigned to the service. Leave empty to auto-allocate, or set to 'None' to create a headless service.")
	util.AddFieldManagerFlag(cmd, &o.fieldManager, "kubectl-expose")
	flags.StringVar(&o.overrides, "overrides", "", "An inline JSON override for the generated object. If this is non-empty, it is used to override the generated object. Requires that the object supply a valid apiVersion field.")
	flags.StringVar(&o.overrideType, "override-type", "merge", "The method used to override the generated object: json, merge, or strategic.")
	util.AddDryRunFlag(cmd)
	flags.BoolVar(&o.saveConfig, "save-config", false, "If true, the configuration of current object will be saved in its annotation. Otherwise, the annotation will be unchanged. This flag is useful when you want to perform kubectl apply on this object in the future.")
	flags.StringSliceVarP(&o.filenames.Filenames, "filename", "f", nil, "Filename, directory, or URL to files identifying the resource to expose a service")
	flags.StringVarP(&o.filenames.Kustomize, "kustomize", "k", "", "Process the kustomization directory. This flag can't be used together with -f or -R.")
	flags.BoolVarP(&o.filenames.Recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively. Useful when you want to manage related manifests organized within the same directory.")
	return cmd
}

func (o *options) run(cmd *cobra.Command, args []string) error {
	dryRun, err := util.GetDryRun(cmd)
	if err != nil {
		return err
	}
	printer, err := util.Printer(o.print, dryRun)
	if err != nil {
		return err
	}
	ns, enforce, err := o.f.Namespace()
	if err != nil {
		return err
	}
	r := o.f.NewBuilder().
		WithScheme(scheme.Scheme, scheme.Scheme.PrioritizedVersionsAllGroups()...).
		ContinueOnError().
		NamespaceParam(ns).DefaultNamespace().
		FilenameParam(enforce, &o.filenames).
		ResourceTypeOrNameArgs(false, args...).
		Flatten().
		Do()
	if err := r.Err(); err != nil {
		return err
	}
	var ports string
	return r.Visit(func(info *resource.Info, err error) error {
		if err != nil {
			return err
		}
		gk := info.Mapping.GroupVersionKind.GroupKind()
		if !canBeExposed(gk) {
			return fmt.Errorf("cannot expose a %s", gk)
		}
		defaultName := info.Name
		if len(defaultName) > validation.DNS1035LabelMaxLength {
			defaultName = defaultName[:validation.DNS1035LabelMaxLength]
		}
		if o.selector == "" {
			s, err := selectorFor(info.Object)
			if err != nil {
				return fmt.Errorf("couldn't retrieve selectors via --selector flag or introspection: %v", err)
			}
			o.selector = s
		}
		if o.port == "" {
			found, err := portsFor(info.Object)
			if err != nil {
				return fmt.Errorf("couldn't find port via --port flag or introspection: %v", err)
			}
			switch len(found) {
			case 0:
				if o.clusterIP != "None" {
					return fmt.Errorf("couldn't find port via --port flag or introspection")
				}
			case 1:
				o.port = found[0]
			default:
				ports = strings.Join(found, ",")
			}
		}
		protocols, err := protocolsFor(info.Object)
		if err != nil {
			return fmt.Errorf("couldn't find protocol via introspection: %v", err)
		}
		if o.labels == "" {
			accessor, err := meta.Accessor(info.Object)
			if err != nil {
				return err
			}
			o.labels = joinLabels(accessor.GetLabels())
		}
		svc, err := o.service(defaultName, ports, protocols)
		if err != nil {
			return err
		}
		obj, err := o.override(svc)
		if err != nil {
			return err
		}
		if dryRun == util.DryRunClient {
			if enforce {
				obj.Namespace = ns
			}
			return printer.PrintObj(obj, o.f.Out)
		}
		if o.saveConfig {
			if _, err := util.SetLastAppliedTyped(obj); err != nil {
				return err
			}
		}
		created, err := o.f.CreateObject(context.Background(), obj, ns, dryRun, o.fieldManager, "")
		if err != nil {
			return err
		}
		return printer.PrintObj(created, o.f.Out)
	})
}

func canBeExposed(gk schema.GroupKind) bool {
	switch gk {
	case schema.GroupKind{Kind: "ReplicationController"}, schema.GroupKind{Kind: "Service"}, schema.GroupKind{Kind: "Pod"},
		schema.GroupKind{Group: "apps", Kind: "Deployment"}, schema.GroupKind{Group: "apps", Kind: "ReplicaSet"},
		schema.GroupKind{Group: "extensions", Kind: "Deployment"}, schema.GroupKind{Group: "extensions", Kind: "ReplicaSet"}:
		return true
	}
	return false
}

func joinLabels(m map[string]string) string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func matchLabelsOnly(s *metav1.LabelSelector) (string, error) {
	if s == nil {
		return "", nil
	}
	if len(s.MatchExpressions) > 0 {
		return "", fmt.Errorf("couldn't convert expressions - \"%+v\" to map-based selector format", s.MatchExpressions)
	}
	return joinLabels(s.MatchLabels), nil
}

// selectorFor is the pod selector of obj, as "k=v,...".
func selectorFor(obj runtime.Object) (string, error) {
	switch o := obj.(type) {
	case *corev1.Pod:
		if len(o.Labels) == 0 {
			return "", fmt.Errorf("the pod has no labels and cannot be exposed")
		}
		return joinLabels(o.Labels), nil
	case *corev1.Service:
		if o.Spec.Selector == nil {
			return "", fmt.Errorf("the service has no pod selector set")
		}
		return joinLabels(o.Spec.Selector), nil
	case *corev1.ReplicationController:
		return joinLabels(o.Spec.Selector), nil
	case *appsv1.Deployment:
		return matchLabelsOnly(o.Spec.Selector)
	case *appsv1.ReplicaSet:
		return matchLabelsOnly(o.Spec.Selector)
	}
	return "", fmt.Errorf("cannot extract pod selector from %T", obj)
}

func podSpecOf(obj runtime.Object) (*corev1.PodSpec, bool) {
	switch o := obj.(type) {
	case *corev1.Pod:
		return &o.Spec, true
	case *corev1.ReplicationController:
		if o.Spec.Template == nil {
			return &corev1.PodSpec{}, true
		}
		return &o.Spec.Template.Spec, true
	case *appsv1.Deployment:
		return &o.Spec.Template.Spec, true
	case *appsv1.ReplicaSet:
		return &o.Spec.Template.Spec, true
	}
	return nil, false
}

// portsFor are the ports obj serves: its containers' ports, or a
// service's ports.
func portsFor(obj runtime.Object) ([]string, error) {
	if svc, ok := obj.(*corev1.Service); ok {
		var out []string
		for _, p := range svc.Spec.Ports {
			out = append(out, strconv.Itoa(int(p.Port)))
		}
		return out, nil
	}
	spec, ok := podSpecOf(obj)
	if !ok {
		return nil, fmt.Errorf("cannot extract ports from %T", obj)
	}
	var out []string
	for _, c := range spec.Containers {
		for _, p := range c.Ports {
			out = append(out, strconv.Itoa(int(p.ContainerPort)))
		}
	}
	return out, nil
}

// protocolsFor maps each port of obj to its protocols.
func protocolsFor(obj runtime.Object) (map[string][]string, error) {
	out := map[string][]string{}
	if svc, ok := obj.(*corev1.Service); ok {
		for _, p := range svc.Spec.Ports {
			k := strconv.Itoa(int(p.Port))
			out[k] = append(out[k], string(p.Protocol))
		}
		return out, nil
	}
	spec, ok := podSpecOf(obj)
	if !ok {
		return nil, fmt.Errorf("cannot extract protocols from %T", obj)
	}
	for _, c := range spec.Containers {
		for _, p := range c.Ports {
			k := strconv.Itoa(int(p.ContainerPort))
			out[k] = append(out[k], string(p.Protocol))
		}
	}
	return out, nil
}

func parseLabels(spec string) (map[string]string, error) {
	if spec == "" {
		return nil, fmt.Errorf("no label spec passed")
	}
	labels := map[string]string{}
	for _, s := range strings.Split(spec, ",") {
		kv := strings.Split(s, "=")
		if len(kv) != 2 {
			return nil, fmt.Errorf("unexpected label spec: %s", s)
		}
		if kv[0] == "" {
			return nil, fmt.Errorf("unexpected empty label key")
		}
		labels[kv[0]] = kv[1]
	}
	return labels, nil
}

// service builds the Service as upstream's expose does.
func (o *options) service(defaultName, ports string, protocols map[string][]string) (*corev1.Service, error) {
	if o.selector == "" {
		return nil, fmt.Errorf("selector must be specified")
	}
	selector, err := parseLabels(o.selector)
	if err != nil {
		return nil, err
	}
	var labels map[string]string
	if o.labels != "" {
		if labels, err = parseLabels(o.labels); err != nil {
			return nil, err
		}
	}
	name := o.name
	if name == "" {
		name = defaultName
	}
	if name == "" {
		return nil, fmt.Errorf("name must be specified")
	}
	portString := ports
	if portString == "" {
		portString = o.port
	}
	svcPorts := []corev1.ServicePort{}
	if portString != "" {
		list := strings.Split(portString, ",")
		for i, ps := range list {
			port, err := strconv.Atoi(ps)
			if err != nil {
				return nil, err
			}
			pname := ""
			if len(list) > 1 {
				pname = fmt.Sprintf("port-%d", i+1)
			}
			protocol := o.protocol
			if protocol == "" {
				protocol = "TCP"
				if len(protocols) > 0 {
					if found, ok := protocols[ps]; ok {
						if len(found) > 1 {
							for _, p := range found {
								svcPorts = append(svcPorts, corev1.ServicePort{
									Name: fmt.Sprintf("port-%d-%s", i+1, strings.ToLower(p)), Port: int32(port), Protocol: corev1.Protocol(p)})
							}
							continue
						}
						protocol = found[0]
					}
				}
			}
			svcPorts = append(svcPorts, corev1.ServicePort{Name: pname, Port: int32(port), Protocol: corev1.Protocol(protocol)})
		}
	}
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       corev1.ServiceSpec{Selector: selector, Ports: svcPorts},
	}
	for i := range svc.Spec.Ports {
		if o.targetPort != "" {
			svc.Spec.Ports[i].TargetPort = intstr.Parse(o.targetPort)
		} else {
			svc.Spec.Ports[i].TargetPort = intstr.FromInt32(svc.Spec.Ports[i].Port)
		}
	}
	if o.externalIP != "" {
		svc.Spec.ExternalIPs = []string{o.externalIP}
	}
	if o.svcType != "" {
		svc.Spec.Type = corev1.ServiceType(o.svcType)
	}
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		svc.Spec.LoadBalancerIP = o.loadBalancerIP
	}
	switch corev1.ServiceAffinity(o.sessionAffinity) {
	case "":
	case corev1.ServiceAffinityNone, corev1.ServiceAffinityClientIP:
		svc.Spec.SessionAffinity = corev1.ServiceAffinity(o.sessionAffinity)
	default:
		return nil, fmt.Errorf("unknown session affinity: %s", o.sessionAffinity)
	}
	if o.clusterIP != "" {
		svc.Spec.ClusterIP = o.clusterIP
	}
	return svc, nil
}

// override applies --overrides to svc.
func (o *options) override(svc *corev1.Service) (*corev1.Service, error) {
	if o.overrides == "" {
		return svc, nil
	}
	out, err := util.ApplyOverrides(svc, o.overrides, o.overrideType)
	if err != nil {
		return nil, err
	}
	return out.(*corev1.Service), nil
}
