package describe

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
)

func describeService(ctx context.Context, cs kubernetes.Interface, ns, name string, s settings) (string, error) {
	svc, err := cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	var slices []discoveryv1.EndpointSlice
	if list, err := cs.DiscoveryV1().EndpointSlices(svc.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + svc.Name,
	}); err == nil {
		slices = list.Items
	}
	events := searchEventsOrNil(ctx, cs, s, svc.Namespace, svc.Name, "Service", string(svc.UID))
	return tabbed(func(w *writer) error {
		printObjectMeta(w, svc)
		w.write(0, "Selector:\t%s\n", labels.FormatLabels(svc.Spec.Selector))
		w.write(0, "Type:\t%s\n", svc.Spec.Type)
		if svc.Spec.IPFamilyPolicy != nil {
			w.write(0, "IP Family Policy:\t%s\n", *svc.Spec.IPFamilyPolicy)
		}
		if len(svc.Spec.IPFamilies) > 0 {
			var fams []string
			for _, f := range svc.Spec.IPFamilies {
				fams = append(fams, string(f))
			}
			w.write(0, "IP Families:\t%s\n", strings.Join(fams, ","))
		} else {
			w.write(0, "IP Families:\t%s\n", "<none>")
		}
		w.write(0, "IP:\t%s\n", svc.Spec.ClusterIP)
		if len(svc.Spec.ClusterIPs) > 0 {
			w.write(0, "IPs:\t%s\n", strings.Join(svc.Spec.ClusterIPs, ","))
		} else {
			w.write(0, "IPs:\t%s\n", "<none>")
		}
		if len(svc.Spec.ExternalIPs) > 0 {
			w.write(0, "External IPs:\t%v\n", strings.Join(svc.Spec.ExternalIPs, ","))
		}
		if svc.Spec.LoadBalancerIP != "" {
			w.write(0, "Desired LoadBalancer IP:\t%s\n", svc.Spec.LoadBalancerIP)
		}
		if svc.Spec.ExternalName != "" {
			w.write(0, "External Name:\t%s\n", svc.Spec.ExternalName)
		}
		if ing := svc.Status.LoadBalancer.Ingress; len(ing) > 0 {
			var parts []string
			for _, i := range ing {
				if i.IP != "" {
					p := i.IP
					if i.IPMode != nil {
						p += fmt.Sprintf(" (%s)", *i.IPMode)
					}
					parts = append(parts, p)
				} else {
					parts = append(parts, i.Hostname)
				}
			}
			w.write(0, "LoadBalancer Ingress:\t%s\n", strings.Join(parts, ", "))
		}
		for _, sp := range svc.Spec.Ports {
			pname := sp.Name
			if pname == "" {
				pname = "<unset>"
			}
			w.write(0, "Port:\t%s\t%d/%s\n", pname, sp.Port, sp.Protocol)
			if sp.TargetPort.Type == intstr.Int {
				w.write(0, "TargetPort:\t%d/%s\n", sp.TargetPort.IntVal, sp.Protocol)
			} else {
				w.write(0, "TargetPort:\t%s/%s\n", sp.TargetPort.StrVal, sp.Protocol)
			}
			if sp.AppProtocol != nil {
				w.write(0, "AppProtocol:\t%s\n", *sp.AppProtocol)
			}
			if sp.NodePort != 0 {
				w.write(0, "NodePort:\t%s\t%d/%s\n", pname, sp.NodePort, sp.Protocol)
			}
			w.write(0, "Endpoints:\t%s\n", endpointSliceAddresses(slices, sp.Name))
		}
		w.write(0, "Session Affinity:\t%s\n", svc.Spec.SessionAffinity)
		if svc.Spec.ExternalTrafficPolicy != "" {
			w.write(0, "External Traffic Policy:\t%s\n", svc.Spec.ExternalTrafficPolicy)
		}
		if svc.Spec.InternalTrafficPolicy != nil {
			w.write(0, "Internal Traffic Policy:\t%s\n", *svc.Spec.InternalTrafficPolicy)
		}
		if svc.Spec.HealthCheckNodePort != 0 {
			w.write(0, "HealthCheck NodePort:\t%d\n", svc.Spec.HealthCheckNodePort)
		}
		if len(svc.Spec.LoadBalancerSourceRanges) > 0 {
			w.write(0, "LoadBalancer Source Ranges:\t%v\n", strings.Join(svc.Spec.LoadBalancerSourceRanges, ","))
		}
		if svc.Spec.TrafficDistribution != nil {
			w.write(0, "Traffic Distribution:\t%s\n", *svc.Spec.TrafficDistribution)
		}
		printEvents(w, events)
		return nil
	})
}

