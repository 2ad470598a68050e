package set

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

type resourcesOptions struct {
	*target
	containers       string
	limits, requests string
}

func newResources(f *util.Factory) *cobra.Command {
	o := &resourcesOptions{target: &target{f: f, print: util.NewPrintFlags("resource requirements updated")}}
	cmd := &cobra.Command{
		Use:                   "resources (-f FILENAME | TYPE NAME)  ([--limits=LIMITS & --requests=REQUESTS]",
		DisableFlagsInUseLine: true,
		Short:                 "Update resource requests/limits on objects with pod templates",
		Long: `Specify compute resource requirements (CPU, memory) for any resource that defines a pod template.  If a pod is successfully scheduled, it is guaranteed the amount of resource requested, but may burst up to its specified limits.

 For each compute resource, if a limit is specified and a request is omitted, the request will default to the limit.

 Possible resources include (case insensitive): Use "kubectl api-resources" for a complete list of supported resources..`,
		Example: `  # Set a deployments nginx container cpu limits to "200m" and memory to "512Mi"
  kubectl set resources deployment nginx -c=nginx --limits=cpu=200m,memory=512Mi`,
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args) },
	}
	o.target.addFlags(cmd,
		"Select all resources, in the namespace of the specified resource types",
		"Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints.",
		"If true, set resources will NOT contact api-server but run locally.")
	flags := cmd.Flags()
	flags.StringVarP(&o.containers, "containers", "c", "*", "The names of containers in the selected pod templates to change, all containers are selected by default - may use wildcards")
	flags.StringVar(&o.limits, "limits", "", "The resource requirement requests for this container.  For example, 'cpu=100m,memory=256Mi'.  Note that server side components may assign requests depending on the server configuration, such as limit ranges.")
	flags.StringVar(&o.requests, "requests", "", "The resource requirement requests for this container.  For example, 'cpu=100m,memory=256Mi'.  Note that server side components may assign requests depending on the server configuration, such as limit ranges.")
	return cmd
}

// parseResourceList reads "cpu=100m,memory=256Mi".
func parseResourceList(spec string) (corev1.ResourceList, error) {
	if spec == "" {
		return nil, nil
	}
	out := corev1.ResourceList{}
	for _, stmt := range strings.Split(spec, ",") {
		parts := strings.Split(stmt, "=")
		if len(parts) != 2 {
			return nil, fmt.Errorf("invalid argument syntax %v, expected <resource>=<value>", stmt)
		}
		q, err := resource.ParseQuantity(parts[1])
		if err != nil {
			return nil, err
		}
		out[corev1.ResourceName(parts[0])] = q
	}
	return out, nil
}

func (o *resourcesOptions) run(cmd *cobra.Command, args []string) error {
	if _, err := util.GetDryRun(cmd); err != nil {
		return err
	}
	infos, err := o.infos(args)
	if err != nil {
		return err
	}
	if err := o.checkLocal(cmd); err != nil {
		return err
	}
	if o.all && o.selector != "" {
		return fmt.Errorf("cannot set --all and --selector at the same time")
	}
	if o.limits == "" && o.requests == "" {
		return fmt.Errorf("you must specify an update to requests or limits (in the form of --requests/--limits)")
	}
	limits, err := parseResourceList(o.limits)
	if err != nil {
		return err
	}
	requests, err := parseResourceList(o.requests)
	if err != nil {
		return err
	}
	var errs []error
	changes := calculate(infos, func(obj runtime.Object) (bool, error) {
		transformed := false
		err := updatePodSpec(obj, func(spec *corev1.PodSpec) error {
			containers := selectContainers(spec.Containers, o.containers)
			if len(containers) == 0 {
				errs = append(errs, fmt.Errorf("error: unable to find container named %s", o.containers))
				return nil
			}
			for _, c := range containers {
				if o.limits != "" && len(c.Resources.Limits) == 0 {
					c.Resources.Limits = corev1.ResourceList{}
				}
				for k, v := range limits {
					c.Resources.Limits[k] = v
				}
				if o.requests != "" && len(c.Resources.Requests) == 0 {
					c.Resources.Requests = corev1.ResourceList{}
				}
				for k, v := range requests {
					c.Resources.Requests[k] = v
				}
				transformed = true
			}
			return nil
		})
		if err != nil {
			return true, err
		}
		return transformed, nil
	})
	return o.apply(cmd, changes, "failed to patch resources update to pod template ", errs)
}
