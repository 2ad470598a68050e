package integration

import (
	"context"
	"testing"

	"github.com/kstack/kstack/test/integration/framework"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
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
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
)

// crudClient is what every typed client-go resource client offers.
type crudClient[T any, L any] interface {
	Create(context.Context, T, metav1.CreateOptions) (T, error)
	Get(context.Context, string, metav1.GetOptions) (T, error)
	List(context.Context, metav1.ListOptions) (L, error)
	Update(context.Context, T, metav1.UpdateOptions) (T, error)
	Patch(context.Context, string, types.PatchType, []byte, metav1.PatchOptions, ...string) (T, error)
	Delete(context.Context, string, metav1.DeleteOptions) error
}

type object interface {
	metav1.Object
	runtime.Object
}

// exerciseCRUD creates obj, reads it back (get and list must return what
// create returned), updates a label, merge-patches an annotation, deletes
// it and checks it is gone.
func exerciseCRUD[T object, L runtime.Object](t *testing.T, c crudClient[T, L], obj T) {
	t.Helper()
	ctx := t.Context()
	created, err := c.Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	name := created.GetName()
	if created.GetUID() == "" || created.GetResourceVersion() == "" || created.GetCreationTimestamp().Time.IsZero() {
		t.Fatalf("create returned no uid/resourceVersion/creationTimestamp: %+v", created)
	}
	got, err := c.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if !equality.Semantic.DeepEqual(clearTypeMeta(got), clearTypeMeta(created)) {
		t.Fatalf("get differs from create:\n get: %+v\ncreate: %+v", got, created)
	}
	list, err := c.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		t.Fatalf("extract list: %v", err)
	}
	found := false
	for _, it := range items {
		if it.(metav1.Object).GetName() == name {
			found = true
			if !equality.Semantic.DeepEqual(clearTypeMeta(it.(T)), clearTypeMeta(created)) {
				t.Fatalf("list item differs from create:\n list: %+v\ncreate: %+v", it, created)
			}
		}
	}
	if !found {
		t.Fatalf("list of %d items misses %s", len(items), name)
	}
	if lm, _ := meta.ListAccessor(list); lm.GetResourceVersion() == "" {
		t.Fatalf("list has no resourceVersion")
	}

	upd := got.DeepCopyObject().(T)
	labels := upd.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels["crud"] = "updated"
	upd.SetLabels(labels)
	updated, err := c.Update(ctx, upd, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if updated.GetLabels()["crud"] != "updated" || updated.GetResourceVersion() == created.GetResourceVersion() {
		t.Fatalf("update: labels %v rv %s (was %s)", updated.GetLabels(), updated.GetResourceVersion(), created.GetResourceVersion())
	}
	patched, err := c.Patch(ctx, name, types.MergePatchType, []byte(`{"metadata":{"annotations":{"crud":"patched"}}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatalf("patch: %v", err)
	}
	if patched.GetAnnotations()["crud"] != "patched" || patched.GetLabels()["crud"] != "updated" {
		t.Fatalf("patch: annotations %v labels %v", patched.GetAnnotations(), patched.GetLabels())
	}
	if patched.GetUID() != created.GetUID() {
		t.Fatalf("patch changed uid")
	}
	if err := c.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := c.Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("get after delete: %v, want NotFound", err)
	}
}

func clearTypeMeta(o runtime.Object) runtime.Object {
	o = o.DeepCopyObject()
	o.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
	return o
}

// crudCase runs exerciseCRUD for one resource in namespace ns; suffix makes
// cluster-scoped names unique per encoding.
type crudCase struct {
	resource string
	run      func(t *testing.T, c kubernetes.Interface, ns, suffix string)
}

func crudCases() []crudCase {
	nsm := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }
	d := newDeployment("web", 2)
	sel := d.Spec.Selector
	tpl := d.Spec.Template
	job := func() batchv1.JobSpec {
		spec := tpl.Spec
		spec.RestartPolicy = corev1.RestartPolicyNever
		return batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: spec}, BackoffLimit: ptr(int32(2))}
	}
	return []crudCase{
		// core/v1
		{"pods", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			exerciseCRUD[*corev1.Pod, *corev1.PodList](t, c.CoreV1().Pods(ns), newPod("web-0", map[string]string{"app": "web"}))
		}},
		{"services", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			exerciseCRUD[*corev1.Service, *corev1.ServiceList](t, c.CoreV1().Services(ns), &corev1.Service{ObjectMeta: nsm("web"),
				Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}}})
		}},
		{"endpoints", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			exerciseCRUD[*corev1.Endpoints, *corev1.EndpointsList](t, c.CoreV1().Endpoints(ns), &corev1.Endpoints{ObjectMeta: nsm("web"),
				Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "10.244.0.5"}}, Ports: []corev1.EndpointPort{{Port: 80}}}}})
		}},
		{"nodes", func(t *testing.T, c kubernetes.Interface, _, sfx string) {
			exerciseCRUD[*corev1.Node, *corev1.NodeList](t, c.CoreV1().Nodes(), &corev1.Node{ObjectMeta: nsm("node-" + sfx), Spec: corev1.NodeSpec{PodCIDR: "10.244.1.0/24", PodCIDRs: []string{"10.244.1.0/24"}}})
		}},
		{"configmaps", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			exerciseCRUD[*corev1.ConfigMap, *corev1.ConfigMapList](t, c.CoreV1().ConfigMaps(ns), &corev1.ConfigMap{ObjectMeta: nsm("cfg"), Data: map[string]string{"a.yaml": "a: 1"}, BinaryData: map[string][]byte{"b.bin": {0, 1, 2}}})
		}},
		{"secrets", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			exerciseCRUD[*corev1.Secret, *corev1.SecretList](t, c.CoreV1().Secrets(ns), &corev1.Secret{ObjectMeta: nsm("creds"), Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"user": []byte("admin")}})
		}},
		{"serviceaccounts", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			exerciseCRUD[*corev1.ServiceAccount, *corev1.ServiceAccountList](t, c.CoreV1().ServiceAccounts(ns), &corev1.ServiceAccount{ObjectMeta: nsm("builder")})
		}},
		{"events", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			exerciseCRUD[*corev1.Event, *corev1.EventList](t, c.CoreV1().Events(ns), &corev1.Event{ObjectMeta: nsm("web-0.1"),
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "web-0"}, Reason: "Pulled", Message: "pulled image", Type: corev1.EventTypeNormal,
				Source: corev1.EventSource{Component: "kubelet", Host: "node-1"}, Count: 1})
		}},
		{"limitranges", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			exerciseCRUD[*corev1.LimitRange, *corev1.LimitRangeList](t, c.CoreV1().LimitRanges(ns), &corev1.LimitRange{ObjectMeta: nsm("limits"),
				Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer, Default: corev1.ResourceList{"cpu": resource.MustParse("500m")}}}}})
		}},
		{"resourcequotas", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			exerciseCRUD[*corev1.ResourceQuota, *corev1.ResourceQuotaList](t, c.CoreV1().ResourceQuotas(ns), &corev1.ResourceQuota{ObjectMeta: nsm("quota"),
				Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"pods": resource.MustParse("20")}}})
		}},
		{"persistentvolumes", func(t *testing.T, c kubernetes.Interface, _, sfx string) {
			exerciseCRUD[*corev1.PersistentVolume, *corev1.PersistentVolumeList](t, c.CoreV1().PersistentVolumes(), &corev1.PersistentVolume{ObjectMeta: nsm("pv-" + sfx),
				Spec: corev1.PersistentVolumeSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, Capacity: corev1.ResourceList{"storage": resource.MustParse("5Gi")},
					PersistentVolumeSource: corev1.PersistentVolumeSource{NFS: &corev1.NFSVolumeSource{Server: "nfs", Path: "/exports/pv"}}}})
		}},
		{"persistentvolumeclaims", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			exerciseCRUD[*corev1.PersistentVolumeClaim, *corev1.PersistentVolumeClaimList](t, c.CoreV1().PersistentVolumeClaims(ns), &corev1.PersistentVolumeClaim{ObjectMeta: nsm("data"),
				Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{"storage": resource.MustParse("1Gi")}}}})
		}},
		{"replicationcontrollers", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			exerciseCRUD[*corev1.ReplicationController, *corev1.ReplicationControllerList](t, c.CoreV1().ReplicationControllers(ns), &corev1.ReplicationController{ObjectMeta: nsm("rc"),
				Spec: corev1.ReplicationControllerSpec{Replicas: ptr(int32(1)), Selector: map[string]string{"app": "web"}, Template: tpl.DeepCopy()}})
		}},
		{"podtemplates", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			exerciseCRUD[*corev1.PodTemplate, *corev1.PodTemplateList](t, c.CoreV1().PodTemplates(ns), &corev1.PodTemplate{ObjectMeta: nsm("tpl"), Template: tpl})
		}},
		// apps/v1
		{"deployments", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			exerciseCRUD[*appsv1.Deployment, *appsv1.DeploymentList](t, c.AppsV1().Deployments(ns), newDeployment("web", 2))
		}},
		{"replicasets", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			exerciseCRUD[*appsv1.ReplicaSet, *appsv1.ReplicaSetList](t, c.AppsV1().ReplicaSets(ns), &appsv1.ReplicaSet{ObjectMeta: nsm("web-1"), Spec: appsv1.ReplicaSetSpec{Replicas: ptr(int32(1)), Selector: sel, Template: tpl}})
		}},
		{"statefulsets", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			exerciseCRUD[*appsv1.StatefulSet, *appsv1.StatefulSetList](t, c.AppsV1().StatefulSets(ns), &appsv1.StatefulSet{ObjectMeta: nsm("db"), Spec: appsv1.StatefulSetSpec{ServiceName: "db", Selector: sel, Template: tpl}})
		}},
		{"daemonsets", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			exerciseCRUD[*appsv1.DaemonSet, *appsv1.DaemonSetList](t, c.AppsV1().DaemonSets(ns), &appsv1.DaemonSet{ObjectMeta: nsm("agent"), Spec: appsv1.DaemonSetSpec{Selector: sel, Template: tpl}})
		}},
		{"controllerrevisions", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			exerciseCRUD[*appsv1.ControllerRevision, *appsv1.ControllerRevisionList](t, c.AppsV1().ControllerRevisions(ns), &appsv1.ControllerRevision{ObjectMeta: nsm("db-7c9"), Data: runtime.RawExtension{Raw: []byte(`{"spec":{"replicas":1}}`)}, Revision: 1})
		}},
		// batch/v1
		{"jobs", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			exerciseCRUD[*batchv1.Job, *batchv1.JobList](t, c.BatchV1().Jobs(ns), &batchv1.Job{ObjectMeta: nsm("pi"), Spec: job()})
		}},
		{"cronjobs", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			spec := job()
			exerciseCRUD[*batchv1.CronJob, *batchv1.CronJobList](t, c.BatchV1().CronJobs(ns), &batchv1.CronJob{ObjectMeta: nsm("nightly"),
				Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: spec}}})
		}},
		// autoscaling
		{"horizontalpodautoscalers.v2", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			exerciseCRUD[*autoscalingv2.HorizontalPodAutoscaler, *autoscalingv2.HorizontalPodAutoscalerList](t, c.AutoscalingV2().HorizontalPodAutoscalers(ns), newHPAv2("web"))
		}},
		{"horizontalpodautoscalers.v1", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			exerciseCRUD[*autoscalingv1.HorizontalPodAutoscaler, *autoscalingv1.HorizontalPodAutoscalerList](t, c.AutoscalingV1().HorizontalPodAutoscalers(ns), &autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: nsm("web1"),
				Spec: autoscalingv1.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}, MinReplicas: ptr(int32(1)), MaxReplicas: 5, TargetCPUUtilizationPercentage: ptr(int32(70))}})
		}},
		// discovery.k8s.io/v1
		{"endpointslices", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			exerciseCRUD[*discoveryv1.EndpointSlice, *discoveryv1.EndpointSliceList](t, c.DiscoveryV1().EndpointSlices(ns), &discoveryv1.EndpointSlice{ObjectMeta: nsm("web-x1"),
				AddressType: discoveryv1.AddressTypeIPv4, Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.244.0.5"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)}}},
				Ports: []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(80)), Protocol: ptr(corev1.ProtocolTCP)}}})
		}},
		// coordination.k8s.io/v1
		{"leases", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			now := metav1.NewMicroTime(metav1.Now().Time)
			exerciseCRUD[*coordinationv1.Lease, *coordinationv1.LeaseList](t, c.CoordinationV1().Leases(ns), &coordinationv1.Lease{ObjectMeta: nsm("leader"),
				Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr("a"), LeaseDurationSeconds: ptr(int32(15)), RenewTime: &now}})
		}},
		// rbac.authorization.k8s.io/v1
		{"roles", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			exerciseCRUD[*rbacv1.Role, *rbacv1.RoleList](t, c.RbacV1().Roles(ns), &rbacv1.Role{ObjectMeta: nsm("scaler"),
				Rules: []rbacv1.PolicyRule{{APIGroups: []string{"apps"}, Resources: []string{"deployments/scale"}, Verbs: []string{"get", "update"}}}})
		}},
		{"rolebindings", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			exerciseCRUD[*rbacv1.RoleBinding, *rbacv1.RoleBindingList](t, c.RbacV1().RoleBindings(ns), &rbacv1.RoleBinding{ObjectMeta: nsm("scaler"),
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "scaler"},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "builder", Namespace: ns}}})
		}},
		{"clusterroles", func(t *testing.T, c kubernetes.Interface, _, sfx string) {
			exerciseCRUD[*rbacv1.ClusterRole, *rbacv1.ClusterRoleList](t, c.RbacV1().ClusterRoles(), &rbacv1.ClusterRole{ObjectMeta: nsm("reader-" + sfx),
				Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}}, {NonResourceURLs: []string{"/healthz"}, Verbs: []string{"get"}}}})
		}},
		{"clusterrolebindings", func(t *testing.T, c kubernetes.Interface, _, sfx string) {
			exerciseCRUD[*rbacv1.ClusterRoleBinding, *rbacv1.ClusterRoleBindingList](t, c.RbacV1().ClusterRoleBindings(), &rbacv1.ClusterRoleBinding{ObjectMeta: nsm("reader-" + sfx),
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "reader-" + sfx},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "jane"}}})
		}},
		// events.k8s.io/v1
		{"events.events.k8s.io", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			exerciseCRUD[*eventsv1.Event, *eventsv1.EventList](t, c.EventsV1().Events(ns), newEventsV1("web-0.2", ns))
		}},
		// policy/v1
		{"poddisruptionbudgets", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			exerciseCRUD[*policyv1.PodDisruptionBudget, *policyv1.PodDisruptionBudgetList](t, c.PolicyV1().PodDisruptionBudgets(ns), &policyv1.PodDisruptionBudget{ObjectMeta: nsm("web"),
				Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr(intstr.FromInt32(1)), Selector: sel}})
		}},
		// networking.k8s.io/v1
		{"networkpolicies", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			exerciseCRUD[*networkingv1.NetworkPolicy, *networkingv1.NetworkPolicyList](t, c.NetworkingV1().NetworkPolicies(ns), &networkingv1.NetworkPolicy{ObjectMeta: nsm("allow-web"),
				Spec: networkingv1.NetworkPolicySpec{PodSelector: *sel, PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
					Ingress: []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr(corev1.ProtocolTCP), Port: ptr(intstr.FromInt32(8080))}}}}}})
		}},
		{"ingresses", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			exerciseCRUD[*networkingv1.Ingress, *networkingv1.IngressList](t, c.NetworkingV1().Ingresses(ns), &networkingv1.Ingress{ObjectMeta: nsm("web"),
				Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "web.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: ptr(networkingv1.PathTypePrefix), Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}}})
		}},
		{"ingressclasses", func(t *testing.T, c kubernetes.Interface, _, sfx string) {
			exerciseCRUD[*networkingv1.IngressClass, *networkingv1.IngressClassList](t, c.NetworkingV1().IngressClasses(), &networkingv1.IngressClass{ObjectMeta: nsm("nginx-" + sfx), Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx"}})
		}},
		{"ipaddresses", func(t *testing.T, c kubernetes.Interface, _, sfx string) {
			ip := map[string]string{"json": "192.168.77.1", "proto": "192.168.77.2"}[sfx]
			exerciseCRUD[*networkingv1.IPAddress, *networkingv1.IPAddressList](t, c.NetworkingV1().IPAddresses(), &networkingv1.IPAddress{ObjectMeta: nsm(ip),
				Spec: networkingv1.IPAddressSpec{ParentRef: &networkingv1.ParentReference{Resource: "services", Namespace: "default", Name: "ext"}}})
		}},
		{"servicecidrs", func(t *testing.T, c kubernetes.Interface, _, sfx string) {
			cidr := map[string]string{"json": "10.250.0.0/24", "proto": "10.250.1.0/24"}[sfx]
			exerciseCRUD[*networkingv1.ServiceCIDR, *networkingv1.ServiceCIDRList](t, c.NetworkingV1().ServiceCIDRs(), &networkingv1.ServiceCIDR{ObjectMeta: nsm("extra-" + sfx), Spec: networkingv1.ServiceCIDRSpec{CIDRs: []string{cidr}}})
		}},
		// storage.k8s.io/v1
		{"storageclasses", func(t *testing.T, c kubernetes.Interface, _, sfx string) {
			exerciseCRUD[*storagev1.StorageClass, *storagev1.StorageClassList](t, c.StorageV1().StorageClasses(), &storagev1.StorageClass{ObjectMeta: nsm("local-" + sfx), Provisioner: "kubernetes.io/no-provisioner",
				VolumeBindingMode: ptr(storagev1.VolumeBindingWaitForFirstConsumer)})
		}},
		{"volumeattachments", func(t *testing.T, c kubernetes.Interface, _, sfx string) {
			exerciseCRUD[*storagev1.VolumeAttachment, *storagev1.VolumeAttachmentList](t, c.StorageV1().VolumeAttachments(), &storagev1.VolumeAttachment{ObjectMeta: nsm("va-" + sfx),
				Spec: storagev1.VolumeAttachmentSpec{Attacher: "csi.example.com", NodeName: "node-1", Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr("pv-1")}}})
		}},
		{"csidrivers", func(t *testing.T, c kubernetes.Interface, _, sfx string) {
			exerciseCRUD[*storagev1.CSIDriver, *storagev1.CSIDriverList](t, c.StorageV1().CSIDrivers(), &storagev1.CSIDriver{ObjectMeta: nsm(sfx + ".csi.example.com"), Spec: storagev1.CSIDriverSpec{AttachRequired: ptr(true)}})
		}},
		{"csinodes", func(t *testing.T, c kubernetes.Interface, _, sfx string) {
			exerciseCRUD[*storagev1.CSINode, *storagev1.CSINodeList](t, c.StorageV1().CSINodes(), &storagev1.CSINode{ObjectMeta: nsm("node-" + sfx),
				Spec: storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{{Name: "csi.example.com", NodeID: "node-" + sfx}}}})
		}},
		{"csistoragecapacities", func(t *testing.T, c kubernetes.Interface, ns, _ string) {
			q := resource.MustParse("100Gi")
			exerciseCRUD[*storagev1.CSIStorageCapacity, *storagev1.CSIStorageCapacityList](t, c.StorageV1().CSIStorageCapacities(ns), &storagev1.CSIStorageCapacity{ObjectMeta: nsm("cap-1"), StorageClassName: "local", Capacity: &q})
		}},
		{"volumeattributesclasses", func(t *testing.T, c kubernetes.Interface, _, sfx string) {
			exerciseCRUD[*storagev1.VolumeAttributesClass, *storagev1.VolumeAttributesClassList](t, c.StorageV1().VolumeAttributesClasses(), &storagev1.VolumeAttributesClass{ObjectMeta: nsm("gold-" + sfx), DriverName: "csi.example.com", Parameters: map[string]string{"iops": "3000"}})
		}},
		// scheduling.k8s.io/v1
		{"priorityclasses", func(t *testing.T, c kubernetes.Interface, _, sfx string) {
			exerciseCRUD[*schedulingv1.PriorityClass, *schedulingv1.PriorityClassList](t, c.SchedulingV1().PriorityClasses(), &schedulingv1.PriorityClass{ObjectMeta: nsm("high-" + sfx), Value: 100000, Description: "important"})
		}},
		// node.k8s.io/v1
		{"runtimeclasses", func(t *testing.T, c kubernetes.Interface, _, sfx string) {
			exerciseCRUD[*nodev1.RuntimeClass, *nodev1.RuntimeClassList](t, c.NodeV1().RuntimeClasses(), &nodev1.RuntimeClass{ObjectMeta: nsm("runc-" + sfx), Handler: "runc"})
		}},
	}
}

func newHPAv2(name string) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web", APIVersion: "apps/v1"}, MinReplicas: ptr(int32(2)), MaxReplicas: 5,
		Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(int32(60))}}}}}}
}

func newEventsV1(name, ns string) *eventsv1.Event {
	return &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Name: name}, EventTime: metav1.NewMicroTime(metav1.Now().Time), ReportingController: "kstack.io/kubelet", ReportingInstance: "node-1",
		Action: "Pull", Reason: "Pulled", Note: "pulled busybox", Type: corev1.EventTypeNormal, Regarding: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "web-0"}}
}

// TestCRUD_EveryServedResourceInJSONAndProtobuf drives create, get, list,
// update, patch and delete through client-go's typed clients for every
// resource of every served group, once per wire encoding.
func TestCRUD_EveryServedResourceInJSONAndProtobuf(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	proto, err := kubernetes.NewForConfig(s.ProtobufConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, enc := range []struct {
		name   string
		client kubernetes.Interface
	}{{"json", s.Client}, {"proto", proto}} {
		t.Run(enc.name, func(t *testing.T) {
			ns := createNamespace(t, enc.client, "crud-"+enc.name)
			for _, tc := range crudCases() {
				t.Run(tc.resource, func(t *testing.T) { tc.run(t, enc.client, ns, enc.name) })
			}
		})
	}
}

// TestCRUD_HPAReadThroughAutoscalingV1AndV2 writes an HPA as v2 and reads
// and updates the same object as v1.
func TestCRUD_HPAReadThroughAutoscalingV1AndV2(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	ns := createNamespace(t, s.Client, "hpa")
	created, err := s.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, newHPAv2("web"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v1, err := s.Client.AutoscalingV1().HorizontalPodAutoscalers(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v1.UID != created.UID || v1.Spec.MaxReplicas != 5 || v1.Spec.TargetCPUUtilizationPercentage == nil || *v1.Spec.TargetCPUUtilizationPercentage != 60 ||
		v1.Spec.ScaleTargetRef.Name != "web" {
		t.Fatalf("v1 view: %+v", v1.Spec)
	}
	v1.Spec.TargetCPUUtilizationPercentage = ptr(int32(80))
	if _, err := s.Client.AutoscalingV1().HorizontalPodAutoscalers(ns).Update(ctx, v1, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	v2, err := s.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(v2.Spec.Metrics) != 1 || v2.Spec.Metrics[0].Resource == nil || *v2.Spec.Metrics[0].Resource.Target.AverageUtilization != 80 {
		t.Fatalf("v2 after v1 update: %+v", v2.Spec.Metrics)
	}
	l1, err := s.Client.AutoscalingV1().HorizontalPodAutoscalers(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(l1.Items) != 1 || l1.Items[0].Name != "web" {
		t.Fatalf("v1 list: %v %+v", err, l1)
	}
}

// TestCRUD_EventSeenThroughEventsV1AndCoreV1 writes an events.k8s.io/v1
// event and reads it as a core/v1 event, and the other way round.
func TestCRUD_EventSeenThroughEventsV1AndCoreV1(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	ns := createNamespace(t, s.Client, "events")
	if _, err := s.Client.EventsV1().Events(ns).Create(ctx, newEventsV1("e1", ns), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	core, err := s.Client.CoreV1().Events(ns).Get(ctx, "e1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if core.Reason != "Pulled" || core.Message != "pulled busybox" || core.InvolvedObject.Name != "web-0" || core.ReportingController != "kstack.io/kubelet" {
		t.Fatalf("core view: reason %q message %q involved %+v", core.Reason, core.Message, core.InvolvedObject)
	}
	coreEv := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e2"}, InvolvedObject: corev1.ObjectReference{Kind: "Node", Name: "n1", Namespace: ns},
		Reason: "NodeReady", Message: "node is ready", Type: corev1.EventTypeNormal, Source: corev1.EventSource{Component: "kubelet", Host: "n1"}, Count: 3}
	if _, err := s.Client.CoreV1().Events(ns).Create(ctx, coreEv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ev, err := s.Client.EventsV1().Events(ns).Get(ctx, "e2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Note != "node is ready" || ev.Regarding.Name != "n1" || ev.DeprecatedCount != 3 || ev.DeprecatedSource.Component != "kubelet" {
		t.Fatalf("events/v1 view: %+v", ev)
	}
	list, err := s.Client.EventsV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 2 {
		t.Fatalf("events/v1 list: %v, %d items", err, len(list.Items))
	}
}
