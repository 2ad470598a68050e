package controllermanager

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// clientBuilder hands out each controller's client configuration: the
// controller-manager's own, or with --use-service-account-credentials one
// authenticated as kube-system/<serviceaccount> by a token from the
// TokenRequest API, renewed before it expires.
type clientBuilder struct {
	root   *rest.Config
	client kubernetes.Interface
	useSA  bool
}

// tokenLifetime is the TokenRequest expiration asked for; tokens are
// renewed after 80% of it.
const tokenLifetime = time.Hour

func (b *clientBuilder) config(ctx context.Context, sa string) (*rest.Config, error) {
	if !b.useSA {
		cfg := rest.CopyConfig(b.root)
		cfg.UserAgent = rest.DefaultKubernetesUserAgent() + "/" + sa
		return cfg, nil
	}
	if err := b.ensureServiceAccount(ctx, sa); err != nil {
		return nil, err
	}
	src := &tokenSource{client: b.client, name: sa}
	if _, err := src.token(ctx); err != nil {
		return nil, err
	}
	cfg := rest.AnonymousClientConfig(b.root)
	cfg.UserAgent = rest.DefaultKubernetesUserAgent() + "/" + sa
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return &bearerRoundTripper{src: src, next: rt} }
	return cfg, nil
}

func (b *clientBuilder) ensureServiceAccount(ctx context.Context, name string) error {
	_, err := b.client.CoreV1().ServiceAccounts("kube-system").Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("get service account kube-system/%s: %w", name, err)
	}
	_, err = b.client.CoreV1().ServiceAccounts("kube-system").Create(ctx,
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-system"}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create service account kube-system/%s: %w", name, err)
	}
	return nil
}

// tokenSource caches one service account's token.
type tokenSource struct {
	client kubernetes.Interface
	name   string

	mu      sync.Mutex
	current string
	renewAt time.Time
}

func (s *tokenSource) token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current != "" && time.Now().Before(s.renewAt) {
		return s.current, nil
	}
	secs := int64(tokenLifetime / time.Second)
	tr, err := s.client.CoreV1().ServiceAccounts("kube-system").CreateToken(ctx, s.name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &secs}}, metav1.CreateOptions{})
	if err != nil {
		if s.current != "" {
			return s.current, nil // keep using the old one until it fails
		}
		return "", fmt.Errorf("request a token for kube-system/%s: %w", s.name, err)
	}
	life := time.Until(tr.Status.ExpirationTimestamp.Time)
	s.current = tr.Status.Token
	s.renewAt = time.Now().Add(life * 8 / 10)
	return s.current, nil
}

type bearerRoundTripper struct {
	src  *tokenSource
	next http.RoundTripper
}

func (rt *bearerRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := rt.src.token(req.Context())
	if err != nil {
		return nil, err
	}
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+tok)
	return rt.next.RoundTrip(req)
}
