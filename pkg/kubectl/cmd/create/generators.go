package create

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

// generator is one `create <kind>` subcommand: build makes the object
// from the flags once the name and namespace are known.
type generator struct {
	use, short, example string
	aliases             []string
	// errPrefix prefixes a server error as upstream does ("failed to
	// create deployment"); empty returns the error as it is.
	errPrefix string
	// nameOptional: the command may run without a NAME (none so far).
	addFlags func(cmd *cobra.Command)
	build    func(cmd *cobra.Command, name, namespace string, args []string) (runtime.Object, error)
	validate func(cmd *cobra.Command, args []string) error
}

// namespaceIfEnforced is the namespace a generated object carries: only
// an explicit one (-n or the context's), as upstream.
func namespaceIfEnforced(f *util.Factory) (string, string, error) {
	ns, enforce, err := f.Namespace()
	if err != nil {
		return "", "", err
	}
	if enforce {
		return ns, ns, nil
	}
	return ns, "", nil
}

func (g generator) command(f *util.Factory) *cobra.Command {
	print := util.NewPrintFlags("created")
	var fieldManager string
	cmd := &cobra.Command{
		Use:                   g.use,
		DisableFlagsInUseLine: true,
		Aliases:               g.aliases,
		Short:                 g.short,
		Long:                  g.short + ".",
		Example:               g.example,
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		n := cmd.ArgsLenAtDash()
		if n == -1 {
			n = len(args)
		}
		if n != 1 {
			return util.UsageError(cmd, "exactly one NAME is required, got %d", n)
		}
		name := args[0]
		if g.validate != nil {
			if err := g.validate(cmd, args); err != nil {
				return err
			}
		}
		dryRun, err := util.GetDryRun(cmd)
		if err != nil {
			return err
		}
		printer, err := util.Printer(print, dryRun)
		if err != nil {
			return err
		}
		validationDirective, err := util.GetValidation(cmd)
		if err != nil {
			return err
		}
		ns, objNS, err := namespaceIfEnforced(f)
		if err != nil {
			return err
		}
		obj, err := g.build(cmd, name, objNS, args)
		if err != nil {
			return err
		}
		if save, _ := cmd.Flags().GetBool("save-config"); save {
			if _, err := util.SetLastAppliedTyped(obj); err != nil {
				return err
			}
		}
		if dryRun != util.DryRunClient {
			obj, err = f.CreateObject(context.Background(), obj, ns, dryRun, fieldManager, validationDirective)
			if err != nil {
				if g.errPrefix != "" {
					return fmt.Errorf("%s%v", g.errPrefix, err)
				}
				return err
			}
		}
		return printer.PrintObj(obj, f.Out)
	}
	if g.addFlags != nil {
		g.addFlags(cmd)
	}
	cmd.Flags().Bool("save-config", false, "If true, the configuration of current object will be saved in its annotation. Otherwise, the annotation will be unchanged. This flag is useful when you want to perform kubectl apply on this object in the future.")
	util.AddValidateFlag(cmd)
	util.AddDryRunFlag(cmd)
	util.AddFieldManagerFlag(cmd, &fieldManager, "kubectl-create")
	addPrintFlags(print, cmd)
	return cmd
}

func addPrintFlags(p *genericclioptions.PrintFlags, cmd *cobra.Command) { p.AddFlags(cmd) }

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

func strs(cmd *cobra.Command, name string) []string {
	if v, err := cmd.Flags().GetStringSlice(name); err == nil {
		return v
	}
	v, _ := cmd.Flags().GetStringArray(name)
	return v
}

