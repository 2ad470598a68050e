package defaulting

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// defaultedContainer is what upstream stores for a container that only set
// a name and an image with a non-latest tag.
func defaultedContainer(name, image string, policy corev1.PullPolicy) corev1.Container {
	return corev1.Container{
		Name: name, Image: image, ImagePullPolicy: policy,
		TerminationMessagePath:   "/dev/termination-log",
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
	}
}

func TestDefault_Objects(t *testing.T) {
	tcp := corev1.ProtocolTCP
	cluster := corev1.ServiceInternalTrafficPolicyCluster
	filesystem := corev1.PersistentVolumeFilesystem
	hostPathUnset := corev1.HostPathUnset
	nonIndexed := batchv1.NonIndexedCompletion
	terminatingOrFailed := batchv1.TerminatingOrFailed
	failed := batchv1.Failed
	preemptLower := corev1.PreemptLowerPriority
	deleteReclaim := corev1.PersistentVolumeReclaimDelete
	immediate := storagev1.VolumeBindingImmediate
	pct25 := intstr.FromString("25%")
	one := intstr.FromInt32(1)
	zero := intstr.FromInt32(0)
	maxPolicy := autoscalingv2.MaxChangePolicySelect

	// Defaults every PodSpec gets, in a pod or a template.
	specDefaults := func(s corev1.PodSpec) corev1.PodSpec {
		s.RestartPolicy = corev1.RestartPolicyAlways
		s.DNSPolicy = corev1.DNSClusterFirst
		s.TerminationGracePeriodSeconds = i64(30)
		s.SecurityContext = &corev1.PodSecurityContext{}
		s.SchedulerName = "default-scheduler"
		return s
	}
	template := func() corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx:1.27"}}},
		}
	}
	defaultedTemplate := func() corev1.PodTemplateSpec {
		t := template()
		t.Spec = specDefaults(corev1.PodSpec{Containers: []corev1.Container{defaultedContainer("c", "nginx:1.27", corev1.PullIfNotPresent)}})
		return t
	}

	tests := []struct {
		name string
		in   runtime.Object
		want runtime.Object
	}{
		{
			name: "pod: minimal pod gets the spec, container and pod-only defaults",
			in: &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "c", Image: "busybox",
				Ports:     []corev1.ContainerPort{{ContainerPort: 80}},
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}},
				Env: []corev1.EnvVar{{Name: "NODE", ValueFrom: &corev1.EnvVarSource{
					FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}}},
				LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(8080)}}},
			}}}},
			want: &corev1.Pod{Spec: func() corev1.PodSpec {
				c := defaultedContainer("c", "busybox", corev1.PullAlways)
				c.Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}}
				c.Resources = corev1.ResourceRequirements{
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")},
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")},
				}
				c.Env = []corev1.EnvVar{{Name: "NODE", ValueFrom: &corev1.EnvVarSource{
					FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "spec.nodeName"}}}}
				c.LivenessProbe = &corev1.Probe{
					ProbeHandler:   corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(8080), Path: "/", Scheme: corev1.URISchemeHTTP}},
					TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3,
				}
				s := specDefaults(corev1.PodSpec{Containers: []corev1.Container{c}})
				s.EnableServiceLinks = bptr(true)
				return s
			}()},
		},
		{
			name: "pod: volumes get their modes and types, a sourceless volume becomes emptyDir",
			in: &corev1.Pod{Spec: corev1.PodSpec{Volumes: []corev1.Volume{
				{Name: "none"},
				{Name: "cm", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}},
				{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}},
				{Name: "hp", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/x"}}},
				{Name: "proj", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}}}}}},
			}}},
			want: &corev1.Pod{Spec: func() corev1.PodSpec {
				s := specDefaults(corev1.PodSpec{Volumes: []corev1.Volume{
					{Name: "none", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					{Name: "cm", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{DefaultMode: i32(0o644)}}},
					{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s", DefaultMode: i32(0o644)}}},
					{Name: "hp", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/x", Type: &hostPathUnset}}},
					{Name: "proj", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{DefaultMode: i32(0o644), Sources: []corev1.VolumeProjection{
						{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: i64(3600)}}}}}},
				}})
				s.EnableServiceLinks = bptr(true)
				return s
			}()},
		},
		{
			name: "pod: host network turns container ports into host ports",
			in: &corev1.Pod{Spec: corev1.PodSpec{HostNetwork: true, Containers: []corev1.Container{{
				Name: "c", Image: "a:1", Ports: []corev1.ContainerPort{{ContainerPort: 9100, Protocol: corev1.ProtocolUDP}}}}}},
			want: &corev1.Pod{Spec: func() corev1.PodSpec {
				c := defaultedContainer("c", "a:1", corev1.PullIfNotPresent)
				c.Ports = []corev1.ContainerPort{{ContainerPort: 9100, HostPort: 9100, Protocol: corev1.ProtocolUDP}}
				s := specDefaults(corev1.PodSpec{HostNetwork: true, Containers: []corev1.Container{c}})
				s.EnableServiceLinks = bptr(true)
				return s
			}()},
		},
		{
			name: "pod template: no pod-only defaults (no enableServiceLinks, no requests from limits)",
			in: &corev1.PodTemplate{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "c", Image: "a:1", Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}}}}}}},
			want: &corev1.PodTemplate{Template: corev1.PodTemplateSpec{Spec: func() corev1.PodSpec {
				c := defaultedContainer("c", "a:1", corev1.PullIfNotPresent)
				c.Resources = corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}}
				return specDefaults(corev1.PodSpec{Containers: []corev1.Container{c}})
			}()}},
		},
		{
			name: "service: ClusterIP",
			in:   &corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}},
			want: &corev1.Service{Spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeClusterIP, SessionAffinity: corev1.ServiceAffinityNone,
				Ports:                 []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(80)}},
				InternalTrafficPolicy: &cluster,
			}},
		},
		{
			name: "service: LoadBalancer with ClientIP affinity and a named target port",
			in: &corev1.Service{
				Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, SessionAffinity: corev1.ServiceAffinityClientIP,
					Ports: []corev1.ServicePort{{Port: 443, TargetPort: intstr.FromString("https")}}},
				Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "10.0.0.9"}}}},
			},
			want: func() runtime.Object {
				vip := corev1.LoadBalancerIPModeVIP
				return &corev1.Service{
					Spec: corev1.ServiceSpec{
						Type: corev1.ServiceTypeLoadBalancer, SessionAffinity: corev1.ServiceAffinityClientIP,
						SessionAffinityConfig:         &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: i32(10800)}},
						Ports:                         []corev1.ServicePort{{Port: 443, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("https")}},
						ExternalTrafficPolicy:         corev1.ServiceExternalTrafficPolicyCluster,
						InternalTrafficPolicy:         &cluster,
						AllocateLoadBalancerNodePorts: bptr(true),
					},
					Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "10.0.0.9", IPMode: &vip}}}},
				}
			}(),
		},
		{
			name: "service: ExternalName gets no traffic policies",
			in:   &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"}},
			want: &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com", SessionAffinity: corev1.ServiceAffinityNone}},
		},
		{
			name: "deployment",
			in:   &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: template()}},
			want: &appsv1.Deployment{Spec: appsv1.DeploymentSpec{
				Replicas: i32(1),
				Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
					RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &pct25, MaxSurge: &pct25}},
				RevisionHistoryLimit: i32(10), ProgressDeadlineSeconds: i32(600),
				Template: defaultedTemplate(),
			}},
		},
		{
			name: "deployment: Recreate gets no rollingUpdate block",
			in:   &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: i32(3), Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}, Template: template()}},
			want: &appsv1.Deployment{Spec: appsv1.DeploymentSpec{
				Replicas: i32(3), Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
				RevisionHistoryLimit: i32(10), ProgressDeadlineSeconds: i32(600), Template: defaultedTemplate(),
			}},
		},
		{
			name: "replicaset",
			in:   &appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Template: template()}},
			want: &appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Replicas: i32(1), Template: defaultedTemplate()}},
		},
		{
			name: "replicationcontroller: selector and labels from the template",
			in: func() runtime.Object {
				tpl := template()
				return &corev1.ReplicationController{Spec: corev1.ReplicationControllerSpec{Template: &tpl}}
			}(),
			want: func() runtime.Object {
				tpl := defaultedTemplate()
				return &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
					Spec: corev1.ReplicationControllerSpec{Replicas: i32(1), Selector: map[string]string{"app": "web"}, Template: &tpl}}
			}(),
		},
		{
			name: "statefulset: claim templates get the full PVC defaults",
			in: &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Template: template(),
				VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}}}},
			want: &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{
				Replicas: i32(1), PodManagementPolicy: appsv1.OrderedReadyPodManagement,
				UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType,
					RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: i32(0), MaxUnavailable: &one}},
				RevisionHistoryLimit: i32(10),
				PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
					WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType, WhenScaled: appsv1.RetainPersistentVolumeClaimRetentionPolicyType},
				Template: defaultedTemplate(),
				VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"},
					Spec: corev1.PersistentVolumeClaimSpec{VolumeMode: &filesystem}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}}},
			}},
		},
		{
			name: "daemonset",
			in:   &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Template: template()}},
			want: &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{
				UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType,
					RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &one, MaxSurge: &zero}},
				RevisionHistoryLimit: i32(10), Template: defaultedTemplate(),
			}},
		},
		{
			name: "job: non-parallel, labels from the template",
			in:   &batchv1.Job{Spec: batchv1.JobSpec{Template: template()}},
			want: &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: batchv1.JobSpec{
				Completions: i32(1), Parallelism: i32(1), BackoffLimit: i32(6), CompletionMode: &nonIndexed,
				Suspend: bptr(false), PodReplacementPolicy: &terminatingOrFailed, Template: defaultedTemplate(),
			}},
		},
		{
			name: "job: parallelism only, per-index backoff and a failure policy",
			in: &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"own": "x"}}, Spec: batchv1.JobSpec{
				Parallelism: i32(4), BackoffLimitPerIndex: i32(2), Template: template(),
				PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{Action: batchv1.PodFailurePolicyActionIgnore,
					OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget}}}}},
			}},
			want: &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"own": "x"}}, Spec: batchv1.JobSpec{
				Parallelism: i32(4), BackoffLimitPerIndex: i32(2), BackoffLimit: i32(math.MaxInt32), CompletionMode: &nonIndexed,
				Suspend: bptr(false), PodReplacementPolicy: &failed, Template: defaultedTemplate(),
				PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{Action: batchv1.PodFailurePolicyActionIgnore,
					OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}}}},
			}},
		},
		{
			name: "cronjob: only the pod template inside the job template",
			in:   &batchv1.CronJob{Spec: batchv1.CronJobSpec{Schedule: "* * * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: template()}}}},
			want: &batchv1.CronJob{Spec: batchv1.CronJobSpec{Schedule: "* * * * *",
				ConcurrencyPolicy: batchv1.AllowConcurrent, Suspend: bptr(false),
				SuccessfulJobsHistoryLimit: i32(3), FailedJobsHistoryLimit: i32(1),
				JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: defaultedTemplate()}}}},
		},
		{
			name: "namespace: being created",
			in:   &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}},
			want: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team", Labels: map[string]string{"kubernetes.io/metadata.name": "team"}},
				Spec:   corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}},
				Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}},
		},
		{
			name: "namespace: a stored one keeps its emptied finalizers",
			in: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team", ResourceVersion: "7"},
				Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}},
			want: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team", ResourceVersion: "7", Labels: map[string]string{"kubernetes.io/metadata.name": "team"}},
				Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}},
		},
		{
			name: "node: allocatable from capacity",
			in:   &corev1.Node{Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("110")}}},
			want: &corev1.Node{Status: corev1.NodeStatus{
				Capacity:    corev1.ResourceList{corev1.ResourcePods: resource.MustParse("110")},
				Allocatable: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("110")}}},
		},
		{
			name: "secret",
			in:   &corev1.Secret{},
			want: &corev1.Secret{Type: corev1.SecretTypeOpaque},
		},
		{
			name: "persistentvolume",
			in:   &corev1.PersistentVolume{Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/d"}}}},
			want: &corev1.PersistentVolume{
				Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/d", Type: &hostPathUnset}},
					PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain, VolumeMode: &filesystem},
				Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumePending}},
		},
		{
			name: "persistentvolumeclaim",
			in:   &corev1.PersistentVolumeClaim{},
			want: &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{VolumeMode: &filesystem},
				Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}},
		},
		{
			name: "endpoints and endpointslices: TCP",
			in:   &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{Ports: []corev1.EndpointPort{{Port: 80}}}}},
			want: &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{Ports: []corev1.EndpointPort{{Port: 80, Protocol: corev1.ProtocolTCP}}}}},
		},
		{
			name: "endpointslice: port name \"\" and TCP",
			in:   &discoveryv1.EndpointSlice{Ports: []discoveryv1.EndpointPort{{Port: i32(80)}}},
			want: &discoveryv1.EndpointSlice{Ports: []discoveryv1.EndpointPort{{Port: i32(80), Name: sptr(""), Protocol: &tcp}}},
		},
		{
			name: "hpa: minReplicas 1 and CPU 80%",
			in:   &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 5}},
			want: &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 5, MinReplicas: i32(1),
				Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
					Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: i32(80)}}}}}},
		},
		{
			name: "hpa: a partial behavior is completed",
			in: &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 5, MinReplicas: i32(2),
				Metrics:  []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType}},
				Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: i32(60)}}}},
			want: &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 5, MinReplicas: i32(2),
				Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType}},
				Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
					ScaleUp: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: i32(0), SelectPolicy: &maxPolicy, Policies: []autoscalingv2.HPAScalingPolicy{
						{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15}, {Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}}},
					ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: i32(60), SelectPolicy: &maxPolicy, Policies: []autoscalingv2.HPAScalingPolicy{
						{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}}},
				}}},
		},
		{
			name: "networkpolicy: egress rules add the Egress type",
			in: &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{
				Egress: []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{{}}}}}},
			want: &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{
				Egress:      []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp}}}},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}}},
		},
		{
			name: "clusterrolebinding: subject groups by kind",
			in: &rbacv1.ClusterRoleBinding{RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"}, Subjects: []rbacv1.Subject{
				{Kind: "User", Name: "alice"}, {Kind: "Group", Name: "devs"}, {Kind: "ServiceAccount", Name: "sa", Namespace: "ns"}}},
			want: &rbacv1.ClusterRoleBinding{RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "view"}, Subjects: []rbacv1.Subject{
				{Kind: "User", Name: "alice", APIGroup: "rbac.authorization.k8s.io"}, {Kind: "Group", Name: "devs", APIGroup: "rbac.authorization.k8s.io"},
				{Kind: "ServiceAccount", Name: "sa", Namespace: "ns"}}},
		},
		{
			name: "priorityclass",
			in:   &schedulingv1.PriorityClass{Value: 1000},
			want: &schedulingv1.PriorityClass{Value: 1000, PreemptionPolicy: &preemptLower},
		},
		{
			name: "storageclass",
			in:   &storagev1.StorageClass{Provisioner: "x"},
			want: &storagev1.StorageClass{Provisioner: "x", ReclaimPolicy: &deleteReclaim, VolumeBindingMode: &immediate},
		},
		{
			name: "configmap: data becomes an empty map",
			in:   &corev1.ConfigMap{},
			want: &corev1.ConfigMap{Data: map[string]string{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in.DeepCopyObject()
			Default(got)
			if !equality.Semantic.DeepEqual(got, tt.want) {
				t.Fatalf("defaulted object differs (-want +got):\n%s", cmp.Diff(tt.want, got))
			}
			// Defaulting is idempotent.
			again := got.DeepCopyObject()
			Default(again)
			if !equality.Semantic.DeepEqual(got, again) {
				t.Fatalf("second Default changed the object:\n%s", cmp.Diff(got, again))
			}
		})
	}
}

