package printers

import (
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

func init() {
	pods := register(podColumns, func(l *corev1.PodList) []corev1.Pod { return l.Items }, podCells)
	pods.conditions = podConditions
	register(podTemplateColumns, func(l *corev1.PodTemplateList) []corev1.PodTemplate { return l.Items }, podTemplateCells)
	register(nodeColumns, func(l *corev1.NodeList) []corev1.Node { return l.Items }, nodeCells)
	register(namespaceColumns, func(l *corev1.NamespaceList) []corev1.Namespace { return l.Items }, namespaceCells)
	register(serviceColumns, func(l *corev1.ServiceList) []corev1.Service { return l.Items }, serviceCells)
	register(endpointsColumns, func(l *corev1.EndpointsList) []corev1.Endpoints { return l.Items }, endpointsCells)
	register(configMapColumns, func(l *corev1.ConfigMapList) []corev1.ConfigMap { return l.Items }, configMapCells)
	register(secretColumns, func(l *corev1.SecretList) []corev1.Secret { return l.Items }, secretCells)
	register(serviceAccountColumns, func(l *corev1.ServiceAccountList) []corev1.ServiceAccount { return l.Items }, serviceAccountCells)
	register(resourceQuotaColumns, func(l *corev1.ResourceQuotaList) []corev1.ResourceQuota { return l.Items }, resourceQuotaCells)
	register(persistentVolumeColumns, func(l *corev1.PersistentVolumeList) []corev1.PersistentVolume { return l.Items }, persistentVolumeCells)
	register(persistentVolumeClaimColumns, func(l *corev1.PersistentVolumeClaimList) []corev1.PersistentVolumeClaim { return l.Items }, persistentVolumeClaimCells)
	register(replicationControllerColumns, func(l *corev1.ReplicationControllerList) []corev1.ReplicationController { return l.Items }, replicationControllerCells)
	register(componentStatusColumns, func(l *corev1.ComponentStatusList) []corev1.ComponentStatus { return l.Items }, componentStatusCells)
	// Upstream has no printer for LimitRange: it gets the default table.
	register(defaultColumns, func(l *corev1.LimitRangeList) []corev1.LimitRange { return l.Items }, defaultCells[corev1.LimitRange])
}

// Pods.

var podColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
	column("Status", "string", "The aggregate status of the containers in this pod."),
	column("Restarts", "string", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
	ageColumn(),
	wide("IP", "string", corev1.PodStatus{}.SwaggerDoc()["podIP"]),
	wide("Node", "string", corev1.PodSpec{}.SwaggerDoc()["nodeName"]),
	wide("Nominated Node", "string", corev1.PodStatus{}.SwaggerDoc()["nominatedNodeName"]),
	wide("Readiness Gates", "string", corev1.PodSpec{}.SwaggerDoc()["readinessGates"]),
}

var (
	podSucceededConditions = []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue, Reason: string(corev1.PodSucceeded), Message: "The pod has completed successfully."}}
	podFailedConditions    = []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue, Reason: string(corev1.PodFailed), Message: "The pod failed."}}
)

// podConditions marks finished pods as completed rows, as upstream does.
func podConditions(pod *corev1.Pod) []metav1.TableRowCondition {
	switch pod.Status.Phase {
	case corev1.PodSucceeded:
		return podSucceededConditions
	case corev1.PodFailed:
		return podFailedConditions
	}
	return nil
}

// nodeUnreachablePodReason is the status reason the node lifecycle
// controller sets on pods of a lost node.
const nodeUnreachablePodReason = "NodeLost"

