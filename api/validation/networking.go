package validation

import (
	"net/netip"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// NetworkPolicy.

func validateNetworkPolicy(np *networkingv1.NetworkPolicy) field.ErrorList {
	errs := validateMeta(&np.ObjectMeta, nameSubdomain)
	return append(errs, validateNetworkPolicySpec(&np.Spec, specPath)...)
}

func validateNetworkPolicySpec(spec *networkingv1.NetworkPolicySpec, p *field.Path) field.ErrorList {
	errs := labelSelector(&spec.PodSelector, p.Child("podSelector"))
	for i, r := range spec.Ingress {
		rp := p.Child("ingress").Index(i)
		errs = append(errs, validateNetworkPolicyPorts(r.Ports, rp.Child("ports"))...)
		for j := range r.From {
			errs = append(errs, validateNetworkPolicyPeer(&r.From[j], rp.Child("from").Index(j))...)
		}
	}
	for i, r := range spec.Egress {
		rp := p.Child("egress").Index(i)
		errs = append(errs, validateNetworkPolicyPorts(r.Ports, rp.Child("ports"))...)
		for j := range r.To {
			errs = append(errs, validateNetworkPolicyPeer(&r.To[j], rp.Child("to").Index(j))...)
		}
	}
	if len(spec.PolicyTypes) > 2 {
		errs = append(errs, field.Invalid(p.Child("policyTypes"), spec.PolicyTypes, "may not specify more than two policyTypes"))
	}
	for i, t := range spec.PolicyTypes {
		errs = append(errs, oneOf(t, p.Child("policyTypes").Index(i), true, networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress)...)
	}
	return errs
}

func validateNetworkPolicyPorts(ports []networkingv1.NetworkPolicyPort, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, port := range ports {
		pp := p.Index(i)
		if port.Protocol != nil {
			errs = append(errs, oneOf(*port.Protocol, pp.Child("protocol"), true, protocols...)...)
		}
		if port.Port != nil {
			errs = append(errs, validatePortNumOrName(*port.Port, pp.Child("port"))...)
		}
		if port.EndPort != nil {
			if port.Port == nil || port.Port.Type != 0 {
				errs = append(errs, field.Required(pp.Child("port"), "must be specified when endPort is specified"))
			} else if *port.EndPort < port.Port.IntVal {
				errs = append(errs, field.Invalid(pp.Child("endPort"), *port.EndPort, "must be greater than or equal to `port`"))
			}
			errs = append(errs, msgs(pp.Child("endPort"), *port.EndPort, utilvalidation.IsValidPortNum(int(*port.EndPort)))...)
		}
	}
	return errs
}

func validateNetworkPolicyPeer(peer *networkingv1.NetworkPolicyPeer, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	selectors := peer.PodSelector != nil || peer.NamespaceSelector != nil
	switch {
	case peer.IPBlock != nil && selectors:
		errs = append(errs, field.Forbidden(p, "may not specify both ipBlock and another peer"))
	case peer.IPBlock == nil && !selectors:
		errs = append(errs, field.Required(p, "must specify a peer"))
	}
	errs = append(errs, labelSelector(peer.PodSelector, p.Child("podSelector"))...)
	errs = append(errs, labelSelector(peer.NamespaceSelector, p.Child("namespaceSelector"))...)
	if b := peer.IPBlock; b != nil {
		bp := p.Child("ipBlock")
		if b.CIDR == "" {
			errs = append(errs, field.Required(bp.Child("cidr"), ""))
			return errs
		}
		cidrErrs := utilvalidation.IsValidCIDR(bp.Child("cidr"), b.CIDR)
		errs = append(errs, cidrErrs...)
		outer, err := netip.ParsePrefix(b.CIDR)
		for i, ex := range b.Except {
			ep := bp.Child("except").Index(i)
			exErrs := utilvalidation.IsValidCIDR(ep, ex)
			errs = append(errs, exErrs...)
			if len(cidrErrs) > 0 || len(exErrs) > 0 || err != nil {
				continue
			}
			inner, err := netip.ParsePrefix(ex)
			if err == nil && (!outer.Contains(inner.Addr()) || inner.Bits() <= outer.Bits()) {
				errs = append(errs, field.Invalid(ep, ex, "must be a strict subset of `cidr`"))
			}
		}
	}
	return errs
}

// Ingress.

var pathTypes = []networkingv1.PathType{networkingv1.PathTypeExact, networkingv1.PathTypePrefix, networkingv1.PathTypeImplementationSpecific}

func validateIngress(ing *networkingv1.Ingress) field.ErrorList {
	errs := validateMeta(&ing.ObjectMeta, nameSubdomain)
	return append(errs, validateIngressSpec(&ing.Spec, specPath)...)
}

func validateIngressSpec(spec *networkingv1.IngressSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.DefaultBackend == nil && len(spec.Rules) == 0 {
		errs = append(errs, field.Invalid(p, spec.Rules, "either `defaultBackend` or `rules` must be specified"))
	}
	if spec.DefaultBackend != nil {
		errs = append(errs, validateIngressBackend(spec.DefaultBackend, p.Child("defaultBackend"))...)
	}
	if spec.IngressClassName != nil {
		errs = append(errs, dnsSubdomain(*spec.IngressClassName, p.Child("ingressClassName"))...)
	}
	for i, tls := range spec.TLS {
		for j, h := range tls.Hosts {
			errs = append(errs, validateIngressHost(h, p.Child("tls").Index(i).Child("hosts").Index(j))...)
		}
		if tls.SecretName != "" {
			errs = append(errs, dnsSubdomain(tls.SecretName, p.Child("tls").Index(i).Child("secretName"))...)
		}
	}
	for i, r := range spec.Rules {
		rp := p.Child("rules").Index(i)
		if r.Host != "" {
			errs = append(errs, validateIngressHost(r.Host, rp.Child("host"))...)
		}
		if r.HTTP == nil {
			continue
		}
		hp := rp.Child("http", "paths")
		if len(r.HTTP.Paths) == 0 {
			errs = append(errs, field.Required(hp, ""))
		}
		for j, path := range r.HTTP.Paths {
			pp := hp.Index(j)
			if path.PathType == nil {
				errs = append(errs, field.Required(pp.Child("pathType"), "pathType must be specified"))
			} else {
				errs = append(errs, oneOf(*path.PathType, pp.Child("pathType"), true, pathTypes...)...)
				if *path.PathType != networkingv1.PathTypeImplementationSpecific {
					if !strings.HasPrefix(path.Path, "/") {
						errs = append(errs, field.Invalid(pp.Child("path"), path.Path, "must be an absolute path"))
					} else if strings.Contains(path.Path, "//") {
						errs = append(errs, field.Invalid(pp.Child("path"), path.Path, "must not contain '//'"))
					}
				} else if path.Path != "" && !strings.HasPrefix(path.Path, "/") {
					errs = append(errs, field.Invalid(pp.Child("path"), path.Path, "must be an absolute path"))
				}
			}
			errs = append(errs, validateIngressBackend(&path.Backend, pp.Child("backend"))...)
		}
	}
	return errs
}

func validateIngressHost(h string, p *field.Path) field.ErrorList {
	if _, err := netip.ParseAddr(h); err == nil {
		return field.ErrorList{field.Invalid(p, h, "must be a DNS name, not an IP address")}
	}
	if strings.Contains(h, "*") {
		return msgs(p, h, utilvalidation.IsWildcardDNS1123Subdomain(h))
	}
	return dnsSubdomain(h, p)
}

func validateIngressBackend(b *networkingv1.IngressBackend, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case b.Service != nil && b.Resource != nil:
		return field.ErrorList{field.Invalid(p, b, "cannot set both resource and service backends")}
	case b.Service == nil && b.Resource == nil:
		return field.ErrorList{field.Invalid(p, b, "one backend (`service` or `resource`) must be specified")}
	case b.Resource != nil:
		if b.Resource.Kind == "" {
			errs = append(errs, field.Required(p.Child("resource", "kind"), ""))
		}
		if b.Resource.Name == "" {
			errs = append(errs, field.Required(p.Child("resource", "name"), ""))
		}
	case b.Service != nil:
		sp := p.Child("service")
		if b.Service.Name == "" {
			errs = append(errs, field.Required(sp.Child("name"), ""))
		} else {
			errs = append(errs, msgs(sp.Child("name"), b.Service.Name, name1035Label(b.Service.Name, false))...)
		}
		port := b.Service.Port
		switch {
		case port.Name != "" && port.Number != 0:
			errs = append(errs, field.Invalid(sp.Child("port"), port, "cannot set both port name & port number"))
		case port.Name != "":
			errs = append(errs, msgs(sp.Child("port", "name"), port.Name, utilvalidation.IsValidPortName(port.Name))...)
		case port.Number != 0:
			errs = append(errs, msgs(sp.Child("port", "number"), port.Number, utilvalidation.IsValidPortNum(int(port.Number)))...)
		default:
			errs = append(errs, field.Required(sp.Child("port"), "port name or number is required"))
		}
	}
	return errs
}

