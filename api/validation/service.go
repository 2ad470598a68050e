package validation

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var (
	serviceTypes      = []corev1.ServiceType{corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeExternalName}
	sessionAffinities = []corev1.ServiceAffinity{corev1.ServiceAffinityClientIP, corev1.ServiceAffinityNone}
	trafficPolicies   = []corev1.ServiceExternalTrafficPolicy{corev1.ServiceExternalTrafficPolicyCluster, corev1.ServiceExternalTrafficPolicyLocal}
	ipFamilyPolicies  = []corev1.IPFamilyPolicy{corev1.IPFamilyPolicySingleStack, corev1.IPFamilyPolicyPreferDualStack, corev1.IPFamilyPolicyRequireDualStack}
	ipFamilies        = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
	addressTypes      = []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6, discoveryv1.AddressTypeFQDN}
)

func validateService(svc *corev1.Service) field.ErrorList {
	errs := validateMeta(&svc.ObjectMeta, name1035Label)
	return append(errs, validateServiceSpec(&svc.Spec, nil, field.NewPath("spec"))...)
}

// validateServiceSpec checks a service spec. On update, old is the stored
// spec: type-dependent fields it already had (clusterIPs when switching to
// ExternalName, nodePorts when switching to ClusterIP, ...) are tolerated
// because the REST layer drops them after a type change, as upstream's
// strategy does before validating.
func validateServiceSpec(spec, old *corev1.ServiceSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	carried := func(same func(o *corev1.ServiceSpec) bool) bool { return old != nil && same(old) }
	headless := spec.ClusterIP == corev1.ClusterIPNone
	externalName := spec.Type == corev1.ServiceTypeExternalName

	errs = append(errs, oneOf(spec.Type, p.Child("type"), true, serviceTypes...)...)
	if externalName {
		if len(spec.ClusterIPs) > 0 && !carried(func(o *corev1.ServiceSpec) bool { return equalStrings(o.ClusterIPs, spec.ClusterIPs) }) {
			errs = append(errs, field.Forbidden(p.Child("clusterIPs"), "may not be set for ExternalName services"))
		}
		if spec.ExternalName == "" {
			errs = append(errs, field.Required(p.Child("externalName"), ""))
		} else {
			errs = append(errs, utilvalidation.IsFullyQualifiedDomainName(p.Child("externalName"), strings.TrimSuffix(spec.ExternalName, "."))...)
		}
	} else {
		errs = append(errs, validateClusterIPs(spec, p)...)
	}
	if len(spec.Ports) == 0 && !headless && !externalName {
		errs = append(errs, field.Required(p.Child("ports"), ""))
	}
	names := map[string]bool{}
	seen := map[string]bool{}
	for i := range spec.Ports {
		port := &spec.Ports[i]
		pp := p.Child("ports").Index(i)
		np := pp.Child("name")
		switch {
		case port.Name == "" && len(spec.Ports) > 1:
			errs = append(errs, field.Required(np, ""))
		case port.Name != "":
			errs = append(errs, dnsLabel(port.Name, np)...)
			if names[port.Name] {
				errs = append(errs, field.Duplicate(np, port.Name))
			}
			names[port.Name] = true
		}
		errs = append(errs, msgs(pp.Child("port"), port.Port, utilvalidation.IsValidPortNum(int(port.Port)))...)
		errs = append(errs, oneOf(port.Protocol, pp.Child("protocol"), true, protocols...)...)
		errs = append(errs, validatePortNumOrName(port.TargetPort, pp.Child("targetPort"))...)
		if port.AppProtocol != nil {
			errs = append(errs, qualifiedName(*port.AppProtocol, pp.Child("appProtocol"))...)
		}
		if port.NodePort != 0 {
			oldPort := func(o *corev1.ServiceSpec) bool {
				for _, op := range o.Ports {
					if op.NodePort == port.NodePort {
						return true
					}
				}
				return false
			}
			if (spec.Type == corev1.ServiceTypeClusterIP || externalName) && !carried(oldPort) {
				errs = append(errs, field.Forbidden(pp.Child("nodePort"), fmt.Sprintf("may not be used when `type` is '%s'", spec.Type)))
			} else {
				errs = append(errs, msgs(pp.Child("nodePort"), port.NodePort, utilvalidation.IsValidPortNum(int(port.NodePort)))...)
			}
		}
		key := fmt.Sprintf("%s/%d", port.Protocol, port.Port)
		if seen[key] {
			errs = append(errs, field.Duplicate(pp, fmt.Sprintf("{%s %d}", port.Protocol, port.Port)))
		}
		seen[key] = true
	}
	if !externalName {
		errs = append(errs, labels(spec.Selector, p.Child("selector"))...)
	}
	errs = append(errs, oneOf(spec.SessionAffinity, p.Child("sessionAffinity"), true, sessionAffinities...)...)
	if spec.SessionAffinity == corev1.ServiceAffinityClientIP {
		c := spec.SessionAffinityConfig
		if c == nil || c.ClientIP == nil || c.ClientIP.TimeoutSeconds == nil {
			errs = append(errs, field.Required(p.Child("sessionAffinityConfig"), fmt.Sprintf("when session affinity type is %s", corev1.ServiceAffinityClientIP)))
		} else if t := *c.ClientIP.TimeoutSeconds; t <= 0 || t > maxClientIPServiceAffinitySeconds {
			errs = append(errs, field.Invalid(p.Child("sessionAffinityConfig", "clientIP", "timeoutSeconds"), t,
				fmt.Sprintf("must be greater than 0 and less than %d", maxClientIPServiceAffinitySeconds)))
		}
	} else if spec.SessionAffinityConfig != nil {
		errs = append(errs, field.Invalid(p.Child("sessionAffinityConfig"), spec.SessionAffinityConfig,
			fmt.Sprintf("must not be set when session affinity is %s", spec.SessionAffinity)))
	}
	externallyAccessible := spec.Type == corev1.ServiceTypeNodePort || spec.Type == corev1.ServiceTypeLoadBalancer ||
		(spec.Type == corev1.ServiceTypeClusterIP && len(spec.ExternalIPs) > 0)
	if spec.ExternalTrafficPolicy != "" {
		if !externallyAccessible && !carried(func(o *corev1.ServiceSpec) bool { return o.ExternalTrafficPolicy == spec.ExternalTrafficPolicy }) {
			errs = append(errs, field.Invalid(p.Child("externalTrafficPolicy"), spec.ExternalTrafficPolicy, "may only be set for externally-accessible services"))
		} else {
			errs = append(errs, oneOf(spec.ExternalTrafficPolicy, p.Child("externalTrafficPolicy"), false, trafficPolicies...)...)
		}
	} else if externallyAccessible {
		errs = append(errs, field.Required(p.Child("externalTrafficPolicy"), ""))
	}
	if spec.InternalTrafficPolicy != nil {
		errs = append(errs, oneOf(*spec.InternalTrafficPolicy, p.Child("internalTrafficPolicy"), false, corev1.ServiceInternalTrafficPolicyCluster, corev1.ServiceInternalTrafficPolicyLocal)...)
	}
	if spec.HealthCheckNodePort != 0 && !(spec.Type == corev1.ServiceTypeLoadBalancer && spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal) &&
		!carried(func(o *corev1.ServiceSpec) bool { return o.HealthCheckNodePort == spec.HealthCheckNodePort }) {
		errs = append(errs, field.Invalid(p.Child("healthCheckNodePort"), spec.HealthCheckNodePort, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"))
	}
	if spec.AllocateLoadBalancerNodePorts != nil && spec.Type != corev1.ServiceTypeLoadBalancer && !carried(func(o *corev1.ServiceSpec) bool { return o.AllocateLoadBalancerNodePorts != nil }) {
		errs = append(errs, field.Forbidden(p.Child("allocateLoadBalancerNodePorts"), "may only be used when `type` is 'LoadBalancer'"))
	}
	if spec.LoadBalancerClass != nil {
		if spec.Type != corev1.ServiceTypeLoadBalancer {
			if !carried(func(o *corev1.ServiceSpec) bool {
				return o.LoadBalancerClass != nil && *o.LoadBalancerClass == *spec.LoadBalancerClass
			}) {
				errs = append(errs, field.Forbidden(p.Child("loadBalancerClass"), "may only be used when `type` is 'LoadBalancer'"))
			}
		} else {
			errs = append(errs, qualifiedName(*spec.LoadBalancerClass, p.Child("loadBalancerClass"))...)
		}
	}
	for i, ip := range spec.ExternalIPs {
		errs = append(errs, utilvalidation.IsValidIP(p.Child("externalIPs").Index(i), ip)...)
	}
	if len(spec.LoadBalancerSourceRanges) > 0 && spec.Type != corev1.ServiceTypeLoadBalancer {
		errs = append(errs, field.Forbidden(p.Child("loadBalancerSourceRanges"), "may only be used when `type` is 'LoadBalancer'"))
	}
	for i, r := range spec.LoadBalancerSourceRanges {
		errs = append(errs, utilvalidation.IsValidCIDR(p.Child("loadBalancerSourceRanges").Index(i), strings.TrimSpace(r))...)
	}
	if spec.IPFamilyPolicy != nil {
		errs = append(errs, oneOf(*spec.IPFamilyPolicy, p.Child("ipFamilyPolicy"), false, ipFamilyPolicies...)...)
	}
	seenFam := map[corev1.IPFamily]bool{}
	for i, f := range spec.IPFamilies {
		fp := p.Child("ipFamilies").Index(i)
		errs = append(errs, oneOf(f, fp, true, ipFamilies...)...)
		if seenFam[f] {
			errs = append(errs, field.Duplicate(fp, f))
		}
		seenFam[f] = true
	}
	if len(spec.IPFamilies) > 2 {
		errs = append(errs, field.Invalid(p.Child("ipFamilies"), spec.IPFamilies, "may specify no more than one IP for each IP family"))
	}
	return errs
}

func validateClusterIPs(spec *corev1.ServiceSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	// clusterIP alone (or clusterIPs alone) is normalized into both by the
	// REST layer; when both are given they must agree.
	if len(spec.ClusterIPs) > 0 && spec.ClusterIP != "" && spec.ClusterIP != spec.ClusterIPs[0] {
		errs = append(errs, field.Invalid(p.Child("clusterIPs"), spec.ClusterIPs, "first value must match `clusterIP`"))
	}
	if len(spec.ClusterIPs) == 0 && spec.ClusterIP != "" && spec.ClusterIP != corev1.ClusterIPNone {
		errs = append(errs, utilvalidation.IsValidIP(p.Child("clusterIP"), spec.ClusterIP)...)
	}
	if len(spec.ClusterIPs) > 2 {
		errs = append(errs, field.Invalid(p.Child("clusterIPs"), spec.ClusterIPs, "may only hold up to 2 values"))
	}
	for i, ip := range spec.ClusterIPs {
		ip4 := p.Child("clusterIPs").Index(i)
		if ip == corev1.ClusterIPNone {
			if i != 0 || len(spec.ClusterIPs) > 1 {
				errs = append(errs, field.Invalid(ip4, ip, "'None' must be the first and only value"))
			}
			continue
		}
		errs = append(errs, utilvalidation.IsValidIP(ip4, ip)...)
	}
	if spec.ClusterIP == corev1.ClusterIPNone && (spec.Type == corev1.ServiceTypeNodePort || spec.Type == corev1.ServiceTypeLoadBalancer) {
		errs = append(errs, field.Invalid(p.Child("type"), spec.Type, fmt.Sprintf("may not be set to %s for headless services", spec.Type)))
	}
	return errs
}

func validateServiceUpdate(svc, old *corev1.Service) field.ErrorList {
	errs := validateMetaUpdate(&svc.ObjectMeta, &old.ObjectMeta)
	p := field.NewPath("spec")
	errs = append(errs, validateServiceSpec(&svc.Spec, &old.Spec, p)...)
	// Cluster IPs are fixed once allocated, except across a change to or
	// from ExternalName (which has none).
	if svc.Spec.Type == corev1.ServiceTypeExternalName || old.Spec.Type == corev1.ServiceTypeExternalName || len(old.Spec.ClusterIPs) == 0 {
		return errs
	}
	ips := p.Child("clusterIPs")
	newIPs := svc.Spec.ClusterIPs
	if len(newIPs) == 0 && svc.Spec.ClusterIP != "" {
		newIPs = []string{svc.Spec.ClusterIP} // normalized by the REST layer
	}
	if len(newIPs) == 0 {
		return append(errs, field.Invalid(ips.Index(0), svc.Spec.ClusterIPs, "primary clusterIP can not be unset"))
	}
	if newIPs[0] != old.Spec.ClusterIPs[0] {
		errs = append(errs, field.Invalid(ips.Index(0), newIPs[0], "may not change once set"))
	}
	if len(newIPs) > 1 && len(old.Spec.ClusterIPs) > 1 && newIPs[1] != old.Spec.ClusterIPs[1] {
		errs = append(errs, field.Invalid(ips.Index(1), newIPs[1], "may not change once set"))
	}
	if len(old.Spec.IPFamilies) > 0 && len(svc.Spec.IPFamilies) > 0 && svc.Spec.IPFamilies[0] != old.Spec.IPFamilies[0] {
		errs = append(errs, field.Invalid(p.Child("ipFamilies").Index(0), svc.Spec.IPFamilies[0], "may not change once set"))
	}
	return errs
}

func validateServiceStatusUpdate(svc, old *corev1.Service) field.ErrorList {
	errs := validateMetaUpdate(&svc.ObjectMeta, &old.ObjectMeta)
	ip := field.NewPath("status", "loadBalancer", "ingress")
	for i, ing := range svc.Status.LoadBalancer.Ingress {
		p := ip.Index(i)
		if ing.IP != "" {
			errs = append(errs, utilvalidation.IsValidIP(p.Child("ip"), ing.IP)...)
		}
		if ing.Hostname != "" {
			errs = append(errs, dnsSubdomain(ing.Hostname, p.Child("hostname"))...)
		}
		if ing.IPMode != nil && ing.IP == "" {
			errs = append(errs, field.Forbidden(p.Child("ipMode"), "may not be specified when `ip` is not set"))
		}
	}
	return errs
}

func validateEndpoints(ep *corev1.Endpoints) field.ErrorList {
	errs := validateMeta(&ep.ObjectMeta, nameSubdomain)
	return append(errs, validateEndpointsSubsets(ep.Subsets)...)
}

func validateEndpointsSubsets(subsets []corev1.EndpointSubset) field.ErrorList {
	var errs field.ErrorList
	for i, ss := range subsets {
		sp := field.NewPath("subsets").Index(i)
		if len(ss.Addresses) == 0 && len(ss.NotReadyAddresses) == 0 {
			errs = append(errs, field.Required(sp, "must specify `addresses` or `notReadyAddresses`"))
		}
		for j, a := range ss.Addresses {
			errs = append(errs, validateEndpointAddress(&a, sp.Child("addresses").Index(j))...)
		}
		for j, a := range ss.NotReadyAddresses {
			errs = append(errs, validateEndpointAddress(&a, sp.Child("notReadyAddresses").Index(j))...)
		}
		for j, port := range ss.Ports {
			pp := sp.Child("ports").Index(j)
			if len(ss.Ports) > 1 && port.Name == "" {
				errs = append(errs, field.Required(pp.Child("name"), ""))
			} else if port.Name != "" {
				errs = append(errs, dnsLabel(port.Name, pp.Child("name"))...)
			}
			errs = append(errs, msgs(pp.Child("port"), port.Port, utilvalidation.IsValidPortNum(int(port.Port)))...)
			errs = append(errs, oneOf(port.Protocol, pp.Child("protocol"), true, protocols...)...)
		}
	}
	return errs
}

func validateEndpointAddress(a *corev1.EndpointAddress, p *field.Path) field.ErrorList {
	errs := utilvalidation.IsValidIP(p.Child("ip"), a.IP)
	if a.Hostname != "" {
		errs = append(errs, dnsLabel(a.Hostname, p.Child("hostname"))...)
	}
	if a.NodeName != nil {
		errs = append(errs, dnsSubdomain(*a.NodeName, p.Child("nodeName"))...)
	}
	return errs
}

const (
	maxEndpointSliceEndpoints = 1000
	maxEndpointSlicePorts     = 20000
	maxTopologyHints          = 8
)

func validateEndpointSlice(es *discoveryv1.EndpointSlice) field.ErrorList {
	errs := validateMeta(&es.ObjectMeta, nameSubdomain)
	errs = append(errs, oneOf(es.AddressType, field.NewPath("addressType"), true, addressTypes...)...)
	return append(errs, validateEndpointSliceBody(es)...)
}

func validateEndpointSliceBody(es *discoveryv1.EndpointSlice) field.ErrorList {
	var errs field.ErrorList
	ep := field.NewPath("endpoints")
	if len(es.Endpoints) > maxEndpointSliceEndpoints {
		errs = append(errs, field.TooMany(ep, len(es.Endpoints), maxEndpointSliceEndpoints))
	}
	for i, e := range es.Endpoints {
		p := ep.Index(i)
		ap := p.Child("addresses")
		if len(e.Addresses) == 0 {
			errs = append(errs, field.Required(ap, "must contain at least 1 address"))
		} else if len(e.Addresses) > 100 {
			errs = append(errs, field.TooMany(ap, len(e.Addresses), 100))
		}
		for j, a := range e.Addresses {
			switch es.AddressType {
			case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6:
				ipErrs := utilvalidation.IsValidIP(ap.Index(j), a)
				errs = append(errs, ipErrs...)
				if len(ipErrs) == 0 && (strings.Contains(a, ":") != (es.AddressType == discoveryv1.AddressTypeIPv6)) {
					errs = append(errs, field.Invalid(ap.Index(j), a, fmt.Sprintf("must be an %s address", es.AddressType)))
				}
			case discoveryv1.AddressTypeFQDN:
				errs = append(errs, dnsSubdomain(a, ap.Index(j))...)
			}
		}
		if e.Hostname != nil {
			errs = append(errs, dnsLabel(*e.Hostname, p.Child("hostname"))...)
		}
		if e.NodeName != nil {
			errs = append(errs, dnsSubdomain(*e.NodeName, p.Child("nodeName"))...)
		}
		errs = append(errs, labels(e.DeprecatedTopology, p.Child("deprecatedTopology"))...)
		if e.Hints != nil && len(e.Hints.ForZones) > maxTopologyHints {
			errs = append(errs, field.TooMany(p.Child("hints", "forZones"), len(e.Hints.ForZones), maxTopologyHints))
		}
	}
	pp := field.NewPath("ports")
	if len(es.Ports) > maxEndpointSlicePorts {
		errs = append(errs, field.TooMany(pp, len(es.Ports), maxEndpointSlicePorts))
	}
	names := map[string]bool{}
	for i, port := range es.Ports {
		p := pp.Index(i)
		if port.Name != nil && *port.Name != "" {
			errs = append(errs, dnsLabel(*port.Name, p.Child("name"))...)
		}
		name := ""
		if port.Name != nil {
			name = *port.Name
		}
		if names[name] {
			errs = append(errs, field.Duplicate(p.Child("name"), name))
		}
		names[name] = true
		if port.Protocol == nil {
			errs = append(errs, field.Required(p.Child("protocol"), ""))
		} else {
			errs = append(errs, oneOf(*port.Protocol, p.Child("protocol"), true, protocols...)...)
		}
		if port.Port != nil {
			errs = append(errs, msgs(p.Child("port"), *port.Port, utilvalidation.IsValidPortNum(int(*port.Port)))...)
		}
		if port.AppProtocol != nil {
			errs = append(errs, qualifiedName(*port.AppProtocol, p.Child("appProtocol"))...)
		}
	}
	return errs
}

func validateEndpointSliceUpdate(es, old *discoveryv1.EndpointSlice) field.ErrorList {
	errs := validateMetaUpdate(&es.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, immutable(es.AddressType, old.AddressType, field.NewPath("addressType"))...)
	return append(errs, validateEndpointSliceBody(es)...)
}

// maxClientIPServiceAffinitySeconds is the ClientIP affinity timeout cap (one day).
const maxClientIPServiceAffinitySeconds = 86400

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
