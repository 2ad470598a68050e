package util

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes/scheme"
)

// ToUnstructured converts a typed object to unstructured, with its
// apiVersion and kind set from the client-go scheme.
func ToUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return u, nil
	}
	gvk, err := GVKFor(obj)
	if err != nil {
		return nil, err
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvk)
	return u, nil
}

// GVKFor is obj's kind as the client-go scheme knows it.
func GVKFor(obj runtime.Object) (schema.GroupVersionKind, error) {
	if gvk := obj.GetObjectKind().GroupVersionKind(); !gvk.Empty() {
		return gvk, nil
	}
	gvks, _, err := scheme.Scheme.ObjectKinds(obj)
	if err != nil {
		return schema.GroupVersionKind{}, err
	}
	return gvks[0], nil
}

// FromUnstructured converts u to its typed object when the scheme knows
// its kind (so printing matches a typed client's), else returns u.
func FromUnstructured(u *unstructured.Unstructured) runtime.Object {
	gvk := u.GroupVersionKind()
	obj, err := scheme.Scheme.New(gvk)
	if err != nil {
		return u
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj); err != nil {
		return u
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return obj
}

// ResourceClient is the dynamic client for gvk in namespace (ignored for
// cluster-scoped kinds), from the REST mapper.
func (f *Factory) ResourceClient(gvk schema.GroupVersionKind, namespace string) (dynamic.ResourceInterface, bool, error) {
	mapper, err := f.RESTMapper()
	if err != nil {
		return nil, false, err
	}
	mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, false, err
	}
	dyn, err := f.Dynamic()
	if err != nil {
		return nil, false, err
	}
	nri := dyn.Resource(mapping.Resource)
	if mapping.Scope.Name() == "namespace" {
		return nri.Namespace(namespace), true, nil
	}
	return nri, false, nil
}

// CreateObject creates obj (a typed built-in object) in namespace and
// returns what the server stored, typed.
func (f *Factory) CreateObject(ctx context.Context, obj runtime.Object, namespace string, dryRun DryRun, fieldManager, validation string) (runtime.Object, error) {
	u, err := ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	rc, namespaced, err := f.ResourceClient(u.GroupVersionKind(), namespace)
	if err != nil {
		return nil, err
	}
	if namespaced && u.GetNamespace() == "" {
		u.SetNamespace(namespace)
	}
	opts := metav1.CreateOptions{FieldManager: fieldManager, FieldValidation: validation}
	if dryRun == DryRunServer {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	out, err := rc.Create(ctx, u, opts)
	if err != nil {
		return nil, err
	}
	return FromUnstructured(out), nil
}

// NewInfoBuilder resolves args (TYPE NAME..., TYPE/NAME, -f files, -l) to
// infos in namespace, as the label/annotate/delete family does.
func (f *Factory) NewInfoBuilder(namespace string, enforceNamespace bool, fo *resource.FilenameOptions, selector string, all bool, args []string) *resource.Builder {
	b := f.NewBuilder().
		Unstructured().
		ContinueOnError().
		NamespaceParam(namespace).DefaultNamespace()
	if fo != nil {
		b = b.FilenameParam(enforceNamespace, fo)
	}
	if selector != "" {
		b = b.LabelSelectorParam(selector)
	}
	return b.ResourceTypeOrNameArgs(all, args...).Flatten()
}

// FlagString reads a string flag, empty when it is missing.
func FlagString(cmd *cobra.Command, name string) string {
	v, _ := cmd.Flags().GetString(name)
	return v
}

// RequireNoArgs fails a command that takes no arguments.
func RequireNoArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return UsageError(cmd, "Unexpected args: %v", args)
	}
	return nil
}

var _ = fmt.Sprintf