func generators(f *util.Factory) []*cobra.Command {
	gens := []generator{
		{
			use: "namespace NAME [--dry-run=server|client|none]", aliases: []string{"ns"},
			short: "Create a namespace with the specified name",
			build: func(cmd *cobra.Command, name, _ string, _ []string) (runtime.Object, error) {
				return &corev1.Namespace{TypeMeta: typeMeta("v1", "Namespace"), ObjectMeta: metav1.ObjectMeta{Name: name}}, nil
			},
		},
		{
			use: "serviceaccount NAME [--dry-run=server|client|none]", aliases: []string{"sa"},
			short: "Create a service account with the specified name", errPrefix: "failed to create serviceaccount: ",
			build: func(cmd *cobra.Command, name, ns string, _ []string) (runtime.Object, error) {
				return &corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}, nil
			},
		},
		{
			use: "deployment NAME --image=image -- [COMMAND] [args...]", aliases: []string{"deploy"},
			short: "Create a deployment with the specified name", errPrefix: "failed to create deployment: ",
			addFlags: func(cmd *cobra.Command) {
				cmd.Flags().StringSlice("image", nil, "Image names to run. A deployment can have multiple images set for multi-container pod.")
				cmd.MarkFlagRequired("image")
				cmd.Flags().Int32("port", -1, "The containerPort that this deployment exposes.")
				cmd.Flags().Int32P("replicas", "r", 1, "Number of replicas to create. Default is 1.")
			},
			validate: func(cmd *cobra.Command, args []string) error {
				if len(strs(cmd, "image")) > 1 && len(args) > 1 {
					return fmt.Errorf("cannot specify multiple --image options and command")
				}
				return nil
			},
			build: func(cmd *cobra.Command, name, ns string, args []string) (runtime.Object, error) {
				labels := map[string]string{"app": name}
				replicas, _ := cmd.Flags().GetInt32("replicas")
				port, _ := cmd.Flags().GetInt32("port")
				var command []string
				if len(args) > 1 {
					command = args[1:]
				}
				spec := corev1.PodSpec{Containers: []corev1.Container{}}
				for _, image := range strs(cmd, "image") {
					spec.Containers = append(spec.Containers, corev1.Container{Name: containerName(image), Image: image, Command: command})
				}
				if port >= 0 && len(spec.Containers) > 0 {
					spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: port}}
				}
				return &appsv1.Deployment{
					TypeMeta:   typeMeta("apps/v1", "Deployment"),
					ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Namespace: ns},
					Spec: appsv1.DeploymentSpec{
						Replicas: &replicas,
						Selector: &metav1.LabelSelector{MatchLabels: labels},
						Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
					},
				}, nil
			},
		},
		{
			use: "configmap NAME [--from-file=[key=]source] [--from-literal=key1=value1] [--dry-run=server|client|none]", aliases: []string{"cm"},
			short: "Create a config map from a local file, directory or literal value", errPrefix: "failed to create configmap: ",
			addFlags: func(cmd *cobra.Command) {
				cmd.Flags().StringSlice("from-file", nil, "Key file can be specified using its file path, in which case file basename will be used as configmap key, or optionally with a key and file path, in which case the given key will be used.  Specifying a directory will iterate each named file in the directory whose basename is a valid configmap key.")
				cmd.Flags().StringArray("from-literal", nil, "Specify a key and literal value to insert in configmap (i.e. mykey=somevalue)")
				cmd.Flags().StringSlice("from-env-file", nil, "Specify the path to a file to read lines of key=val pairs to create a configmap.")
				cmd.Flags().Bool("append-hash", false, "Append a hash of the configmap to its name.")
			},
			build: func(cmd *cobra.Command, name, ns string, _ []string) (runtime.Object, error) {
				cm := &corev1.ConfigMap{TypeMeta: typeMeta("v1", "ConfigMap"), ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
					Data: map[string]string{}, BinaryData: map[string][]byte{}}
				add := func(key string, value []byte) error {
					if errs := validation.IsConfigMapKey(key); len(errs) > 0 {
						return fmt.Errorf("%q is not a valid key name for a ConfigMap: %s", key, strings.Join(errs, ","))
					}
					_, inData := cm.Data[key]
					_, inBin := cm.BinaryData[key]
					if inData || inBin {
						return fmt.Errorf("cannot add key %q, another key by that name already exists in Data for ConfigMap %q", key, name)
					}
					if utf8.Valid(value) {
						cm.Data[key] = string(value)
					} else {
						cm.BinaryData[key] = value
					}
					return nil
				}
				if err := fromSources(cmd, add); err != nil {
					return nil, err
				}
				return cm, nil
			},
		},
		{
			use:   "generic NAME [--type=string] [--from-file=[key=]source] [--from-literal=key1=value1] [--dry-run=server|client|none]",
			short: "Create a secret from a local file, directory, or literal value", errPrefix: "failed to create secret ",
			addFlags: func(cmd *cobra.Command) {
				cmd.Flags().StringSlice("from-file", nil, "Key files can be specified using their file path, in which case a default name will be given to them, or optionally with a name and file path, in which case the given name will be used.  Specifying a directory will iterate each named file in the directory that is a valid secret key.")
				cmd.Flags().StringArray("from-literal", nil, "Specify a key and literal value to insert in secret (i.e. mykey=somevalue)")
				cmd.Flags().StringSlice("from-env-file", nil, "Specify the path to a file to read lines of key=val pairs to create a secret.")
				cmd.Flags().String("type", "", "The type of secret to create")
				cmd.Flags().Bool("append-hash", false, "Append a hash of the secret to its name.")
			},
			build: func(cmd *cobra.Command, name, ns string, _ []string) (runtime.Object, error) {
				s := &corev1.Secret{TypeMeta: typeMeta("v1", "Secret"), ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: map[string][]byte{}}
				if t := util.FlagString(cmd, "type"); t != "" {
					s.Type = corev1.SecretType(t)
				}
				add := func(key string, value []byte) error {
					if errs := validation.IsConfigMapKey(key); len(errs) > 0 {
						return fmt.Errorf("%q is not valid key name for a Secret %s", key, strings.Join(errs, ";"))
					}
					if _, ok := s.Data[key]; ok {
						return fmt.Errorf("cannot add key %s, another key by that name already exists", key)
					}
					s.Data[key] = value
					return nil
				}
				if err := fromSources(cmd, add); err != nil {
					return nil, err
				}
				return s, nil
			},
		},
		serviceGenerator("clusterip", corev1.ServiceTypeClusterIP),
		serviceGenerator("nodeport", corev1.ServiceTypeNodePort),
		{
			use:   "job NAME --image=image [--from=cronjob/name] -- [COMMAND] [args...]",
			short: "Create a job with the specified name", errPrefix: "failed to create job: ",
			addFlags: func(cmd *cobra.Command) {
				cmd.Flags().String("image", "", "Image name to run.")
				cmd.Flags().String("from", "", "The name of the resource to create a Job from (only cronjob is supported).")
			},
			build: func(cmd *cobra.Command, name, ns string, args []string) (runtime.Object, error) {
				image := util.FlagString(cmd, "image")
				if image == "" {
					return nil, fmt.Errorf("either --image or --from must be specified")
				}
				c := corev1.Container{Name: name, Image: image}
				if len(args) > 1 {
					c.Command = args[1:]
				}
				return &batchv1.Job{
					TypeMeta:   typeMeta("batch/v1", "Job"),
					ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
					Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
						Containers: []corev1.Container{c}, RestartPolicy: corev1.RestartPolicyNever,
					}}},
				}, nil
			},
		},
		{
			use: "cronjob NAME --image=image --schedule='0/5 * * * ?' -- [COMMAND] [args...] [flags]", aliases: []string{"cj"},
			short: "Create a cron job with the specified name", errPrefix: "failed to create cronjob: ",
			addFlags: func(cmd *cobra.Command) {
				cmd.Flags().String("image", "", "Image name to run.")
				cmd.MarkFlagRequired("image")
				cmd.Flags().String("schedule", "", "A schedule in the Cron format the job should be run with.")
				cmd.MarkFlagRequired("schedule")
				cmd.Flags().String("restart", "", "job's restart policy. supported values: OnFailure, Never")
			},
			build: func(cmd *cobra.Command, name, ns string, args []string) (runtime.Object, error) {
				restart := util.FlagString(cmd, "restart")
				if restart == "" {
					restart = "OnFailure"
				}
				c := corev1.Container{Name: name, Image: util.FlagString(cmd, "image")}
				if len(args) > 1 {
					c.Command = args[1:]
				}
				return &batchv1.CronJob{
					TypeMeta:   typeMeta("batch/v1", "CronJob"),
					ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
					Spec: batchv1.CronJobSpec{
						Schedule: util.FlagString(cmd, "schedule"),
						JobTemplate: batchv1.JobTemplateSpec{
							ObjectMeta: metav1.ObjectMeta{Name: name},
							Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
								Containers: []corev1.Container{c}, RestartPolicy: corev1.RestartPolicy(restart),
							}}},
						},
					},
				}, nil
			},
		},
		roleGenerator(false),
		roleGenerator(true),
		bindingGenerator(false),
		bindingGenerator(true),
	}
	gens = append(gens, secretGenerators()...)
	cmds := []*cobra.Command{newToken(f)}
	secret := &cobra.Command{
		Use:   "secret (docker-registry | generic | tls)",
		Short: "Create a secret using a specified subcommand",
		Long:  "Create a secret with specified type.",
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(f.ErrOut)
			return cmd.Help()
		},
	}
	service := &cobra.Command{
		Use: "service", Aliases: []string{"svc"},
		Short: "Create a service using a specified subcommand",
		Long:  "Create a service using a specified subcommand.",
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(f.ErrOut)
			return cmd.Help()
		},
	}
	for _, g := range gens {
		c := g.command(f)
		switch {
		case strings.HasPrefix(g.use, "generic ") || strings.HasPrefix(g.use, "tls ") || strings.HasPrefix(g.use, "docker-registry "):
			secret.AddCommand(c)
		case strings.HasPrefix(g.use, "clusterip ") || strings.HasPrefix(g.use, "nodeport "):
			service.AddCommand(c)
		default:
			cmds = append(cmds, c)
		}
	}
	return append(cmds, secret, service)
}

