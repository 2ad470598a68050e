package describe

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

func describePod(ctx context.Context, cs kubernetes.Interface, ns, name string, s settings) (string, error) {
	pod, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	uid := string(pod.UID)
	if mirror, ok := pod.Annotations[corev1.MirrorPodAnnotationKey]; ok {
		uid = mirror
	}
	events := searchEventsOrNil(ctx, cs, s, pod.Namespace, pod.Name, "", uid)
	return tabbed(func(w *writer) error {
		w.write(0, "Name:\t%s\n", pod.Name)
		w.write(0, "Namespace:\t%s\n", pod.Namespace)
		if pod.Spec.Priority != nil {
			w.write(0, "Priority:\t%d\n", *pod.Spec.Priority)
		}
		if pod.Spec.PriorityClassName != "" {
			w.write(0, "Priority Class Name:\t%s\n", pod.Spec.PriorityClassName)
		}
		if pod.Spec.RuntimeClassName != nil && *pod.Spec.RuntimeClassName != "" {
			w.write(0, "Runtime Class Name:\t%s\n", *pod.Spec.RuntimeClassName)
		}
		if pod.Spec.ServiceAccountName != "" {
			w.write(0, "Service Account:\t%s\n", pod.Spec.ServiceAccountName)
		}
		if pod.Spec.NodeName == "" {
			w.write(0, "Node:\t<none>\n")
		} else {
			w.write(0, "Node:\t%s\n", pod.Spec.NodeName+"/"+pod.Status.HostIP)
		}
		if pod.Status.StartTime != nil {
			w.write(0, "Start Time:\t%s\n", rfc1123(*pod.Status.StartTime))
		}
		printLabels(w, "Labels", pod.Labels)
		printAnnotations(w, "Annotations", pod.Annotations)
		if pod.DeletionTimestamp != nil && pod.Status.Phase != corev1.PodFailed && pod.Status.Phase != corev1.PodSucceeded {
			w.write(0, "Status:\tTerminating (lasts %s)\n", since(*pod.DeletionTimestamp))
			var grace int64
			if pod.DeletionGracePeriodSeconds != nil {
				grace = *pod.DeletionGracePeriodSeconds
			}
			w.write(0, "Termination Grace Period:\t%ds\n", grace)
		} else {
			w.write(0, "Status:\t%s\n", pod.Status.Phase)
		}
		if pod.Status.Reason != "" {
			w.write(0, "Reason:\t%s\n", pod.Status.Reason)
		}
		if pod.Status.Message != "" {
			w.write(0, "Message:\t%s\n", pod.Status.Message)
		}
		if sc := pod.Spec.SecurityContext; sc != nil && sc.SeccompProfile != nil {
			w.write(0, "SeccompProfile:\t%s\n", sc.SeccompProfile.Type)
			if sc.SeccompProfile.Type == corev1.SeccompProfileTypeLocalhost && sc.SeccompProfile.LocalhostProfile != nil {
				w.write(0, "LocalhostProfile:\t%s\n", *sc.SeccompProfile.LocalhostProfile)
			}
		}
		w.write(0, "IP:\t%s\n", pod.Status.PodIP)
		if len(pod.Status.PodIPs) == 0 {
			w.write(0, "IPs:\t<none>\n")
		} else {
			w.write(0, "IPs:\n")
			for _, ip := range pod.Status.PodIPs {
				w.write(1, "IP:\t%s\n", ip.IP)
			}
		}
		if c := controllerOf(pod); c != "" {
			w.write(0, "Controlled By:\t%s\n", c)
		}
		if pod.Status.NominatedNodeName != "" {
			w.write(0, "NominatedNodeName:\t%s\n", pod.Status.NominatedNodeName)
		}
		if pod.Spec.Resources != nil {
			w.write(0, "Resources:\n")
			printResources(w, pod.Spec.Resources, 1)
		}
		if len(pod.Spec.InitContainers) > 0 {
			printContainers(w, "Init Containers", pod.Spec.InitContainers, pod.Status.InitContainerStatuses, pod, "")
		}
		printContainers(w, "Containers", pod.Spec.Containers, pod.Status.ContainerStatuses, pod, "")
		if len(pod.Spec.EphemeralContainers) > 0 {
			var ec []corev1.Container
			for _, e := range pod.Spec.EphemeralContainers {
				ec = append(ec, corev1.Container(e.EphemeralContainerCommon))
			}
			printContainers(w, "Ephemeral Containers", ec, pod.Status.EphemeralContainerStatuses, pod, "")
		}
		if len(pod.Spec.ReadinessGates) > 0 {
			w.write(0, "Readiness Gates:\n  Type\tStatus\n")
			for _, g := range pod.Spec.ReadinessGates {
				status := "<none>"
				for _, c := range pod.Status.Conditions {
					if c.Type == g.ConditionType {
						status = string(c.Status)
						break
					}
				}
				w.write(1, "%v \t%v \n", g.ConditionType, status)
			}
		}
		if len(pod.Status.Conditions) > 0 {
			w.write(0, "Conditions:\n  Type\tStatus\n")
			for _, c := range pod.Status.Conditions {
				w.write(1, "%v \t%v \n", c.Type, c.Status)
			}
		}
		printVolumes(w, pod.Spec.Volumes, "")
		w.write(0, "QoS Class:\t%s\n", podQOS(pod))
		printLabels(w, "Node-Selectors", pod.Spec.NodeSelector)
		printTolerations(w, "", "Tolerations", "\t", pod.Spec.Tolerations)
		printTopologySpread(w, pod.Spec.TopologySpreadConstraints, "")
		printSchedulingGroup(w, pod.Spec.SchedulingGroup, "")
		printEvents(w, events)
		return nil
	})
}

