// Package edit is `kubectl edit`: open objects in $KUBE_EDITOR, $EDITOR
// or vi, and patch what was changed. An edit the server rejects as
// invalid re-opens the editor with the reasons in the file's header; a
// file saved unchanged cancels the edit.
package edit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/mergepatch"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/kubernetes/scheme"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

const header = `# Please edit the object below. Lines beginning with a '#' will be ignored,
# and an empty file will abort the edit. If an error occurs while saving this file will be
# reopened with the relevant failures.
#
`

type options struct {
	f            *util.Factory
	print        *genericclioptions.PrintFlags
	filenames    resource.FilenameOptions
	outputPatch  bool
	fieldManager string
	subresource  string
	showManaged  bool
}

// New returns the edit command.
func New(f *util.Factory) *cobra.Command {
	o := &options{f: f, print: util.NewPrintFlags("edited")}
	cmd := &cobra.Command{
		Use:                   "edit (RESOURCE/NAME | -f FILENAME)",
		DisableFlagsInUseLine: true,
		Short:                 "Edit a resource on the server",
		Long: `Edit a resource from the default editor.

 The edit command allows you to directly edit any API resource you can retrieve via the command-line tools. It will open the editor defined by your KUBE_EDITOR, or EDITOR environment variables, or fall back to 'vi' for Linux or 'notepad' for Windows. When attempting to open the editor, it will first attempt to use the shell that has been defined in the 'SHELL' environment variable. If this is not defined, the default shell will be used, which is '/bin/bash' for Linux or 'cmd' for Windows.

 You can edit multiple objects, although changes are applied one at a time. The command accepts file names as well as command-line arguments, although the files you point to must be previously saved versions of resources.

 Editing is done with the API version used to fetch the resource. To edit using a specific API version, fully-qualify the resource, version, and group.

 The default format is YAML. To edit in JSON, specify "-o json".

 The flag --windows-line-endings can be used to force Windows line endings, otherwise the default for your operating system will be used.

 In the event an error occurs while updating, a temporary file will be created on disk that contains your unapplied changes. The most common error when updating a resource is another editor changing the resource on the server. When this occurs, you will have to apply your changes to the newer version of the resource, or update your temporary saved copy to include the latest resource version.`,
		Example: `  # Edit the service named 'registry'
  kubectl edit svc/registry`,
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args) },
	}
	o.print.AddFlags(cmd)
	flags := cmd.Flags()
	flags.StringSliceVarP(&o.filenames.Filenames, "filename", "f", nil, "Filename, directory, or URL to files to use to edit the resource")
	flags.StringVarP(&o.filenames.Kustomize, "kustomize", "k", "", "Process the kustomization directory. This flag can't be used together with -f or -R.")
	flags.BoolVarP(&o.filenames.Recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively. Useful when you want to manage related manifests organized within the same directory.")
	util.AddValidateFlag(cmd)
	flags.BoolVar(&o.outputPatch, "output-patch", false, "Output the patch if the resource is edited.")
	flags.Bool("windows-line-endings", false, "Defaults to the line ending native to your platform.")
	flags.Bool("save-config", false, "If true, the configuration of current object will be saved in its annotation. Otherwise, the annotation will be unchanged. This flag is useful when you want to perform kubectl apply on this object in the future.")
	util.AddFieldManagerFlag(cmd, &o.fieldManager, "kubectl-edit")
	flags.StringVar(&o.subresource, "subresource", "", "If specified, edit will operate on the subresource of the requested object.")
	return cmd
}

// edit collects what one pass through the editor led to.
type results struct {
	reasons   []reason
	edit      int
	notfound  int
	retryable int
	file      string
}

type reason struct {
	head  string
	other []string
}

func (r *results) header() string {
	var b strings.Builder
	b.WriteString(header)
	hash := func(s string) string { return strings.ReplaceAll(s, "\n", "\n# ") }
	for _, rs := range r.reasons {
		if len(rs.other) > 0 {
			fmt.Fprintf(&b, "# %s:\n", hash(rs.head))
		} else {
			fmt.Fprintf(&b, "# %s\n", hash(rs.head))
		}
		for _, o := range rs.other {
			fmt.Fprintf(&b, "# * %s\n", hash(o))
		}
		b.WriteString("#\n")
	}
	return b.String()
}