func TestDefault_ImagePullPolicy(t *testing.T) {
	tests := []struct {
		image string
		want  corev1.PullPolicy
	}{
		{"nginx", corev1.PullAlways},
		{"nginx:latest", corev1.PullAlways},
		{"nginx:1.27", corev1.PullIfNotPresent},
		{"localhost:5000/app", corev1.PullAlways},
		{"localhost:5000/app:v2", corev1.PullIfNotPresent},
		{"registry.k8s.io/pause@sha256:7031c1b283388d2c2e09b57badb803c05ebed362dc88d84b480cc47f72a21097", corev1.PullIfNotPresent},
		{"app:latest@sha256:7031c1b283388d2c2e09b57badb803c05ebed362dc88d84b480cc47f72a21097", corev1.PullAlways},
	}
	for _, tt := range tests {
		pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: tt.image}}}}
		Default(pod)
		if got := pod.Spec.Containers[0].ImagePullPolicy; got != tt.want {
			t.Errorf("image %q: pull policy %s, want %s", tt.image, got, tt.want)
		}
	}
}

func TestDefault_KeepsUserValues(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever, DNSPolicy: corev1.DNSDefault, SchedulerName: "mine",
		TerminationGracePeriodSeconds: i64(0), EnableServiceLinks: bptr(false),
		Containers: []corev1.Container{{Name: "c", Image: "a", ImagePullPolicy: corev1.PullNever,
			Resources: corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}},
	}}
	Default(pod)
	s := pod.Spec
	if s.RestartPolicy != corev1.RestartPolicyNever || s.DNSPolicy != corev1.DNSDefault || s.SchedulerName != "mine" ||
		*s.TerminationGracePeriodSeconds != 0 || *s.EnableServiceLinks || s.Containers[0].ImagePullPolicy != corev1.PullNever {
		t.Fatalf("user values overwritten: %+v", s)
	}
	if got := s.Containers[0].Resources.Requests[corev1.ResourceCPU]; got.String() != "100m" {
		t.Fatalf("explicit request overwritten by limit: %s", got.String())
	}
}

