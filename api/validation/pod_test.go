package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestValidateCreate_PodMessagesMatchUpstream(t *testing.T) {
	pod := newPod()
	pod.Name = "Foo"
	pod.Spec.Containers = nil
	errs := ValidateCreate(pod)
	want := []string{
		`metadata.name: Invalid value: "Foo": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
		`spec.containers: Required value`,
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d: %v", len(errs), len(want), errs)
	}
	for i := range want {
		if errs[i].Error() != want[i] {
			t.Errorf("error %d:\n got %s\nwant %s", i, errs[i].Error(), want[i])
		}
	}
}

func TestValidateCreate_Pod(t *testing.T) {
	c0 := func(p *corev1.Pod) *corev1.Container { return &p.Spec.Containers[0] }
	runCreate(t, newPod, []createCase[*corev1.Pod]{
		{"valid", func(*corev1.Pod) {}, nil},
		{"generateName only is still named after generation", func(p *corev1.Pod) { p.Name = ""; p.GenerateName = "web-" },
			[]string{"metadata.name Required"}},
		{"bad label", func(p *corev1.Pod) { p.Labels = map[string]string{"a b": "x"} }, []string{"metadata.labels Invalid"}},
		{"no containers", func(p *corev1.Pod) { p.Spec.Containers = nil }, []string{"spec.containers Required"}},
		{"container name missing", func(p *corev1.Pod) { c0(p).Name = "" }, []string{"spec.containers[0].name Required"}},
		{"container name not a DNS label", func(p *corev1.Pod) { c0(p).Name = "Web_1" }, []string{"spec.containers[0].name Invalid"}},
		{"duplicate container name across init and main", func(p *corev1.Pod) { p.Spec.InitContainers[0].Name = "web" },
			[]string{"spec.initContainers[0].name Duplicate"}},
		{"image missing", func(p *corev1.Pod) { c0(p).Image = "" }, []string{"spec.containers[0].image Required"}},
		{"image whitespace", func(p *corev1.Pod) { c0(p).Image = " nginx" }, []string{"spec.containers[0].image Invalid"}},
		{"containerPort out of range", func(p *corev1.Pod) { c0(p).Ports[0].ContainerPort = 70000 }, []string{"spec.containers[0].ports[0].containerPort Invalid"}},
		{"containerPort missing", func(p *corev1.Pod) { c0(p).Ports[0].ContainerPort = 0 }, []string{"spec.containers[0].ports[0].containerPort Required"}},
		{"bad protocol", func(p *corev1.Pod) { c0(p).Ports[0].Protocol = "ICMP" }, []string{"spec.containers[0].ports[0].protocol NotSupported"}},
		{"duplicate port name", func(p *corev1.Pod) {
			c0(p).Ports = append(c0(p).Ports, corev1.ContainerPort{Name: "http", ContainerPort: 81, Protocol: corev1.ProtocolTCP})
		}, []string{"spec.containers[0].ports[1].name Duplicate"}},
		{"hostPort out of range", func(p *corev1.Pod) { c0(p).Ports[0].HostPort = -1 }, []string{"spec.containers[0].ports[0].hostPort Invalid"}},
		{"hostNetwork hostPort mismatch", func(p *corev1.Pod) { p.Spec.HostNetwork = true; c0(p).Ports[0].HostPort = 8080 },
			[]string{"spec.containers[0].ports[0].hostPort Invalid"}},
		{"env name missing", func(p *corev1.Pod) { c0(p).Env[0].Name = "" }, []string{"spec.containers[0].env[0].name Required"}},
		{"env name with '='", func(p *corev1.Pod) { c0(p).Env[0].Name = "A=B" }, []string{"spec.containers[0].env[0].name Invalid"}},
		{"env relaxed name accepted", func(p *corev1.Pod) { c0(p).Env[0].Name = "my.var-1" }, nil},
		{"valueFrom with value", func(p *corev1.Pod) { c0(p).Env[1].Value = "x" }, []string{"spec.containers[0].env[1].valueFrom Invalid"}},
		{"valueFrom with two sources", func(p *corev1.Pod) {
			c0(p).Env[1].ValueFrom.ConfigMapKeyRef = &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}, Key: "k"}
		}, []string{"spec.containers[0].env[1].valueFrom Invalid"}},
		{"valueFrom empty", func(p *corev1.Pod) { c0(p).Env[1].ValueFrom = &corev1.EnvVarSource{} }, []string{"spec.containers[0].env[1].valueFrom Invalid"}},
		{"secretKeyRef key missing", func(p *corev1.Pod) { c0(p).Env[2].ValueFrom.SecretKeyRef.Key = "" },
			[]string{"spec.containers[0].env[2].valueFrom.secretKeyRef.key Required"}},
		{"fieldRef unsupported path", func(p *corev1.Pod) { c0(p).Env[1].ValueFrom.FieldRef.FieldPath = "spec.hostname" },
			[]string{"spec.containers[0].env[1].valueFrom.fieldRef.fieldPath NotSupported"}},
		{"fieldRef label path", func(p *corev1.Pod) { c0(p).Env[1].ValueFrom.FieldRef.FieldPath = "metadata.labels['app']" }, nil},
		{"duplicate volume name", func(p *corev1.Pod) { p.Spec.Volumes[1].Name = "config" },
			[]string{"spec.volumes[1].name Duplicate", "spec.containers[0].volumeMounts[1].name NotFound"}},
		{"volume without source", func(p *corev1.Pod) { p.Spec.Volumes[1].VolumeSource = corev1.VolumeSource{} }, []string{"spec.volumes[1] Required"}},
		{"volume with two sources", func(p *corev1.Pod) { p.Spec.Volumes[1].HostPath = &corev1.HostPathVolumeSource{Path: "/tmp"} },
			[]string{"spec.volumes[1].emptyDir Forbidden"}},
		{"secret volume without name", func(p *corev1.Pod) {
			p.Spec.Volumes[1].VolumeSource = corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{DefaultMode: ptr(int32(0644))}}
		}, []string{"spec.volumes[1].secret.secretName Required"}},
		{"service account token volume as admission adds it", func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "kube-api-access-x7k2p", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				DefaultMode: ptr(int32(0644)),
				Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{ExpirationSeconds: ptr(int64(3607)), Path: "token"}},
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}, Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
					{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
						{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}},
						{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels"}},
					}}},
				}}}})
		}, nil},
		{"downward API volume cannot expose node name", func(p *corev1.Pod) {
			p.Spec.Volumes[1].VolumeSource = corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
				{Path: "node", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "spec.nodeName"}}}}}
		}, []string{"spec.volumes[1].downwardAPI.items[0].fieldRef.fieldPath NotSupported"}},
		{"short token expiry", func(p *corev1.Pod) {
			p.Spec.Volumes[1].VolumeSource = corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{ExpirationSeconds: ptr(int64(60)), Path: "token"}}}}}
		}, []string{"spec.volumes[1].projected.sources[0].serviceAccountToken.expirationSeconds Invalid"}},
		{"bad defaultMode", func(p *corev1.Pod) { p.Spec.Volumes[0].ConfigMap.DefaultMode = ptr(int32(01000)) },
			[]string{"spec.volumes[0].configMap.defaultMode Invalid"}},
		{"mount of unknown volume", func(p *corev1.Pod) { c0(p).VolumeMounts[0].Name = "nope" }, []string{"spec.containers[0].volumeMounts[0].name NotFound"}},
		{"duplicate mountPath", func(p *corev1.Pod) { c0(p).VolumeMounts[1].MountPath = "/etc/nginx/conf.d" },
			[]string{"spec.containers[0].volumeMounts[1].mountPath Invalid"}},
		{"subPath escapes", func(p *corev1.Pod) { c0(p).VolumeMounts[0].SubPath = "../x" }, []string{"spec.containers[0].volumeMounts[0].subPath Invalid"}},
		{"negative request", func(p *corev1.Pod) { c0(p).Resources.Requests[corev1.ResourceCPU] = resource.MustParse("-1") },
			[]string{"spec.containers[0].resources.requests[cpu] Invalid"}},
		{"request above limit", func(p *corev1.Pod) { c0(p).Resources.Requests[corev1.ResourceMemory] = resource.MustParse("1Gi") },
			[]string{"spec.containers[0].resources.requests[memory] Invalid"}},
		{"unqualified extended resource", func(p *corev1.Pod) { c0(p).Resources.Limits["gpu"] = resource.MustParse("1") },
			[]string{"spec.containers[0].resources.limits[gpu] Invalid"}},
		{"gpu as extended resource", func(p *corev1.Pod) {
			c0(p).Resources.Limits["nvidia.com/gpu"] = resource.MustParse("1")
			c0(p).Resources.Requests["nvidia.com/gpu"] = resource.MustParse("1")
		}, nil},
		{"extended resource request differs from limit", func(p *corev1.Pod) {
			c0(p).Resources.Limits["nvidia.com/gpu"] = resource.MustParse("2")
			c0(p).Resources.Requests["nvidia.com/gpu"] = resource.MustParse("1")
		}, []string{"spec.containers[0].resources.requests[nvidia.com/gpu] Invalid"}},
		{"extended resource without limit", func(p *corev1.Pod) { c0(p).Resources.Requests["example.com/foo"] = resource.MustParse("1") },
			[]string{"spec.containers[0].resources.limits[example.com/foo] Required"}},
		{"fractional extended resource", func(p *corev1.Pod) {
			c0(p).Resources.Limits["example.com/foo"] = resource.MustParse("500m")
			c0(p).Resources.Requests["example.com/foo"] = resource.MustParse("500m")
		}, []string{"spec.containers[0].resources.limits[example.com/foo] Invalid", "spec.containers[0].resources.requests[example.com/foo] Invalid"}},
		{"pods is not a container resource", func(p *corev1.Pod) { c0(p).Resources.Limits["pods"] = resource.MustParse("1") },
			[]string{"spec.containers[0].resources.limits[pods] Invalid"}},
		{"readiness gate", func(p *corev1.Pod) { p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "bad gate"}} },
			[]string{"spec.readinessGates[0].conditionType Invalid"}},
		{"bad restartPolicy", func(p *corev1.Pod) { p.Spec.RestartPolicy = "Sometimes" }, []string{"spec.restartPolicy NotSupported"}},
		{"bad dnsPolicy", func(p *corev1.Pod) { p.Spec.DNSPolicy = "Google" }, []string{"spec.dnsPolicy NotSupported"}},
		{"dnsPolicy None without config", func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSNone }, []string{"spec.dnsConfig Required"}},
		{"probe without handler", func(p *corev1.Pod) { c0(p).ReadinessProbe.ProbeHandler = corev1.ProbeHandler{} },
			[]string{"spec.containers[0].readinessProbe Required"}},
		{"probe with two handlers", func(p *corev1.Pod) {
			c0(p).ReadinessProbe.Exec = &corev1.ExecAction{Command: []string{"true"}}
		}, []string{"spec.containers[0].readinessProbe.httpGet Forbidden"}},
		{"probe negative period", func(p *corev1.Pod) { c0(p).LivenessProbe.PeriodSeconds = -1 }, []string{"spec.containers[0].livenessProbe.periodSeconds Invalid"}},
		{"liveness successThreshold must be 1", func(p *corev1.Pod) { c0(p).LivenessProbe.SuccessThreshold = 2 },
			[]string{"spec.containers[0].livenessProbe.successThreshold Invalid"}},
		{"probe port name invalid", func(p *corev1.Pod) { c0(p).ReadinessProbe.HTTPGet.Port = intstr.FromString("http_port") },
			[]string{"spec.containers[0].readinessProbe.httpGet.port Invalid"}},
		{"toleration Exists with value", func(p *corev1.Pod) { p.Spec.Tolerations[0].Value = "x" }, []string{"spec.tolerations[0].operator Invalid"}},
		{"toleration bad operator", func(p *corev1.Pod) { p.Spec.Tolerations[0].Operator = "Like" }, []string{"spec.tolerations[0].operator NotSupported"}},
		{"toleration bad effect", func(p *corev1.Pod) {
			p.Spec.Tolerations[0].Effect = "Evict"
			p.Spec.Tolerations[0].TolerationSeconds = nil
		},
			[]string{"spec.tolerations[0].effect NotSupported"}},
		{"tolerationSeconds needs NoExecute", func(p *corev1.Pod) { p.Spec.Tolerations[0].Effect = corev1.TaintEffectNoSchedule },
			[]string{"spec.tolerations[0].effect Invalid"}},
		{"empty key needs Exists", func(p *corev1.Pod) {
			p.Spec.Tolerations[0] = corev1.Toleration{Operator: corev1.TolerationOpEqual, Value: "x"}
		}, []string{"spec.tolerations[0].operator Invalid"}},
		{"nodeSelector bad value", func(p *corev1.Pod) { p.Spec.NodeSelector["zone"] = "a b" }, []string{"spec.nodeSelector Invalid"}},
		{"affinity bad selector operator", func(p *corev1.Pod) {
			p.Spec.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm.LabelSelector.MatchExpressions =
				[]metav1.LabelSelectorRequirement{{Key: "app", Operator: "Near"}}
		}, []string{"spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.labelSelector.matchExpressions[0].operator Invalid"}},
		{"affinity weight out of range", func(p *corev1.Pod) {
			p.Spec.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].Weight = 0
		}, []string{"spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight Invalid"}},
		{"node affinity without terms", func(p *corev1.Pod) {
			p.Spec.Affinity.NodeAffinity = &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{}}
		}, []string{"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms Required"}},
		{"node affinity Gt needs one value", func(p *corev1.Pod) {
			p.Spec.Affinity.NodeAffinity = &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "cores", Operator: corev1.NodeSelectorOpGt}}}}}}
		}, []string{"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values Required"}},
		{"runAsUser negative", func(p *corev1.Pod) { p.Spec.SecurityContext.RunAsUser = ptr(int64(-1)) }, []string{"spec.securityContext.runAsUser Invalid"}},
		{"privileged without escalation", func(p *corev1.Pod) {
			c0(p).SecurityContext = &corev1.SecurityContext{Privileged: ptr(true), AllowPrivilegeEscalation: ptr(false)}
		}, []string{"spec.containers[0].securityContext Invalid"}},
		{"negative grace period", func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr(int64(-5)) },
			[]string{"spec.terminationGracePeriodSeconds Invalid"}},
		{"zero activeDeadlineSeconds", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr(int64(0)) }, []string{"spec.activeDeadlineSeconds Invalid"}},
		{"priorityClassName", func(p *corev1.Pod) { p.Spec.PriorityClassName = "High_Priority" }, []string{"spec.priorityClassName Invalid"}},
		{"hostname and subdomain", func(p *corev1.Pod) { p.Spec.Hostname = "a.b"; p.Spec.Subdomain = "Sub" },
			[]string{"spec.hostname Invalid", "spec.subdomain Invalid"}},
		{"init container probe without sidecar policy", func(p *corev1.Pod) {
			p.Spec.InitContainers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
		}, []string{"spec.initContainers[0].readinessProbe Forbidden"}},
		{"sidecar init container may have probes", func(p *corev1.Pod) {
			p.Spec.InitContainers[0].RestartPolicy = ptr(corev1.ContainerRestartPolicyAlways)
			p.Spec.InitContainers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}, PeriodSeconds: 10, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3}
		}, nil},
		{"ephemeral containers on create", func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name: "debug", Image: "busybox", ImagePullPolicy: corev1.PullAlways, TerminationMessagePolicy: corev1.TerminationMessageReadFile}}}
		}, []string{"spec.ephemeralContainers Forbidden"}},
		{"topology spread", func(p *corev1.Pod) {
			p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 0, WhenUnsatisfiable: "Maybe"}}
		}, []string{"spec.topologySpreadConstraints[0].maxSkew Invalid", "spec.topologySpreadConstraints[0].topologyKey Required", "spec.topologySpreadConstraints[0].whenUnsatisfiable NotSupported"}},
	})
}

func TestValidateUpdate_Pod(t *testing.T) {
	runUpdate(t, newPod, []updateCase[*corev1.Pod]{
		{"image change allowed", func(p, _ *corev1.Pod) { p.Spec.Containers[0].Image = "nginx:1.28" }, nil},
		{"labels change allowed", func(p, _ *corev1.Pod) { p.Labels["v"] = "2" }, nil},
		{"image cleared", func(p, _ *corev1.Pod) { p.Spec.Containers[0].Image = "" }, []string{"spec.containers[0].image Required"}},
		{"toleration added", func(p, _ *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "gpu", Effect: corev1.TaintEffectNoSchedule})
		}, nil},
		{"toleration seconds changed", func(p, _ *corev1.Pod) { p.Spec.Tolerations[0].TolerationSeconds = ptr(int64(10)) }, nil},
		{"toleration removed", func(p, _ *corev1.Pod) { p.Spec.Tolerations = nil }, []string{"spec.tolerations Forbidden", "spec Forbidden"}},
		{"activeDeadlineSeconds set then raised", func(p, old *corev1.Pod) {
			old.Spec.ActiveDeadlineSeconds = ptr(int64(30))
			p.Spec.ActiveDeadlineSeconds = ptr(int64(60))
		}, []string{"spec.activeDeadlineSeconds Invalid"}},
		{"activeDeadlineSeconds lowered", func(p, old *corev1.Pod) {
			old.Spec.ActiveDeadlineSeconds = ptr(int64(60))
			p.Spec.ActiveDeadlineSeconds = ptr(int64(30))
		}, nil},
		{"env change forbidden", func(p, _ *corev1.Pod) { p.Spec.Containers[0].Env[0].Value = "dev" }, []string{"spec Forbidden"}},
		{"name immutable", func(p, _ *corev1.Pod) { p.Name = "other" }, []string{"metadata.name Invalid"}},
		{"resourceVersion required", func(p, _ *corev1.Pod) { p.ResourceVersion = "" }, []string{"metadata.resourceVersion Invalid"}},
	})

	old := newPod()
	old.ResourceVersion = "1"
	pod := old.DeepCopy()
	pod.Spec.Containers[0].Ports[0].ContainerPort = 8080
	errs := ValidateUpdate(pod, old)
	if len(errs) != 1 {
		t.Fatalf("want one error, got %v", errs)
	}
	msg := errs[0].Error()
	prefix := "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"
	if !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, "8080") {
		t.Errorf("message %q lacks upstream's prefix or the diff", msg)
	}
}

func TestValidateStatusUpdate_Pod(t *testing.T) {
	old := newPod()
	old.ResourceVersion = "3"
	old.Spec.NodeName = "node-1"
	old.Spec.RestartPolicy = corev1.RestartPolicyNever
	old.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "web", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}}}

	ok := old.DeepCopy()
	ok.Status.PodIP = "10.244.1.5"
	ok.Status.PodIPs = []corev1.PodIP{{IP: "10.244.1.5"}}
	expectErrors(t, ValidateStatusUpdate(ok, old))

	bad := old.DeepCopy()
	bad.Status.PodIP = "10.244.1.5"
	bad.Status.PodIPs = []corev1.PodIP{{IP: "10.244.1.6"}, {IP: "nope"}}
	bad.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	bad.Status.ContainerStatuses[0].RestartCount = -1
	expectErrors(t, ValidateStatusUpdate(bad, old),
		"status.podIPs[0].ip Invalid", "status.podIPs[1].ip Invalid",
		"status.containerStatuses[0].state Forbidden", "status.containerStatuses[0].restartCount Invalid")
}

func TestValidateCreate_Binding(t *testing.T) {
	b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "default"}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-1"}}
	expectErrors(t, ValidateCreate(b))
	b.Target = corev1.ObjectReference{Kind: "Pod"}
	expectErrors(t, ValidateCreate(b), "target.kind NotSupported", "target.name Required")
}

func TestValidateUpdate_TypeMismatchIsInternal(t *testing.T) {
	errs := ValidateUpdate(newPod(), newService())
	if len(errs) != 1 || errs[0].Type != field.ErrorTypeInternal {
		t.Errorf("want one internal error, got %v", errs)
	}
}

func BenchmarkValidateCreate_Pod(b *testing.B) {
	pod := newPod()
	b.ReportAllocs()
	for b.Loop() {
		if errs := ValidateCreate(pod); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
}

// TestValidateUpdate_PodQuantityFormsAreEqual: "0.5" and "500m" are the
// same quantity; a stored pod and a resent one must not differ by form.
func TestValidateUpdate_PodQuantityFormsAreEqual(t *testing.T) {
	old := newPod()
	old.ResourceVersion = "1"
	old.Spec.Containers[0].Resources.Limits[corev1.ResourceCPU] = resource.MustParse("0.5")
	pod := old.DeepCopy()
	pod.Spec.Containers[0].Resources.Limits[corev1.ResourceCPU] = resource.MustParse("500m")
	expectErrors(t, ValidateUpdate(pod, old))
}

func TestValidateEphemeralContainersUpdate(t *testing.T) {
	debug := func(name, image string) corev1.EphemeralContainer {
		return corev1.EphemeralContainer{TargetContainerName: "web", EphemeralContainerCommon: corev1.EphemeralContainerCommon{
			Name: name, Image: image, ImagePullPolicy: corev1.PullIfNotPresent, TerminationMessagePolicy: corev1.TerminationMessageReadFile}}
	}
	old := newPod()
	old.ResourceVersion = "4"
	old.Spec.EphemeralContainers = []corev1.EphemeralContainer{debug("debug-1", "busybox")}

	add := old.DeepCopy()
	add.Spec.EphemeralContainers = append(add.Spec.EphemeralContainers, debug("debug-2", "busybox"))
	expectErrors(t, ValidateEphemeralContainersUpdate(add, old))

	bad := old.DeepCopy()
	bad.Spec.EphemeralContainers = []corev1.EphemeralContainer{debug("debug-1", "alpine"), debug("web", "")}
	bad.Spec.EphemeralContainers[1].Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}}
	expectErrors(t, ValidateEphemeralContainersUpdate(bad, old),
		"spec.ephemeralContainers[0] Forbidden",
		"spec.ephemeralContainers[1].name Duplicate", "spec.ephemeralContainers[1].image Required", "spec.ephemeralContainers[1].ports Forbidden")

	removed := old.DeepCopy()
	removed.Spec.EphemeralContainers = nil
	removed.Spec.Containers[0].Image = "nginx:1.28"
	expectErrors(t, ValidateEphemeralContainersUpdate(removed, old), "spec.ephemeralContainers Forbidden", "spec Forbidden")
}