func printTopologySpread(w *writer, tscs []corev1.TopologySpreadConstraint, space string) {
	if len(tscs) == 0 {
		return
	}
	sorted := append([]corev1.TopologySpreadConstraint(nil), tscs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].TopologyKey < sorted[j].TopologyKey })
	w.write(0, "%sTopology Spread Constraints:\t", space)
	for i, t := range sorted {
		if i > 0 {
			w.write(0, "%s", space)
			w.write(0, "%s", "\t")
		}
		s := fmt.Sprintf("%s:%v when max skew %d is exceeded", t.TopologyKey, t.WhenUnsatisfiable, t.MaxSkew)
		if t.LabelSelector != nil {
			s += " for selector " + metav1.FormatLabelSelector(t.LabelSelector)
		}
		w.write(0, "%s\n", s)
	}
}

// podTemplate prints a controller's pod template.
func podTemplate(w *writer, t *corev1.PodTemplateSpec) {
	w.write(0, "Pod Template:\n")
	if t == nil {
		w.write(1, "<unset>")
		return
	}
	printLabels(w, "  Labels", t.Labels)
	if len(t.Annotations) > 0 {
		printAnnotations(w, "  Annotations", t.Annotations)
	}
	if t.Spec.ServiceAccountName != "" {
		w.write(1, "Service Account:\t%s\n", t.Spec.ServiceAccountName)
	}
	if len(t.Spec.InitContainers) > 0 {
		printContainers(w, "Init Containers", t.Spec.InitContainers, nil, nil, "  ")
	}
	printContainers(w, "Containers", t.Spec.Containers, nil, nil, "  ")
	printVolumes(w, t.Spec.Volumes, "  ")
	printTopologySpread(w, t.Spec.TopologySpreadConstraints, "  ")
	if t.Spec.PriorityClassName != "" {
		w.write(1, "Priority Class Name:\t%s\n", t.Spec.PriorityClassName)
	}
	printLabels(w, "  Node-Selectors", t.Spec.NodeSelector)
	printTolerations(w, "  ", "Tolerations", "\t", t.Spec.Tolerations)
	printSchedulingGroup(w, t.Spec.SchedulingGroup, "  ")
}

// printSchedulingGroup prints a pod's or template's scheduling group; its
// fields stay at level 1 under a template's indented title, as upstream.
func printSchedulingGroup(w *writer, g *corev1.PodSchedulingGroup, space string) {
	if g == nil {
		return
	}
	w.write(0, "%sSchedulingGroup:\n", space)
	name := ""
	if g.PodGroupName != nil {
		name = *g.PodGroupName
	}
	w.write(1, "PodGroupName:\t%s\n", name)
}

