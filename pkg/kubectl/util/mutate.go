package util

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/klog/v2"
)

// DryRun is the --dry-run strategy of a mutating command.
type DryRun int

const (
	// DryRunNone persists the change.
	DryRunNone DryRun = iota
	// DryRunClient only prints what would be sent.
	DryRunClient
	// DryRunServer sends the request with dryRun=All.
	DryRunServer
)

// LastAppliedAnnotation holds the configuration client-side apply last
// applied, as upstream.
const LastAppliedAnnotation = corev1LastApplied

const corev1LastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// AddDryRunFlag adds upstream's --dry-run=none|client|server (a bare
// --dry-run is the deprecated spelling of client).
func AddDryRunFlag(cmd *cobra.Command) {
	cmd.Flags().String("dry-run", "none", `Must be "none", "server", or "client". If client strategy, only print the object that would be sent, without sending it. If server strategy, submit server-side request without persisting the resource.`)
	cmd.Flags().Lookup("dry-run").NoOptDefVal = "unchanged"
}

// GetDryRun reads --dry-run as upstream does.
func GetDryRun(cmd *cobra.Command) (DryRun, error) {
	v, _ := cmd.Flags().GetString("dry-run")
	b, err := strconv.ParseBool(v)
	if err != nil {
		switch v {
		case "unchanged":
			klog.Warning(`--dry-run is deprecated and can be replaced with --dry-run=client.`)
			return DryRunClient, nil
		case "client":
			return DryRunClient, nil
		case "server":
			return DryRunServer, nil
		case "none":
			return DryRunNone, nil
		}
		return DryRunNone, fmt.Errorf(`Invalid dry-run value (%v). Must be "none", "server", or "client".`, v)
	}
	if b {
		klog.Warningf(`--dry-run=%v is deprecated (boolean value) and can be replaced with --dry-run=%s.`, v, "client")
		return DryRunClient, nil
	}
	klog.Warningf(`--dry-run=%v is deprecated (boolean value) and can be replaced with --dry-run=%s.`, v, "none")
	return DryRunNone, nil
}

// AddValidateFlag adds --validate=strict|warn|ignore.
func AddValidateFlag(cmd *cobra.Command) {
	cmd.Flags().String("validate", "strict", `Must be one of: strict (or true), warn, ignore (or false). "true" or "strict" will use a schema to validate the input and fail the request if invalid. It will perform server side validation if ServerSideFieldValidation is enabled on the api-server, but will fall back to less reliable client-side validation if not. "warn" will warn about unknown or duplicate fields without blocking the request if server-side field validation is enabled on the API server, and behave as "ignore" otherwise. "false" or "ignore" will not perform any schema validation, silently dropping any unknown or duplicate fields.`)
	cmd.Flags().Lookup("validate").NoOptDefVal = "strict"
}

// GetValidation is the server's fieldValidation directive for --validate.
func GetValidation(cmd *cobra.Command) (string, error) {
	v, _ := cmd.Flags().GetString("validate")
	if v == "" {
		return metav1.FieldValidationStrict, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		switch v {
		case "strict":
			return metav1.FieldValidationStrict, nil
		case "warn":
			return metav1.FieldValidationWarn, nil
		case "ignore":
			return metav1.FieldValidationIgnore, nil
		}
		return metav1.FieldValidationStrict, fmt.Errorf(`invalid - validate option %q; must be one of: strict (or true), warn, ignore (or false)`, v)
	}
	if b {
		return metav1.FieldValidationStrict, nil
	}
	return metav1.FieldValidationIgnore, nil
}

// AddFieldManagerFlag adds --field-manager with the command's default.
func AddFieldManagerFlag(cmd *cobra.Command, p *string, def string) {
	cmd.Flags().StringVar(p, "field-manager", def, "Name of the manager used to track field ownership.")
}

// NewPrintFlags are the -o flags of a mutating command whose default
// output is "<resource>/<name> <operation>".
func NewPrintFlags(operation string) *genericclioptions.PrintFlags {
	return genericclioptions.NewPrintFlags(operation).WithTypeSetter(scheme.Scheme)
}

