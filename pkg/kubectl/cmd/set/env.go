package set

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

type envOptions struct {
	*target
	envParams  []string
	containers string
	from       string
	prefix     string
	keys       []string
	list       bool
	resolve    bool
	overwrite  bool
}

func newEnv(f *util.Factory) *cobra.Command {
	o := &envOptions{target: &target{f: f, print: util.NewPrintFlags("env updated")}}
	cmd := &cobra.Command{
		Use:                   "env RESOURCE/NAME KEY_1=VAL_1 ... KEY_N=VAL_N",
		DisableFlagsInUseLine: true,
		Short:                 "Update environment variables on a pod template",
		Long: `Update environment variables on a pod template.

 List environment variable definitions in one or more pods, pod templates. Add, update, or remove container environment variable definitions in one or more pod templates (within replication controllers or deployment configurations). View or modify the environment variable definitions on all containers in the specified pods or pod templates, or just those that match a wildcard.

 If "--env -" is passed, environment variables can be read from STDIN using the standard env syntax.

 Possible resources include (case insensitive):

  pod (po), replicationcontroller (rc), deployment (deploy), daemonset (ds), statefulset (sts), cronjob (cj), replicaset (rs)`,
		Example: `  # Update deployment 'registry' with a new environment variable
  kubectl set env deployment/registry STORAGE_DIR=/local

  # List the environment variables defined on a deployments 'sample-build'
  kubectl set env deployment/sample-build --list`,
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args) },
	}
	o.target.addFlags(cmd,
		"If true, select all resources in the namespace of the specified resource types",
		"Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints.",
		"If true, set env will NOT contact api-server but run locally.")
	flags := cmd.Flags()
	flags.StringVarP(&o.containers, "containers", "c", "*", "The names of containers in the selected pod templates to change - may use wildcards")
	flags.StringVar(&o.from, "from", "", "The name of a resource from which to inject environment variables")
	flags.StringVar(&o.prefix, "prefix", "", "Prefix to append to variable names")
	flags.StringArrayVarP(&o.envParams, "env", "e", nil, "Specify a key-value pair for an environment variable to set into each container.")
	flags.StringSliceVar(&o.keys, "keys", nil, "Comma-separated list of keys to import from specified resource")
	flags.BoolVar(&o.list, "list", false, "If true, display the environment and any changes in the standard format. this flag will removed when we have kubectl view env.")
	flags.BoolVar(&o.resolve, "resolve", false, "If true, show secret or configmap references when listing variables")
	flags.BoolVar(&o.overwrite, "overwrite", true, "If true, allow environment to be overwritten, otherwise reject updates that overwrite existing environment.")
	return cmd
}

var envArgRE = regexp.MustCompile(`(?ms)^(.+)\=(.*)$`)

func (o *envOptions) run(cmd *cobra.Command, args []string) error {
	if o.all && o.selector != "" {
		return fmt.Errorf("cannot set --all and --selector at the same time")
	}
	// Resources first, then the environment (KEY=VAL or KEY-).
	var resources, envArgs []string
	for _, a := range args {
		isEnv := envArgRE.MatchString(a) || strings.HasSuffix(a, "-")
		switch {
		case isEnv:
			envArgs = append(envArgs, a)
		case len(envArgs) > 0:
			return fmt.Errorf("all resources must be specified before environment changes: %s", strings.Join(args, " "))
		default:
			resources = append(resources, a)
		}
	}
	if _, err := util.GetDryRun(cmd); err != nil {
		return err
	}
	if err := o.checkLocal(cmd); err != nil {
		return err
	}
	if len(o.filenames.Filenames) == 0 && len(resources) < 1 {
		return fmt.Errorf("one or more resources must be specified as <resource> <name> or <resource>/<name>")
	}
	if o.list && *o.print.OutputFormat != "" {
		return fmt.Errorf("--list and --output may not be specified together")
	}
	if len(o.keys) > 0 && o.from == "" {
		return fmt.Errorf("when specifying --keys, a configmap or secret must be provided with --from")
	}
	env, remove, err := parseEnv(append(append([]string{}, o.envParams...), envArgs...), o.f.In)
	if err != nil {
		return err
	}
	if o.from != "" {
		fromEnv, err := o.fromEnv()
		if err != nil {
			return err
		}
		env = append(env, fromEnv...)
	}
	if o.prefix != "" {
		for i := range env {
			env[i].Name = o.prefix + env[i].Name
		}
	}
	infos, err := o.infos(resources)
	if err != nil {
		return err
	}
	changes := calculate(infos, func(obj runtime.Object) (bool, error) {
		err := updatePodSpec(obj, func(spec *corev1.PodSpec) error {
			return o.mutate(obj, spec, env, remove)
		})
		return true, err
	})
	if o.list {
		return nil
	}
	var errs []error
	// Upstream checks for an empty change only after a successful patch.
	if len(env) == 0 && len(envArgs) == 0 {
		for _, c := range changes {
			if c.err == nil && len(c.patch) > 0 && string(c.patch) != "{}" {
				return fmt.Errorf("at least one environment variable must be provided")
			}
		}
	}
	return o.apply(cmd, changes, "failed to patch env update to pod template: ", errs)
}