// IngressClass.

func validateIngressClass(ic *networkingv1.IngressClass) field.ErrorList {
	errs := validateMeta(&ic.ObjectMeta, nameSubdomain)
	return append(errs, validateIngressClassSpec(&ic.Spec, specPath)...)
}

func validateIngressClassSpec(spec *networkingv1.IngressClassSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	cp := p.Child("controller")
	if spec.Controller == "" {
		errs = append(errs, field.Required(cp, ""))
	} else {
		if len(spec.Controller) > 250 {
			errs = append(errs, field.TooLong(cp, "", 250))
		}
		errs = append(errs, utilvalidation.IsDomainPrefixedPath(cp, spec.Controller)...)
	}
	if par := spec.Parameters; par != nil {
		pp := p.Child("parameters")
		if par.Kind == "" {
			errs = append(errs, field.Required(pp.Child("kind"), ""))
		}
		if par.Name == "" {
			errs = append(errs, field.Required(pp.Child("name"), ""))
		}
		if par.Scope != nil {
			errs = append(errs, oneOf(*par.Scope, pp.Child("scope"), true, networkingv1.IngressClassParametersReferenceScopeCluster, networkingv1.IngressClassParametersReferenceScopeNamespace)...)
			if *par.Scope == networkingv1.IngressClassParametersReferenceScopeNamespace && (par.Namespace == nil || *par.Namespace == "") {
				errs = append(errs, field.Required(pp.Child("namespace"), "`parameters.scope` is set to 'Namespace'"))
			}
			if *par.Scope == networkingv1.IngressClassParametersReferenceScopeCluster && par.Namespace != nil {
				errs = append(errs, field.Forbidden(pp.Child("namespace"), "`parameters.scope` is set to 'Cluster'"))
			}
		}
	}
	return errs
}

