package bootstrap_test

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kstack/kstack/pkg/auth/bootstrap"
)

func checkMeta(t *testing.T, kind string, m metav1.ObjectMeta) {
	t.Helper()
	if m.Labels[bootstrap.BootstrapLabel] != bootstrap.BootstrapLabelValue || m.Annotations[bootstrap.AutoUpdateAnnotation] != "true" {
		t.Errorf("%s %s/%s lacks the bootstrap label or autoupdate annotation", kind, m.Namespace, m.Name)
	}
}

func TestPolicy_EveryBindingNamesARoleAndEveryObjectIsLabeled(t *testing.T) {
	clusterRoles := map[string]bool{}
	for _, r := range bootstrap.ClusterRoles() {
		if clusterRoles[r.Name] {
			t.Errorf("duplicate ClusterRole %s", r.Name)
		}
		clusterRoles[r.Name] = true
		checkMeta(t, "ClusterRole", r.ObjectMeta)
	}
	for _, b := range bootstrap.ClusterRoleBindings() {
		checkMeta(t, "ClusterRoleBinding", b.ObjectMeta)
		if !clusterRoles[b.RoleRef.Name] {
			t.Errorf("ClusterRoleBinding %s refers to missing ClusterRole %s", b.Name, b.RoleRef.Name)
		}
	}
	roles := bootstrap.NamespaceRoles()
	for ns, bs := range bootstrap.NamespaceRoleBindings() {
		for _, b := range bs {
			checkMeta(t, "RoleBinding", b.ObjectMeta)
			found := false
			for _, r := range roles[ns] {
				checkMeta(t, "Role", r.ObjectMeta)
				found = found || (r.Name == b.RoleRef.Name && r.Namespace == ns)
			}
			if b.Namespace != ns || !found {
				t.Errorf("RoleBinding %s/%s refers to missing Role %s", ns, b.Name, b.RoleRef.Name)
			}
		}
	}
	for _, want := range []string{"cluster-admin", "admin", "edit", "view", "system:kube-scheduler", "system:kube-controller-manager",
		"system:node", "system:node-proxier", "system:public-info-viewer", "system:controller:deployment-controller"} {
		if !clusterRoles[want] {
			t.Errorf("missing ClusterRole %s", want)
		}
	}
}

func TestControllerRoleBindings_BindKubeSystemServiceAccounts(t *testing.T) {
	for _, b := range bootstrap.ControllerRoleBindings() {
		s := b.Subjects
		if len(s) != 1 || s[0].Kind != "ServiceAccount" || s[0].Namespace != "kube-system" ||
			bootstrap.ControllerRolePrefix+s[0].Name != b.RoleRef.Name {
			t.Errorf("binding %s: subjects %+v", b.Name, s)
		}
	}
}

func TestClusterRoles_ReturnsFreshObjects(t *testing.T) {
	a := bootstrap.ClusterRoles()
	a[0].Labels["mutated"] = "yes"
	if _, ok := bootstrap.ClusterRoles()[0].Labels["mutated"]; ok {
		t.Fatal("ClusterRoles shares state between calls")
	}
}