// mutate applies the environment change to spec's selected containers,
// or lists their environment with --list.
func (o *envOptions) mutate(obj runtime.Object, spec *corev1.PodSpec, env []corev1.EnvVar, remove []string) error {
	// Upstream changes init containers too, after the containers.
	containers := append(selectContainers(spec.Containers, o.containers), selectContainers(spec.InitContainers, o.containers)...)
	name, err := meta.NewAccessor().Name(obj)
	if err != nil {
		return err
	}
	kind := obj.GetObjectKind().GroupVersionKind().Kind
	if kind == "" {
		if gvks, _, err := scheme.Scheme.ObjectKinds(obj); err == nil && len(gvks) > 0 {
			kind = gvks[0].Kind
		}
	}
	if len(containers) == 0 {
		fmt.Fprintf(o.f.ErrOut, "Warning: %s/%s does not have any containers matching %q\n", kind, name, o.containers)
		return nil
	}
	for _, c := range containers {
		if !o.overwrite {
			for _, e := range env {
				if cur, ok := findEnv(c.Env, e.Name); ok && cur.Value != e.Value {
					return fmt.Errorf("'%s' already has a value (%s), and --overwrite is false", cur.Name, cur.Value)
				}
			}
		}
		c.Env = updateEnv(c.Env, env, remove)
		if o.list {
			fmt.Fprintf(o.f.Out, "# %s %s, container %s\n", kind, name, c.Name)
			for _, e := range c.Env {
				if e.ValueFrom == nil {
					fmt.Fprintf(o.f.Out, "%s=%s\n", e.Name, e.Value)
					continue
				}
				fmt.Fprintf(o.f.Out, "# %s from %s\n", e.Name, envRefString(e.ValueFrom))
			}
		}
	}
	return nil
}

// fromEnv is the environment --from (a configmap or secret) injects: one
// variable per (--keys selected) key, named from the key.
func (o *envOptions) fromEnv() ([]corev1.EnvVar, error) {
	ns, enforce, err := o.f.Namespace()
	if err != nil {
		return nil, err
	}
	b := o.f.NewBuilder().
		WithScheme(scheme.Scheme, scheme.Scheme.PrioritizedVersionsAllGroups()...).
		LocalParam(o.local).
		ContinueOnError().
		NamespaceParam(ns).DefaultNamespace().
		FilenameParam(enforce, &o.filenames).
		Flatten()
	if !o.local {
		b = b.LabelSelectorParam(o.selector).ResourceTypeOrNameArgs(o.all, o.from).Latest()
	}
	infos, err := b.Do().Infos()
	if err != nil {
		return nil, err
	}
	wanted := func(key string) bool {
		if len(o.keys) == 0 {
			return true
		}
		for _, k := range o.keys {
			if k == key {
				return true
			}
		}
		return false
	}
	var env []corev1.EnvVar
	add := func(key string, src corev1.EnvVarSource) {
		name := keyToEnvName(key)
		if name != key {
			fmt.Fprintf(o.f.ErrOut, "Warning: key %s transferred to %s\n", key, name)
		}
		env = append(env, corev1.EnvVar{Name: name, ValueFrom: &src})
	}
	for _, info := range infos {
		switch from := info.Object.(type) {
		case *corev1.Secret:
			for _, key := range sortedKeys(from.Data) {
				if wanted(key) {
					add(key, corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: from.Name}, Key: key}})
				}
			}
		case *corev1.ConfigMap:
			for _, key := range sortedKeys(from.Data) {
				if wanted(key) {
					add(key, corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: from.Name}, Key: key}})
				}
			}
		default:
			return nil, fmt.Errorf("unsupported resource specified in --from")
		}
	}
	return env, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var invalidEnvChars = regexp.MustCompile("[^a-zA-Z0-9_]")