func validateIngressClassUpdate(ic, old *networkingv1.IngressClass) field.ErrorList {
	errs := validateMetaUpdate(&ic.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validateIngressClassSpec(&ic.Spec, specPath)...)
	return append(errs, immutable(ic.Spec.Controller, old.Spec.Controller, specPath.Child("controller"))...)
}

// IPAddress and ServiceCIDR.

func validateIPAddress(ip *networkingv1.IPAddress) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateMeta(&ip.ObjectMeta, func(name string, prefix bool) []string {
		a, err := netip.ParseAddr(name)
		if err != nil {
			return []string{"must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"}
		}
		if a.String() != name {
			return []string{"must be in canonical form (\"" + a.String() + "\")"}
		}
		return nil
	})...)
	rp := specPath.Child("parentRef")
	if ip.Spec.ParentRef == nil {
		return append(errs, field.Required(rp, ""))
	}
	if ip.Spec.ParentRef.Resource == "" {
		errs = append(errs, field.Required(rp.Child("resource"), ""))
	}
	if ip.Spec.ParentRef.Name == "" {
		errs = append(errs, field.Required(rp.Child("name"), ""))
	}
	return errs
}

func validateServiceCIDR(sc *networkingv1.ServiceCIDR) field.ErrorList {
	errs := validateMeta(&sc.ObjectMeta, nameSubdomain)
	cp := specPath.Child("cidrs")
	switch {
	case len(sc.Spec.CIDRs) == 0:
		errs = append(errs, field.Required(cp, "at least one CIDR required"))
	case len(sc.Spec.CIDRs) > 2:
		errs = append(errs, field.Invalid(cp, sc.Spec.CIDRs, "may only hold up to 2 values"))
	}
	for i, c := range sc.Spec.CIDRs {
		errs = append(errs, utilvalidation.IsValidCIDR(cp.Index(i), c)...)
	}
	return errs
}
