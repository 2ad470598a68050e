package upstreamapi

import (
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// TestStart_ServesUpstreamWithRBAC starts the server and checks what the
// compatibility tests rely on: it is upstream v1.37, the admin kubeconfig works,
// a component identity is authenticated by its client certificate and authorized
// by upstream's bootstrap RBAC roles (and no further), and Stop is clean.
func TestStart_ServesUpstreamWithRBAC(t *testing.T) {
	s := Start(t)
	admin := s.AdminClient(t)
	v, err := admin.Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("server version: %v", err)
	}
	if !strings.HasPrefix(v.GitVersion, "v1.37.") {
		t.Errorf("server version %q, want upstream v1.37.x", v.GitVersion)
	}

	// The admin kubeconfig file (what kubectl is given) reaches the server.
	cfg, err := clientcmd.BuildConfigFromFlags("", s.AdminKubeconfig)
	if err != nil {
		t.Fatalf("load %s: %v", s.AdminKubeconfig, err)
	}
	if _, err := kubernetes.NewForConfigOrDie(cfg).CoreV1().Namespaces().Get(t.Context(), "kube-system", metav1.GetOptions{}); err != nil {
		t.Errorf("get kube-system with the admin kubeconfig: %v", err)
	}

	// The scheduler's identity may bind pods and hold its Lease, not read Secrets.
	kc := s.Kubeconfig(t, "scheduler", "system:kube-scheduler")
	schedCfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatalf("load %s: %v", kc, err)
	}
	sched := kubernetes.NewForConfigOrDie(schedCfg)
	review, err := sched.AuthenticationV1().SelfSubjectReviews().Create(t.Context(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("self subject review: %v", err)
	}
	if got := review.Status.UserInfo.Username; got != "system:kube-scheduler" {
		t.Errorf("scheduler kubeconfig authenticates as %q, want system:kube-scheduler", got)
	}
	for _, tc := range []struct {
		verb, group, resource, subresource string
		want                               bool
	}{
		{"create", "", "pods", "binding", true},
		{"update", "coordination.k8s.io", "leases", "", true},
		{"list", "", "secrets", "", false},
	} {
		ssar, err := sched.AuthorizationV1().SelfSubjectAccessReviews().Create(t.Context(), &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: "kube-system", Verb: tc.verb, Group: tc.group, Resource: tc.resource, Subresource: tc.subresource,
			}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("self subject access review: %v", err)
		}
		if ssar.Status.Allowed != tc.want {
			t.Errorf("system:kube-scheduler %s %s/%s: allowed=%v, want %v (%s)", tc.verb, tc.resource, tc.subresource, ssar.Status.Allowed, tc.want, ssar.Status.Reason)
		}
	}

	// A refused request shows in the audit log's denials, for that user only.
	if _, err := sched.CoreV1().Secrets("kube-system").List(t.Context(), metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("system:kube-scheduler list secrets: %v, want forbidden", err)
	}
	isScheduler := func(u string) bool { return u == "system:kube-scheduler" }
	denials := s.Denials(t, isScheduler)
	if len(denials) != 1 || denials[0].Verb != "list" || !strings.Contains(denials[0].RequestURI, "/secrets") {
		t.Errorf("scheduler denials %v, want the one list of secrets", denials)
	}
	if d := s.Denials(t, func(u string) bool { return !isScheduler(u) }); len(d) != 0 {
		t.Errorf("denials of other users: %v", d)
	}

	if err := s.Stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	if s.Err() == nil {
		t.Errorf("server still running after Stop")
	}
}
