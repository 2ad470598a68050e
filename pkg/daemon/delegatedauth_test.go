package daemon

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/spf13/pflag"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// reviewer is a fake apiserver answering TokenReviews (token "good" is
// alice) and SubjectAccessReviews (alice may GET /metrics), counting both.
func reviewer() (*fake.Clientset, *int, *int) {
	c := fake.NewClientset()
	var trs, sars int
	c.PrependReactor("create", "tokenreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		trs++
		tr := a.(k8stesting.CreateAction).GetObject().(*authenticationv1.TokenReview).DeepCopy()
		if tr.Spec.Token == "good" {
			tr.Status = authenticationv1.TokenReviewStatus{Authenticated: true,
				User: authenticationv1.UserInfo{Username: "alice", Groups: []string{"system:authenticated"}}}
		}
		return true, tr, nil
	})
	c.PrependReactor("create", "subjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		sars++
		sar := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview).DeepCopy()
		nr := sar.Spec.NonResourceAttributes
		sar.Status.Allowed = sar.Spec.User == "alice" && nr != nil && nr.Path == "/metrics" && nr.Verb == "get"
		return true, sar, nil
	})
	return c, &trs, &sars
}

func TestDelegatedAuth_DecisionsAndCaches(t *testing.T) {
	c, trs, sars := reviewer()
	a := newDelegatedAuth(c, c, DelegatedAuthOptions{AlwaysAllowPaths: []string{"/healthz", "/open/*"},
		UnauthorizedCacheTTL: time.Minute})
	now := time.Unix(1000, 0)
	a.now = func() time.Time { return now }
	h := a.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	do := func(method, path, token string) int {
		r := httptest.NewRequest(method, path, nil)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	for _, tc := range []struct {
		name, method, path, token string
		want                      int
	}{
		{"always-allowed path", "GET", "/healthz", "", http.StatusTeapot},
		{"always-allowed prefix", "GET", "/open/x/y", "bad", http.StatusTeapot},
		{"not a prefix entry", "GET", "/healthz/etcd", "", http.StatusForbidden},
		{"anonymous", "GET", "/metrics", "", http.StatusForbidden},
		{"invalid token", "GET", "/metrics", "bad", http.StatusUnauthorized},
		{"authorized", "GET", "/metrics", "good", http.StatusTeapot},
		{"wrong verb", "POST", "/metrics", "good", http.StatusForbidden},
	} {
		if got := do(tc.method, tc.path, tc.token); got != tc.want {
			t.Errorf("%s: %s %s = %d, want %d", tc.name, tc.method, tc.path, got, tc.want)
		}
	}
	// Cached: the same token and path again ask nothing.
	t0, s0 := *trs, *sars
	do("GET", "/metrics", "good")
	do("GET", "/metrics", "bad")
	if *trs != t0 || *sars != s0 {
		t.Errorf("within the TTLs: %d TokenReviews and %d SubjectAccessReviews more, want none", *trs-t0, *sars-s0)
	}
	// After 10 s the token and the "allowed" answers expire; the
	// "denied" one (1 minute here) does not.
	now = now.Add(11 * time.Second)
	do("GET", "/metrics", "good")
	do("POST", "/metrics", "good")
	if *trs != t0+1 || *sars != s0+1 {
		t.Errorf("after 11 s: %d TokenReviews and %d SubjectAccessReviews more, want 1 and 1", *trs-t0, *sars-s0)
	}
}

func TestDelegatedAuthOptions_FlagsDefaultAsUpstream(t *testing.T) {
	var o DelegatedAuthOptions
	fs := newFlagSet()
	o.AddFlags(fs)
	if err := fs.Parse([]string{"--authorization-always-allow-paths=/a,/b/*", "--client-ca-file=/ca.crt"}); err != nil {
		t.Fatal(err)
	}
	if len(o.AlwaysAllowPaths) != 2 || o.AlwaysAllowPaths[1] != "/b/*" || o.ClientCAFile != "/ca.crt" {
		t.Errorf("parsed options: %+v", o)
	}
	if o.TokenCacheTTL != 10*time.Second || o.AuthorizedCacheTTL != 10*time.Second || o.UnauthorizedCacheTTL != 10*time.Second {
		t.Errorf("cache TTLs %v %v %v, want 10s each", o.TokenCacheTTL, o.AuthorizedCacheTTL, o.UnauthorizedCacheTTL)
	}
	var d DelegatedAuthOptions
	d.AddFlags(newFlagSet())
	if len(d.AlwaysAllowPaths) != 3 || d.AlwaysAllowPaths[0] != "/healthz" {
		t.Errorf("default always-allow paths %v, want %v", d.AlwaysAllowPaths, DefaultAlwaysAllowPaths)
	}
}

func newFlagSet() *pflag.FlagSet { return pflag.NewFlagSet("test", pflag.ContinueOnError) }
