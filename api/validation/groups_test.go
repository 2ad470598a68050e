package validation

import (
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestValidate_RBAC(t *testing.T) {
	role := func() *rbacv1.Role {
		return &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "pod-reader", Namespace: "default"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}}}}
	}
	runCreate(t, role, []createCase[*rbacv1.Role]{
		{"valid", func(*rbacv1.Role) {}, nil},
		{"verbs required", func(r *rbacv1.Role) { r.Rules[0].Verbs = nil }, []string{"rules[0].verbs Required"}},
		{"apiGroups required", func(r *rbacv1.Role) { r.Rules[0].APIGroups = nil }, []string{"rules[0].apiGroups Required"}},
		{"resources required", func(r *rbacv1.Role) { r.Rules[0].Resources = nil }, []string{"rules[0].resources Required"}},
		{"nonResourceURLs in a Role", func(r *rbacv1.Role) {
			r.Rules[0] = rbacv1.PolicyRule{NonResourceURLs: []string{"/healthz"}, Verbs: []string{"get"}}
		},
			[]string{"rules[0].nonResourceURLs Invalid"}},
	})
	cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "system:discovery"},
		Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/api", "/api/*"}, Verbs: []string{"get"}}}}
	expectErrors(t, ValidateCreate(cr))
	cr.Rules[0].Resources = []string{"pods"}
	expectErrors(t, ValidateCreate(cr), "rules[0].nonResourceURLs Invalid")
	cr.Rules = nil
	cr.AggregationRule = &rbacv1.AggregationRule{}
	expectErrors(t, ValidateCreate(cr), "aggregationRule.clusterRoleSelectors Required")

	rb := func() *rbacv1.RoleBinding {
		return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "read-pods", Namespace: "default"},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "pod-reader"},
			Subjects: []rbacv1.Subject{
				{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "jane"},
				{Kind: rbacv1.ServiceAccountKind, Name: "default", Namespace: "default"},
			}}
	}
	runCreate(t, rb, []createCase[*rbacv1.RoleBinding]{
		{"valid", func(*rbacv1.RoleBinding) {}, nil},
		{"roleRef kind", func(b *rbacv1.RoleBinding) { b.RoleRef.Kind = "Group" }, []string{"roleRef.kind NotSupported"}},
		{"roleRef name required", func(b *rbacv1.RoleBinding) { b.RoleRef.Name = "" }, []string{"roleRef.name Required"}},
		{"roleRef apiGroup", func(b *rbacv1.RoleBinding) { b.RoleRef.APIGroup = "" }, []string{"roleRef.apiGroup NotSupported"}},
		{"subject kind", func(b *rbacv1.RoleBinding) { b.Subjects[0].Kind = "Robot" }, []string{"subjects[0].kind NotSupported"}},
		{"user apiGroup", func(b *rbacv1.RoleBinding) { b.Subjects[0].APIGroup = "" }, []string{"subjects[0].apiGroup NotSupported"}},
	})
	runUpdate(t, rb, []updateCase[*rbacv1.RoleBinding]{
		{"subjects change", func(b, _ *rbacv1.RoleBinding) { b.Subjects = b.Subjects[:1] }, nil},
		{"roleRef immutable", func(b, _ *rbacv1.RoleBinding) { b.RoleRef.Name = "admin" }, []string{"roleRef Invalid"}},
	})
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "x"}, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "r"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "default"}}}
	expectErrors(t, ValidateCreate(crb), "roleRef.kind NotSupported", "subjects[0].namespace Required")
}

func TestValidate_Networking(t *testing.T) {
	np := func() *networkingv1.NetworkPolicy {
		return defaulted(&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "allow-web", Namespace: "default"}, Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.1.0.0/16"}}}},
				Ports: []networkingv1.NetworkPolicyPort{{Port: ptr(intstr.FromInt32(80))}},
			}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		}})
	}
	runCreate(t, np, []createCase[*networkingv1.NetworkPolicy]{
		{"valid", func(*networkingv1.NetworkPolicy) {}, nil},
		{"except not a subset", func(n *networkingv1.NetworkPolicy) { n.Spec.Ingress[0].From[0].IPBlock.Except[0] = "192.168.0.0/16" },
			[]string{"spec.ingress[0].from[0].ipBlock.except[0] Invalid"}},
		{"empty peer", func(n *networkingv1.NetworkPolicy) { n.Spec.Ingress[0].From[0] = networkingv1.NetworkPolicyPeer{} },
			[]string{"spec.ingress[0].from[0] Required"}},
		{"bad policy type", func(n *networkingv1.NetworkPolicy) { n.Spec.PolicyTypes[0] = "Both" }, []string{"spec.policyTypes[0] NotSupported"}},
	})

	ing := func() *networkingv1.Ingress {
		return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: networkingv1.IngressSpec{
			IngressClassName: ptr("nginx"),
			TLS:              []networkingv1.IngressTLS{{Hosts: []string{"*.example.com"}, SecretName: "tls"}},
			Rules: []networkingv1.IngressRule{{Host: "www.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: ptr(networkingv1.PathTypePrefix), Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Name: "http"}}}}},
			}}}},
		}}
	}
	path0 := func(i *networkingv1.Ingress) *networkingv1.HTTPIngressPath { return &i.Spec.Rules[0].HTTP.Paths[0] }
	runCreate(t, ing, []createCase[*networkingv1.Ingress]{
		{"valid", func(*networkingv1.Ingress) {}, nil},
		{"pathType required", func(i *networkingv1.Ingress) { path0(i).PathType = nil }, []string{"spec.rules[0].http.paths[0].pathType Required"}},
		{"relative path", func(i *networkingv1.Ingress) { path0(i).Path = "api" }, []string{"spec.rules[0].http.paths[0].path Invalid"}},
		{"host is an IP", func(i *networkingv1.Ingress) { i.Spec.Rules[0].Host = "10.0.0.1" }, []string{"spec.rules[0].host Invalid"}},
		{"backend port both", func(i *networkingv1.Ingress) { path0(i).Backend.Service.Port.Number = 80 }, []string{"spec.rules[0].http.paths[0].backend.service.port Invalid"}},
		{"backend port none", func(i *networkingv1.Ingress) { path0(i).Backend.Service.Port.Name = "" }, []string{"spec.rules[0].http.paths[0].backend.service.port Required"}},
		{"no rules, no backend", func(i *networkingv1.Ingress) { i.Spec.Rules = nil }, []string{"spec Invalid"}},
	})

	ic := func() *networkingv1.IngressClass {
		return &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "nginx"}, Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx"}}
	}
	runCreate(t, ic, []createCase[*networkingv1.IngressClass]{
		{"valid", func(*networkingv1.IngressClass) {}, nil},
		{"controller required", func(c *networkingv1.IngressClass) { c.Spec.Controller = "" }, []string{"spec.controller Required"}},
	})
	runUpdate(t, ic, []updateCase[*networkingv1.IngressClass]{
		{"controller immutable", func(c, _ *networkingv1.IngressClass) { c.Spec.Controller = "example.com/other" }, []string{"spec.controller Invalid"}},
	})
}

func TestValidate_StorageSchedulingNode(t *testing.T) {
	sc := func() *storagev1.StorageClass {
		return defaulted(&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "standard"}, Provisioner: "rancher.io/local-path",
			Parameters: map[string]string{"type": "ssd"}})
	}
	runCreate(t, sc, []createCase[*storagev1.StorageClass]{
		{"valid", func(*storagev1.StorageClass) {}, nil},
		{"provisioner required", func(s *storagev1.StorageClass) { s.Provisioner = "" }, []string{"provisioner Required"}},
		{"bad reclaim policy", func(s *storagev1.StorageClass) { s.ReclaimPolicy = ptr(corev1.PersistentVolumeReclaimRecycle) }, []string{"reclaimPolicy NotSupported"}},
	})
	runUpdate(t, sc, []updateCase[*storagev1.StorageClass]{
		{"labels change", func(s, _ *storagev1.StorageClass) { s.Labels = map[string]string{"a": "b"} }, nil},
		{"parameters immutable", func(s, _ *storagev1.StorageClass) { s.Parameters["type"] = "hdd" }, []string{"parameters Forbidden"}},
		{"provisioner immutable", func(s, _ *storagev1.StorageClass) { s.Provisioner = "example.com/nfs" }, []string{"provisioner Forbidden"}},
	})

	pc := func() *schedulingv1.PriorityClass {
		return defaulted(&schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "high"}, Value: 1000})
	}
	runCreate(t, pc, []createCase[*schedulingv1.PriorityClass]{
		{"valid", func(*schedulingv1.PriorityClass) {}, nil},
		{"user value too high", func(p *schedulingv1.PriorityClass) { p.Value = 1000000001 }, []string{"value Forbidden"}},
		{"system prefix reserved", func(p *schedulingv1.PriorityClass) { p.Name = "system-high" }, []string{"metadata.name Forbidden"}},
		{"system class with its value", func(p *schedulingv1.PriorityClass) { p.Name = "system-node-critical"; p.Value = 2000001000 }, nil},
		{"bad preemption policy", func(p *schedulingv1.PriorityClass) { p.PreemptionPolicy = ptr(corev1.PreemptionPolicy("Always")) },
			[]string{"preemptionPolicy NotSupported"}},
	})
	runUpdate(t, pc, []updateCase[*schedulingv1.PriorityClass]{
		{"value immutable", func(p, _ *schedulingv1.PriorityClass) { p.Value = 2000 }, []string{"value Forbidden"}},
		{"description mutable", func(p, _ *schedulingv1.PriorityClass) { p.Description = "more" }, nil},
	})

	rc := func() *nodev1.RuntimeClass {
		return &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "gvisor"}, Handler: "runsc"}
	}
	runCreate(t, rc, []createCase[*nodev1.RuntimeClass]{
		{"valid", func(*nodev1.RuntimeClass) {}, nil},
		{"handler required", func(r *nodev1.RuntimeClass) { r.Handler = "" }, []string{"handler Required"}},
		{"handler label", func(r *nodev1.RuntimeClass) { r.Handler = "run.sc" }, []string{"handler Invalid"}},
	})
	runUpdate(t, rc, []updateCase[*nodev1.RuntimeClass]{
		{"handler immutable", func(r, _ *nodev1.RuntimeClass) { r.Handler = "kata" }, []string{"handler Invalid"}},
	})
}

func TestValidate_PolicyCoordinationEventsAutoscaling(t *testing.T) {
	pdb := func() *policyv1.PodDisruptionBudget {
		return defaulted(&policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: ptr(intstr.FromString("50%")), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}})
	}
	runCreate(t, pdb, []createCase[*policyv1.PodDisruptionBudget]{
		{"valid", func(*policyv1.PodDisruptionBudget) {}, nil},
		{"both set", func(p *policyv1.PodDisruptionBudget) { p.Spec.MaxUnavailable = ptr(intstr.FromInt32(1)) }, []string{"spec Invalid"}},
		{"over 100%", func(p *policyv1.PodDisruptionBudget) { p.Spec.MinAvailable = ptr(intstr.FromString("120%")) }, []string{"spec.minAvailable Invalid"}},
	})

	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "node-1", Namespace: "kube-node-lease"},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr("node-1"), LeaseDurationSeconds: ptr(int32(40))}}
	expectErrors(t, ValidateCreate(lease))
	lease.Spec.LeaseDurationSeconds = ptr(int32(0))
	lease.Spec.LeaseTransitions = ptr(int32(-1))
	expectErrors(t, ValidateCreate(lease), "spec.leaseDurationSeconds Invalid", "spec.leaseTransitions Invalid")

	ev := &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Name: "web-0.1", Namespace: "default"}, EventTime: metav1.NowMicro(),
		ReportingController: "kstack.io/scheduler", ReportingInstance: "scheduler-1", Action: "Binding", Reason: "Scheduled",
		Regarding: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-0"}, Type: corev1.EventTypeNormal}
	expectErrors(t, ValidateCreate(ev))
	ev.Action, ev.Type = "", "Info"
	expectErrors(t, ValidateCreate(ev), "action Required", "type Invalid")

	hpa := func() *autoscalingv2.HorizontalPodAutoscaler {
		return defaulted(&autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr(int32(2)), MaxReplicas: 10,
		}})
	}
	runCreate(t, hpa, []createCase[*autoscalingv2.HorizontalPodAutoscaler]{
		{"valid", func(*autoscalingv2.HorizontalPodAutoscaler) {}, nil},
		{"min above max", func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MaxReplicas = 1 }, []string{"spec.maxReplicas Invalid"}},
		{"max zero", func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MinReplicas = nil; h.Spec.MaxReplicas = 0 }, []string{"spec.maxReplicas Invalid"}},
		{"target required", func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.ScaleTargetRef.Kind = "" }, []string{"spec.scaleTargetRef.kind Required"}},
		{"metric source missing", func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType}}
		}, []string{"spec.metrics[0] Required"}},
	})
}