// isSidecar reports a restartable init container (restartPolicy Always).
func isSidecar(c *corev1.Container) bool {
	return c != nil && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// initContainer finds an init container of the pod's spec by name.
func initContainer(pod *corev1.Pod, name string) *corev1.Container {
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	return nil
}

// laterFinish returns the later of last and the finish time of the
// container's last termination.
func laterFinish(last time.Time, s *corev1.ContainerStatus) time.Time {
	if t := s.LastTerminationState.Terminated; t != nil && t.FinishedAt.After(last) {
		return t.FinishedAt.Time
	}
	return last
}

// podCells computes NAME READY STATUS RESTARTS AGE | IP NODE NOMINATED NODE
// READINESS GATES. STATUS follows upstream: the phase or status reason,
// then the first unfinished init container ("Init:0/1", "Init:Error"), then
// the last container with a waiting or terminated reason
// ("CrashLoopBackOff", "Completed", "ExitCode:1"), then "Terminating".
func podCells(pod *corev1.Pod, e *env, out []any) ([]any, error) {
	restarts, sidecarRestarts := 0, 0
	var lastRestart, lastSidecarRestart time.Time
	total := len(pod.Spec.Containers)
	ready := 0

	reason := string(pod.Status.Phase)
	if pod.Status.Reason != "" {
		reason = pod.Status.Reason
	}
	for i := range pod.Status.Conditions {
		c := &pod.Status.Conditions[i]
		if c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonSchedulingGated {
			reason = corev1.PodReasonSchedulingGated
		}
	}
	for i := range pod.Spec.InitContainers {
		if isSidecar(&pod.Spec.InitContainers[i]) {
			total++
		}
	}

	initializing := false
	for i := range pod.Status.InitContainerStatuses {
		s := &pod.Status.InitContainerStatuses[i]
		restarts += int(s.RestartCount)
		lastRestart = laterFinish(lastRestart, s)
		sidecar := isSidecar(initContainer(pod, s.Name))
		if sidecar {
			sidecarRestarts += int(s.RestartCount)
			lastSidecarRestart = laterFinish(lastSidecarRestart, s)
		}
		switch {
		case s.State.Terminated != nil && s.State.Terminated.ExitCode == 0:
			continue
		case sidecar && s.Started != nil && *s.Started:
			if s.Ready {
				ready++
			}
			continue
		case s.State.Terminated != nil:
			t := s.State.Terminated
			switch {
			case t.Reason != "":
				reason = "Init:" + t.Reason
			case t.Signal != 0:
				reason = "Init:Signal:" + strconv.Itoa(int(t.Signal))
			default:
				reason = "Init:ExitCode:" + strconv.Itoa(int(t.ExitCode))
			}
		case s.State.Waiting != nil && s.State.Waiting.Reason != "" && s.State.Waiting.Reason != "PodInitializing":
			reason = "Init:" + s.State.Waiting.Reason
		default:
			reason = "Init:" + strconv.Itoa(i) + "/" + strconv.Itoa(len(pod.Spec.InitContainers))
		}
		initializing = true
		break
	}

	if !initializing || podConditionTrue(pod, corev1.PodInitialized) {
		restarts = sidecarRestarts
		lastRestart = lastSidecarRestart
		hasRunning := false
		for i := len(pod.Status.ContainerStatuses) - 1; i >= 0; i-- {
			s := &pod.Status.ContainerStatuses[i]
			restarts += int(s.RestartCount)
			lastRestart = laterFinish(lastRestart, s)
			switch {
			case s.State.Waiting != nil && s.State.Waiting.Reason != "":
				reason = s.State.Waiting.Reason
			case s.State.Terminated != nil && s.State.Terminated.Reason != "":
				reason = s.State.Terminated.Reason
			case s.State.Terminated != nil:
				if s.State.Terminated.Signal != 0 {
					reason = "Signal:" + strconv.Itoa(int(s.State.Terminated.Signal))
				} else {
					reason = "ExitCode:" + strconv.Itoa(int(s.State.Terminated.ExitCode))
				}
			case s.Ready && s.State.Running != nil:
				hasRunning = true
				ready++
			}
		}
		// A pod whose last container completed but another still runs is
		// Running (or NotReady), not Completed.
		if reason == "Completed" && hasRunning {
			if podConditionTrue(pod, corev1.PodReady) {
				reason = "Running"
			} else {
				reason = "NotReady"
			}
		}
	}

	if pod.DeletionTimestamp != nil {
		if pod.Status.Reason == nodeUnreachablePodReason {
			reason = "Unknown"
		} else if pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed {
			reason = "Terminating"
		}
	}

	restartsCell := strconv.Itoa(restarts)
	if restarts != 0 && !lastRestart.IsZero() {
		restartsCell += " (" + e.since(metav1.NewTime(lastRestart)) + " ago)"
	}

	podIP := pod.Status.PodIP
	if len(pod.Status.PodIPs) > 0 {
		podIP = pod.Status.PodIPs[0].IP
	}
	if podIP == "" {
		podIP = none
	}
	nodeName := pod.Spec.NodeName
	if nodeName == "" {
		nodeName = none
	}
	nominated := pod.Status.NominatedNodeName
	if nominated == "" {
		nominated = none
	}
	gates := none
	if len(pod.Spec.ReadinessGates) > 0 {
		trueGates := 0
		for _, g := range pod.Spec.ReadinessGates {
			for j := range pod.Status.Conditions {
				if pod.Status.Conditions[j].Type == g.ConditionType {
					if pod.Status.Conditions[j].Status == corev1.ConditionTrue {
						trueGates++
					}
					break
				}
			}
		}
		gates = ratio(int64(trueGates), int64(len(pod.Spec.ReadinessGates)))
	}

	return append(out, pod.Name, ratio(int64(ready), int64(total)), reason, restartsCell, e.age(pod),
		podIP, nodeName, nominated, gates), nil
}

// podConditionTrue reports whether the pod condition of type t is True.
// Like upstream, only the first condition of the type counts.
func podConditionTrue(pod *corev1.Pod, t corev1.PodConditionType) bool {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == t {
			return pod.Status.Conditions[i].Status == corev1.ConditionTrue
		}
	}
	return false
}

