package integration

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// codeOf is the HTTP status an API call ended with: 200 for success, the
// Status code of an API error, -1 for any other error (transport, TLS).
func codeOf(err error) int {
	if err == nil {
		return http.StatusOK
	}
	var se *apierrors.StatusError
	if errors.As(err, &se) {
		return int(se.ErrStatus.Code)
	}
	return -1
}

// clientFor is a typed clientset on cfg.
func clientFor(t *testing.T, cfg *rest.Config) kubernetes.Interface {
	t.Helper()
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("clientset: %v", err)
	}
	return c
}

// getAs GETs path with cfg's credentials and returns the code and body.
func getAs(t *testing.T, cfg *rest.Config, path string) (int, []byte) {
	t.Helper()
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatalf("http client: %v", err)
	}
	resp, err := hc.Get(cfg.Host + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", path, err)
	}
	return resp.StatusCode, body
}

// bindUser binds user to the role (kind ClusterRole or Role) in ns (a
// RoleBinding), or cluster-wide when ns is empty (a ClusterRoleBinding),
// as the admin client c.
func bindUser(t *testing.T, c kubernetes.Interface, ns, kind, role, user string) {
	t.Helper()
	subj := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}
	ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: role}
	name := user + "-" + role
	var err error
	if ns == "" {
		_, err = c.RbacV1().ClusterRoleBindings().Create(t.Context(), &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: subj, RoleRef: ref}, metav1.CreateOptions{})
	} else {
		_, err = c.RbacV1().RoleBindings(ns).Create(t.Context(), &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: subj, RoleRef: ref}, metav1.CreateOptions{})
	}
	if err != nil {
		t.Fatalf("bind %s to %s %s in %q: %v", user, kind, role, ns, err)
	}
}

// waitCan waits until the authorizer lets user (in groups) do verb on
// resource in ns: bindings reach the authorizer through a watch.
func waitCan(t *testing.T, admin kubernetes.Interface, user string, groups []string, verb, group, resource, ns string) {
	t.Helper()
	eventually(t, user+" may "+verb+" "+resource, func(ctx context.Context) (bool, error) {
		sar, err := admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{User: user, Groups: groups,
				ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: verb, Group: group, Resource: resource, Namespace: ns}},
		}, metav1.CreateOptions{})
		if err != nil {
			return false, err
		}
		return sar.Status.Allowed, nil
	})
}

// selfReview is a SelfSubjectAccessReview of one resource request.
func selfReview(verb, group, resource, subresource, ns, name string) *authorizationv1.SelfSubjectAccessReview {
	return &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: verb, Group: group, Resource: resource, Subresource: subresource, Namespace: ns, Name: name}}}
}
