package apiserver

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/kstack/kstack/pkg/admission"
	"github.com/kstack/kstack/pkg/auth"
	"github.com/kstack/kstack/pkg/storage"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// admissionStore is the admission plugins' view of the server's storage.
type admissionStore struct{ s *Server }

var _ admission.Store = admissionStore{}

func (a admissionStore) store(gr schema.GroupResource) (*resourceStore, error) {
	for k, rs := range a.s.stores {
		if k.group == gr.Group && k.resource == gr.Resource && rs.servedGVK == rs.storageGVK && rs.storage != nil {
			return rs, nil
		}
	}
	return nil, fmt.Errorf("no storage for %s", gr)
}

// Get reads from the watch cache, falling back to a consistent read when
// the cache has not seen the object yet (one created a moment ago).
func (a admissionStore) Get(ctx context.Context, gr schema.GroupResource, namespace, name string) (runtime.Object, error) {
	rs, err := a.store(gr)
	if err != nil {
		return nil, err
	}
	obj := rs.cfg.NewFunc()
	key := rs.key(namespace, name)
	err = rs.storage.Get(ctx, key, storage.GetOptions{ResourceVersion: "0"}, obj)
	if apierrors.IsNotFound(err) {
		obj = rs.cfg.NewFunc()
		err = rs.storage.Get(ctx, key, storage.GetOptions{}, obj)
	}
	if err != nil {
		return nil, err
	}
	return obj, nil
}

// List is a consistent read: quota charges and limit checks must see the
// newest LimitRanges and ResourceQuotas.
func (a admissionStore) List(ctx context.Context, gr schema.GroupResource, namespace string) ([]runtime.Object, error) {
	rs, err := a.store(gr)
	if err != nil {
		return nil, err
	}
	// From the watch cache, as upstream's plugins read informers: a
	// consistent read per admitted object would cost an etcd round trip
	// each. The quota write below is guarded by resourceVersion, so a stale
	// quota is a conflict and a retry, never an over-commit.
	list := rs.cfg.NewListFunc()
	if err := rs.storage.GetList(ctx, rs.cfg.ListKey(namespace), storage.ListOptions{ResourceVersion: "0"}, list); err != nil {
		return nil, err
	}
	return meta.ExtractList(list)
}