// printContainers prints containers with their statuses; pod is nil for
// a template (no field references to resolve).
func printContainers(w *writer, label string, containers []corev1.Container, statuses []corev1.ContainerStatus, pod *corev1.Pod, space string) {
	byName := map[string]corev1.ContainerStatus{}
	for _, s := range statuses {
		byName[s.Name] = s
	}
	none := ""
	if len(containers) == 0 {
		none = " <none>"
	}
	w.write(0, "%s%s:%s\n", space, label, none)
	nameIndent := ""
	if space != "" {
		nameIndent = " "
	}
	for i := range containers {
		c := &containers[i]
		st, ok := byName[c.Name]
		w.write(1, "%s%v:\n", nameIndent, c.Name)
		if ok {
			w.write(2, "Container ID:\t%s\n", st.ContainerID)
		}
		w.write(2, "Image:\t%s\n", c.Image)
		if ok {
			w.write(2, "Image ID:\t%s\n", st.ImageID)
		}
		ports, hostPorts := containerPorts(c.Ports, false), containerPorts(c.Ports, true)
		if strings.Contains(ports, ",") {
			w.write(2, "Ports:\t%s\n", ports)
		} else {
			w.write(2, "Port:\t%s\n", orNone(ports))
		}
		if strings.Contains(hostPorts, ",") {
			w.write(2, "Host Ports:\t%s\n", hostPorts)
		} else {
			w.write(2, "Host Port:\t%s\n", orNone(hostPorts))
		}
		if sc := c.SecurityContext; sc != nil && sc.SeccompProfile != nil {
			w.write(2, "SeccompProfile:\t%s\n", sc.SeccompProfile.Type)
			if sc.SeccompProfile.Type == corev1.SeccompProfileTypeLocalhost && sc.SeccompProfile.LocalhostProfile != nil {
				w.write(3, "LocalhostProfile:\t%s\n", *sc.SeccompProfile.LocalhostProfile)
			}
		}
		if len(c.Command) > 0 {
			w.write(2, "Command:\n")
			for _, cmd := range c.Command {
				for _, s := range strings.Split(cmd, "\n") {
					w.write(3, "%s\n", s)
				}
			}
		}
		if len(c.Args) > 0 {
			w.write(2, "Args:\n")
			for _, arg := range c.Args {
				for _, s := range strings.Split(arg, "\n") {
					w.write(3, "%s\n", s)
				}
			}
		}
		if ok {
			printContainerState(w, "State", st.State)
			if st.LastTerminationState.Terminated != nil {
				printContainerState(w, "Last State", st.LastTerminationState)
			}
			w.write(2, "Ready:\t%v\n", boolTitle(st.Ready))
			w.write(2, "Restart Count:\t%d\n", st.RestartCount)
		}
		printResources(w, &c.Resources, 2)
		if c.LivenessProbe != nil {
			w.write(2, "Liveness:\t%s\n", probeString(c.LivenessProbe))
		}
		if c.ReadinessProbe != nil {
			w.write(2, "Readiness:\t%s\n", probeString(c.ReadinessProbe))
		}
		if c.StartupProbe != nil {
			w.write(2, "Startup:\t%s\n", probeString(c.StartupProbe))
		}
		if len(c.EnvFrom) > 0 {
			w.write(2, "Environment Variables from:\n")
			for _, e := range c.EnvFrom {
				from, name, optional := "", "", false
				if e.ConfigMapRef != nil {
					from, name = "ConfigMap", e.ConfigMapRef.Name
					optional = e.ConfigMapRef.Optional != nil && *e.ConfigMapRef.Optional
				} else if e.SecretRef != nil {
					from, name = "Secret", e.SecretRef.Name
					optional = e.SecretRef.Optional != nil && *e.SecretRef.Optional
				}
				if e.Prefix == "" {
					w.write(3, "%s\t%s\tOptional: %t\n", name, from, optional)
				} else {
					w.write(3, "%s\t%s with prefix '%s'\tOptional: %t\n", name, from, e.Prefix, optional)
				}
			}
		}
		printEnv(w, c, pod)
		printMounts(w, c)
	}
}