func TestDefault_RoundsQuantitiesToMilli(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "a",
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100.5m")}}}}}}
	Default(pod)
	if got := pod.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU]; got.String() != "101m" {
		t.Fatalf("cpu request %s, want 101m", got.String())
	}
}

func TestPodPriority(t *testing.T) {
	never := corev1.PreemptNever
	lower := corev1.PreemptLowerPriority
	tests := []struct {
		name       string
		pod        corev1.PodSpec
		class      *schedulingv1.PriorityClass
		wantPrio   int32
		wantPolicy corev1.PreemptionPolicy
		wantClass  string
		wantErr    bool
	}{
		{name: "no class: priority 0, PreemptLowerPriority", wantPrio: 0, wantPolicy: lower},
		{name: "named class", pod: corev1.PodSpec{PriorityClassName: "batch"},
			class:    &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "batch"}, Value: 10, PreemptionPolicy: &never},
			wantPrio: 10, wantPolicy: never, wantClass: "batch"},
		{name: "global default fills the class name",
			class:    &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Value: 5, GlobalDefault: true},
			wantPrio: 5, wantPolicy: lower, wantClass: "default"},
		{name: "conflicting priority in the pod", pod: corev1.PodSpec{Priority: i32(7)}, wantErr: true},
		{name: "matching priority in the pod", pod: corev1.PodSpec{Priority: i32(0)}, wantPrio: 0, wantPolicy: lower},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: tt.pod}
			err := PodPriority(pod, tt.class)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if *pod.Spec.Priority != tt.wantPrio || *pod.Spec.PreemptionPolicy != tt.wantPolicy || pod.Spec.PriorityClassName != tt.wantClass {
				t.Fatalf("got priority %d policy %s class %q", *pod.Spec.Priority, *pod.Spec.PreemptionPolicy, pod.Spec.PriorityClassName)
			}
		})
	}
}