func keyToEnvName(key string) string {
	return strings.ToUpper(invalidEnvChars.ReplaceAllString(key, "_"))
}

// parseEnv reads KEY=VALUE, KEY- and "-" (KEY=VALUE lines from in).
func parseEnv(spec []string, in io.Reader) ([]corev1.EnvVar, []string, error) {
	env := []corev1.EnvVar{}
	set := map[string]bool{}
	var remove []string
	for _, s := range spec {
		switch {
		case s == "-":
			if in == nil {
				return nil, nil, fmt.Errorf("when '-' is used, STDIN must be open")
			}
			sc := bufio.NewScanner(in)
			for sc.Scan() {
				line := sc.Text()
				if i := strings.Index(line, "#"); i >= 0 {
					line = line[:i]
				}
				if k, v, ok := strings.Cut(line, "="); ok {
					env = append(env, corev1.EnvVar{Name: k, Value: v})
				}
			}
			if err := sc.Err(); err != nil {
				return nil, nil, err
			}
		case strings.Contains(s, "="):
			k, v, _ := strings.Cut(s, "=")
			if errs := validation.IsEnvVarName(k); len(errs) != 0 {
				return nil, nil, fmt.Errorf("%q is not a valid key name: %s", k, strings.Join(errs, ";"))
			}
			set[k] = true
			env = append(env, corev1.EnvVar{Name: k, Value: v})
		case strings.HasSuffix(s, "-"):
			remove = append(remove, s[:len(s)-1])
		default:
			return nil, nil, fmt.Errorf("unknown environment variable: %v", s)
		}
	}
	for _, r := range remove {
		if set[r] {
			return nil, nil, fmt.Errorf("can not both modify and remove the same environment variable in the same command")
		}
	}
	return env, remove, nil
}

func findEnv(env []corev1.EnvVar, name string) (corev1.EnvVar, bool) {
	for _, e := range env {
		if e.Name == name {
			return e, true
		}
	}
	return corev1.EnvVar{}, false
}

// updateEnv replaces existing variables in place, drops removed ones and
// appends new ones, as upstream orders them.
func updateEnv(existing, env []corev1.EnvVar, remove []string) []corev1.EnvVar {
	out := []corev1.EnvVar{}
	covered := map[string]bool{}
	for _, r := range remove {
		covered[r] = true
	}
	for _, e := range existing {
		if covered[e.Name] {
			continue
		}
		if newer, ok := findEnv(env, e.Name); ok {
			covered[e.Name] = true
			out = append(out, newer)
			continue
		}
		out = append(out, e)
	}
	for _, e := range env {
		if covered[e.Name] {
			continue
		}
		covered[e.Name] = true
		out = append(out, e)
	}
	return out
}

// envRefString describes a valueFrom as upstream's --list does.
func envRefString(from *corev1.EnvVarSource) string {
	switch {
	case from.ConfigMapKeyRef != nil:
		return fmt.Sprintf("configmap %s, key %s", from.ConfigMapKeyRef.Name, from.ConfigMapKeyRef.Key)
	case from.SecretKeyRef != nil:
		return fmt.Sprintf("secret %s, key %s", from.SecretKeyRef.Name, from.SecretKeyRef.Key)
	case from.FieldRef != nil:
		return fmt.Sprintf("field path %s", from.FieldRef.FieldPath)
	case from.ResourceFieldRef != nil:
		prefix := ""
		if from.ResourceFieldRef.ContainerName != "" {
			prefix = from.ResourceFieldRef.ContainerName + "/"
		}
		return fmt.Sprintf("resource field %s%s", prefix, from.ResourceFieldRef.Resource)
	}
	return "invalid valueFrom"
}
