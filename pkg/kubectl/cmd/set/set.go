// Package set is `kubectl set image|env|resources`: change the pod
// template of workloads (pods, replication controllers, deployments,
// daemon sets, replica sets, stateful sets, jobs, cron jobs) with a
// strategic merge patch computed from the object before and after the
// change, as upstream.
package set

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

// New returns the set command with its subcommands.
func New(f *util.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "set SUBCOMMAND",
		DisableFlagsInUseLine: true,
		Short:                 "Set specific features on objects",
		Long: `Configure application resources.

 These commands help you make changes to existing application resources.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(f.ErrOut)
			cmd.Help()
			return util.ErrExit
		},
	}
	cmd.AddCommand(newImage(f), newEnv(f), newResources(f))
	return cmd
}

// target is what the set subcommands share: which objects to change and
// how the result is sent and printed.
type target struct {
	f            *util.Factory
	print        *genericclioptions.PrintFlags
	filenames    resource.FilenameOptions
	selector     string
	all          bool
	local        bool
	fieldManager string
}

func (t *target) addFlags(cmd *cobra.Command, allUsage, selectorUsage, localUsage string) {
	t.print.AddFlags(cmd)
	flags := cmd.Flags()
	flags.StringSliceVarP(&t.filenames.Filenames, "filename", "f", nil, "Filename, directory, or URL to files identifying the resource to get from a server.")
	flags.StringVarP(&t.filenames.Kustomize, "kustomize", "k", "", "Process the kustomization directory. This flag can't be used together with -f or -R.")
	flags.BoolVarP(&t.filenames.Recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively. Useful when you want to manage related manifests organized within the same directory.")
	flags.BoolVar(&t.all, "all", false, allUsage)
	flags.StringVarP(&t.selector, "selector", "l", "", selectorUsage)
	flags.BoolVar(&t.local, "local", false, localUsage)
	util.AddDryRunFlag(cmd)
	util.AddFieldManagerFlag(cmd, &t.fieldManager, "kubectl-set")
}

// infos resolves the objects to change, typed (as upstream's set builds
// them with its scheme), so the patch is computed on typed JSON.
func (t *target) infos(resources []string) ([]*resource.Info, error) {
	ns, enforce, err := t.f.Namespace()
	if err != nil {
		return nil, err
	}
	b := t.f.NewBuilder().
		WithScheme(scheme.Scheme, scheme.Scheme.PrioritizedVersionsAllGroups()...).
		LocalParam(t.local).
		ContinueOnError().
		NamespaceParam(ns).DefaultNamespace().
		FilenameParam(enforce, &t.filenames).
		Flatten()
	if t.local {
		if len(resources) > 0 {
			return nil, resource.LocalResourceError
		}
	} else {
		b.LabelSelectorParam(t.selector).
			ResourceTypeOrNameArgs(t.all, resources...).
			Latest()
	}
	return b.Do().Infos()
}

// encoder writes typed objects as JSON in their own versions.
func encoder() runtime.Encoder {
	return unstructured.NewJSONFallbackEncoder(scheme.Codecs.LegacyCodec(scheme.Scheme.PrioritizedVersionsAllGroups()...))
}

// errNoPodTemplate is upstream's error for an object without a pod spec.
func errNoPodTemplate(obj runtime.Object) error {
	return fmt.Errorf("the object is not a pod or does not have a pod template: %T", obj)
}

// updatePodSpec calls fn on obj's pod spec (a pod's own, or a
// workload's template).
func updatePodSpec(obj runtime.Object, fn func(*corev1.PodSpec) error) error {
	switch o := obj.(type) {
	case *corev1.Pod:
		return fn(&o.Spec)
	case *corev1.ReplicationController:
		if o.Spec.Template == nil {
			o.Spec.Template = &corev1.PodTemplateSpec{}
		}
		return fn(&o.Spec.Template.Spec)
	case *appsv1.Deployment:
		return fn(&o.Spec.Template.Spec)
	case *appsv1.DaemonSet:
		return fn(&o.Spec.Template.Spec)
	case *appsv1.ReplicaSet:
		return fn(&o.Spec.Template.Spec)
	case *appsv1.StatefulSet:
		return fn(&o.Spec.Template.Spec)
	case *batchv1.Job:
		return fn(&o.Spec.Template.Spec)
	case *batchv1.CronJob:
		return fn(&o.Spec.JobTemplate.Spec.Template.Spec)
	}
	return errNoPodTemplate(obj)
}

// change is one object's mutation: its patch, or why it has none.
type change struct {
	info  *resource.Info
	err   error
	patch []byte
}

// calculate runs mutate on each object and computes the strategic merge
// patch from before to after. mutate returns false when it changed
// nothing worth sending (the object is then left out).
func calculate(infos []*resource.Info, mutate func(obj runtime.Object) (bool, error)) []change {
	enc := encoder()
	var out []change
	for _, info := range infos {
		c := change{info: info}
		before, err := runtime.Encode(enc, info.Object)
		if err != nil {
			c.err = err
			out = append(out, c)
			continue
		}
		changed, err := mutate(info.Object)
		if err != nil {
			c.err = err
			out = append(out, c)
			continue
		}
		if !changed {
			continue
		}
		after, err := runtime.Encode(enc, info.Object)
		if err != nil {
			c.err = err
			out = append(out, c)
			continue
		}
		c.patch, c.err = strategicpatch.CreateTwoWayMergePatch(before, after, info.Object)
		out = append(out, c)
	}
	return out
}

// apply sends each change (or prints it for --local and client dry
// runs) and prints the result; failures are collected with failPrefix,
// as upstream words them per subcommand.
func (t *target) apply(cmd *cobra.Command, changes []change, failPrefix string, errs []error) error {
	dryRun, err := util.GetDryRun(cmd)
	if err != nil {
		return err
	}
	printer, err := util.Printer(t.print, dryRun)
	if err != nil {
		return err
	}
	for _, c := range changes {
		if c.err != nil {
			errs = append(errs, fmt.Errorf("error: %s %v\n", c.info.ObjectName(), c.err))
			continue
		}
		if len(c.patch) == 0 || string(c.patch) == "{}" {
			continue
		}
		if t.local || dryRun == util.DryRunClient {
			if err := printer.PrintObj(c.info.Object, t.f.Out); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		actual, err := util.NewHelper(c.info, dryRun, t.fieldManager).
			Patch(c.info.Namespace, c.info.Name, types.StrategicMergePatchType, c.patch, nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s%v", failPrefix, err))
			continue
		}
		if err := printer.PrintObj(actual, t.f.Out); err != nil {
			errs = append(errs, err)
		}
	}
	return utilerrors.NewAggregate(errs)
}

// checkLocal is upstream's refusal of --local with a server dry run.
func (t *target) checkLocal(cmd *cobra.Command) error {
	dryRun, err := util.GetDryRun(cmd)
	if err != nil {
		return err
	}
	if t.local && dryRun == util.DryRunServer {
		return fmt.Errorf("cannot specify --local and --dry-run=server - did you mean --dry-run=client?")
	}
	return nil
}

// selectContainers are the containers whose names match spec, a name
// with '*' wildcards.
func selectContainers(containers []corev1.Container, spec string) []*corev1.Container {
	var out []*corev1.Container
	for i := range containers {
		if matchWildcard(containers[i].Name, spec) {
			out = append(out, &containers[i])
		}
	}
	return out
}

// matchWildcard matches s against spec, where '*' matches any run of
// characters.
func matchWildcard(s, spec string) bool {
	if spec == "*" {
		return true
	}
	parts := strings.Split(spec, "*")
	if len(parts) == 1 {
		return s == spec
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

var _ printers.ResourcePrinter = printers.ResourcePrinterFunc(nil)
