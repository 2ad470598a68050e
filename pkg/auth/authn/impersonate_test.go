package authn

import (
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kstack/kstack/pkg/auth"
)

// allowList authorizes the impersonation attributes whose key
// "<group>/<resource>[/<sub>]:<ns>:<name>" it holds, and records every
// check.
type allowList struct {
	allowed map[string]bool
	err     error
	checked []string
}

func (a *allowList) authorize(attrs auth.Attributes) (bool, string, error) {
	key := attrs.APIGroup + "/" + attrs.Resource
	if attrs.Subresource != "" {
		key += "/" + attrs.Subresource
	}
	key += ":" + attrs.Namespace + ":" + attrs.Name
	a.checked = append(a.checked, key)
	if attrs.Verb != "impersonate" || !attrs.ResourceRequest || attrs.User == nil || attrs.User.Name != "bob" {
		return false, "bad attributes", nil
	}
	if a.err != nil {
		return false, "", a.err
	}
	if a.allowed[key] {
		return true, "", nil
	}
	return false, "", nil
}

func TestImpersonate(t *testing.T) {
	bob := &auth.User{Name: "bob", Groups: []string{"admins", auth.AllAuthenticated}}
	everything := map[string]bool{
		"/users::alice": true, "/users::system:anonymous": true,
		"/serviceaccounts:ns1:builder": true,
		"/groups::dev":                 true, "/groups::ops": true, "/groups::system:unauthenticated": true,
		"authentication.k8s.io/userextras/scopes::view":              true,
		"authentication.k8s.io/userextras/scopes::edit":              true,
		"authentication.k8s.io/userextras/example.com/team::storage": true,
		"authentication.k8s.io/uids::1234":                           true,
	}
	tests := []struct {
		name        string
		headers     http.Header
		allowed     map[string]bool
		authzErr    error
		want        *auth.User // nil with wantCode: error
		wantChecked []string
		wantCode    int32
		wantMessage string
	}{
		{name: "no headers: the requester", headers: http.Header{}, want: bob},
		{
			name:        "user without groups is authenticated",
			headers:     http.Header{"Impersonate-User": {"alice"}},
			want:        &auth.User{Name: "alice", Groups: []string{auth.AllAuthenticated}},
			wantChecked: []string{"/users::alice"},
		},
		{
			name:        "user with groups",
			headers:     http.Header{"Impersonate-User": {"alice"}, "Impersonate-Group": {"dev", "ops"}},
			want:        &auth.User{Name: "alice", Groups: []string{"dev", "ops", auth.AllAuthenticated}},
			wantChecked: []string{"/users::alice", "/groups::dev", "/groups::ops"},
		},
		{
			name:        "explicit system:unauthenticated is kept alone",
			headers:     http.Header{"Impersonate-User": {"alice"}, "Impersonate-Group": {"system:unauthenticated"}},
			want:        &auth.User{Name: "alice", Groups: []string{auth.AllUnauthenticated}},
			wantChecked: []string{"/users::alice", "/groups::system:unauthenticated"},
		},
		{
			name:        "service account gets its groups",
			headers:     http.Header{"Impersonate-User": {"system:serviceaccount:ns1:builder"}},
			want:        &auth.User{Name: "system:serviceaccount:ns1:builder", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:ns1", auth.AllAuthenticated}},
			wantChecked: []string{"/serviceaccounts:ns1:builder"},
		},
		{
			name:        "service account with explicit groups",
			headers:     http.Header{"Impersonate-User": {"system:serviceaccount:ns1:builder"}, "Impersonate-Group": {"dev"}},
			want:        &auth.User{Name: "system:serviceaccount:ns1:builder", Groups: []string{"dev", auth.AllAuthenticated}},
			wantChecked: []string{"/serviceaccounts:ns1:builder", "/groups::dev"},
		},
		{
			name:        "anonymous",
			headers:     http.Header{"Impersonate-User": {"system:anonymous"}},
			want:        &auth.User{Name: "system:anonymous", Groups: []string{auth.AllUnauthenticated}},
			wantChecked: []string{"/users::system:anonymous"},
		},
		{
			name: "extras and uid",
			headers: http.Header{
				"Impersonate-User":                     {"alice"},
				"Impersonate-Extra-Scopes":             {"view", "edit"},
				"Impersonate-Extra-Example.com%2fteam": {"storage"},
				"Impersonate-Uid":                      {"1234"},
			},
			want: &auth.User{Name: "alice", UID: "1234", Groups: []string{auth.AllAuthenticated},
				Extra: map[string][]string{"scopes": {"view", "edit"}, "example.com/team": {"storage"}}},
		},
		{
			name:        "refused user",
			headers:     http.Header{"Impersonate-User": {"alice"}},
			allowed:     map[string]bool{},
			wantCode:    403,
			wantMessage: `users "alice" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the cluster scope`,
		},
		{
			name:        "refused service account",
			headers:     http.Header{"Impersonate-User": {"system:serviceaccount:kube-system:admin"}},
			wantCode:    403,
			wantMessage: `serviceaccounts "admin" is forbidden: User "bob" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "kube-system"`,
		},
		{
			name:        "refused group after an allowed user",
			headers:     http.Header{"Impersonate-User": {"alice"}, "Impersonate-Group": {"system:masters"}},
			wantCode:    403,
			wantMessage: `groups "system:masters" is forbidden: User "bob" cannot impersonate resource "groups" in API group "" at the cluster scope`,
		},
		{
			name:        "refused extra",
			headers:     http.Header{"Impersonate-User": {"alice"}, "Impersonate-Extra-Scopes": {"admin"}},
			wantCode:    403,
			wantMessage: `userextras.authentication.k8s.io "admin" is forbidden: User "bob" cannot impersonate resource "userextras/scopes" in API group "authentication.k8s.io" at the cluster scope`,
		},
		{
			name:        "refused uid",
			headers:     http.Header{"Impersonate-User": {"alice"}, "Impersonate-Uid": {"0"}},
			wantCode:    403,
			wantMessage: `uids.authentication.k8s.io "0" is forbidden: User "bob" cannot impersonate resource "uids" in API group "authentication.k8s.io" at the cluster scope`,
		},
		{
			name:     "authorizer error is forbidden",
			headers:  http.Header{"Impersonate-User": {"alice"}},
			authzErr: errors.New("boom"),
			wantCode: 403,
		},
		{
			name:     "groups without a user",
			headers:  http.Header{"Impersonate-Group": {"dev"}},
			wantCode: 500,
		},
		{
			name:     "uid without a user",
			headers:  http.Header{"Impersonate-Uid": {"1234"}},
			wantCode: 500,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			al := &allowList{allowed: everything, err: tc.authzErr}
			if tc.allowed != nil {
				al.allowed = tc.allowed
			}
			r := httptest.NewRequest("GET", "/api/v1/pods", nil)
			for k, vs := range tc.headers {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			r.Header.Set("Accept", "application/json")
			u, err := Impersonate(r, bob, al.authorize)
			if tc.wantCode != 0 {
				var se *apierrors.StatusError
				if !errors.As(err, &se) || se.Status().Code != tc.wantCode {
					t.Fatalf("err = %v, want status %d", err, tc.wantCode)
				}
				if tc.wantMessage != "" && se.Status().Message != tc.wantMessage {
					t.Errorf("message =\n%s\nwant\n%s", se.Status().Message, tc.wantMessage)
				}
				if u != nil {
					t.Errorf("user %v returned with an error", u)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(u, tc.want) {
				t.Errorf("user = %+v, want %+v", u, tc.want)
			}
			if tc.wantChecked != nil && !slices.Equal(al.checked, tc.wantChecked) {
				t.Errorf("checked %v, want %v", al.checked, tc.wantChecked)
			}
			if tc.want != bob {
				for h := range maps.Keys(r.Header) {
					if h != "Accept" {
						t.Errorf("header %s left on the request", h)
					}
				}
			}
		})
	}
}

func TestForbiddenMessage(t *testing.T) {
	u := &auth.User{Name: "alice"}
	tests := []struct {
		attrs auth.Attributes
		want  string
	}{
		{auth.Attributes{User: u, Verb: "get", Path: "/metrics"}, `User "alice" cannot get path "/metrics"`},
		{auth.Attributes{User: u, Verb: "list", ResourceRequest: true, Resource: "pods", Namespace: "ns"}, `User "alice" cannot list resource "pods" in API group "" in the namespace "ns"`},
		{auth.Attributes{User: u, Verb: "update", ResourceRequest: true, APIGroup: "apps", Resource: "deployments", Subresource: "scale"}, `User "alice" cannot update resource "deployments/scale" in API group "apps" at the cluster scope`},
	}
	for _, tc := range tests {
		if got := ForbiddenMessage(tc.attrs); got != tc.want {
			t.Errorf("got %s\nwant %s", got, tc.want)
		}
	}
	// A name from the client is HTML-escaped in the 403.
	se := Forbidden(auth.Attributes{User: &auth.User{Name: "<script>"}, Verb: "get", ResourceRequest: true, Resource: "pods", Name: "p"}, "no RBAC policy matched")
	if want := `pods "p" is forbidden: User "&lt;script&gt;" cannot get resource "pods" in API group "" at the cluster scope: no RBAC policy matched`; se.Status().Message != want {
		t.Errorf("got %s\nwant %s", se.Status().Message, want)
	}
}