func (o *options) run(cmd *cobra.Command, args []string) error {
	format := strings.ToLower(*o.print.OutputFormat)
	if format == "" {
		format = "yaml"
	}
	if format != "yaml" && format != "json" {
		return fmt.Errorf("the flag 'output' must be one of yaml|json")
	}
	o.showManaged = o.print.JSONYamlPrintFlags.ShowManagedFields
	if o.subresource != "" && o.subresource != "status" {
		return fmt.Errorf(`invalid subresource value: %q. Must be one of [status]`, o.subresource)
	}
	validation, err := util.GetValidation(cmd)
	if err != nil {
		return err
	}
	ns, enforce, err := o.f.Namespace()
	if err != nil {
		return err
	}
	r := o.f.NewBuilder().
		Unstructured().
		ResourceTypeOrNameArgs(true, args...).Latest().
		NamespaceParam(ns).DefaultNamespace().
		FilenameParam(enforce, &o.filenames).
		Subresource(o.subresource).
		ContinueOnError().
		Flatten().
		Do()
	if err := r.Err(); err != nil {
		return err
	}
	infos, err := r.Infos()
	if err != nil {
		return err
	}
	if len(infos) == 0 {
		return errors.New("edit cancelled, no objects found")
	}
	var objPrinter printers.ResourcePrinter = &printers.YAMLPrinter{}
	if format == "json" {
		objPrinter = &printers.JSONPrinter{}
	}
	return o.editLoop(infos, ns, format, objPrinter, validation)
}

func (o *options) editLoop(infos []*resource.Info, ns, ext string, objPrinter printers.ResourcePrinter, validation string) error {
	var (
		res           results
		original      []byte
		edited        []byte
		containsError bool
	)
	for {
		var originalObj runtime.Object
		if len(infos) == 1 {
			originalObj = infos[0].Object
		} else {
			l := &unstructured.UnstructuredList{Object: map[string]any{"kind": "List", "apiVersion": "v1", "metadata": map[string]any{}}}
			for _, info := range infos {
				l.Items = append(l.Items, *info.Object.(*unstructured.Unstructured))
			}
			originalObj = l
		}
		buf := &bytes.Buffer{}
		// Only YAML carries the header (JSON has no comments).
		if ext == "yaml" {
			buf.WriteString(res.header())
		}
		if !containsError {
			shown := originalObj.DeepCopyObject()
			if !o.showManaged {
				stripManagedFields(shown)
			}
			if err := objPrinter.PrintObj(shown, buf); err != nil {
				return preserved(err, res.file, o.f.ErrOut)
			}
			original = buf.Bytes()
		} else {
			// Keep what the user wrote, under the new header.
			buf.Write(manualStrip(edited))
		}
		previous := edited
		var file string
		var err error
		edited, file, err = launchTempFile(fmt.Sprintf("%s-edit-", filepath.Base(os.Args[0])), "."+ext, buf)
		if err != nil {
			return preserved(err, res.file, o.f.ErrOut)
		}
		if containsError && bytes.Equal(stripComments(previous), stripComments(edited)) {
			return preserved(fmt.Errorf("%s", "Edit cancelled, no valid changes were saved."), file, o.f.ErrOut)
		}
		if res.file != "" {
			os.Remove(res.file)
		}
		// A file that does not parse (or holds no object) is reported as
		// upstream's validator reports it: the first object is invalid.
		if verr := checkYAML(edited); verr != nil {
			res = results{file: file}
			containsError = true
			invalid := apierrors.NewInvalid(schema.GroupKind{}, "", field.ErrorList{
				field.Invalid(nil, "The edited file failed validation", verr.Error())})
			fmt.Fprintln(o.f.ErrOut, res.addError(invalid, infos[0]))
			continue
		}
		if bytes.Equal(stripComments(original), stripComments(edited)) {
			os.Remove(file)
			fmt.Fprintln(o.f.ErrOut, "Edit cancelled, no changes made.")
			return nil
		}
		if len(bytes.TrimSpace(manualStrip(edited))) == 0 {
			os.Remove(file)
			fmt.Fprintln(o.f.ErrOut, "Edit cancelled, saved file was empty.")
			return nil
		}
		res = results{file: file}
		updated, err := o.f.NewBuilder().
			Unstructured().
			Stream(bytes.NewReader(edited), "edited-file").
			ContinueOnError().
			Flatten().
			Do().Infos()
		if err != nil {
			containsError = true
			res.reasons = append(res.reasons, reason{head: fmt.Sprintf("The edited file had a syntax error: %v", err)})
			continue
		}
		containsError = false
		visitor := resource.InfoListVisitor(updated)
		if err := visitor.Visit(resource.RequireNamespace(ns)); err != nil {
			return preserved(err, file, o.f.ErrOut)
		}
		if err := o.patchAll(infos, updated, &res, validation); err != nil {
			return preserved(err, res.file, o.f.ErrOut)
		}
		if res.retryable > 0 {
			fmt.Fprintf(o.f.ErrOut, "You can run `%s replace -f %s` to try this update again.\n", filepath.Base(os.Args[0]), file)
			return util.ErrExit
		}
		if res.notfound > 0 {
			fmt.Fprintf(o.f.ErrOut, "The edits you made on deleted resources have been saved to %q\n", file)
			return util.ErrExit
		}
		if res.edit == 0 {
			os.Remove(file)
			return nil
		}
		if len(res.reasons) > 0 {
			containsError = true
		}
	}
}

