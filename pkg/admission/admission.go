// Package admission holds kstack's built-in admission plugins as a library:
// ServiceAccount, LimitRanger, ResourceQuota and PodSecurity. Each behaves as
// upstream's plugin of the same name; the apiserver builds a Chain, calls
// Admit (mutating plugins, in upstream's order) after defaulting and
// Validate (validating plugins) after validation, and refuses the request
// with the returned error (an apierrors status, 403 Forbidden mostly).
//
// Plugins read the cluster through Store, which the apiserver implements
// over its storage. Objects are the storage versions of k8s.io/api types
// (*corev1.Pod, *corev1.Service, ...).
//
//	request -> default -> Chain.Admit (LimitRanger, ServiceAccount)
//	        -> validate -> Chain.Validate (LimitRanger, PodSecurity, ResourceQuota) -> storage
package admission

import (
	"context"

	"github.com/kstack/kstack/pkg/auth"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Operation is the kind of write being admitted.
type Operation string

// The operations, named as upstream's admission.Operation.
const (
	Create Operation = "CREATE"
	Update Operation = "UPDATE"
	Delete Operation = "DELETE"
)

// Plugin names, as --enable-admission-plugins spells them.
const (
	PluginLimitRanger    = "LimitRanger"
	PluginServiceAccount = "ServiceAccount"
	PluginPodSecurity    = "PodSecurity"
	PluginResourceQuota  = "ResourceQuota"
)

// Attributes describe one write for the plugins.
type Attributes struct {
	Operation Operation
	// Resource is the served resource (group, version, resource).
	Resource    schema.GroupVersionResource
	Subresource string
	// Kind is the kind of Object (its storage version).
	Kind      schema.GroupVersionKind
	Namespace string
	Name      string
	// Object is the new state (mutating plugins may change it); OldObject
	// the stored one on UPDATE and DELETE. Both are storage-version
	// k8s.io/api objects.
	Object, OldObject runtime.Object
	User              *auth.User
	DryRun            bool

	// Warnings collects messages for the client (sent as Warning headers).
	Warnings []string
}

// AddWarning records a warning for the client.
func (a *Attributes) AddWarning(msg string) { a.Warnings = append(a.Warnings, msg) }

// Mutator is a mutating admission plugin: it may change a.Object.
type Mutator interface {
	Admit(ctx context.Context, a *Attributes) error
}

// Validator is a validating admission plugin: it must not change a.Object.
type Validator interface {
	Validate(ctx context.Context, a *Attributes) error
}

// Store is what plugins read and write; the apiserver implements it over
// its storage (cache reads where a slightly old state is fine).
type Store interface {
	// Get reads one object; a missing one is an apierrors NotFound.
	Get(ctx context.Context, gr schema.GroupResource, namespace, name string) (runtime.Object, error)
	// List reads a namespace's objects of a resource (a consistent read).
	List(ctx context.Context, gr schema.GroupResource, namespace string) ([]runtime.Object, error)
	// UpdateQuotaStatus writes q.Status with optimistic concurrency on
	// q.ResourceVersion: a stale one is a 409 Conflict.
	UpdateQuotaStatus(ctx context.Context, q *corev1.ResourceQuota) error
}

// Well-known group-resources the plugins read.
var (
	grNamespaces      = schema.GroupResource{Resource: "namespaces"}
	grServiceAccounts = schema.GroupResource{Resource: "serviceaccounts"}
	grLimitRanges     = schema.GroupResource{Resource: "limitranges"}
	grResourceQuotas  = schema.GroupResource{Resource: "resourcequotas"}
)

type namedMutator struct {
	name string
	m    Mutator
}

type namedValidator struct {
	name string
	v    Validator
}

// Chain runs the enabled plugins in upstream's order.
type Chain struct {
	mutators   []namedMutator
	validators []namedValidator
}

// NewChain builds the chain of the plugins enabled(name) switches on, all
// reading and writing through store.
func NewChain(enabled func(name string) bool, store Store) *Chain {
	c := &Chain{}
	// Upstream's order: LimitRanger, ServiceAccount, ..., PodSecurity, ...,
	// ResourceQuota last.
	if enabled(PluginLimitRanger) {
		lr := NewLimitRanger(store)
		c.mutators = append(c.mutators, namedMutator{PluginLimitRanger, lr})
		c.validators = append(c.validators, namedValidator{PluginLimitRanger, lr})
	}
	if enabled(PluginServiceAccount) {
		c.mutators = append(c.mutators, namedMutator{PluginServiceAccount, NewServiceAccount(store)})
	}
	if enabled(PluginPodSecurity) {
		c.validators = append(c.validators, namedValidator{PluginPodSecurity, NewPodSecurity(store)})
	}
	if enabled(PluginResourceQuota) {
		c.validators = append(c.validators, namedValidator{PluginResourceQuota, NewResourceQuota(store)})
	}
	return c
}

// Admit runs the mutating plugins; the first error stops the chain.
func (c *Chain) Admit(ctx context.Context, a *Attributes) error {
	for _, p := range c.mutators {
		if err := p.m.Admit(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

// Validate runs the validating plugins; the first error stops the chain.
func (c *Chain) Validate(ctx context.Context, a *Attributes) error {
	for _, p := range c.validators {
		if err := p.v.Validate(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

// forbidden is upstream's admission.NewForbidden: a 403 on the request's
// resource and the object's name, not wrapping a 403 twice.
func forbidden(a *Attributes, err error) error {
	if apierrors.IsForbidden(err) {
		return err
	}
	name := a.Name
	if name == "" && a.Object != nil {
		if acc, aerr := meta.Accessor(a.Object); aerr == nil {
			name = acc.GetName()
		}
	}
	return apierrors.NewForbidden(a.Resource.GroupResource(), name, err)
}

// isPods reports a write to the pods resource itself (no subresource).
func isPods(a *Attributes) bool {
	return a.Resource.Group == "" && a.Resource.Resource == "pods" && a.Subresource == ""
}