// endpointSliceAddresses lists up to three ready endpoints of the named
// port ("host:port"), then "+ N more...".
func endpointSliceAddresses(slices []discoveryv1.EndpointSlice, portName string) string {
	if len(slices) == 0 {
		return "<none>"
	}
	const max = 3
	var list []string
	more, count := false, 0
	add := func(ep discoveryv1.Endpoint, s string) {
		if len(list) == max {
			more = true
		}
		if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
			return
		}
		if !more {
			list = append(list, s)
		}
		count++
	}
	for _, sl := range slices {
		if len(sl.Ports) == 0 {
			for _, ep := range sl.Endpoints {
				add(ep, ep.Addresses[0])
			}
			continue
		}
		for _, p := range sl.Ports {
			if p.Name == nil || *p.Name != portName {
				continue
			}
			for _, ep := range sl.Endpoints {
				port := 0
				if p.Port != nil {
					port = int(*p.Port)
				}
				add(ep, net.JoinHostPort(ep.Addresses[0], strconv.Itoa(port)))
			}
		}
	}
	out := strings.Join(list, ",")
	if more {
		return fmt.Sprintf("%s + %d more...", out, count-max)
	}
	return out
}

func describeEndpoints(ctx context.Context, cs kubernetes.Interface, ns, name string, s settings) (string, error) {
	ep, err := cs.CoreV1().Endpoints(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	events := searchEventsOrNil(ctx, cs, s, ep.Namespace, ep.Name, "Endpoints", string(ep.UID))
	return tabbed(func(w *writer) error {
		printObjectMeta(w, ep)
		w.write(0, "Subsets:\n")
		for _, ss := range ep.Subsets {
			var ready, notReady []string
			for _, a := range ss.Addresses {
				ready = append(ready, a.IP)
			}
			for _, a := range ss.NotReadyAddresses {
				notReady = append(notReady, a.IP)
			}
			w.write(1, "Addresses:\t%s\n", orNone(strings.Join(ready, ",")))
			w.write(1, "NotReadyAddresses:\t%s\n", orNone(strings.Join(notReady, ",")))
			if len(ss.Ports) > 0 {
				w.write(1, "Ports:\n")
				w.write(2, "Name\tPort\tProtocol\n")
				w.write(2, "----\t----\t--------\n")
				for _, p := range ss.Ports {
					n := p.Name
					if n == "" {
						n = "<unset>"
					}
					w.write(2, "%s\t%d\t%s\n", n, p.Port, p.Protocol)
				}
			}
			w.write(0, "\n")
		}
		printEvents(w, events)
		return nil
	})
}

func describeNamespace(ctx context.Context, cs kubernetes.Interface, _, name string, s settings) (string, error) {
	ns, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	// A NotFound leaves out the quotas or limit ranges, an empty list
	// says there are none.
	opts := metav1.ListOptions{Limit: s.chunkSize}
	quotas, err := listAll(opts, func(opts metav1.ListOptions) ([]corev1.ResourceQuota, string, error) {
		l, err := cs.CoreV1().ResourceQuotas(ns.Name).List(ctx, opts)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	})
	hasQuotas := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return "", err
	}
	limits, err := listAll(opts, func(opts metav1.ListOptions) ([]corev1.LimitRange, string, error) {
		l, err := cs.CoreV1().LimitRanges(ns.Name).List(ctx, opts)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	})
	hasLimits := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return "", err
	}
	return tabbed(func(w *writer) error {
		w.write(0, "Name:\t%s\n", ns.Name)
		printLabels(w, "Labels", ns.Labels)
		printAnnotations(w, "Annotations", ns.Annotations)
		w.write(0, "Status:\t%s\n", ns.Status.Phase)
		if len(ns.Status.Conditions) > 0 {
			w.write(0, "Conditions:\n")
			w.write(1, "Type\tStatus\tLastTransitionTime\tReason\tMessage\n")
			w.write(1, "----\t------\t------------------\t------\t-------\n")
			for _, c := range ns.Status.Conditions {
				w.write(1, "%v\t%v\t%s\t%v\t%v\n", c.Type, c.Status, rfc1123(c.LastTransitionTime), c.Reason, c.Message)
			}
		}
		if hasQuotas {
			w.write(0, "\n")
			printQuotas(w, quotas)
		}
		if hasLimits {
			w.write(0, "\n")
			printLimitRanges(w, limits)
		}
		return nil
	})
}

