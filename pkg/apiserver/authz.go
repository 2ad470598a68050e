package apiserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/kstack/kstack/pkg/auth"
	"github.com/kstack/kstack/pkg/auth/authz"
	"github.com/kstack/kstack/pkg/auth/bootstrap"
	"github.com/kstack/kstack/pkg/storage"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
)

// authorizers is the chain of --authorization-mode, behind system:masters.
type authorizers []auth.Authorizer

func (c authorizers) Authorize(ctx context.Context, a auth.Attributes) (auth.Decision, string, error) {
	var reasons []string
	var errs []error
	for _, z := range c {
		d, reason, err := z.Authorize(ctx, a)
		if err != nil {
			errs = append(errs, err)
		}
		if reason != "" {
			reasons = append(reasons, reason)
		}
		if d != auth.DecisionNoOpinion {
			return d, reason, err
		}
	}
	reason := ""
	for i, r := range reasons {
		if i > 0 {
			reason += ", "
		}
		reason += r
	}
	return auth.DecisionNoOpinion, reason, errors.Join(errs...)
}

type alwaysAllow struct{}

func (alwaysAllow) Authorize(context.Context, auth.Attributes) (auth.Decision, string, error) {
	return auth.DecisionAllow, "", nil
}

type alwaysDeny struct{}

func (alwaysDeny) Authorize(context.Context, auth.Attributes) (auth.Decision, string, error) {
	return auth.DecisionDeny, "Everything is forbidden.", nil
}

// setupAuthorization builds the authorizer chain; RBAC and the Node graph
// are fed from the watch caches (see feed).
func (s *Server) setupAuthorization() {
	modes := s.cfg.AuthorizationModes
	if len(modes) == 0 {
		modes = []string{"AlwaysAllow"}
	}
	chain := authorizers{authz.PrivilegedGroups{auth.SystemPrivileged}}
	s.rbacIndex = authz.NewIndex()
	s.rbac = authz.NewRBAC(s.rbacIndex)
	s.nodeGraph = authz.NewGraph()
	for _, m := range modes {
		switch m {
		case "AlwaysAllow":
			chain = append(chain, alwaysAllow{})
		case "AlwaysDeny":
			chain = append(chain, alwaysDeny{})
		case "Node":
			chain = append(chain, authz.NewNode(s.nodeGraph))
		case "RBAC":
			chain = append(chain, s.rbac)
		}
	}
	s.authorizer = chain
}

// startAuthzFeeds keeps the RBAC index and the node graph in step with
// storage; ready closes once each has its initial state.
func (s *Server) startAuthzFeeds(ctx context.Context) <-chan struct{} {
	type feedDef struct {
		group, resource string
		upsert, delete  func(runtime.Object)
	}
	rbacUpsert := func(o runtime.Object) { s.rbacIndex.Upsert(o) }
	rbacDelete := func(o runtime.Object) { s.rbacIndex.Delete(o) }
	defs := []feedDef{
		{"rbac.authorization.k8s.io", "clusterroles", rbacUpsert, rbacDelete},
		{"rbac.authorization.k8s.io", "clusterrolebindings", rbacUpsert, rbacDelete},
		{"rbac.authorization.k8s.io", "roles", rbacUpsert, rbacDelete},
		{"rbac.authorization.k8s.io", "rolebindings", rbacUpsert, rbacDelete},
		{"", "pods", func(o runtime.Object) { s.nodeGraph.UpsertPod(o.(*corev1.Pod)) }, func(o runtime.Object) { s.nodeGraph.DeletePod(o.(*corev1.Pod)) }},
	}
	ready := make(chan struct{})
	synced := make(chan struct{}, len(defs))
	for _, d := range defs {
		go s.feed(ctx, s.storeFor(d.group, d.resource), d.upsert, d.delete, synced)
	}
	go func() {
		for range defs {
			select {
			case <-synced:
			case <-ctx.Done():
				return
			}
		}
		close(ready)
	}()
	return ready
}