func containerPorts(ports []corev1.ContainerPort, host bool) string {
	out := make([]string, 0, len(ports))
	for _, p := range ports {
		n := p.ContainerPort
		if host {
			n = p.HostPort
		}
		s := fmt.Sprintf("%d/%s", n, p.Protocol)
		if p.Name != "" {
			s += " (" + p.Name + ")"
		}
		out = append(out, s)
	}
	return strings.Join(out, ", ")
}

func printResources(w *writer, r *corev1.ResourceRequirements, level int) {
	if r == nil {
		return
	}
	if len(r.Limits) > 0 {
		w.write(level, "Limits:\n")
	}
	for _, n := range sortedResourceNames(r.Limits) {
		q := r.Limits[n]
		w.write(level+1, "%s:\t%s\n", n, q.String())
	}
	if len(r.Requests) > 0 {
		w.write(level, "Requests:\n")
	}
	for _, n := range sortedResourceNames(r.Requests) {
		q := r.Requests[n]
		w.write(level+1, "%s:\t%s\n", n, q.String())
	}
}

func printContainerState(w *writer, title string, s corev1.ContainerState) {
	switch {
	case s.Running != nil:
		w.write(2, "%s:\tRunning\n", title)
		w.write(3, "Started:\t%v\n", rfc1123(s.Running.StartedAt))
	case s.Waiting != nil:
		w.write(2, "%s:\tWaiting\n", title)
		if s.Waiting.Reason != "" {
			w.write(3, "Reason:\t%s\n", s.Waiting.Reason)
		}
	case s.Terminated != nil:
		t := s.Terminated
		w.write(2, "%s:\tTerminated\n", title)
		if t.Reason != "" {
			w.write(3, "Reason:\t%s\n", t.Reason)
		}
		if t.Message != "" {
			w.write(3, "Message:\t%s\n", t.Message)
		}
		w.write(3, "Exit Code:\t%d\n", t.ExitCode)
		if t.Signal > 0 {
			w.write(3, "Signal:\t%d\n", t.Signal)
		}
		w.write(3, "Started:\t%s\n", rfc1123(t.StartedAt))
		w.write(3, "Finished:\t%s\n", rfc1123(t.FinishedAt))
	default:
		w.write(2, "%s:\tWaiting\n", title)
	}
}

func probeString(p *corev1.Probe) string {
	attrs := fmt.Sprintf("delay=%ds timeout=%ds period=%ds successThreshold=%d failureThreshold=%d",
		p.InitialDelaySeconds, p.TimeoutSeconds, p.PeriodSeconds, p.SuccessThreshold, p.FailureThreshold)
	switch {
	case p.Exec != nil:
		return fmt.Sprintf("exec %v %s", p.Exec.Command, attrs)
	case p.HTTPGet != nil:
		u := &url.URL{Scheme: strings.ToLower(string(p.HTTPGet.Scheme)), Path: p.HTTPGet.Path}
		if port := p.HTTPGet.Port.String(); port != "" {
			u.Host = net.JoinHostPort(p.HTTPGet.Host, port)
		} else {
			u.Host = p.HTTPGet.Host
		}
		return fmt.Sprintf("http-get %s %s", u.String(), attrs)
	case p.TCPSocket != nil:
		return fmt.Sprintf("tcp-socket %s:%s %s", p.TCPSocket.Host, p.TCPSocket.Port.String(), attrs)
	case p.GRPC != nil:
		svc := ""
		if p.GRPC.Service != nil {
			svc = *p.GRPC.Service
		}
		return fmt.Sprintf("grpc <pod>:%d %s %s", p.GRPC.Port, svc, attrs)
	}
	return "unknown " + attrs
}