// Pod templates.

var podTemplateColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Containers", "string", containersDescription),
	column("Images", "string", imagesDescription),
	column("Pod Labels", "string", "The labels for the pod template."),
}

func podTemplateCells(t *corev1.PodTemplate, _ *env, out []any) ([]any, error) {
	names, images := containerCells(t.Template.Spec.Containers)
	return append(out, t.Name, names, images, labels.FormatLabels(t.Template.Labels)), nil
}

// Nodes.

var nodeColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Status", "string", "The status of the node"),
	column("Roles", "string", "The roles of the node"),
	ageColumn(),
	column("Version", "string", corev1.NodeSystemInfo{}.SwaggerDoc()["kubeletVersion"]),
	wide("Internal-IP", "string", corev1.NodeStatus{}.SwaggerDoc()["addresses"]),
	wide("External-IP", "string", corev1.NodeStatus{}.SwaggerDoc()["addresses"]),
	wide("OS-Image", "string", corev1.NodeSystemInfo{}.SwaggerDoc()["osImage"]),
	wide("Kernel-Version", "string", corev1.NodeSystemInfo{}.SwaggerDoc()["kernelVersion"]),
	wide("Container-Runtime", "string", corev1.NodeSystemInfo{}.SwaggerDoc()["containerRuntimeVersion"]),
}

// Node role labels: node-role.kubernetes.io/<role>="" and the older
// kubernetes.io/role=<role>.
const (
	labelNodeRolePrefix = "node-role.kubernetes.io/"
	labelNodeRole       = "kubernetes.io/role"
)

func nodeCells(n *corev1.Node, e *env, out []any) ([]any, error) {
	// Only the Ready condition makes the status, then SchedulingDisabled.
	status := "Unknown"
	for i := range n.Status.Conditions {
		if c := &n.Status.Conditions[i]; c.Type == corev1.NodeReady {
			if c.Status == corev1.ConditionTrue {
				status = string(corev1.NodeReady)
			} else {
				status = "Not" + string(corev1.NodeReady)
			}
		}
	}
	if n.Spec.Unschedulable {
		status += ",SchedulingDisabled"
	}

	roles := nodeRoles(n)
	info := &n.Status.NodeInfo
	return append(out, n.Name, status, roles, e.age(n), info.KubeletVersion,
		nodeAddress(n, corev1.NodeInternalIP), nodeAddress(n, corev1.NodeExternalIP),
		orUnknown(info.OSImage), orUnknown(info.KernelVersion), orUnknown(info.ContainerRuntimeVersion)), nil
}

