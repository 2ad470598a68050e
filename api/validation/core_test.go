package validation

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestValidateCreate_NameRules checks each kind's name rule: the same
// names pass or fail by kind as upstream.
func TestValidateCreate_NameRules(t *testing.T) {
	om := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }
	cases := []struct {
		kind string
		obj  func(name string) runtime.Object
		ok   []string
		bad  []string
	}{
		{"Namespace (DNS label)", func(n string) runtime.Object { return defaulted(&corev1.Namespace{ObjectMeta: om(n)}) },
			[]string{"kube-system", "a"}, []string{"a.b", "Team", "a_b"}},
		{"Service (DNS-1035 label)", func(n string) runtime.Object {
			return defaulted(&corev1.Service{ObjectMeta: om(n), Spec: corev1.ServiceSpec{ClusterIP: "None", ClusterIPs: []string{"None"}}})
		}, []string{"web"}, []string{"1web", "web.x"}},
		{"ConfigMap (subdomain)", func(n string) runtime.Object { return defaulted(&corev1.ConfigMap{ObjectMeta: om(n)}) },
			[]string{"kube-root-ca.crt"}, []string{"Foo", "a_b"}},
		{"Node (subdomain)", func(n string) runtime.Object { return defaulted(&corev1.Node{ObjectMeta: om(n)}) },
			[]string{"node-1.example.com"}, []string{"Node1"}},
		{"ClusterRole (path segment)", func(n string) runtime.Object { return &rbacv1.ClusterRole{ObjectMeta: om(n)} },
			[]string{"system:controller:replicaset-controller", "Admin"}, []string{"a/b", "..", "a%b"}},
		{"Lease (subdomain)", func(n string) runtime.Object { return &coordinationv1.Lease{ObjectMeta: om(n)} },
			[]string{"kube-scheduler"}, []string{"Kube"}},
		{"IPAddress (canonical IP)", func(n string) runtime.Object {
			return &networkingv1.IPAddress{ObjectMeta: om(n), Spec: networkingv1.IPAddressSpec{ParentRef: &networkingv1.ParentReference{Resource: "services", Name: "web", Namespace: "default"}}}
		}, []string{"10.96.0.1", "2001:db8::1"}, []string{"010.96.0.1", "2001:DB8::1", "web"}},
		{"ControllerRevision (generic subdomain)", func(n string) runtime.Object {
			return &appsv1.ControllerRevision{ObjectMeta: om(n), Data: runtime.RawExtension{Raw: []byte("{}")}}
		}, []string{"web-5d9c8"}, []string{"Web"}},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			for _, n := range tc.ok {
				expectErrors(t, ValidateCreate(tc.obj(n)))
			}
			for _, n := range tc.bad {
				expectErrors(t, ValidateCreate(tc.obj(n)), "metadata.name Invalid")
			}
		})
	}
}

func TestValidateCreate_ConfigMapAndSecret(t *testing.T) {
	cm := func() *corev1.ConfigMap {
		return defaulted(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "default"}, Data: map[string]string{"app.yaml": "x: 1"}})
	}
	runCreate(t, cm, []createCase[*corev1.ConfigMap]{
		{"valid", func(*corev1.ConfigMap) {}, nil},
		{"bad key", func(c *corev1.ConfigMap) { c.Data["a/b"] = "" }, []string{"data[a/b] Invalid"}},
		{"key in both maps", func(c *corev1.ConfigMap) { c.BinaryData = map[string][]byte{"app.yaml": nil} }, []string{"data[app.yaml] Invalid"}},
		{"too large", func(c *corev1.ConfigMap) { c.Data["big"] = strings.Repeat("x", 1<<20) }, []string{"[] TooLong"}},
	})
	runUpdate(t, cm, []updateCase[*corev1.ConfigMap]{
		{"data change", func(c, _ *corev1.ConfigMap) { c.Data["app.yaml"] = "x: 2" }, nil},
		{"immutable data change", func(c, old *corev1.ConfigMap) {
			old.Immutable, c.Immutable = ptr(true), ptr(true)
			c.Data["app.yaml"] = "x: 2"
		}, []string{"data Forbidden"}},
		{"immutable cannot be unset", func(c, old *corev1.ConfigMap) { old.Immutable, c.Immutable = ptr(true), ptr(false) }, []string{"immutable Forbidden"}},
	})

	secret := func() *corev1.Secret {
		return defaulted(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tls", Namespace: "default"}, Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{"tls.crt": []byte("c"), "tls.key": []byte("k")}})
	}
	runCreate(t, secret, []createCase[*corev1.Secret]{
		{"valid tls", func(*corev1.Secret) {}, nil},
		{"tls without key", func(s *corev1.Secret) { delete(s.Data, "tls.key") }, []string{"data[tls.key] Required"}},
		{"dockerconfigjson must be JSON", func(s *corev1.Secret) {
			s.Type = corev1.SecretTypeDockerConfigJson
			s.Data = map[string][]byte{".dockerconfigjson": []byte("{")}
		}, []string{"data[.dockerconfigjson] Invalid"}},
		{"dockerconfigjson missing", func(s *corev1.Secret) { s.Type = corev1.SecretTypeDockerConfigJson }, []string{"data[.dockerconfigjson] Required"}},
		{"service account token needs annotation", func(s *corev1.Secret) { s.Type = corev1.SecretTypeServiceAccountToken },
			[]string{"metadata.annotations[kubernetes.io/service-account.name] Required"}},
		{"custom type must be qualified", func(s *corev1.Secret) { s.Type = "my type" }, []string{"type Invalid"}},
		{"bad key", func(s *corev1.Secret) { s.Data["../x"] = nil }, []string{"data[../x] Invalid", "data[../x] Invalid"}},
	})
	runUpdate(t, secret, []updateCase[*corev1.Secret]{
		{"data change", func(s, _ *corev1.Secret) { s.Data["tls.crt"] = []byte("c2") }, nil},
		{"type immutable", func(s, _ *corev1.Secret) { s.Type = corev1.SecretTypeOpaque }, []string{"type Invalid"}},
		{"immutable data", func(s, old *corev1.Secret) {
			old.Immutable, s.Immutable = ptr(true), ptr(true)
			s.Data["tls.crt"] = []byte("c2")
		}, []string{"data Forbidden"}},
	})
}