func printEnv(w *writer, c *corev1.Container, pod *corev1.Pod) {
	if len(c.Env) == 0 {
		w.write(2, "Environment:\t<none>\n")
	} else {
		w.write(2, "Environment:\n")
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			for i, s := range strings.Split(e.Value, "\n") {
				if i == 0 {
					w.write(3, "%s:\t%s\n", e.Name, s)
				} else {
					w.write(3, "\t%s\n", s)
				}
			}
			continue
		}
		vf := e.ValueFrom
		switch {
		case vf.FieldRef != nil:
			v := ""
			if pod != nil {
				v = podFieldValue(pod, vf.FieldRef.FieldPath)
			}
			w.write(3, "%s:\t%s (%s:%s)\n", e.Name, v, vf.FieldRef.APIVersion, vf.FieldRef.FieldPath)
		case vf.ResourceFieldRef != nil:
			v := containerResourceValue(vf.ResourceFieldRef, c)
			r := vf.ResourceFieldRef.Resource
			if v == "0" && (r == "limits.cpu" || r == "limits.memory") {
				v = "node allocatable"
			}
			w.write(3, "%s:\t%s (%s)\n", e.Name, v, r)
		case vf.SecretKeyRef != nil:
			opt := vf.SecretKeyRef.Optional != nil && *vf.SecretKeyRef.Optional
			w.write(3, "%s:\t<set to the key '%s' in secret '%s'>\tOptional: %t\n", e.Name, vf.SecretKeyRef.Key, vf.SecretKeyRef.Name, opt)
		case vf.ConfigMapKeyRef != nil:
			opt := vf.ConfigMapKeyRef.Optional != nil && *vf.ConfigMapKeyRef.Optional
			w.write(3, "%s:\t<set to the key '%s' of config map '%s'>\tOptional: %t\n", e.Name, vf.ConfigMapKeyRef.Key, vf.ConfigMapKeyRef.Name, opt)
		}
	}
}

// podFieldValue resolves a downward-API field path on pod.
func podFieldValue(pod *corev1.Pod, path string) string {
	switch path {
	case "metadata.name":
		return pod.Name
	case "metadata.namespace":
		return pod.Namespace
	case "metadata.uid":
		return string(pod.UID)
	case "spec.nodeName":
		return pod.Spec.NodeName
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName
	case "status.hostIP":
		return pod.Status.HostIP
	case "status.podIP":
		return pod.Status.PodIP
	case "status.podIPs":
		var ips []string
		for _, ip := range pod.Status.PodIPs {
			ips = append(ips, ip.IP)
		}
		return strings.Join(ips, ",")
	case "status.hostIPs":
		var ips []string
		for _, ip := range pod.Status.HostIPs {
			ips = append(ips, ip.IP)
		}
		return strings.Join(ips, ",")
	}
	for _, p := range []struct {
		prefix string
		m      map[string]string
	}{{"metadata.labels", pod.Labels}, {"metadata.annotations", pod.Annotations}} {
		if path == p.prefix {
			var lines []string
			for _, k := range sortedKeys(p.m) {
				lines = append(lines, fmt.Sprintf("%s=%q", k, p.m[k]))
			}
			return strings.Join(lines, "\n")
		}
		if rest, ok := strings.CutPrefix(path, p.prefix+"['"); ok {
			return p.m[strings.TrimSuffix(rest, "']")]
		}
	}
	return ""
}

func containerResourceValue(ref *corev1.ResourceFieldSelector, c *corev1.Container) string {
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	var q resource.Quantity
	switch ref.Resource {
	case "limits.cpu":
		q = c.Resources.Limits[corev1.ResourceCPU]
		return fmt.Sprint(ceilDiv(q.MilliValue(), divisor.MilliValue()))
	case "requests.cpu":
		q = c.Resources.Requests[corev1.ResourceCPU]
		return fmt.Sprint(ceilDiv(q.MilliValue(), divisor.MilliValue()))
	case "limits.memory":
		q = c.Resources.Limits[corev1.ResourceMemory]
	case "requests.memory":
		q = c.Resources.Requests[corev1.ResourceMemory]
	case "limits.ephemeral-storage":
		q = c.Resources.Limits[corev1.ResourceEphemeralStorage]
	case "requests.ephemeral-storage":
		q = c.Resources.Requests[corev1.ResourceEphemeralStorage]
	default:
		return ""
	}
	return fmt.Sprint(ceilDiv(q.Value(), divisor.Value()))
}