func stripManagedFields(obj runtime.Object) {
	if l, ok := obj.(*unstructured.UnstructuredList); ok {
		for i := range l.Items {
			l.Items[i].SetManagedFields(nil)
		}
		return
	}
	if a, err := meta.Accessor(obj); err == nil {
		a.SetManagedFields(nil)
	}
}

// patchAll sends a patch for each edited object that changed.
func (o *options) patchAll(originals, updated []*resource.Info, res *results, validation string) error {
	for _, info := range updated {
		uid, err := meta.NewAccessor().UID(info.Object)
		if err != nil {
			return err
		}
		var orig *resource.Info
		for _, i := range originals {
			if u, _ := meta.NewAccessor().UID(i.Object); u == uid {
				orig = i
				break
			}
		}
		if orig == nil {
			return fmt.Errorf("no original object found for %#v", info.Object)
		}
		origObj := orig.Object.DeepCopyObject()
		editObj := info.Object.DeepCopyObject()
		if !o.showManaged {
			stripManagedFields(origObj)
			stripManagedFields(editObj)
		}
		originalJS, err := json.Marshal(origObj)
		if err != nil {
			return err
		}
		editedJS, err := json.Marshal(editObj)
		if err != nil {
			return err
		}
		if reflect.DeepEqual(originalJS, editedJS) {
			if err := resultPrinter("skipped").PrintObj(info.Object, o.f.Out); err != nil {
				return err
			}
			continue
		}
		preconditions := []mergepatch.PreconditionFunc{
			mergepatch.RequireKeyUnchanged("apiVersion"),
			mergepatch.RequireKeyUnchanged("kind"),
			mergepatch.RequireMetadataKeyUnchanged("name"),
			mergepatch.RequireKeyUnchanged("managedFields"),
		}
		var patch []byte
		var patchType types.PatchType
		versioned, err := scheme.Scheme.New(info.Mapping.GroupVersionKind)
		switch {
		case runtime.IsNotRegisteredError(err):
			patchType = types.MergePatchType
			if patch, err = jsonpatch.CreateMergePatch(originalJS, editedJS); err != nil {
				return err
			}
			var m map[string]any
			if err := json.Unmarshal(patch, &m); err != nil {
				return err
			}
			for _, pre := range preconditions {
				if !pre(m) {
					return fmt.Errorf("%s", "At least one of apiVersion, kind and name was changed")
				}
			}
		case err != nil:
			return err
		default:
			patchType = types.StrategicMergePatchType
			patch, err = strategicpatch.CreateTwoWayMergePatch(originalJS, editedJS, versioned, preconditions...)
			if err != nil {
				if mergepatch.IsPreconditionFailed(err) {
					return fmt.Errorf("%s", "At least one of apiVersion, kind and name was changed")
				}
				return err
			}
		}
		if o.outputPatch {
			fmt.Fprintf(o.f.Out, "Patch: %s\n", patch)
		}
		patched, err := resource.NewHelper(info.Client, info.Mapping).
			WithFieldManager(o.fieldManager).
			WithFieldValidation(validation).
			WithSubresource(o.subresource).
			Patch(info.Namespace, info.Name, patchType, patch, nil)
		if err != nil {
			fmt.Fprintln(o.f.ErrOut, res.addError(err, info))
			continue
		}
		info.Refresh(patched, true)
		if err := resultPrinter("edited").PrintObj(info.Object, o.f.Out); err != nil {
			return err
		}
	}
	return nil
}

// resultPrinter prints "<kind>/<name> <operation>": -o yaml|json only
// chooses the edit file's format.
func resultPrinter(operation string) printers.ResourcePrinter {
	p, _ := genericclioptions.NewNamePrintFlags(operation).ToPrinter("")
	return printers.NewTypeSetter(scheme.Scheme).ToPrinter(p)
}

