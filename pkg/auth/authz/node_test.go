package authz_test

import (
	"context"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/kstack/kstack/pkg/auth"
	"github.com/kstack/kstack/pkg/auth/authz"
)

func kubelet(node string) *auth.User {
	return &auth.User{Name: auth.NodeUserPrefix + node, Groups: []string{auth.NodesGroup, auth.AllAuthenticated}}
}

// podOn is a pod bound to node using secret s, config map c (env) and claim pvc.
func podOn(node, name, s, c, pvc string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name)},
		Spec: corev1.PodSpec{
			NodeName:           node,
			ServiceAccountName: "sa-" + name,
			Volumes: []corev1.Volume{
				{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: s}}},
				{Name: "c", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: pvc}}},
			},
			Containers: []corev1.Container{{Name: "x", EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: c}}}}}},
		},
	}
}

func TestNode_Authorize(t *testing.T) {
	g := authz.NewGraph(authz.WithClaimVolumes(func(ns, claim string) (string, bool) {
		return "pv-" + claim, true
	}))
	g.UpsertPod(podOn("a", "pa", "secret-a", "cm-a", "claim-a"))
	g.UpsertPod(podOn("b", "pb", "secret-b", "cm-b", "claim-b"))
	n := authz.NewNode(g)
	a, b := kubelet("a"), kubelet("b")
	podsOnA := authz.WithFieldSelector(context.Background(), fields.OneTermEqualSelector("spec.nodeName", "a"))
	podsOnB := authz.WithFieldSelector(context.Background(), fields.OneTermEqualSelector("spec.nodeName", "b"))
	bg := context.Background()
	cases := []struct {
		name  string
		ctx   context.Context
		attrs auth.Attributes
		allow bool
	}{
		{"own pod's secret", bg, res(a, "get", "", "secrets", "ns", "secret-a"), true},
		{"secret of a pod on another node", bg, res(a, "get", "", "secrets", "ns", "secret-b"), false},
		{"watch own secret by name", bg, res(a, "watch", "", "secrets", "ns", "secret-a"), true},
		{"list all secrets", bg, res(a, "list", "", "secrets", "ns", ""), false},
		{"write a secret", bg, res(a, "update", "", "secrets", "ns", "secret-a"), false},
		{"env config map", bg, res(a, "get", "", "configmaps", "ns", "cm-a"), true},
		{"other config map", bg, res(a, "get", "", "configmaps", "ns", "cm-b"), false},
		{"own claim", bg, res(a, "get", "", "persistentvolumeclaims", "ns", "claim-a"), true},
		{"own claim's volume", bg, res(a, "get", "", "persistentvolumes", "", "pv-claim-a"), true},
		{"other volume", bg, res(a, "get", "", "persistentvolumes", "", "pv-claim-b"), false},
		{"own claim status", bg, res(a, "patch", "", "persistentvolumeclaims/status", "ns", "claim-a"), true},
		{"token for own pod's SA", bg, res(a, "create", "", "serviceaccounts/token", "ns", "sa-pa"), true},
		{"token for other pod's SA", bg, res(a, "create", "", "serviceaccounts/token", "ns", "sa-pb"), false},
		{"own node get", bg, res(a, "get", "", "nodes", "", "a"), true},
		{"other node get", bg, res(a, "get", "", "nodes", "", "b"), false},
		{"list nodes", bg, res(a, "list", "", "nodes", "", ""), false},
		{"own node status", bg, res(a, "patch", "", "nodes/status", "", "a"), true},
		{"create node", bg, res(a, "create", "", "nodes", "", ""), true},
		{"own lease", bg, res(a, "update", "coordination.k8s.io", "leases", "kube-node-lease", "a"), true},
		{"other node's lease", bg, res(a, "update", "coordination.k8s.io", "leases", "kube-node-lease", "b"), false},
		{"lease elsewhere", bg, res(a, "get", "coordination.k8s.io", "leases", "kube-system", "a"), false},
		{"watch own pods", podsOnA, res(a, "watch", "", "pods", "", ""), true},
		{"watch other node's pods", podsOnB, res(a, "watch", "", "pods", "", ""), false},
		{"list all pods", bg, res(a, "list", "", "pods", "", ""), false},
		{"get own pod", bg, res(a, "get", "", "pods", "ns", "pa"), true},
		{"get other pod", bg, res(a, "get", "", "pods", "ns", "pb"), false},
		{"pod status", bg, res(a, "patch", "", "pods/status", "ns", "pa"), true},
		{"mirror pod create", bg, res(a, "create", "", "pods", "ns", ""), true},
		{"events", bg, res(a, "create", "", "events", "ns", ""), true},
		{"csr", bg, res(a, "create", "certificates.k8s.io", "certificatesigningrequests", "", ""), true},
		{"services (static rule)", bg, res(a, "watch", "", "services", "", ""), true},
		{"deployments", bg, res(a, "list", "apps", "deployments", "", ""), false},
		{"other kubelet same secret", bg, res(b, "get", "", "secrets", "ns", "secret-b"), true},
		{"not a node", bg, res(user("system:node:a"), "get", "", "secrets", "ns", "secret-a"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, reason, err := n.Authorize(c.ctx, c.attrs)
			if err != nil {
				t.Fatal(err)
			}
			if got := d == auth.DecisionAllow; got != c.allow {
				t.Fatalf("allowed = %v, want %v (reason %q)", got, c.allow, reason)
			}
		})
	}

	// Moving the pod to node b moves its references.
	g.UpsertPod(podOn("b", "pa", "secret-a", "cm-a", "claim-a"))
	if d, _, _ := n.Authorize(bg, res(a, "get", "", "secrets", "ns", "secret-a")); d == auth.DecisionAllow {
		t.Fatal("secret still readable by a after the pod moved")
	}
	g.DeletePod(podOn("b", "pa", "", "", ""))
	g.DeletePod(podOn("b", "pb", "", "", ""))
	if d, _, _ := n.Authorize(bg, res(b, "get", "", "secrets", "ns", "secret-b")); d == auth.DecisionAllow {
		t.Fatal("secret readable after its pod was deleted")
	}
}