// nodeRoles is the sorted, de-duplicated, comma-joined role list, or
// "<none>".
func nodeRoles(n *corev1.Node) string {
	var roles []string
	for k, v := range n.Labels {
		switch {
		case strings.HasPrefix(k, labelNodeRolePrefix):
			if r := k[len(labelNodeRolePrefix):]; r != "" {
				roles = append(roles, r)
			}
		case k == labelNodeRole && v != "":
			roles = append(roles, v)
		}
	}
	switch len(roles) {
	case 0:
		return none
	case 1:
		return roles[0]
	}
	sort.Strings(roles)
	uniq := roles[:1]
	for _, r := range roles[1:] {
		if r != uniq[len(uniq)-1] {
			uniq = append(uniq, r)
		}
	}
	return strings.Join(uniq, ",")
}

// nodeAddress is the node's first address of the type, or "<none>".
func nodeAddress(n *corev1.Node, t corev1.NodeAddressType) string {
	for _, a := range n.Status.Addresses {
		if a.Type == t {
			return a.Address
		}
	}
	return none
}

func orUnknown(s string) string {
	if s == "" {
		return unknown
	}
	return s
}

// Namespaces.

var namespaceColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Status", "string", "The status of the namespace"),
	ageColumn(),
}

func namespaceCells(ns *corev1.Namespace, e *env, out []any) ([]any, error) {
	return append(out, ns.Name, string(ns.Status.Phase), e.age(ns)), nil
}

// Services.

var serviceColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Type", "string", corev1.ServiceSpec{}.SwaggerDoc()["type"]),
	column("Cluster-IP", "string", corev1.ServiceSpec{}.SwaggerDoc()["clusterIP"]),
	column("External-IP", "string", corev1.ServiceSpec{}.SwaggerDoc()["externalIPs"]),
	column("Port(s)", "string", corev1.ServiceSpec{}.SwaggerDoc()["ports"]),
	ageColumn(),
	wide("Selector", "string", corev1.ServiceSpec{}.SwaggerDoc()["selector"]),
}

func serviceCells(svc *corev1.Service, e *env, out []any) ([]any, error) {
	clusterIP := svc.Spec.ClusterIP
	if len(svc.Spec.ClusterIPs) > 0 {
		clusterIP = svc.Spec.ClusterIPs[0]
	}
	if clusterIP == "" {
		clusterIP = none
	}
	ports := servicePorts(svc.Spec.Ports)
	if ports == "" {
		ports = none
	}
	return append(out, svc.Name, string(svc.Spec.Type), clusterIP, serviceExternalIP(svc), ports, e.age(svc),
		labels.FormatLabels(svc.Spec.Selector)), nil
}

// serviceExternalIP is the EXTERNAL-IP cell: external IPs, load-balancer
// ingress ("<pending>" until there is one) or the external name. The
// server's table is always wide, so the load-balancer list is not clipped.
func serviceExternalIP(svc *corev1.Service) string {
	switch svc.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort:
		if len(svc.Spec.ExternalIPs) > 0 {
			return strings.Join(svc.Spec.ExternalIPs, ",")
		}
		return none
	case corev1.ServiceTypeLoadBalancer:
		lb := loadBalancerIngress(svc.Status.LoadBalancer.Ingress)
		if len(svc.Spec.ExternalIPs) > 0 {
			if lb == "" {
				return strings.Join(svc.Spec.ExternalIPs, ",")
			}
			return lb + "," + strings.Join(svc.Spec.ExternalIPs, ",")
		}
		if lb != "" {
			return lb
		}
		return "<pending>"
	case corev1.ServiceTypeExternalName:
		return svc.Spec.ExternalName
	}
	return unknown
}

// loadBalancerIngress lists the ingress points' IPs (or hostnames), sorted
// and de-duplicated.
func loadBalancerIngress(ingress []corev1.LoadBalancerIngress) string {
	var list []string
	for i := range ingress {
		if ingress[i].IP != "" {
			list = append(list, ingress[i].IP)
		} else if ingress[i].Hostname != "" {
			list = append(list, ingress[i].Hostname)
		}
	}
	return sortedUnique(list)
}