// containerName is upstream's container name for an image: its last path
// element without tag or digest, with "_" and "." made DNS-safe.
func containerName(image string) string {
	parts := strings.Split(image, "/")
	name := parts[len(parts)-1]
	name, _, _ = strings.Cut(name, ":")
	name, _, _ = strings.Cut(name, "@")
	return strings.NewReplacer("_", "-", ".", "-").Replace(name)
}

// fromSources feeds --from-file, --from-literal and --from-env-file to add.
func fromSources(cmd *cobra.Command, add func(key string, value []byte) error) error {
	for _, src := range strs(cmd, "from-file") {
		key, path, err := parseFileSource(src)
		if err != nil {
			return err
		}
		fi, err := os.Stat(path)
		if err != nil {
			if pe, ok := err.(*os.PathError); ok {
				return fmt.Errorf("error reading %s: %v", path, pe.Err)
			}
			return fmt.Errorf("error reading %s: %v", path, err)
		}
		if fi.IsDir() {
			if strings.Contains(src, "=") {
				return fmt.Errorf("cannot give a key name for a directory path")
			}
			entries, err := os.ReadDir(path)
			if err != nil {
				return fmt.Errorf("error listing files in %s: %v", path, err)
			}
			for _, e := range entries {
				if !e.Type().IsRegular() {
					continue
				}
				data, err := os.ReadFile(filepath.Join(path, e.Name()))
				if err != nil {
					return err
				}
				if err := add(e.Name(), data); err != nil {
					return err
				}
			}
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := add(key, data); err != nil {
			return err
		}
	}
	for _, lit := range strs(cmd, "from-literal") {
		k, v, ok := strings.Cut(lit, "=")
		if !ok || k == "" {
			return fmt.Errorf("invalid literal source %v, expected key=value", lit)
		}
		if err := add(k, []byte(strings.Trim(v, `"'`))); err != nil {
			return err
		}
	}
	for _, path := range strs(cmd, "from-env-file") {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(data), "\n") {
			line = strings.TrimLeft(line, " \t")
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				v = os.Getenv(k)
			}
			if k == "" {
				return fmt.Errorf("line %d has no key", i+1)
			}
			if err := add(k, []byte(v)); err != nil {
				return err
			}
		}
	}
	return nil
}