// feed lists a resource from the watch cache and follows its changes,
// calling upsert/delete with shared (read-only) objects; it re-lists when
// the watch ends. synced gets one value after the first list.
func (s *Server) feed(ctx context.Context, rs *resourceStore, upsert, del func(runtime.Object), synced chan<- struct{}) {
	first := true
	for ctx.Err() == nil {
		list := rs.cfg.NewListFunc()
		if err := rs.storage.GetList(ctx, rs.cfg.ListKey(""), storage.ListOptions{ResourceVersion: "0"}, list); err != nil {
			slog.Warn("authorization feed: list", "resource", rs.res.Resource, "err", err)
			sleepCtx(ctx, time.Second)
			continue
		}
		items, _ := meta.ExtractList(list)
		for _, it := range items {
			upsert(it)
		}
		if first {
			synced <- struct{}{}
			first = false
		}
		lm, _ := meta.ListAccessor(list)
		w, err := rs.storage.Watch(ctx, rs.cfg.ListKey(""), storage.ListOptions{ResourceVersion: lm.GetResourceVersion()})
		if err != nil {
			sleepCtx(ctx, time.Second)
			continue
		}
		for ev := range w.ResultChan() {
			switch ev.Type {
			case watch.Added, watch.Modified:
				upsert(ev.Object)
			case watch.Deleted:
				del(ev.Object)
			}
		}
		w.Stop()
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// attributesFor describes a request for the authorizer.
func attributesFor(u *auth.User, info *RequestInfo, r *http.Request) auth.Attributes {
	a := auth.Attributes{User: u, Verb: info.Verb, Path: r.URL.Path}
	if !info.IsResourceRequest {
		a.Verb = nonResourceVerb(r.Method)
		return a
	}
	a.ResourceRequest = true
	a.APIGroup, a.APIVersion = info.APIGroup, info.APIVersion
	a.Namespace, a.Resource, a.Subresource, a.Name = info.Namespace, info.Resource, info.Subresource, info.Name
	if (a.Verb == "list" || a.Verb == "watch") && a.Name == "" {
		// A list or watch of one name is authorized as that name (rules
		// with resourceNames then apply), as upstream.
		if sel, err := fields.ParseSelector(r.URL.Query().Get("fieldSelector")); err == nil {
			if name, ok := sel.RequiresExactMatch("metadata.name"); ok {
				a.Name = name
			}
		}
	}
	return a
}

func nonResourceVerb(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead:
		return "get"
	case http.MethodPost:
		return "post"
	case http.MethodPut:
		return "put"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		return "delete"
	}
	return "get"
}

// authorize decides a request; the error is the 403 to send.
func (s *Server) authorize(r *http.Request, a auth.Attributes) error {
	ctx := r.Context()
	if sel, err := fields.ParseSelector(r.URL.Query().Get("fieldSelector")); err == nil && !sel.Empty() {
		ctx = authz.WithFieldSelector(ctx, sel)
	}
	d, reason, err := s.authorizer.Authorize(ctx, a)
	if d == auth.DecisionAllow {
		return nil
	}
	if err != nil && reason == "" {
		reason = err.Error()
	}
	msg := authz.ForbiddenMessage(a, reason)
	if !a.ResourceRequest {
		return apierrors.NewForbidden(schema.GroupResource{}, "", errors.New(msg))
	}
	res := a.Resource
	if a.Subresource != "" {
		res += "/" + a.Subresource
	}
	return apierrors.NewForbidden(schema.GroupResource{Group: a.APIGroup, Resource: res}, a.Name, errors.New(msg))
}

// rbacHooks guard writes of roles and bindings against privilege
// escalation.
func (s *Server) rbacHooks(resource string) *hooks {
	check := func(ctx context.Context, obj, old runtime.Object) error {
		u := auth.UserFrom(ctx)
		if u == nil {
			return nil // the server's own bootstrap writes
		}
		switch o := obj.(type) {
		case *rbacv1.Role:
			return authz.CheckRoleEscalation(ctx, s.authorizer, s.rbac, u, "roles", o.Namespace, o.Name, o.Rules)
		case *rbacv1.ClusterRole:
			if err := authz.CheckRoleEscalation(ctx, s.authorizer, s.rbac, u, "clusterroles", "", o.Name, o.Rules); err != nil {
				return err
			}
			// An aggregationRule gathers any permission: setting, changing
			// or dropping one takes full authority, as upstream.
			if oldRole, _ := old.(*rbacv1.ClusterRole); o.AggregationRule != nil || (oldRole != nil && oldRole.AggregationRule != nil) {
				return authz.CheckAggregationRule(ctx, s.authorizer, s.rbac, u, o.Name)
			}
			return nil
		case *rbacv1.RoleBinding:
			return authz.CheckBindingEscalation(ctx, s.authorizer, s.rbac, storedRoleRefs{s, ctx}, u, "rolebindings", o.Namespace, o.Name, o.RoleRef)
		case *rbacv1.ClusterRoleBinding:
			return authz.CheckBindingEscalation(ctx, s.authorizer, s.rbac, storedRoleRefs{s, ctx}, u, "clusterrolebindings", "", o.Name, o.RoleRef)
		}
		return nil
	}
	return &hooks{
		beginCreate: func(ctx context.Context, obj runtime.Object, _ bool) (func(bool), error) {
			return nil, check(ctx, obj, nil)
		},
		beginUpdate: func(ctx context.Context, obj, old runtime.Object, _ bool) (func(bool), error) {
			return nil, check(ctx, obj, old)
		},
	}
}

// storedRoleRefs resolves a binding's roleRef through the RBAC index and,
// when the index has not seen the role yet (it was created a moment ago),
// through storage, as upstream reads the role from its registry.
type storedRoleRefs struct {
	s   *Server
	ctx context.Context
}

func (r storedRoleRefs) RoleRefRules(ref rbacv1.RoleRef, namespace string) ([]rbacv1.PolicyRule, error) {
	rules, err := r.s.rbac.RoleRefRules(ref, namespace)
	if err == nil || !apierrors.IsNotFound(err) {
		return rules, err
	}
	switch ref.Kind {
	case "ClusterRole":
		rs := r.s.storeFor(rbacv1.GroupName, "clusterroles")
		var role rbacv1.ClusterRole
		if gerr := rs.storage.Get(r.ctx, rs.key("", ref.Name), storage.GetOptions{}, &role); gerr != nil {
			return nil, err
		}
		return role.Rules, nil
	case "Role":
		rs := r.s.storeFor(rbacv1.GroupName, "roles")
		var role rbacv1.Role
		if gerr := rs.storage.Get(r.ctx, rs.key(namespace, ref.Name), storage.GetOptions{}, &role); gerr != nil {
			return nil, err
		}
		return role.Rules, nil
	}
	return nil, err
}

// bootstrapPolicy creates upstream's default roles and bindings that are
// missing (objects marked autoupdate are brought back to the default rules
// when they drifted, as upstream's reconciliation does for added rules).
func (s *Server) bootstrapPolicy(ctx context.Context) error {
	for _, cr := range bootstrap.ClusterRoles() {
		if err := s.ensureRBAC(ctx, "clusterroles", "", &cr); err != nil {
			return fmt.Errorf("clusterrole %s: %w", cr.Name, err)
		}
	}
	for _, b := range bootstrap.ClusterRoleBindings() {
		if err := s.ensureRBAC(ctx, "clusterrolebindings", "", &b); err != nil {
			return fmt.Errorf("clusterrolebinding %s: %w", b.Name, err)
		}
	}
	for ns, roles := range bootstrap.NamespaceRoles() {
		for _, r := range roles {
			if err := s.ensureRBAC(ctx, "roles", ns, &r); err != nil {
				return fmt.Errorf("role %s/%s: %w", ns, r.Name, err)
			}
		}
	}
	for ns, bindings := range bootstrap.NamespaceRoleBindings() {
		for _, b := range bindings {
			if err := s.ensureRBAC(ctx, "rolebindings", ns, &b); err != nil {
				return fmt.Errorf("rolebinding %s/%s: %w", ns, b.Name, err)
			}
		}
	}
	return nil
}

func (s *Server) ensureRBAC(ctx context.Context, resource, ns string, obj runtime.Object) error {
	rs := s.storeFor("rbac.authorization.k8s.io", resource)
	acc, _ := meta.Accessor(obj)
	cur := rs.cfg.NewFunc()
	err := rs.storage.Get(ctx, rs.key(ns, acc.GetName()), storage.GetOptions{ResourceVersion: "0"}, cur)
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return err
	}
	_, err = s.createObject(ctx, rs, ns, obj, false)
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}