func TestValidate_NamespaceAndNode(t *testing.T) {
	ns := func() *corev1.Namespace {
		return defaulted(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}})
	}
	runCreate(t, ns, []createCase[*corev1.Namespace]{
		{"valid", func(*corev1.Namespace) {}, nil},
		{"bad finalizer", func(n *corev1.Namespace) { n.Spec.Finalizers = []corev1.FinalizerName{"foo"} }, []string{"spec.finalizers Invalid"}},
		{"qualified finalizer", func(n *corev1.Namespace) { n.Spec.Finalizers = append(n.Spec.Finalizers, "example.com/cleanup") }, nil},
	})
	old := ns()
	old.ResourceVersion = "1"
	st := old.DeepCopy()
	st.Status.Phase = corev1.NamespaceTerminating
	expectErrors(t, ValidateStatusUpdate(st, old), "status.Phase Invalid")

	node := func() *corev1.Node {
		return defaulted(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}, Spec: corev1.NodeSpec{
			PodCIDR: "10.244.1.0/24", PodCIDRs: []string{"10.244.1.0/24"},
			Taints: []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}},
		}})
	}
	runCreate(t, node, []createCase[*corev1.Node]{
		{"valid", func(*corev1.Node) {}, nil},
		{"bad cidr", func(n *corev1.Node) { n.Spec.PodCIDR, n.Spec.PodCIDRs = "10.244.1.0/33", []string{"10.244.1.0/33"} }, []string{"spec.podCIDRs[0] Invalid"}},
		{"bad taint effect", func(n *corev1.Node) { n.Spec.Taints[0].Effect = "Evict" }, []string{"spec.taints[0].effect NotSupported"}},
		{"duplicate taint", func(n *corev1.Node) { n.Spec.Taints = append(n.Spec.Taints, n.Spec.Taints[0]) }, []string{"spec.taints[1] Duplicate"}},
	})
	runUpdate(t, node, []updateCase[*corev1.Node]{
		{"taints change", func(n, _ *corev1.Node) { n.Spec.Taints = nil }, nil},
		{"podCIDR set first time", func(n, old *corev1.Node) { old.Spec.PodCIDR, old.Spec.PodCIDRs = "", nil }, nil},
		{"podCIDR immutable", func(n, _ *corev1.Node) { n.Spec.PodCIDR, n.Spec.PodCIDRs = "10.244.2.0/24", []string{"10.244.2.0/24"} },
			[]string{"spec.podCIDR Invalid", "spec.podCIDRs Invalid"}},
	})
}