func ceilDiv(a, b int64) int64 {
	if b == 0 {
		return 0
	}
	return (a + b - 1) / b
}

func printMounts(w *writer, c *corev1.Container) {
	if len(c.VolumeMounts) == 0 {
		w.write(2, "Mounts:\t<none>\n")
	} else {
		w.write(2, "Mounts:\n")
	}
	mounts := append([]corev1.VolumeMount(nil), c.VolumeMounts...)
	sort.Sort(byMountPath(mounts))
	for _, m := range mounts {
		flags := []string{"rw"}
		if m.ReadOnly {
			flags = []string{"ro"}
		}
		if m.SubPath != "" {
			flags = append(flags, fmt.Sprintf("path=%q", m.SubPath))
		}
		w.write(3, "%s from %s (%s)\n", m.MountPath, m.Name, strings.Join(flags, ","))
	}
	if len(c.VolumeDevices) > 0 {
		none := ""
		if len(c.VolumeMounts) == 0 {
			none = "\t<none>"
		}
		w.write(2, "Devices:%s\n", none)
		devs := append([]corev1.VolumeDevice(nil), c.VolumeDevices...)
		sort.Slice(devs, func(i, j int) bool { return devs[i].DevicePath < devs[j].DevicePath })
		for _, d := range devs {
			w.write(3, "%s from %s\n", d.DevicePath, d.Name)
		}
	}
}

// byMountPath is sort.Sort's (unstable) order by mount path, as upstream.
type byMountPath []corev1.VolumeMount

func (l byMountPath) Len() int           { return len(l) }
func (l byMountPath) Swap(i, j int)      { l[i], l[j] = l[j], l[i] }
func (l byMountPath) Less(i, j int) bool { return l[i].MountPath < l[j].MountPath }