func (r *results) addError(err error, info *resource.Info) string {
	res := info.Mapping.Resource.Resource
	if g := info.Mapping.Resource.Group; g != "" {
		res += "." + g
	}
	switch {
	case apierrors.IsInvalid(err):
		r.edit++
		rs := reason{head: fmt.Sprintf("%s %q was not valid", res, info.Name)}
		if st, ok := err.(apierrors.APIStatus); ok {
			if d := st.Status().Details; d != nil {
				for _, c := range d.Causes {
					rs.other = append(rs.other, fmt.Sprintf("%s: %s", c.Field, c.Message))
				}
			}
		}
		r.reasons = append(r.reasons, rs)
		return fmt.Sprintf("error: %s %q is invalid", res, info.Name)
	case apierrors.IsNotFound(err):
		r.notfound++
		return fmt.Sprintf("error: %s %q could not be found on the server", res, info.Name)
	default:
		r.retryable++
		return fmt.Sprintf("error: %s %q could not be patched: %v", res, info.Name, err)
	}
}

// preserved tells where the user's changes were kept, then returns err.
func preserved(err error, path string, out io.Writer) error {
	if path != "" {
		if _, serr := os.Stat(path); !os.IsNotExist(serr) {
			fmt.Fprintf(out, "A copy of your changes has been stored to %q\n", path)
		}
	}
	return err
}

// checkYAML parses the edited documents; each must name its kind.
func checkYAML(edited []byte) error {
	d := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(manualStrip(edited)), 4096)
	for n := 0; ; n++ {
		var v map[string]any
		if err := d.Decode(&v); err != nil {
			if errors.Is(err, io.EOF) {
				if n == 0 {
					return errors.New("Object 'Kind' is missing in 'null'")
				}
				return nil
			}
			return errors.New(strings.TrimPrefix(err.Error(), "error converting YAML to JSON: "))
		}
		if v == nil {
			if n == 0 {
				return errors.New("Object 'Kind' is missing in 'null'")
			}
			continue
		}
		if k, _ := v["kind"].(string); k == "" {
			data, _ := json.Marshal(v)
			return fmt.Errorf("Object 'Kind' is missing in '%s'", data)
		}
	}
}

// manualStrip drops comment lines ("#", not "#!").
func manualStrip(file []byte) []byte {
	var out []byte
	lines := bytes.Split(file, []byte("\n"))
	for i, line := range lines {
		t := bytes.TrimSpace(line)
		if bytes.HasPrefix(t, []byte("#")) && !bytes.HasPrefix(t, []byte("#!")) {
			continue
		}
		out = append(out, line...)
		if i < len(lines)-1 {
			out = append(out, '\n')
		}
	}
	return out
}

// stripComments is the document as JSON (comments gone), or without its
// comment lines when it does not parse.
func stripComments(file []byte) []byte {
	out, err := yaml.ToJSON(file)
	if err != nil {
		return manualStrip(file)
	}
	return out
}

// launchTempFile writes buf to a new temporary file, opens the editor on
// it and returns what was saved.
func launchTempFile(prefix, suffix string, buf io.Reader) ([]byte, string, error) {
	f, err := os.CreateTemp("", prefix+"*"+suffix)
	if err != nil {
		return nil, "", err
	}
	path := f.Name()
	if _, err := io.Copy(f, buf); err != nil {
		f.Close()
		os.Remove(path)
		return nil, path, err
	}
	f.Close()
	if err := launchEditor(path); err != nil {
		return nil, path, err
	}
	data, err := os.ReadFile(path)
	return data, path, err
}

// editorArgs is the editor command from $KUBE_EDITOR, $EDITOR or vi; one
// with quotes or escapes runs through $SHELL (or /bin/bash) -c.
func editorArgs() ([]string, bool) {
	var editor string
	for _, env := range []string{"KUBE_EDITOR", "EDITOR"} {
		if editor = os.Getenv(env); editor != "" {
			break
		}
	}
	if editor == "" {
		editor = "vi"
	}
	if !strings.Contains(editor, " ") {
		return []string{editor}, false
	}
	if !strings.ContainsAny(editor, "\"'\\") {
		return strings.Split(editor, " "), false
	}
	shell := os.Getenv("SHELL")
	if shell == "" {
		shell = "/bin/bash"
	}
	return []string{shell, "-c", editor}, true
}

func launchEditor(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	editor, viaShell := editorArgs()
	args := append([]string{}, editor...)
	if viaShell {
		args[len(args)-1] = fmt.Sprintf("%s %q", args[len(args)-1], abs)
	} else {
		args = append(args, abs)
	}
	c := exec.Command(args[0], args[1:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := c.Run(); err != nil {
		var execErr *exec.Error
		if errors.As(err, &execErr) && errors.Is(execErr.Err, exec.ErrNotFound) {
			return fmt.Errorf("unable to launch the editor %q", strings.Join(editor, " "))
		}
		return fmt.Errorf("there was a problem with the editor %q", strings.Join(editor, " "))
	}
	return nil
}