func TestValidate_EventLimitRangeQuota(t *testing.T) {
	ev := func() *corev1.Event {
		return &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "web-0.17a", Namespace: "default"},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-0"}, Reason: "Scheduled", Type: corev1.EventTypeNormal}
	}
	runCreate(t, ev, []createCase[*corev1.Event]{
		{"valid", func(*corev1.Event) {}, nil},
		{"namespace mismatch", func(e *corev1.Event) { e.InvolvedObject.Namespace = "other" }, []string{"involvedObject.namespace Invalid"}},
		{"cluster-scoped object in default", func(e *corev1.Event) { e.InvolvedObject = corev1.ObjectReference{Kind: "Node", Name: "node-1"} }, nil},
		{"reason too long", func(e *corev1.Event) { e.Reason = strings.Repeat("r", 129) }, []string{"reason TooLong"}},
		{"bad type", func(e *corev1.Event) { e.Type = "Info" }, []string{"type Invalid"}},
		{"new-style event needs reporter", func(e *corev1.Event) { e.EventTime = metav1.NowMicro() },
			[]string{"reportingController Required", "reportingInstance Required", "action Required"}},
	})

	lr := func() *corev1.LimitRange {
		return defaulted(&corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "limits", Namespace: "default"}, Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type: corev1.LimitTypeContainer, Max: corev1.ResourceList{"cpu": resource.MustParse("2")}, Min: corev1.ResourceList{"cpu": resource.MustParse("100m")},
		}}}})
	}
	runCreate(t, lr, []createCase[*corev1.LimitRange]{
		{"valid", func(*corev1.LimitRange) {}, nil},
		{"min above max", func(l *corev1.LimitRange) { l.Spec.Limits[0].Min["cpu"] = resource.MustParse("3") },
			[]string{"spec.limits[0].min[cpu] Invalid"}},
	})

	q := func() *corev1.ResourceQuota {
		return defaulted(&corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "quota", Namespace: "default"},
			Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"pods": resource.MustParse("10"), "count/deployments.apps": resource.MustParse("5")}}})
	}
	runCreate(t, q, []createCase[*corev1.ResourceQuota]{
		{"valid", func(*corev1.ResourceQuota) {}, nil},
		{"negative", func(r *corev1.ResourceQuota) { r.Spec.Hard["pods"] = resource.MustParse("-1") }, []string{"spec.hard[pods] Invalid"}},
		{"bad scope", func(r *corev1.ResourceQuota) { r.Spec.Scopes = []corev1.ResourceQuotaScope{"Sometimes"} }, []string{"spec.scopes[0] NotSupported"}},
	})
}

func TestValidate_PersistentVolumes(t *testing.T) {
	pvc := func() *corev1.PersistentVolumeClaim {
		return defaulted(&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "default"}, Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{"storage": resource.MustParse("1Gi")}},
		}})
	}
	runCreate(t, pvc, []createCase[*corev1.PersistentVolumeClaim]{
		{"valid", func(*corev1.PersistentVolumeClaim) {}, nil},
		{"no access modes", func(p *corev1.PersistentVolumeClaim) { p.Spec.AccessModes = nil }, []string{"spec.accessModes Required"}},
		{"no storage", func(p *corev1.PersistentVolumeClaim) { p.Spec.Resources.Requests = nil }, []string{"spec.resources.requests[storage] Required"}},
	})
	runUpdate(t, pvc, []updateCase[*corev1.PersistentVolumeClaim]{
		{"expand", func(p, _ *corev1.PersistentVolumeClaim) {
			p.Spec.Resources.Requests["storage"] = resource.MustParse("2Gi")
		}, nil},
		{"bind", func(p, _ *corev1.PersistentVolumeClaim) { p.Spec.VolumeName = "pv-1" }, nil},
		{"access modes immutable", func(p, _ *corev1.PersistentVolumeClaim) {
			p.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
		}, []string{"spec Forbidden"}},
	})
	pv := func() *corev1.PersistentVolume {
		return defaulted(&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-1"}, Spec: corev1.PersistentVolumeSpec{
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Capacity:               corev1.ResourceList{"storage": resource.MustParse("1Gi")},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data/pv-1"}},
		}})
	}
	runCreate(t, pv, []createCase[*corev1.PersistentVolume]{
		{"valid", func(*corev1.PersistentVolume) {}, nil},
		{"no source", func(p *corev1.PersistentVolume) { p.Spec.HostPath = nil }, []string{"spec Required"}},
		{"no capacity", func(p *corev1.PersistentVolume) { p.Spec.Capacity = nil }, []string{"spec.capacity Required"}},
	})
}

func TestValidate_ServiceAccountAndRC(t *testing.T) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "default"}, Secrets: []corev1.ObjectReference{{}}}
	expectErrors(t, ValidateCreate(sa), "secrets[0].name Required")

	rc := func() *corev1.ReplicationController {
		return defaulted(&corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: corev1.ReplicationControllerSpec{
			Replicas: ptr(int32(2)), Selector: map[string]string{"app": "web"},
			Template: &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: podSpec()},
		}})
	}
	runCreate(t, rc, []createCase[*corev1.ReplicationController]{
		{"valid", func(*corev1.ReplicationController) {}, nil},
		{"selector mismatch", func(r *corev1.ReplicationController) { r.Spec.Template.Labels["app"] = "api" }, []string{"spec.template.metadata.labels Invalid"}},
		{"negative replicas", func(r *corev1.ReplicationController) { r.Spec.Replicas = ptr(int32(-1)) }, []string{"spec.replicas Invalid"}},
		{"restartPolicy Never", func(r *corev1.ReplicationController) { r.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever },
			[]string{"spec.template.spec.restartPolicy NotSupported"}},
	})
}