// sortedUnique sorts, de-duplicates and comma-joins list.
func sortedUnique(list []string) string {
	if len(list) <= 1 {
		return strings.Join(list, ",")
	}
	sort.Strings(list)
	uniq := list[:1]
	for _, s := range list[1:] {
		if s != uniq[len(uniq)-1] {
			uniq = append(uniq, s)
		}
	}
	return strings.Join(uniq, ",")
}

// servicePorts formats "80/TCP" or, with a node port, "80:30080/TCP".
func servicePorts(ports []corev1.ServicePort) string {
	var b []byte
	for i := range ports {
		p := &ports[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(p.Port), 10)
		if p.NodePort > 0 {
			b = append(b, ':')
			b = strconv.AppendInt(b, int64(p.NodePort), 10)
		}
		b = append(b, '/')
		b = append(b, p.Protocol...)
	}
	return string(b)
}

// ComponentStatuses.

var componentStatusColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Status", "string", "Status of the component conditions"),
	column("Message", "string", "Message of the component conditions"),
	column("Error", "string", "Error of the component conditions"),
}

// componentStatusCells shows the Healthy condition, as upstream.
func componentStatusCells(cs *corev1.ComponentStatus, _ *env, out []any) ([]any, error) {
	status, message, errMsg := "Unknown", "", ""
	for _, c := range cs.Conditions {
		if c.Type == corev1.ComponentHealthy {
			status = "Unhealthy"
			if c.Status == corev1.ConditionTrue {
				status = "Healthy"
			}
			message, errMsg = c.Message, c.Error
			break
		}
	}
	return append(out, cs.Name, status, message, errMsg), nil
}

// Endpoints.

var endpointsColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Endpoints", "string", corev1.Endpoints{}.SwaggerDoc()["subsets"]),
	ageColumn(),
}

func endpointsCells(ep *corev1.Endpoints, e *env, out []any) ([]any, error) {
	return append(out, ep.Name, formatEndpoints(ep), e.age(ep)), nil
}

// formatEndpoints lists up to three ip:port pairs (bare IPs for subsets
// without ports) and how many more there are.
func formatEndpoints(ep *corev1.Endpoints) string {
	if len(ep.Subsets) == 0 {
		return none
	}
	const max = 3
	list := make([]string, 0, max)
	more := false
	count := 0
	for i := range ep.Subsets {
		ss := &ep.Subsets[i]
		if len(ss.Ports) == 0 {
			// Headless services may have no ports.
			count += len(ss.Addresses)
			for j := range ss.Addresses {
				if len(list) == max {
					more = true
					break
				}
				list = append(list, ss.Addresses[j].IP)
			}
			continue
		}
		for k := range ss.Ports {
			count += len(ss.Addresses)
			for j := range ss.Addresses {
				if len(list) == max {
					more = true
					break
				}
				list = append(list, net.JoinHostPort(ss.Addresses[j].IP, strconv.Itoa(int(ss.Ports[k].Port))))
			}
		}
	}
	ret := strings.Join(list, ",")
	if more {
		return ret + " + " + strconv.Itoa(count-max) + " more..."
	}
	return ret
}

// Config maps, secrets, service accounts.

var configMapColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Data", "string", corev1.ConfigMap{}.SwaggerDoc()["data"]),
	ageColumn(),
}

func configMapCells(cm *corev1.ConfigMap, e *env, out []any) ([]any, error) {
	return append(out, cm.Name, int64(len(cm.Data)+len(cm.BinaryData)), e.age(cm)), nil
}

var secretColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Type", "string", corev1.Secret{}.SwaggerDoc()["type"]),
	column("Data", "string", corev1.Secret{}.SwaggerDoc()["data"]),
	ageColumn(),
}

func secretCells(s *corev1.Secret, e *env, out []any) ([]any, error) {
	return append(out, s.Name, string(s.Type), int64(len(s.Data)), e.age(s)), nil
}

