package scheduler

import (
	"context"
	"crypto/tls"
	"fmt"
	"github.com/kstack/kstack/test/integration/framework"
	"io"
	"net/http"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kstack/kstack/pkg/daemon"
	"github.com/kstack/kstack/pkg/scheduler"
)

// TestScheduler_SecurePortGuardsMetricsAndProfiling: as upstream's
// kube-scheduler, the health checks answer anyone while /metrics and
// /debug/pprof/ need a token the apiserver authenticates (TokenReview)
// and authorizes for the path (SubjectAccessReview).
func TestScheduler_SecurePortGuardsMetricsAndProfiling(t *testing.T) {
	e := newEnv(t)
	port := freePort(t)
	cfg := e.schedulerConfig(t)
	cfg.Serve = daemon.ServeOptions{BindAddress: "127.0.0.1", Port: port}
	cfg.Profiling = true
	e.startScheduler(t, cfg)

	// Two service accounts: one allowed to read /metrics and
	// /debug/pprof/*, one with no rights.
	ctx := t.Context()
	for _, sa := range []string{"scraper", "nobody"} {
		if _, err := e.c.CoreV1().ServiceAccounts(e.ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create service account %s: %v", sa, err)
		}
	}
	if _, err := e.c.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "scrape"},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/metrics", "/debug/pprof/*"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create cluster role: %v", err)
	}
	if _, err := e.c.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "scrape"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "scrape"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: e.ns, Name: "scraper"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create cluster role binding: %v", err)
	}
	token := func(sa string) string {
		tr, err := e.c.CoreV1().ServiceAccounts(e.ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("token for %s: %v", sa, err)
		}
		return tr.Status.Token
	}
	scraper, nobody := token("scraper"), token("nobody")
	// The apiserver's RBAC sees the binding through its own cache: wait
	// until it grants the scraper, or the scheduler may ask too early and
	// cache the denial (it flaked under load).
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		sar, err := e.c.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:                  "system:serviceaccount:" + e.ns + ":scraper",
			NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"},
		}}, metav1.CreateOptions{})
		return err == nil && sar.Status.Allowed, nil
	}); err != nil {
		t.Fatalf("the apiserver never allowed the scraper /metrics: %v", err)
	}

	base := fmt.Sprintf("https://127.0.0.1:%d", port)
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	get := func(path, tok string) (int, string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// Wait for the port.
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		code, _ := get("/healthz", "")
		return code == http.StatusOK, nil
	}); err != nil {
		t.Fatalf("scheduler /healthz never answered 200: %v", err)
	}

	for _, c := range []struct {
		path, token string
		want        int
	}{
		{"/livez", "", http.StatusOK},
		{"/readyz", "", http.StatusOK},
		{"/metrics", "", http.StatusForbidden},
		{"/debug/pprof/", "", http.StatusForbidden},
		{"/metrics", "not-a-token", http.StatusUnauthorized},
		{"/metrics", nobody, http.StatusForbidden},
		{"/debug/pprof/cmdline", nobody, http.StatusForbidden},
		{"/metrics", scraper, http.StatusOK},
		{"/debug/pprof/cmdline", scraper, http.StatusOK},
	} {
		var code int
		var body string
		// /readyz waits for the informers; the others answer at once.
		_ = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			code, body = get(c.path, c.token)
			return code == c.want || c.path != "/readyz", nil
		})
		if code != c.want {
			t.Errorf("GET %s (token %q...): %d, want %d: %.200s", c.path, prefix(c.token), code, c.want, body)
		}
	}
	if _, body := get("/metrics", scraper); !contains(body, "go_goroutines") {
		t.Errorf("/metrics lacks go_goroutines:\n%.500s", body)
	}

	// With --profiling=false the pprof handlers are gone.
	port2 := freePort(t)
	cfg2 := e.schedulerConfig(t, scheduler.Profile{SchedulerName: "other"})
	cfg2.Serve = daemon.ServeOptions{BindAddress: "127.0.0.1", Port: port2}
	e.startScheduler(t, cfg2)
	base = fmt.Sprintf("https://127.0.0.1:%d", port2)
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		code, _ := get("/healthz", "")
		return code == http.StatusOK, nil
	}); err != nil {
		t.Fatalf("second scheduler /healthz never answered 200: %v", err)
	}
	if code, _ := get("/debug/pprof/cmdline", scraper); code != http.StatusNotFound {
		t.Errorf("GET /debug/pprof/cmdline with profiling off: %d, want 404", code)
	}
}

func prefix(s string) string { return s[:min(len(s), 8)] }

func freePort(t *testing.T) int { return framework.FreePort(t) }