func TestNodeRestriction(t *testing.T) {
	a := kubelet("a")
	mirror := func(mut func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "static-a", Annotations: map[string]string{authz.MirrorPodAnnotation: "x"}},
			Spec:       corev1.PodSpec{NodeName: "a", Containers: []corev1.Container{{Name: "c"}}},
		}
		if mut != nil {
			mut(p)
		}
		return p
	}
	nodeObj := func(name string, labels map[string]string, taints ...corev1.Taint) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Spec: corev1.NodeSpec{Taints: taints}}
	}
	onB := podOn("b", "pb", "s", "c", "p")
	onA := podOn("a", "pa", "s", "c", "p")
	relabeled := onA.DeepCopy()
	relabeled.Labels = map[string]string{"x": "y"}
	cases := []struct {
		name     string
		user     *auth.User
		attrs    auth.Attributes
		obj, old runtime.Object
		wantErr  string
	}{
		{"not a node", user("jane"), res(user("jane"), "delete", "", "pods", "ns", "pb"), nil, onB, ""},
		{"mirror pod", a, res(a, "create", "", "pods", "ns", ""), mirror(nil), nil, ""},
		{"non-mirror pod", a, res(a, "create", "", "pods", "ns", ""), mirror(func(p *corev1.Pod) { p.Annotations = nil }), nil,
			`pod does not have "kubernetes.io/config.mirror" annotation, node "a" can only create mirror pods`},
		{"mirror pod for another node", a, res(a, "create", "", "pods", "ns", ""), mirror(func(p *corev1.Pod) { p.Spec.NodeName = "b" }), nil,
			`node "a" can only create pods with spec.nodeName set to itself`},
		{"mirror pod with secret", a, res(a, "create", "", "pods", "ns", ""), mirror(func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}}}
		}), nil, `node "a" can not create pods that reference secrets`},
		{"mirror pod with service account", a, res(a, "create", "", "pods", "ns", ""), mirror(func(p *corev1.Pod) { p.Spec.ServiceAccountName = "default" }), nil,
			`node "a" can not create pods that reference serviceaccounts`},
		{"mirror pod owned by own node", a, res(a, "create", "", "pods", "ns", ""), mirror(func(p *corev1.Pod) {
			p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: "a", Controller: ptr.To(true)}}
		}), nil, ""},
		{"mirror pod owned by other node", a, res(a, "create", "", "pods", "ns", ""), mirror(func(p *corev1.Pod) {
			p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: "b", Controller: ptr.To(true)}}
		}), nil, `node "a" can only create pods with an owner reference set to itself`},
		{"delete own pod", a, res(a, "delete", "", "pods", "ns", "pa"), nil, onA, ""},
		{"delete pod on b", a, res(a, "delete", "", "pods", "ns", "pb"), nil, onB, `node "a" can only delete pods with spec.nodeName set to itself`},
		{"update pod", a, res(a, "update", "", "pods", "ns", "pa"), onA, onA, `unexpected operation "UPDATE", node "a" can only create and delete mirror pods`},
		{"own pod status", a, res(a, "patch", "", "pods/status", "ns", "pa"), onA, onA, ""},
		{"status of pod on b", a, res(a, "update", "", "pods/status", "ns", "pb"), onB, onB, `node "a" can only update pod status for pods with spec.nodeName set to itself`},
		{"labels through status", a, res(a, "update", "", "pods/status", "ns", "pa"), relabeled, onA, `node "a" cannot update labels through pod status`},
		{"evict own pod", a, res(a, "create", "", "pods/eviction", "ns", "pa"), nil, onA, ""},
		{"evict pod on b", a, res(a, "create", "", "pods/eviction", "ns", "pb"), nil, onB, `node a can only evict pods with spec.nodeName set to itself`},
		{"create own node", a, res(a, "create", "", "nodes", "", ""), nodeObj("a", map[string]string{"kubernetes.io/hostname": "a", "node.kubernetes.io/exclude-from-external-load-balancers": "", "example.com/x": "y"}), nil, ""},
		{"create node with role label", a, res(a, "create", "", "nodes", "", ""), nodeObj("a", map[string]string{"node-role.kubernetes.io/control-plane": ""}), nil,
			`node "a" is not allowed to set the following labels: node-role.kubernetes.io/control-plane`},
		{"create other node", a, res(a, "create", "", "nodes", "", ""), nodeObj("b", nil), nil, `node "a" is not allowed to modify node "b"`},
		{"update node b", a, res(a, "update", "", "nodes", "", "b"), nodeObj("b", nil), nodeObj("b", nil), `node "a" is not allowed to modify node "b"`},
		{"update own node status", a, res(a, "patch", "", "nodes/status", "", "a"), nodeObj("a", nil), nodeObj("a", nil), ""},
		{"add node-restriction label", a, res(a, "update", "", "nodes", "", "a"), nodeObj("a", map[string]string{"node-restriction.kubernetes.io/pool": "x"}), nodeObj("a", nil),
			`is not allowed to modify labels: node-restriction.kubernetes.io/pool`},
		{"remove own taint", a, res(a, "update", "", "nodes", "", "a"), nodeObj("a", nil), nodeObj("a", nil, corev1.Taint{Key: "k", Effect: corev1.TaintEffectNoSchedule}),
			`node "a" is not allowed to modify taints`},
		{"own lease", a, res(a, "create", "coordination.k8s.io", "leases", "kube-node-lease", ""), &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-node-lease", Name: "a"}}, nil, ""},
		{"other lease", a, res(a, "create", "coordination.k8s.io", "leases", "kube-node-lease", ""), &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-node-lease", Name: "b"}}, nil,
			"can only access node lease with the same name as the requesting node"},
		{"token bound to own pod", a, res(a, "create", "", "serviceaccounts/token", "ns", "sa-pa"), tokenFor(onA), onA, ""},
		{"token bound to pod on b", a, res(a, "create", "", "serviceaccounts/token", "ns", "sa-pb"), tokenFor(onB), onB, "node requested token bound to a pod scheduled on a different node"},
		{"unbound token", a, res(a, "create", "", "serviceaccounts/token", "ns", "sa-pa"), &authenticationv1.TokenRequest{}, nil, "node requested token not bound to a pod"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := authz.NodeRestriction(c.user, c.attrs, c.obj, c.old)
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !apierrors.IsForbidden(err) {
				t.Fatalf("want Forbidden %q, got %v", c.wantErr, err)
			}
			if got := err.(apierrors.APIStatus).Status().Message; !strings.Contains(got, c.wantErr) {
				t.Fatalf("message %q does not contain %q", got, c.wantErr)
			}
		})
	}
}

func tokenFor(p *corev1.Pod) *authenticationv1.TokenRequest {
	return &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: p.Name, UID: p.UID},
	}}
}
