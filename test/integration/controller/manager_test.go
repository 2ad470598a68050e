package controller

import (
	"context"
	"crypto/tls"
	"fmt"
	"github.com/kstack/kstack/test/integration/framework"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kstack/kstack/pkg/controllermanager"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func freePort(t *testing.T) int { return framework.FreePort(t) }

func get(url string) (int, string, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func TestControllerManager_LeaderElectionHealthAndMetrics(t *testing.T) {
	port := freePort(t)
	c := startCluster(t, []string{"replicaset"}, func(cfg *controllermanager.Config) {
		cfg.LeaderElection.Enabled = true
		cfg.LeaderElection.LeaseDuration = 4 * time.Second
		cfg.LeaderElection.RenewDeadline = 3 * time.Second
		cfg.LeaderElection.RetryPeriod = 500 * time.Millisecond
		cfg.SecurePort = port
		cfg.BindAddress = "127.0.0.1"
	})
	ctx := t.Context()
	eventually(t, 20*time.Second, "the leader's Lease", func() (bool, error) {
		l, err := c.client.CoordinationV1().Leases("kube-system").Get(ctx, "kube-controller-manager", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "", nil
	})
	ns := c.namespace(t, "metrics")
	if _, err := c.client.AppsV1().ReplicaSets(ns).Create(ctx, replicaSet("web", 1, map[string]string{"app": "web"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "a pod", func() (bool, error) { return len(c.pods(t, ns, "app=web")) == 1, nil })
	base := fmt.Sprintf("https://127.0.0.1:%d", port)
	eventually(t, 10*time.Second, "readyz with the controller's check", func() (bool, error) {
		code, body, err := get(base + "/readyz?verbose")
		if err != nil {
			return false, err
		}
		return code == 200 && strings.Contains(body, "[+]replicaset-controller ok"), nil
	})
	// /metrics is guarded (delegated authn/authz): scrape with a token
	// authorized for it.
	tok := saToken(t, c, ns, "scraper")
	grantScrape(t, c, "scrape-manager", rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "scraper"})
	var code int
	var body string
	eventually(t, 10*time.Second, "/metrics with an authorized token", func() (bool, error) {
		code, body = getAs(ctx, base+"/metrics", caller{token: tok})
		return code == 200, nil
	})
	if !strings.Contains(body, `workqueue_adds_total{name="replicaset"}`) {
		t.Errorf("/metrics lacks the replicaset workqueue metrics")
	}
	if code, _, err := get(base + "/healthz"); err != nil || code != 200 {
		t.Errorf("/healthz: %d %v", code, err)
	}
}

func TestControllerManager_UnknownControllerFailsValidation(t *testing.T) {
	cfg := controllermanager.Defaults()
	cfg.Controllers = []string{"*", "-nonexistent"}
	err := controllermanager.Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "nonexistent") {
		t.Fatalf("Run = %v, want an unknown-controller error", err)
	}
}