// Printer completes p for the dry-run strategy ("created (dry run)") and
// returns its printer.
func Printer(p *genericclioptions.PrintFlags, dryRun DryRun) (printers.ResourcePrinter, error) {
	switch dryRun {
	case DryRunClient:
		p.Complete("%s (dry run)")
	case DryRunServer:
		p.Complete("%s (server dry run)")
	}
	return p.ToPrinter()
}

// PrinterWithOperation is Printer with the operation replaced.
func PrinterWithOperation(p *genericclioptions.PrintFlags, dryRun DryRun, operation string) (printers.ResourcePrinter, error) {
	cp := *p
	cp.NamePrintFlags = genericclioptions.NewNamePrintFlags(operation)
	return Printer(&cp, dryRun)
}

// AddSourceToErr names the file an error came from, as upstream:
// `error when creating "x.yaml": ...`.
func AddSourceToErr(verb, source string, err error) error {
	if source == "" {
		return err
	}
	if se, ok := err.(apierrors.APIStatus); ok {
		status := se.Status()
		status.Message = fmt.Sprintf("error when %s %q: %v", verb, source, status.Message)
		return &apierrors.StatusError{ErrStatus: status}
	}
	return fmt.Errorf("error when %s %q: %v", verb, source, err)
}

// NewHelper is a resource helper for info with the dry-run and field
// manager options set.
func NewHelper(info *resource.Info, dryRun DryRun, fieldManager string) *resource.Helper {
	return resource.NewHelper(info.Client, info.Mapping).
		DryRun(dryRun == DryRunServer).
		WithFieldManager(fieldManager)
}

// SetLastApplied stores obj's own configuration (without the annotation
// itself) in its last-applied annotation, and returns obj encoded with it
// (upstream's "modified" configuration).
func SetLastApplied(obj runtime.Object) ([]byte, error) {
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	// As upstream, the configuration carries "annotations": {} when the
	// object had none.
	annots := accessor.GetAnnotations()
	if annots == nil {
		annots = map[string]string{}
	}
	delete(annots, LastAppliedAnnotation)
	accessor.SetAnnotations(annots)
	cfg, err := runtime.Encode(unstructured.UnstructuredJSONScheme, obj)
	if err != nil {
		return nil, err
	}
	annots[LastAppliedAnnotation] = string(cfg)
	accessor.SetAnnotations(annots)
	return runtime.Encode(unstructured.UnstructuredJSONScheme, obj)
}

// GetLastApplied is obj's last-applied annotation, or nil.
func GetLastApplied(obj runtime.Object) []byte {
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return nil
	}
	v, ok := accessor.GetAnnotations()[LastAppliedAnnotation]
	if !ok {
		return nil
	}
	return []byte(v)
}

// TypedPatchMeta is the strategic-merge metadata for gvk when it is a
// built-in type; ok is false for CRDs and unknown kinds (which take JSON
// merge patches).
func TypedPatchMeta(gvk schema.GroupVersionKind) (strategicpatch.LookupPatchMeta, runtime.Object, bool) {
	obj, err := scheme.Scheme.New(gvk)
	if err != nil {
		return nil, nil, false
	}
	pm, err := strategicpatch.NewPatchMetaFromStruct(obj)
	if err != nil {
		return nil, nil, false
	}
	return pm, obj, true
}

// KindString is "deployment.apps" for a mapping's kind, as delete and
// friends print it.
func KindString(gvk schema.GroupVersionKind) string {
	k := fmt.Sprintf("%s", lower(gvk.Kind))
	if gvk.Group != "" {
		k += "." + gvk.Group
	}
	return k
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// SetLastAppliedTyped stores a typed object's configuration (its JSON,
// as a typed encoder writes it) in its last-applied annotation (create
// --save-config).
func SetLastAppliedTyped(obj runtime.Object) ([]byte, error) {
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	annots := accessor.GetAnnotations()
	delete(annots, LastAppliedAnnotation)
	accessor.SetAnnotations(annots)
	cfg, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	cfg = append(cfg, '\n')
	if annots == nil {
		annots = map[string]string{}
	}
	annots[LastAppliedAnnotation] = string(cfg)
	accessor.SetAnnotations(annots)
	return cfg, nil
}