func parseFileSource(src string) (string, string, error) {
	k, p, ok := strings.Cut(src, "=")
	if !ok {
		return filepath.Base(filepath.Clean(src)), src, nil
	}
	if k == "" {
		return "", "", fmt.Errorf("key name for file path %v missing", p)
	}
	if p == "" {
		return "", "", fmt.Errorf("file path for key name %v missing", k)
	}
	return k, p, nil
}

func serviceGenerator(kind string, t corev1.ServiceType) generator {
	return generator{
		use:       kind + " NAME [--tcp=<port>:<targetPort>] [--dry-run=server|client|none]",
		short:     "Create a " + map[string]string{"clusterip": "ClusterIP", "nodeport": "NodePort"}[kind] + " service",
		errPrefix: fmt.Sprintf("failed to create %s service: ", t),
		addFlags: func(cmd *cobra.Command) {
			cmd.Flags().StringSlice("tcp", nil, "Port pairs can be specified as '<port>:<targetPort>'.")
			if kind == "clusterip" {
				cmd.Flags().String("clusterip", "", "Assign your own ClusterIP or set to 'None' for a 'headless' service (no loadbalancing).")
			} else {
				cmd.Flags().Int("node-port", 0, "Port used to expose the service on each node in a cluster.")
			}
		},
		validate: func(cmd *cobra.Command, args []string) error {
			if len(strs(cmd, "tcp")) == 0 && util.FlagString(cmd, "clusterip") != "None" {
				return fmt.Errorf("at least one tcp port specifier must be provided")
			}
			return nil
		},
		build: func(cmd *cobra.Command, name, ns string, _ []string) (runtime.Object, error) {
			nodePort, _ := cmd.Flags().GetInt("node-port")
			ports := []corev1.ServicePort{}
			for _, s := range strs(cmd, "tcp") {
				p, tp, _ := strings.Cut(s, ":")
				port, err := strconv.Atoi(p)
				if err != nil {
					return nil, err
				}
				target := intstr.FromInt32(int32(port))
				if tp != "" {
					if n, err := strconv.Atoi(tp); err == nil {
						target = intstr.FromInt32(int32(n))
					} else {
						target = intstr.FromString(tp)
					}
				}
				ports = append(ports, corev1.ServicePort{
					Name: strings.ReplaceAll(s, ":", "-"), Port: int32(port), TargetPort: target,
					Protocol: corev1.ProtocolTCP, NodePort: int32(nodePort),
				})
			}
			svc := &corev1.Service{
				TypeMeta:   typeMeta("v1", "Service"),
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}},
				Spec:       corev1.ServiceSpec{Type: t, Selector: map[string]string{"app": name}, Ports: ports},
			}
			if ip := util.FlagString(cmd, "clusterip"); ip != "" {
				svc.Spec.ClusterIP = ip
			}
			return svc, nil
		},
	}
}