var quotaScopeHelp = map[corev1.ResourceQuotaScope]string{
	corev1.ResourceQuotaScopeTerminating:    "Matches all pods that have an active deadline. These pods have a limited lifespan on a node before being actively terminated by the system.",
	corev1.ResourceQuotaScopeNotTerminating: "Matches all pods that do not have an active deadline. These pods usually include long running pods whose container command is not expected to terminate.",
	corev1.ResourceQuotaScopeBestEffort:     "Matches all pods that do not have resource requirements set. These pods have a best effort quality of service.",
	corev1.ResourceQuotaScopeNotBestEffort:  "Matches all pods that have at least one resource requirement set. These pods have a burstable or guaranteed quality of service.",
}

func printQuotas(w *writer, quotas []corev1.ResourceQuota) {
	if len(quotas) == 0 {
		w.write(0, "No resource quota.\n")
		return
	}
	items := append([]corev1.ResourceQuota(nil), quotas...)
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	w.write(0, "Resource Quotas\n")
	for _, q := range items {
		w.write(1, "Name:\t%s\n", q.Name)
		if len(q.Spec.Scopes) > 0 {
			var scopes []string
			for _, sc := range q.Spec.Scopes {
				scopes = append(scopes, string(sc))
			}
			sort.Strings(scopes)
			w.write(1, "Scopes:\t%s\n", strings.Join(scopes, ", "))
			for _, sc := range scopes {
				if h := quotaScopeHelp[corev1.ResourceQuotaScope(sc)]; h != "" {
					w.write(1, "* %s\n", h)
				}
			}
		}
		w.write(1, "Resource\tUsed\tHard\n")
		w.write(1, "--------\t---\t---\n")
		for _, r := range sortedResourceNames(q.Status.Hard) {
			hard, used := q.Status.Hard[r], q.Status.Used[r]
			w.write(1, "%s\t%s\t%s\n", r, used.String(), hard.String())
		}
	}
}

func printLimitRanges(w *writer, lrs []corev1.LimitRange) {
	if len(lrs) == 0 {
		w.write(0, "No LimitRange resource.\n")
		return
	}
	w.write(0, "Resource Limits\n Type\tResource\tMin\tMax\tDefault Request\tDefault Limit\tMax Limit/Request Ratio\n")
	w.write(0, " ----\t--------\t---\t---\t---------------\t-------------\t-----------------------\n")
	for _, lr := range lrs {
		for _, item := range lr.Spec.Limits {
			set := corev1.ResourceList{}
			for _, m := range []corev1.ResourceList{item.Max, item.Min, item.Default, item.DefaultRequest, item.MaxLimitRequestRatio} {
				for k := range m {
					set[k] = resource.Quantity{}
				}
			}
			val := func(m corev1.ResourceList, k corev1.ResourceName) string {
				if q, ok := m[k]; ok {
					return q.String()
				}
				return "-"
			}
			for _, k := range sortedResourceNames(set) {
				w.write(0, " %s\t%v\t%v\t%v\t%v\t%v\t%v\n", item.Type, k, val(item.Min, k), val(item.Max, k),
					val(item.DefaultRequest, k), val(item.Default, k), val(item.MaxLimitRequestRatio, k))
			}
		}
	}
}

func describeConfigMap(ctx context.Context, cs kubernetes.Interface, ns, name string, s settings) (string, error) {
	cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	return tabbed(func(w *writer) error {
		printObjectMeta(w, cm)
		w.write(0, "\nData\n====\n")
		for _, k := range sortedKeys(cm.Data) {
			w.write(0, "%s:\n----\n", k)
			w.write(0, "%s\n", cm.Data[k])
			w.write(0, "\n")
		}
		w.write(0, "\nBinaryData\n====\n")
		for _, k := range sortedKeys(cm.BinaryData) {
			w.write(0, "%s: %s bytes\n", k, strconv.Itoa(len(cm.BinaryData[k])))
		}
		w.write(0, "\n")
		printEvents(w, searchEventsOrNil(ctx, cs, s, cm.Namespace, cm.Name, "ConfigMap", string(cm.UID)))
		return nil
	})
}

