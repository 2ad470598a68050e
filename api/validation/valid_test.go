package validation

import (
	"testing"

	"github.com/kstack/kstack/api"
	"github.com/kstack/kstack/api/defaulting"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// validFixtures holds one realistic, valid object per served kind, keyed by
// group/version/kind, each defaulted as the apiserver would.
func validFixtures() map[schema.GroupVersionKind][]runtime.Object {
	ns := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: "default"} }
	cl := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }
	d := newDeployment()
	gvk := func(g, v, k string) schema.GroupVersionKind {
		return schema.GroupVersionKind{Group: g, Version: v, Kind: k}
	}
	core := func(k string) schema.GroupVersionKind { return gvk("", "v1", k) }
	return map[schema.GroupVersionKind][]runtime.Object{
		core("Pod"): {newPod()},
		core("Service"): {
			newService(),
			&corev1.Service{ObjectMeta: ns("db"), Spec: corev1.ServiceSpec{ClusterIP: "None", Selector: map[string]string{"app": "db"}}},
			&corev1.Service{ObjectMeta: ns("lb"), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 443, NodePort: 31443}}}},
			&corev1.Service{ObjectMeta: ns("np"), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80}}}},
			&corev1.Service{ObjectMeta: ns("ext"), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"}},
		},
		core("Endpoints"):      {&corev1.Endpoints{ObjectMeta: ns("web"), Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "10.244.0.5"}}, Ports: []corev1.EndpointPort{{Port: 80}}}}}},
		core("Node"):           {&corev1.Node{ObjectMeta: cl("node-1"), Spec: corev1.NodeSpec{PodCIDR: "10.244.1.0/24", PodCIDRs: []string{"10.244.1.0/24"}}}},
		core("Namespace"):      {&corev1.Namespace{ObjectMeta: cl("team-a")}},
		core("ConfigMap"):      {&corev1.ConfigMap{ObjectMeta: ns("cfg"), Data: map[string]string{"a.yaml": "a: 1"}, BinaryData: map[string][]byte{"b.bin": {0, 1}}}},
		core("Secret"):         {&corev1.Secret{ObjectMeta: ns("s"), StringData: map[string]string{"password": "x"}, Data: map[string][]byte{"user": []byte("u")}}},
		core("ServiceAccount"): {&corev1.ServiceAccount{ObjectMeta: ns("builder")}},
		core("Event"): {&corev1.Event{ObjectMeta: ns("web-0.1"), InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-0"},
			Reason: "Pulled", Message: "pulled", Type: corev1.EventTypeNormal, Source: corev1.EventSource{Component: "kubelet", Host: "node-1"}}},
		core("LimitRange"):    {&corev1.LimitRange{ObjectMeta: ns("limits"), Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer, Default: corev1.ResourceList{"cpu": resource.MustParse("500m")}}}}}},
		core("ResourceQuota"): {&corev1.ResourceQuota{ObjectMeta: ns("quota"), Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"requests.cpu": resource.MustParse("4"), "pods": resource.MustParse("20")}}}},
		core("PersistentVolume"): {&corev1.PersistentVolume{ObjectMeta: cl("pv-1"), Spec: corev1.PersistentVolumeSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Capacity: corev1.ResourceList{"storage": resource.MustParse("5Gi")}, PersistentVolumeSource: corev1.PersistentVolumeSource{NFS: &corev1.NFSVolumeSource{Server: "nfs", Path: "/exports/pv-1"}}}}},
		core("PersistentVolumeClaim"): {&corev1.PersistentVolumeClaim{ObjectMeta: ns("data"), Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{"storage": resource.MustParse("1Gi")}}}}},
		core("ReplicationController"): {&corev1.ReplicationController{ObjectMeta: ns("rc"), Spec: corev1.ReplicationControllerSpec{Selector: map[string]string{"app": "web"}, Template: &d.Spec.Template}}},
		core("PodTemplate"):           {&corev1.PodTemplate{ObjectMeta: ns("tpl"), Template: d.Spec.Template}},
		core("Binding"):               {&corev1.Binding{ObjectMeta: ns("web-0"), Target: corev1.ObjectReference{Kind: "Node", Name: "node-1"}}},

		gvk("apps", "v1", "Deployment"): {d},
		gvk("apps", "v1", "ReplicaSet"): {&appsv1.ReplicaSet{ObjectMeta: ns("web-1"), Spec: appsv1.ReplicaSetSpec{Selector: d.Spec.Selector, Template: d.Spec.Template}}},
		gvk("apps", "v1", "StatefulSet"): {&appsv1.StatefulSet{ObjectMeta: ns("db"), Spec: appsv1.StatefulSetSpec{ServiceName: "db", Selector: d.Spec.Selector, Template: d.Spec.Template,
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{MaxUnavailable: ptr(intstr.FromString("50%"))}}}}},
		gvk("apps", "v1", "DaemonSet"):          {&appsv1.DaemonSet{ObjectMeta: ns("agent"), Spec: appsv1.DaemonSetSpec{Selector: d.Spec.Selector, Template: d.Spec.Template}}},
		gvk("apps", "v1", "ControllerRevision"): {&appsv1.ControllerRevision{ObjectMeta: ns("db-7c9"), Data: runtime.RawExtension{Raw: []byte(`{"spec":{}}`)}, Revision: 1}},

		gvk("batch", "v1", "Job"):     {newJob()},
		gvk("batch", "v1", "CronJob"): {newCronJob()},

		gvk("autoscaling", "v2", "HorizontalPodAutoscaler"): {&autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: ns("web"), Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web", APIVersion: "apps/v1"}, MaxReplicas: 5,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: "memory",
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr(resource.MustParse("500Mi"))}}}}}}},
		gvk("autoscaling", "v1", "HorizontalPodAutoscaler"): {&autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: ns("web"), Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{Kind: "Deployment", Name: "web"}, MaxReplicas: 5, TargetCPUUtilizationPercentage: ptr(int32(70))}}},

		gvk("discovery.k8s.io", "v1", "EndpointSlice"): {&discoveryv1.EndpointSlice{ObjectMeta: ns("web-x1"), AddressType: discoveryv1.AddressTypeIPv6,
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"fd00::5"}}}, Ports: []discoveryv1.EndpointPort{{Port: ptr(int32(80))}}}},
		gvk("coordination.k8s.io", "v1", "Lease"): {&coordinationv1.Lease{ObjectMeta: ns("leader"), Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr("a"), LeaseDurationSeconds: ptr(int32(15))}}},

		gvk("rbac.authorization.k8s.io", "v1", "Role"): {&rbacv1.Role{ObjectMeta: ns("r"), Rules: []rbacv1.PolicyRule{{APIGroups: []string{"apps"}, Resources: []string{"deployments/scale"}, Verbs: []string{"*"}}}}},
		gvk("rbac.authorization.k8s.io", "v1", "ClusterRole"): {&rbacv1.ClusterRole{ObjectMeta: cl("view"),
			AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"rbac.authorization.k8s.io/aggregate-to-view": "true"}}}}}},
		gvk("rbac.authorization.k8s.io", "v1", "RoleBinding"): {&rbacv1.RoleBinding{ObjectMeta: ns("rb"), RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:authenticated"}}}},
		gvk("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding"): {&rbacv1.ClusterRoleBinding{ObjectMeta: cl("system:kube-scheduler"), RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:kube-scheduler"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "system:kube-scheduler"}}}},

		gvk("events.k8s.io", "v1", "Event"): {&eventsv1.Event{ObjectMeta: ns("e"), EventTime: metav1.NowMicro(), ReportingController: "kubelet", ReportingInstance: "node-1",
			Action: "Pull", Reason: "Pulled", Type: corev1.EventTypeNormal, Regarding: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-0"}}},
		gvk("policy", "v1", "PodDisruptionBudget"): {&policyv1.PodDisruptionBudget{ObjectMeta: ns("web"), Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: ptr(intstr.FromInt32(1)), Selector: d.Spec.Selector}}},

		gvk("networking.k8s.io", "v1", "NetworkPolicy"): {&networkingv1.NetworkPolicy{ObjectMeta: ns("deny-all"), Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}},
		gvk("networking.k8s.io", "v1", "Ingress"): {&networkingv1.Ingress{ObjectMeta: ns("web"), Spec: networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{
			Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}},
		gvk("networking.k8s.io", "v1", "IngressClass"): {&networkingv1.IngressClass{ObjectMeta: cl("nginx"), Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx"}}},
		gvk("networking.k8s.io", "v1", "IPAddress"): {&networkingv1.IPAddress{ObjectMeta: cl("10.96.0.1"), Spec: networkingv1.IPAddressSpec{
			ParentRef: &networkingv1.ParentReference{Resource: "services", Namespace: "default", Name: "kubernetes"}}}},
		gvk("networking.k8s.io", "v1", "ServiceCIDR"): {&networkingv1.ServiceCIDR{ObjectMeta: cl("kubernetes"), Spec: networkingv1.ServiceCIDRSpec{CIDRs: []string{"10.96.0.0/12"}}}},

		gvk("storage.k8s.io", "v1", "StorageClass"): {&storagev1.StorageClass{ObjectMeta: cl("standard"), Provisioner: "kubernetes.io/no-provisioner"}},
		gvk("storage.k8s.io", "v1", "VolumeAttachment"): {&storagev1.VolumeAttachment{ObjectMeta: cl("va-1"), Spec: storagev1.VolumeAttachmentSpec{
			Attacher: "csi.example.com", NodeName: "node-1", Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr("pv-1")}}}},
		gvk("storage.k8s.io", "v1", "CSIDriver"):             {&storagev1.CSIDriver{ObjectMeta: cl("csi.example.com")}},
		gvk("storage.k8s.io", "v1", "CSINode"):               {&storagev1.CSINode{ObjectMeta: cl("node-1")}},
		gvk("storage.k8s.io", "v1", "CSIStorageCapacity"):    {&storagev1.CSIStorageCapacity{ObjectMeta: ns("cap-1"), StorageClassName: "standard"}},
		gvk("storage.k8s.io", "v1", "VolumeAttributesClass"): {&storagev1.VolumeAttributesClass{ObjectMeta: cl("gold"), DriverName: "csi.example.com"}},

		gvk("scheduling.k8s.io", "v1", "PriorityClass"): {&schedulingv1.PriorityClass{ObjectMeta: cl("high"), Value: 100000, GlobalDefault: true}},
		gvk("node.k8s.io", "v1", "RuntimeClass"):        {&nodev1.RuntimeClass{ObjectMeta: cl("runc"), Handler: "runc"}},
	}
}

// TestValidateCreate_ValidObjectsOfEveryKind: every kind in the resource
// table has a realistic object that passes, both on create and as an
// unchanged update.
func TestValidateCreate_ValidObjectsOfEveryKind(t *testing.T) {
	fixtures := validFixtures()
	for k, objs := range storedKindFixtures() {
		fixtures[k] = objs
	}
	for _, r := range api.Resources() {
		if r.Virtual {
			continue // reviews and bindings are answered, never stored or validated here
		}
		objs, ok := fixtures[r.GroupVersionKind()]
		if !ok {
			t.Errorf("no valid fixture for %s", r.GroupVersionKind())
			continue
		}
		for _, obj := range objs {
			defaulting.Default(obj)
			name := obj.(metav1.Object).GetName()
			t.Run(r.Kind+"/"+name, func(t *testing.T) {
				expectErrors(t, ValidateCreate(obj))
				if r.Virtual {
					return
				}
				old := obj.DeepCopyObject()
				old.(metav1.Object).SetResourceVersion("5")
				upd := old.DeepCopyObject()
				expectErrors(t, ValidateUpdate(upd, old))
				expectErrors(t, ValidateStatusUpdate(upd, old))
			})
		}
	}
}