// UpdateQuotaStatus writes a quota's status if its resourceVersion is
// still the stored one (409 otherwise).
func (a admissionStore) UpdateQuotaStatus(ctx context.Context, q *corev1.ResourceQuota) error {
	rs, err := a.store(schema.GroupResource{Resource: "resourcequotas"})
	if err != nil {
		return err
	}
	rv := q.ResourceVersion
	out := &corev1.ResourceQuota{}
	return rs.storage.GuaranteedUpdate(ctx, rs.key(q.Namespace, q.Name), out, false, &storage.Preconditions{ResourceVersion: &rv},
		func(existing runtime.Object) (runtime.Object, error) {
			cur := existing.(*corev1.ResourceQuota)
			if cur.ResourceVersion != rv {
				return nil, apierrors.NewConflict(rs.res.GroupResource(), q.Name,
					fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
			}
			cur.Status = *q.Status.DeepCopy()
			return cur, nil
		})
}

// admissionAttributes describes a write for the admission chain; nil when
// there is no chain or the request has no user (the server's own writes
// at bootstrap are not admitted). obj and old are storage-kind objects.
func (s *Server) admissionAttributes(ctx context.Context, rs *resourceStore, op admission.Operation, sub string, obj, old runtime.Object, dryRun bool) *admission.Attributes {
	u := auth.UserFrom(ctx)
	if s.admission == nil || u == nil {
		return nil
	}
	a := &admission.Attributes{
		Operation:   op,
		Resource:    schema.GroupVersionResource{Group: rs.res.Group, Version: rs.res.Version, Resource: rs.res.Resource},
		Subresource: sub,
		Kind:        rs.storageGVK,
		Object:      obj,
		OldObject:   old,
		User:        u,
		DryRun:      dryRun,
	}
	if acc, err := meta.Accessor(obj); err == nil {
		a.Namespace, a.Name = acc.GetNamespace(), acc.GetName()
	}
	return a
}

// admit runs the mutating admission plugins (nil attributes: nothing to do).
func (s *Server) admit(ctx context.Context, a *admission.Attributes) error {
	if a == nil {
		return nil
	}
	// NamespaceLifecycle comes first in upstream's chain: a missing
	// namespace is a 404 before any plugin looks into it.
	if a.Operation == admission.Create && a.Namespace != "" && s.cfg.admissionEnabled("NamespaceLifecycle") {
		if err := s.admitNamespace(ctx, a.Namespace); err != nil {
			return err
		}
	}
	if err := s.admission.Admit(ctx, a); err != nil {
		return err
	}
	if pod, ok := a.Object.(*corev1.Pod); ok && a.Operation == admission.Create {
		// LimitRanger may have set requests and limits.
		pod.Status.QOSClass = qosClass(pod)
	}
	return nil
}

// validateAdmission runs the validating admission plugins and passes
// their warnings to the client.
func (s *Server) validateAdmission(ctx context.Context, a *admission.Attributes) error {
	if a == nil {
		return nil
	}
	err := s.admission.Validate(ctx, a)
	if sink, ok := ctx.Value(warningSinkKey).(*warningSink); ok && len(a.Warnings) > 0 {
		sink.add(a.Warnings)
		a.Warnings = nil
	}
	return err
}

// warningSink collects admission warnings of a request for its Warning
// headers (deduplicated: an update may be admitted more than once).
type warningSink struct {
	mu   sync.Mutex
	seen map[string]bool
	emit func([]string)
}

const warningSinkKey ctxKey = 200

func (w *warningSink) add(msgs []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var fresh []string
	for _, m := range msgs {
		if !w.seen[m] {
			w.seen[m] = true
			fresh = append(fresh, m)
		}
	}
	if len(fresh) > 0 {
		w.emit(fresh)
	}
}

// withWarningSink returns ctx whose admission warnings go to emit (which
// adds Warning headers before the response is written).
func withWarningSink(ctx context.Context, emit func([]string)) context.Context {
	return context.WithValue(ctx, warningSinkKey, &warningSink{seen: map[string]bool{}, emit: emit})
}

// ensureNamespaceDefaults creates a namespace's "default" ServiceAccount and
// its kube-root-ca.crt ConfigMap. It stands in for upstream's serviceaccount
// and root-ca-cert-publisher controllers until kstack's controller-manager
// exists: without it the ServiceAccount admission plugin would refuse every
// pod. It runs after a namespace is created and for the system namespaces
// at bootstrap, as the server itself (no admission), and is idempotent.
func (s *Server) ensureNamespaceDefaults(ctx context.Context, namespace string) error {
	ctx = auth.WithUser(ctx, nil)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: admission.DefaultServiceAccountName, Namespace: namespace}}
	if err := s.ensure(ctx, "", "serviceaccounts", sa); err != nil {
		return fmt.Errorf("default service account of namespace %s: %w", namespace, err)
	}
	ca, err := s.rootCA()
	if err != nil {
		// No CA file to publish (a server without certificate files, as in
		// the in-process fuzz harness): the ConfigMap waits, nothing else.
		slog.Warn("kube-root-ca.crt not published", "namespace", namespace, "err", err)
		return nil
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: admission.RootCAConfigMapName, Namespace: namespace,
			Annotations: map[string]string{"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
		Data: map[string]string{"ca.crt": string(ca)},
	}
	if err := s.ensure(ctx, "", "configmaps", cm); err != nil {
		return fmt.Errorf("%s config map of namespace %s: %w", admission.RootCAConfigMapName, namespace, err)
	}
	return nil
}

// afterNamespaceCreate gives a new namespace its defaults; a failure is
// logged, not returned: the namespace exists, and the write is retried
// for the system namespaces at every start.
func (s *Server) afterNamespaceCreate(ctx context.Context, obj runtime.Object) {
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return
	}
	if err := s.ensureNamespaceDefaults(ctx, ns.Name); err != nil {
		slog.Warn("namespace defaults", "namespace", ns.Name, "err", err)
	}
}

// rootCA is the PEM published as kube-root-ca.crt: the --client-ca-file
// bundle (the cluster CA), else the CA (last certificate) of the serving
// certificate file, else the self-signed serving certificate. It is read
// on each use (namespace creation), so a rotated file is picked up.
func (s *Server) rootCA() ([]byte, error) { return loadRootCA(s.cfg) }

func loadRootCA(cfg Config) ([]byte, error) {
	if cfg.ClientCAFile != "" {
		data, err := os.ReadFile(cfg.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("read --client-ca-file: %w", err)
		}
		return data, nil
	}
	certFile := cfg.TLSCertFile
	if certFile == "" {
		certFile = filepath.Join(cfg.CertDir, "apiserver.crt")
	}
	data, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("read serving certificate for kube-root-ca.crt: %w", err)
	}
	var last *pem.Block
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			if _, err := x509.ParseCertificate(b.Bytes); err == nil {
				last = b
			}
		}
	}
	if last == nil {
		return nil, fmt.Errorf("no certificate in %s", certFile)
	}
	return pem.EncodeToMemory(last), nil
}