func roleGenerator(cluster bool) generator {
	g := generator{
		use:   "role NAME --verb=verb --resource=resource.group/subresource [--resource-name=resourcename] [--dry-run=server|client|none]",
		short: "Create a role with single rule",
		addFlags: func(cmd *cobra.Command) {
			cmd.Flags().StringSlice("verb", nil, "Verb that applies to the resources contained in the rule")
			cmd.Flags().StringSlice("resource", nil, "Resource that the rule applies to")
			cmd.Flags().StringArray("resource-name", nil, "Resource in the white list that the rule applies to, repeat this flag for multiple items")
			if cluster {
				cmd.Flags().StringSlice("non-resource-url", nil, "A partial url that user should have access to.")
				cmd.Flags().String("aggregation-rule", "", "An aggregation label selector for combining ClusterRoles.")
			}
		},
	}
	if cluster {
		g.use = "clusterrole NAME --verb=verb --resource=resource.group [--resource-name=resourcename] [--dry-run=server|client|none]"
		g.short = "Create a cluster role"
	}
	g.build = func(cmd *cobra.Command, name, ns string, _ []string) (runtime.Object, error) {
		verbs := strs(cmd, "verb")
		if len(verbs) == 0 {
			return nil, fmt.Errorf("at least one verb must be specified")
		}
		resources := strs(cmd, "resource")
		var urls []string
		if cluster {
			urls = strs(cmd, "non-resource-url")
		}
		if len(resources) == 0 && len(urls) == 0 {
			return nil, fmt.Errorf("at least one resource must be specified")
		}
		var rules []rbacv1.PolicyRule
		if len(resources) > 0 {
			byGroup := map[string][]string{}
			var groups []string
			for _, r := range resources {
				res, sub, _ := strings.Cut(r, "/")
				res, group, _ := strings.Cut(res, ".")
				if sub != "" {
					res += "/" + sub
				}
				if _, ok := byGroup[group]; !ok {
					groups = append(groups, group)
				}
				byGroup[group] = append(byGroup[group], res)
			}
			for _, grp := range groups {
				rules = append(rules, rbacv1.PolicyRule{
					Verbs: verbs, APIGroups: []string{grp}, Resources: byGroup[grp],
					ResourceNames: strs(cmd, "resource-name"),
				})
			}
		}
		if len(urls) > 0 {
			rules = append(rules, rbacv1.PolicyRule{Verbs: verbs, NonResourceURLs: urls})
		}
		if cluster {
			return &rbacv1.ClusterRole{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "ClusterRole"),
				ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, nil
		}
		return &rbacv1.Role{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "Role"),
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Rules: rules}, nil
	}
	return g
}