func printVolumes(w *writer, volumes []corev1.Volume, space string) {
	if len(volumes) == 0 {
		w.write(0, "%sVolumes:\t<none>\n", space)
		return
	}
	w.write(0, "%sVolumes:\n", space)
	nameIndent := ""
	if space != "" {
		nameIndent = " "
	}
	for _, v := range volumes {
		w.write(1, "%s%v:\n", nameIndent, v.Name)
		vs := v.VolumeSource
		switch {
		case vs.HostPath != nil:
			t := "<none>"
			if vs.HostPath.Type != nil {
				t = string(*vs.HostPath.Type)
			}
			w.write(2, "Type:\tHostPath (bare host directory volume)\n    Path:\t%v\n    HostPathType:\t%v\n", vs.HostPath.Path, t)
		case vs.EmptyDir != nil:
			limit := "<unset>"
			if l := vs.EmptyDir.SizeLimit; l != nil && l.Cmp(resource.Quantity{}) > 0 {
				limit = l.String()
			}
			w.write(2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n    Medium:\t%v\n    SizeLimit:\t%v\n", vs.EmptyDir.Medium, limit)
		case vs.Secret != nil:
			opt := vs.Secret.Optional != nil && *vs.Secret.Optional
			w.write(2, "Type:\tSecret (a volume populated by a Secret)\n    SecretName:\t%v\n    Optional:\t%v\n", vs.Secret.SecretName, opt)
		case vs.ConfigMap != nil:
			opt := vs.ConfigMap.Optional != nil && *vs.ConfigMap.Optional
			w.write(2, "Type:\tConfigMap (a volume populated by a ConfigMap)\n    Name:\t%v\n    Optional:\t%v\n", vs.ConfigMap.Name, opt)
		case vs.NFS != nil:
			w.write(2, "Type:\tNFS (an NFS mount that lasts the lifetime of a pod)\n    Server:\t%v\n    Path:\t%v\n    ReadOnly:\t%v\n", vs.NFS.Server, vs.NFS.Path, vs.NFS.ReadOnly)
		case vs.PersistentVolumeClaim != nil:
			w.write(2, "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n    ClaimName:\t%v\n    ReadOnly:\t%v\n", vs.PersistentVolumeClaim.ClaimName, vs.PersistentVolumeClaim.ReadOnly)
		case vs.DownwardAPI != nil:
			w.write(2, "Type:\tDownwardAPI (a volume populated by information about the pod)\n    Items:\n")
			for _, item := range vs.DownwardAPI.Items {
				if item.FieldRef != nil {
					w.write(3, "%v -> %v\n", item.FieldRef.FieldPath, item.Path)
				}
				if item.ResourceFieldRef != nil {
					w.write(3, "%v -> %v\n", item.ResourceFieldRef.Resource, item.Path)
				}
			}
		case vs.Projected != nil:
			w.write(2, "Type:\tProjected (a volume that contains injected data from multiple sources)\n")
			for _, src := range vs.Projected.Sources {
				switch {
				case src.Secret != nil:
					opt := src.Secret.Optional != nil && *src.Secret.Optional
					w.write(2, "SecretName:\t%v\n    Optional:\t%v\n", src.Secret.Name, opt)
				case src.DownwardAPI != nil:
					w.write(2, "DownwardAPI:\ttrue\n")
				case src.ConfigMap != nil:
					opt := src.ConfigMap.Optional != nil && *src.ConfigMap.Optional
					w.write(2, "ConfigMapName:\t%v\n    Optional:\t%v\n", src.ConfigMap.Name, opt)
				case src.ServiceAccountToken != nil:
					var exp int64
					if src.ServiceAccountToken.ExpirationSeconds != nil {
						exp = *src.ServiceAccountToken.ExpirationSeconds
					}
					w.write(2, "TokenExpirationSeconds:\t%d\n", exp)
				}
			}
		case vs.Image != nil:
			w.write(2, "Type:\tImage (a container image or OCI artifact)\n    Reference:\t%v\n    PullPolicy:\t%v\n", vs.Image.Reference, vs.Image.PullPolicy)
		case vs.CSI != nil:
			ro := vs.CSI.ReadOnly != nil && *vs.CSI.ReadOnly
			w.write(2, "Type:\tCSI (a Container Storage Interface (CSI) volume source)\n    Driver:\t%v\n", vs.CSI.Driver)
			if vs.CSI.FSType != nil {
				w.write(2, "FSType:\t%v\n", *vs.CSI.FSType)
			}
			w.write(2, "ReadOnly:\t%v\n", ro)
		default:
			w.write(1, "<unknown>\n")
		}
	}
}

// podQOS is the pod's QoS class: status first, else computed from the
// containers' requests and limits as the kubelet computes it.
func podQOS(pod *corev1.Pod) corev1.PodQOSClass {
	if pod.Status.QOSClass != "" {
		return pod.Status.QOSClass
	}
	if r := pod.Spec.Resources; r != nil && (len(r.Requests) > 0 || len(r.Limits) > 0) {
		return requirementsQOS(r)
	}
	var qos corev1.PodQOSClass
	all := append(append([]corev1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...)
	for i := range all {
		c := requirementsQOS(&all[i].Resources)
		switch {
		case c == corev1.PodQOSBurstable:
			return c
		case qos == "":
			qos = c
		case qos != c:
			return corev1.PodQOSBurstable
		}
	}
	if qos == "" {
		qos = corev1.PodQOSBestEffort
	}
	return qos
}

func requirementsQOS(r *corev1.ResourceRequirements) corev1.PodQOSClass {
	if len(r.Requests) == 0 && len(r.Limits) == 0 {
		return corev1.PodQOSBestEffort
	}
	var qos corev1.PodQOSClass
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, lim := r.Requests[name], r.Limits[name]
		var c corev1.PodQOSClass
		switch {
		case !req.Equal(lim):
			return corev1.PodQOSBurstable
		case req.IsZero():
			c = corev1.PodQOSBestEffort
		default:
			c = corev1.PodQOSGuaranteed
		}
		if qos == "" {
			qos = c
		} else if qos != c {
			return corev1.PodQOSBurstable
		}
	}
	return qos
}