func describeSecret(ctx context.Context, cs kubernetes.Interface, ns, name string, _ settings) (string, error) {
	sec, err := cs.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	return tabbed(func(w *writer) error {
		printObjectMeta(w, sec)
		w.write(0, "\nType:\t%s\n", sec.Type)
		w.write(0, "\nData\n====\n")
		for _, k := range sortedKeys(sec.Data) {
			if k == corev1.ServiceAccountTokenKey && sec.Type == corev1.SecretTypeServiceAccountToken {
				w.write(0, "%s:\t%s\n", k, string(sec.Data[k]))
				continue
			}
			w.write(0, "%s:\t%d bytes\n", k, len(sec.Data[k]))
		}
		return nil
	})
}

func describeServiceAccount(ctx context.Context, cs kubernetes.Interface, ns, name string, s settings) (string, error) {
	sa, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	events := searchEventsOrNil(ctx, cs, s, sa.Namespace, sa.Name, "ServiceAccount", string(sa.UID))
	return tabbed(func(w *writer) error {
		printObjectMeta(w, sa)
		const header, empty = "Image pull secrets:", "                   "
		if len(sa.ImagePullSecrets) == 0 {
			w.write(0, "%s\t<none>\n", header)
		} else {
			prefix := header
			for _, s := range sa.ImagePullSecrets {
				w.write(0, "%s\t%s\n", prefix, s.Name)
				prefix = empty
			}
		}
		printEvents(w, events)
		return nil
	})
}

func describeNode(ctx context.Context, cs kubernetes.Interface, _, name string, s settings) (string, error) {
	node, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	sel := fields.AndSelectors(
		fields.OneTermEqualSelector("spec.nodeName", node.Name),
		fields.OneTermNotEqualSelector("status.phase", string(corev1.PodSucceeded)),
		fields.OneTermNotEqualSelector("status.phase", string(corev1.PodFailed)),
	)
	canViewPods := true
	pods, err := listPods(ctx, cs, "", metav1.ListOptions{FieldSelector: sel.String(), Limit: s.chunkSize})
	if err != nil {
		if !apierrors.IsForbidden(err) {
			return "", err
		}
		canViewPods = false
	}
	var events *corev1.EventList
	if s.showEvents {
		// Controllers name a node by UID, the kubelet by name.
		events = searchEvents(ctx, cs, "", node.Name, "Node", string(node.UID), s.chunkSize)
		byName := searchEvents(ctx, cs, "", node.Name, "Node", node.Name, s.chunkSize)
		events.Items = append(events.Items, byName.Items...)
	}
	lease, leaseErr := cs.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, node.Name, metav1.GetOptions{})
	return tabbed(func(w *writer) error {
		w.write(0, "Name:\t%s\n", node.Name)
		if roles := nodeRoles(node); len(roles) > 0 {
			w.write(0, "Roles:\t%s\n", strings.Join(roles, ","))
		} else {
			w.write(0, "Roles:\t%s\n", "<none>")
		}
		printLabels(w, "Labels", node.Labels)
		printAnnotations(w, "Annotations", node.Annotations)
		w.write(0, "CreationTimestamp:\t%s\n", rfc1123(node.CreationTimestamp))
		printTaints(w, "", "Taints", "\t", node.Spec.Taints)
		w.write(0, "Unschedulable:\t%v\n", node.Spec.Unschedulable)
		if leaseErr != nil {
			w.write(0, "Lease:\tFailed to get lease: %s\n", leaseErr)
		} else {
			w.write(0, "Lease:\n")
			holder, acquire, renew := "<unset>", "<unset>", "<unset>"
			if lease.Spec.HolderIdentity != nil {
				holder = *lease.Spec.HolderIdentity
			}
			if lease.Spec.AcquireTime != nil {
				acquire = lease.Spec.AcquireTime.Time.Format("Mon, 02 Jan 2006 15:04:05 -0700")
			}
			if lease.Spec.RenewTime != nil {
				renew = lease.Spec.RenewTime.Time.Format("Mon, 02 Jan 2006 15:04:05 -0700")
			}
			w.write(1, "HolderIdentity:\t%s\n", holder)
			w.write(1, "AcquireTime:\t%s\n", acquire)
			w.write(1, "RenewTime:\t%s\n", renew)
		}
		if len(node.Status.Conditions) > 0 {
			w.write(0, "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n")
			w.write(1, "----\t------\t-----------------\t------------------\t------\t-------\n")
			for _, c := range node.Status.Conditions {
				w.write(1, "%v \t%v \t%s \t%s \t%v \t%v\n", c.Type, c.Status, rfc1123(c.LastHeartbeatTime), rfc1123(c.LastTransitionTime), c.Reason, c.Message)
			}
		}
		w.write(0, "Addresses:\n")
		for _, a := range node.Status.Addresses {
			w.write(1, "%s:\t%s\n", a.Type, a.Address)
		}
		printList := func(l corev1.ResourceList) {
			for _, r := range sortedResourceNames(l) {
				q := l[r]
				w.write(0, "  %s:\t%s\n", r, q.String())
			}
		}
		if len(node.Status.Capacity) > 0 {
			w.write(0, "Capacity:\n")
			printList(node.Status.Capacity)
		}
		if len(node.Status.Allocatable) > 0 {
			w.write(0, "Allocatable:\n")
			printList(node.Status.Allocatable)
		}
		ni := node.Status.NodeInfo
		w.write(0, "System Info:\n")
		w.write(0, "  Machine ID:\t%s\n", ni.MachineID)
		w.write(0, "  System UUID:\t%s\n", ni.SystemUUID)
		w.write(0, "  Boot ID:\t%s\n", ni.BootID)
		w.write(0, "  Kernel Version:\t%s\n", ni.KernelVersion)
		w.write(0, "  OS Image:\t%s\n", ni.OSImage)
		w.write(0, "  Operating System:\t%s\n", ni.OperatingSystem)
		w.write(0, "  Architecture:\t%s\n", ni.Architecture)
		w.write(0, "  Container Runtime Version:\t%s\n", ni.ContainerRuntimeVersion)
		w.write(0, "  Kubelet Version:\t%s\n", ni.KubeletVersion)
		if node.Spec.PodCIDR != "" {
			w.write(0, "PodCIDR:\t%s\n", node.Spec.PodCIDR)
		}
		if len(node.Spec.PodCIDRs) > 0 {
			w.write(0, "PodCIDRs:\t%s\n", strings.Join(node.Spec.PodCIDRs, ","))
		}
		if node.Spec.ProviderID != "" {
			w.write(0, "ProviderID:\t%s\n", node.Spec.ProviderID)
		}
		if canViewPods && pods != nil {
			printNodeResources(w, node, pods)
		} else {
			w.write(0, "Pods:\tnot authorized\n")
		}
		printEvents(w, events)
		return nil
	})
}