func bindingGenerator(cluster bool) generator {
	g := generator{
		use:       "rolebinding NAME --clusterrole=NAME|--role=NAME [--user=username] [--group=groupname] [--serviceaccount=namespace:serviceaccountname] [--dry-run=server|client|none]",
		short:     "Create a role binding for a particular role or cluster role",
		errPrefix: "failed to create rolebinding: ",
		addFlags: func(cmd *cobra.Command) {
			cmd.Flags().String("clusterrole", "", "ClusterRole this RoleBinding should reference")
			if !cluster {
				cmd.Flags().String("role", "", "Role this RoleBinding should reference")
			}
			cmd.Flags().StringArray("user", nil, "Usernames to bind to the role. The flag can be repeated to add multiple users.")
			cmd.Flags().StringArray("group", nil, "Groups to bind to the role. The flag can be repeated to add multiple groups.")
			cmd.Flags().StringArray("serviceaccount", nil, "Service accounts to bind to the role, in the format <namespace>:<name>. The flag can be repeated to add multiple service accounts.")
		},
	}
	if cluster {
		g.use = "clusterrolebinding NAME --clusterrole=NAME [--user=username] [--group=groupname] [--serviceaccount=namespace:serviceaccountname] [--dry-run=server|client|none]"
		g.short = "Create a cluster role binding for a particular cluster role"
		g.errPrefix = "failed to create clusterrolebinding: "
	}
	g.build = func(cmd *cobra.Command, name, ns string, _ []string) (runtime.Object, error) {
		ref := rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: util.FlagString(cmd, "clusterrole")}
		if r := util.FlagString(cmd, "role"); r != "" {
			if ref.Name != "" {
				return nil, fmt.Errorf("exactly one of clusterrole or role must be specified")
			}
			ref.Kind, ref.Name = "Role", r
		}
		if ref.Name == "" {
			if cluster {
				return nil, fmt.Errorf("clusterrole must be specified")
			}
			return nil, fmt.Errorf("exactly one of clusterrole or role must be specified")
		}
		var subjects []rbacv1.Subject
		for _, u := range strs(cmd, "user") {
			subjects = append(subjects, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: u})
		}
		for _, gr := range strs(cmd, "group") {
			subjects = append(subjects, rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: gr})
		}
		for _, sa := range strs(cmd, "serviceaccount") {
			n, s, ok := strings.Cut(sa, ":")
			if !ok || n == "" || s == "" {
				return nil, fmt.Errorf("serviceaccount must be <namespace>:<name>")
			}
			subjects = append(subjects, rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: n, Name: s})
		}
		if cluster {
			return &rbacv1.ClusterRoleBinding{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
				ObjectMeta: metav1.ObjectMeta{Name: name}, RoleRef: ref, Subjects: subjects}, nil
		}
		return &rbacv1.RoleBinding{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "RoleBinding"),
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, RoleRef: ref, Subjects: subjects}, nil
	}
	return g
}
