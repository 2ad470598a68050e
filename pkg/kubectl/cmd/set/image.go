package set

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

func newImage(f *util.Factory) *cobra.Command {
	t := &target{f: f, print: util.NewPrintFlags("image updated")}
	cmd := &cobra.Command{
		Use:                   "image (-f FILENAME | TYPE NAME) CONTAINER_NAME_1=CONTAINER_IMAGE_1 ... CONTAINER_NAME_N=CONTAINER_IMAGE_N",
		DisableFlagsInUseLine: true,
		Short:                 "Update the image of a pod template",
		Long: `Update existing container image(s) of resources.

 Possible resources include (case insensitive):

  pod (po), replicationcontroller (rc), deployment (deploy), daemonset (ds), statefulset (sts), cronjob (cj), replicaset (rs)`,
		Example: `  # Set a deployment's nginx container image to 'nginx:1.9.1', and its busybox container image to 'busybox'
  kubectl set image deployment/nginx busybox=busybox nginx=nginx:1.9.1

  # Update image of all containers of daemonset abc to 'nginx:1.9.1'
  kubectl set image daemonset abc *=nginx:1.9.1`,
		RunE: func(cmd *cobra.Command, args []string) error { return t.runImage(cmd, args) },
	}
	t.addFlags(cmd,
		"Select all resources, in the namespace of the specified resource types",
		"Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints.",
		"If true, set image will NOT contact api-server but run locally.")
	return cmd
}

// splitPairs splits args into resources and the KEY=VALUE (or KEY-)
// pairs after them, as upstream.
func splitPairs(args []string, pairType string) (resources, pairs []string, err error) {
	found := false
	for _, s := range args {
		pair := (strings.Contains(s, "=") && s[0] != '=') || (strings.HasSuffix(s, "-") && s != "-")
		switch {
		case pair:
			found = true
			pairs = append(pairs, s)
		case found:
			return nil, nil, fmt.Errorf("all resources must be specified before %s changes: %s", pairType, s)
		default:
			resources = append(resources, s)
		}
	}
	return resources, pairs, nil
}

func (t *target) runImage(cmd *cobra.Command, args []string) error {
	if _, err := util.GetDryRun(cmd); err != nil {
		return err
	}
	resources, pairs, err := splitPairs(args, "image")
	if err != nil {
		return err
	}
	images := map[string]string{}
	var invalid []string
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || p[0] == '=' {
			invalid = append(invalid, p)
			continue
		}
		images[k] = v
	}
	if len(invalid) > 0 {
		return fmt.Errorf("invalid image format: %s", strings.Join(invalid, ", "))
	}
	infos, err := t.infos(resources)
	if err != nil {
		return err
	}
	var errs []error
	if t.all && t.selector != "" {
		errs = append(errs, fmt.Errorf("cannot set --all and --selector at the same time"))
	}
	if len(resources) < 1 && len(t.filenames.Filenames) == 0 && t.filenames.Kustomize == "" {
		errs = append(errs, fmt.Errorf("one or more resources must be specified as <resource> <name> or <resource>/<name>"))
	}
	if len(images) < 1 {
		errs = append(errs, fmt.Errorf("at least one image update is required"))
	} else if _, wild := images["*"]; wild && len(images) > 1 {
		errs = append(errs, fmt.Errorf("all containers are already specified by *, but saw more than one container_name=container_image pairs"))
	}
	if err := t.checkLocal(cmd); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return utilerrors.NewAggregate(errs)
	}
	names := make([]string, 0, len(images))
	for n := range images {
		names = append(names, n)
	}
	sort.Strings(names)
	var runErrs []error
	changes := calculate(infos, func(obj runtime.Object) (bool, error) {
		err := updatePodSpec(obj, func(spec *corev1.PodSpec) error {
			for _, name := range names {
				image := images[name]
				initFound := setImage(spec.InitContainers, name, image)
				found := setImage(spec.Containers, name, image)
				if !found && !initFound {
					runErrs = append(runErrs, fmt.Errorf("error: unable to find container named %q", name))
				}
			}
			return nil
		})
		return true, err
	})
	return t.apply(cmd, changes, "failed to patch image update to pod template: ", runErrs)
}

func setImage(containers []corev1.Container, name, image string) bool {
	found := false
	for i := range containers {
		if containers[i].Name == name || name == "*" {
			found = true
			containers[i].Image = image
		}
	}
	return found
}