func nodeRoles(node *corev1.Node) []string {
	set := map[string]bool{}
	for k, v := range node.Labels {
		switch {
		case strings.HasPrefix(k, "node-role.kubernetes.io/"):
			if r := strings.TrimPrefix(k, "node-role.kubernetes.io/"); r != "" {
				set[r] = true
			}
		case k == "kubernetes.io/role" && v != "":
			set[v] = true
		}
	}
	return sortedKeys(set)
}

func percent(part, whole int64) int64 {
	return int64(float64(part) / float64(whole) * 100)
}

func printNodeResources(w *writer, node *corev1.Node, pods *corev1.PodList) {
	w.write(0, "Non-terminated Pods:\t(%d in total)\n", len(pods.Items))
	w.write(1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n")
	w.write(1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n")
	alloc := node.Status.Capacity
	if len(node.Status.Allocatable) > 0 {
		alloc = node.Status.Allocatable
	}
	for i := range pods.Items {
		pod := &pods.Items[i]
		req, lim := podRequests(pod, true), podLimits(pod, true)
		cr, cl, mr, ml := req[corev1.ResourceCPU], lim[corev1.ResourceCPU], req[corev1.ResourceMemory], lim[corev1.ResourceMemory]
		w.write(1, "%s\t%s\t\t%s (%d%%)\t%s (%d%%)\t%s (%d%%)\t%s (%d%%)\t%s\n", pod.Namespace, pod.Name,
			cr.String(), percent(cr.MilliValue(), alloc.Cpu().MilliValue()),
			cl.String(), percent(cl.MilliValue(), alloc.Cpu().MilliValue()),
			mr.String(), percent(mr.Value(), alloc.Memory().Value()),
			ml.String(), percent(ml.Value(), alloc.Memory().Value()),
			since(pod.CreationTimestamp))
	}
	w.write(0, "Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n")
	w.write(1, "Resource\tRequests\tLimits\n")
	w.write(1, "--------\t--------\t------\n")
	reqs, limits := corev1.ResourceList{}, corev1.ResourceList{}
	for i := range pods.Items {
		addList(reqs, podRequests(&pods.Items[i], false))
		addList(limits, podLimits(&pods.Items[i], false))
	}
	frac := func(q resource.Quantity, whole int64, milli bool) int64 {
		if whole == 0 {
			return 0
		}
		if milli {
			return percent(q.MilliValue(), whole)
		}
		return percent(q.Value(), whole)
	}
	row := func(name corev1.ResourceName, whole int64, milli bool) {
		r, l := reqs[name], limits[name]
		w.write(1, "%s\t%s (%d%%)\t%s (%d%%)\n", name, r.String(), frac(r, whole, milli), l.String(), frac(l, whole, milli))
	}
	row(corev1.ResourceCPU, alloc.Cpu().MilliValue(), true)
	row(corev1.ResourceMemory, alloc.Memory().Value(), false)
	row(corev1.ResourceEphemeralStorage, alloc.StorageEphemeral().Value(), false)
	var ext, huge []string
	for r := range alloc {
		switch {
		case strings.HasPrefix(string(r), corev1.ResourceHugePagesPrefix):
			huge = append(huge, string(r))
		case !standardContainerResource(string(r)) && r != corev1.ResourcePods:
			ext = append(ext, string(r))
		}
	}
	sort.Strings(ext)
	sort.Strings(huge)
	for _, r := range huge {
		q := alloc[corev1.ResourceName(r)]
		row(corev1.ResourceName(r), q.Value(), false)
	}
	for _, r := range ext {
		rq, lq := reqs[corev1.ResourceName(r)], limits[corev1.ResourceName(r)]
		w.write(1, "%s\t%s\t%s\n", r, rq.String(), lq.String())
	}
}

func standardContainerResource(name string) bool {
	switch name {
	case "cpu", "memory", "ephemeral-storage":
		return true
	}
	return strings.HasPrefix(name, corev1.ResourceHugePagesPrefix)
}

func addList(into, from corev1.ResourceList) {
	for k, v := range from {
		if cur, ok := into[k]; ok {
			cur.Add(v)
			into[k] = cur
		} else {
			into[k] = v.DeepCopy()
		}
	}
}

// podRequests is what the scheduler counts for a pod: pod-level
// resources when set, else the larger of the containers' sum and the
// biggest init container, plus overhead.
func podRequests(pod *corev1.Pod, useStatus bool) corev1.ResourceList {
	return podResources(pod, useStatus, func(r corev1.ResourceRequirements) corev1.ResourceList { return r.Requests })
}

func podLimits(pod *corev1.Pod, useStatus bool) corev1.ResourceList {
	return podResources(pod, useStatus, func(r corev1.ResourceRequirements) corev1.ResourceList { return r.Limits })
}

func podResources(pod *corev1.Pod, useStatus bool, pick func(corev1.ResourceRequirements) corev1.ResourceList) corev1.ResourceList {
	if r := pod.Spec.Resources; r != nil {
		if l := pick(*r); len(l) > 0 {
			out := corev1.ResourceList{}
			addList(out, l)
			return out
		}
	}
	statusRes := map[string]corev1.ResourceRequirements{}
	if useStatus {
		for _, st := range pod.Status.ContainerStatuses {
			if st.Resources != nil {
				statusRes[st.Name] = *st.Resources
			}
		}
	}
	sum := corev1.ResourceList{}
	for _, c := range pod.Spec.Containers {
		r := c.Resources
		if sr, ok := statusRes[c.Name]; ok {
			r = sr
		}
		addList(sum, pick(r))
	}
	restartable := corev1.ResourceList{}
	initMax := corev1.ResourceList{}
	for _, c := range pod.Spec.InitContainers {
		l := pick(c.Resources)
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			addList(sum, l)
			addList(restartable, l)
			continue
		}
		tmp := corev1.ResourceList{}
		addList(tmp, l)
		addList(tmp, restartable)
		for k, v := range tmp {
			if cur, ok := initMax[k]; !ok || v.Cmp(cur) > 0 {
				initMax[k] = v
			}
		}
	}
	for k, v := range initMax {
		if cur, ok := sum[k]; !ok || v.Cmp(cur) > 0 {
			sum[k] = v
		}
	}
	addList(sum, pod.Spec.Overhead)
	return sum
}