// serviceAccountColumns: upstream dropped the SECRETS count (kubernetes
// PR 117160: nothing has populated .secrets since 1.24).
var serviceAccountColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	ageColumn(),
}

func serviceAccountCells(sa *corev1.ServiceAccount, e *env, out []any) ([]any, error) {
	return append(out, sa.Name, e.age(sa)), nil
}

// Resource quotas.

var resourceQuotaColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Request", "string", "Request represents a minimum amount of cpu/memory that a container may consume."),
	column("Limit", "string", "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."),
	ageColumn(),
}

// resourceQuotaCells lists "name: used/hard" for each hard limit, sorted by
// resource; "limits.*" resources go to LIMIT, the rest to REQUEST.
func resourceQuotaCells(q *corev1.ResourceQuota, e *env, out []any) ([]any, error) {
	names := make([]string, 0, len(q.Status.Hard))
	for name := range q.Status.Hard {
		names = append(names, string(name))
	}
	sort.Strings(names)
	var request, limit strings.Builder
	for _, name := range names {
		w := &request
		if first, _, found := strings.Cut(name, "."); found && first == "limits" {
			w = &limit
		}
		used := q.Status.Used[corev1.ResourceName(name)]
		hard := q.Status.Hard[corev1.ResourceName(name)]
		if w.Len() > 0 {
			w.WriteString(", ")
		}
		w.WriteString(name)
		w.WriteString(": ")
		w.WriteString(used.String())
		w.WriteByte('/')
		w.WriteString(hard.String())
	}
	return append(out, q.Name, request.String(), limit.String(), e.age(q)), nil
}

// Persistent volumes and claims.

var persistentVolumeColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Capacity", "string", corev1.PersistentVolumeSpec{}.SwaggerDoc()["capacity"]),
	column("Access Modes", "string", corev1.PersistentVolumeSpec{}.SwaggerDoc()["accessModes"]),
	column("Reclaim Policy", "string", corev1.PersistentVolumeSpec{}.SwaggerDoc()["persistentVolumeReclaimPolicy"]),
	column("Status", "string", corev1.PersistentVolumeStatus{}.SwaggerDoc()["phase"]),
	column("Claim", "string", corev1.PersistentVolumeSpec{}.SwaggerDoc()["claimRef"]),
	column("StorageClass", "string", "StorageClass of the pv"),
	column("VolumeAttributesClass", "string", "VolumeAttributesClass of the pv"),
	column("Reason", "string", corev1.PersistentVolumeStatus{}.SwaggerDoc()["reason"]),
	ageColumn(),
	wide("VolumeMode", "string", corev1.PersistentVolumeSpec{}.SwaggerDoc()["volumeMode"]),
}

// betaStorageClassAnnotation is the storage class annotation that predates
// spec.storageClassName and still wins over it.
const betaStorageClassAnnotation = "volume.beta.kubernetes.io/storage-class"

func persistentVolumeCells(pv *corev1.PersistentVolume, e *env, out []any) ([]any, error) {
	claim := ""
	if pv.Spec.ClaimRef != nil {
		claim = pv.Spec.ClaimRef.Namespace + "/" + pv.Spec.ClaimRef.Name
	}
	capacity := pv.Spec.Capacity[corev1.ResourceStorage]
	phase := string(pv.Status.Phase)
	if pv.DeletionTimestamp != nil {
		phase = "Terminating"
	}
	class := pv.Spec.StorageClassName
	if c, ok := pv.Annotations[betaStorageClassAnnotation]; ok {
		class = c
	}
	vac := unset
	if pv.Spec.VolumeAttributesClassName != nil {
		vac = *pv.Spec.VolumeAttributesClassName
	}
	mode := unset
	if pv.Spec.VolumeMode != nil {
		mode = string(*pv.Spec.VolumeMode)
	}
	return append(out, pv.Name, capacity.String(), accessModes(pv.Spec.AccessModes), string(pv.Spec.PersistentVolumeReclaimPolicy),
		phase, claim, class, vac, pv.Status.Reason, e.age(pv), mode), nil
}

var persistentVolumeClaimColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Status", "string", corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()["phase"]),
	column("Volume", "string", corev1.PersistentVolumeClaimSpec{}.SwaggerDoc()["volumeName"]),
	column("Capacity", "string", corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()["capacity"]),
	column("Access Modes", "string", corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()["accessModes"]),
	column("StorageClass", "string", "StorageClass of the pvc"),
	column("VolumeAttributesClass", "string", "VolumeAttributesClass of the pvc"),
	ageColumn(),
	wide("VolumeMode", "string", corev1.PersistentVolumeClaimSpec{}.SwaggerDoc()["volumeMode"]),
}

func persistentVolumeClaimCells(pvc *corev1.PersistentVolumeClaim, e *env, out []any) ([]any, error) {
	phase := string(pvc.Status.Phase)
	if pvc.DeletionTimestamp != nil {
		phase = "Terminating"
	}
	capacity, modes := "", ""
	if pvc.Spec.VolumeName != "" {
		modes = accessModes(pvc.Status.AccessModes)
		q := pvc.Status.Capacity[corev1.ResourceStorage]
		capacity = q.String()
	}
	class := ""
	if c, ok := pvc.Annotations[betaStorageClassAnnotation]; ok {
		class = c
	} else if pvc.Spec.StorageClassName != nil {
		class = *pvc.Spec.StorageClassName
	}
	vac := unset
	if pvc.Spec.VolumeAttributesClassName != nil {
		vac = *pvc.Spec.VolumeAttributesClassName
	}
	mode := unset
	if pvc.Spec.VolumeMode != nil {
		mode = string(*pvc.Spec.VolumeMode)
	}
	return append(out, pvc.Name, phase, pvc.Spec.VolumeName, capacity, modes, class, vac, e.age(pvc), mode), nil
}

// accessModes abbreviates access modes in upstream's fixed order:
// RWO,ROX,RWX,RWOP.
func accessModes(modes []corev1.PersistentVolumeAccessMode) string {
	var rwo, rox, rwx, rwop bool
	for _, m := range modes {
		switch m {
		case corev1.ReadWriteOnce:
			rwo = true
		case corev1.ReadOnlyMany:
			rox = true
		case corev1.ReadWriteMany:
			rwx = true
		case corev1.ReadWriteOncePod:
			rwop = true
		}
	}
	var parts []string
	if rwo {
		parts = append(parts, "RWO")
	}
	if rox {
		parts = append(parts, "ROX")
	}
	if rwx {
		parts = append(parts, "RWX")
	}
	if rwop {
		parts = append(parts, "RWOP")
	}
	return strings.Join(parts, ",")
}

// Replication controllers.

var replicationControllerColumns = []metav1.TableColumnDefinition{
	nameColumn(),
	column("Desired", "integer", corev1.ReplicationControllerSpec{}.SwaggerDoc()["replicas"]),
	column("Current", "integer", corev1.ReplicationControllerStatus{}.SwaggerDoc()["replicas"]),
	column("Ready", "integer", corev1.ReplicationControllerStatus{}.SwaggerDoc()["readyReplicas"]),
	ageColumn(),
	wide("Containers", "string", containersDescription),
	wide("Images", "string", imagesDescription),
	wide("Selector", "string", corev1.ReplicationControllerSpec{}.SwaggerDoc()["selector"]),
}

func replicationControllerCells(rc *corev1.ReplicationController, e *env, out []any) ([]any, error) {
	var containers []corev1.Container
	if rc.Spec.Template != nil {
		containers = rc.Spec.Template.Spec.Containers
	}
	names, images := containerCells(containers)
	return append(out, rc.Name, int32Ptr(rc.Spec.Replicas), int64(rc.Status.Replicas), int64(rc.Status.ReadyReplicas), e.age(rc),
		names, images, labels.FormatLabels(rc.Spec.Selector)), nil
}

// quantityString is Quantity.String for an optional quantity.
func quantityString(q *resource.Quantity) string {
	if q == nil {
		return unset
	}
	return q.String()
}
