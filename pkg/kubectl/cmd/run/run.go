// Package run is `kubectl run`: create a pod running one image (attaching
// to it is not supported yet).
package run

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

// New returns the run command.
func New(f *util.Factory) *cobra.Command {
	print := util.NewPrintFlags("created")
	var (
		image, restart, port, pullPolicy, labels string
		envs, annotations                        []string
		command, privileged                      bool
		fieldManager                             string
	)
	cmd := &cobra.Command{
		Use:                   "run NAME --image=image [--env=\"key=value\"] [--port=port] [--dry-run=server|client] [--overrides=inline-json] [--command] -- [COMMAND] [args...]",
		DisableFlagsInUseLine: true,
		Short:                 "Run a particular image on the cluster",
		Long:                  "Create and run a particular image in a pod.",
		Example: `  # Start a nginx pod
  kubectl run nginx --image=nginx`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return util.UsageError(cmd, "NAME is required for run")
			}
			if image == "" {
				return util.UsageError(cmd, "--image is required")
			}
			dryRun, err := util.GetDryRun(cmd)
			if err != nil {
				return err
			}
			if port != "" {
				if _, err := strconv.Atoi(port); err != nil {
					return fmt.Errorf("--port must be a number")
				}
			}
			policy := corev1.RestartPolicyAlways
			if restart != "" {
				policy = corev1.RestartPolicy(restart)
				switch policy {
				case corev1.RestartPolicyAlways, corev1.RestartPolicyNever, corev1.RestartPolicyOnFailure:
				default:
					return fmt.Errorf("invalid restart policy: %s, valid values are: %s, %s, %s", restart, corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever)
				}
			}
			pull := corev1.PullPolicy(pullPolicy)
			switch pull {
			case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever, "":
			default:
				return fmt.Errorf("invalid image pull policy: %s, valid values are: %s, %s, %s", pullPolicy, corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever)
			}
			name := args[0]
			podLabels := map[string]string{"run": name}
			if labels != "" {
				podLabels = map[string]string{}
				for _, kv := range strings.Split(labels, ",") {
					k, v, ok := strings.Cut(kv, "=")
					if !ok {
						return fmt.Errorf("invalid label spec: %v", kv)
					}
					podLabels[k] = v
				}
			}
			var env []corev1.EnvVar
			for _, e := range envs {
				k, v, ok := strings.Cut(e, "=")
				if !ok || k == "" {
					return fmt.Errorf("invalid env: %v", e)
				}
				env = append(env, corev1.EnvVar{Name: k, Value: v})
			}
			var annots map[string]string
			for _, a := range annotations {
				k, v, ok := strings.Cut(a, "=")
				if !ok {
					return fmt.Errorf("invalid annotation format: %s", a)
				}
				if annots == nil {
					annots = map[string]string{}
				}
				annots[k] = v
			}
			c := corev1.Container{Name: name, Image: image, Env: env, ImagePullPolicy: pull}
			if privileged {
				c.SecurityContext = &corev1.SecurityContext{Privileged: &privileged}
			}
			if rest := args[1:]; len(rest) > 0 {
				if command {
					c.Command = rest
				} else {
					c.Args = rest
				}
			}
			if port != "" {
				n, _ := strconv.Atoi(port)
				c.Ports = []corev1.ContainerPort{{ContainerPort: int32(n)}}
			}
			pod := &corev1.Pod{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
				ObjectMeta: metav1.ObjectMeta{Name: name, Labels: podLabels, Annotations: annots},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{c}, DNSPolicy: corev1.DNSClusterFirst, RestartPolicy: policy},
			}
			printer, err := util.Printer(print, dryRun)
			if err != nil {
				return err
			}
			ns, _, err := f.Namespace()
			if err != nil {
				return err
			}
			if dryRun == util.DryRunClient {
				return printer.PrintObj(pod, f.Out)
			}
			obj, err := f.CreateObject(context.Background(), pod, ns, dryRun, fieldManager, "")
			if err != nil {
				return err
			}
			return printer.PrintObj(obj, f.Out)
		},
	}
	flags := cmd.Flags()
	// Accepted and ignored, as upstream's (its delete flags' leftover).
	flags.StringSliceP("filename", "f", nil, "to use to replace the resource.")
	flags.MarkDeprecated("filename", "it is ignored by kubectl run and will be removed in a future release")
	flags.MarkShorthandDeprecated("filename", "it is ignored by kubectl run and will be removed in a future release")
	print.AddFlags(cmd)
	flags.StringVar(&image, "image", "", "The image for the container to run.")
	flags.StringVar(&pullPolicy, "image-pull-policy", "", "The image pull policy for the container.  If left empty, this value will not be specified by the client and defaulted by the server.")
	flags.StringVar(&restart, "restart", "", "The restart policy for this Pod.  Legal values [Always, OnFailure, Never].")
	flags.StringVar(&port, "port", "", "The port that this container exposes.")
	flags.StringVarP(&labels, "labels", "l", "", "Comma separated labels to apply to the pod. Will override previous values.")
	flags.StringArrayVar(&envs, "env", nil, "Environment variables to set in the container.")
	flags.StringArrayVar(&annotations, "annotations", nil, "Annotations to apply to the pod.")
	flags.BoolVar(&command, "command", false, "If true and extra arguments are present, use them as the 'command' field in the container, rather than the 'args' field which is the default.")
	flags.BoolVar(&privileged, "privileged", false, "If true, run the container in privileged mode.")
	cmd.MarkFlagRequired("image")
	util.AddDryRunFlag(cmd)
	util.AddFieldManagerFlag(cmd, &fieldManager, "kubectl-run")
	return cmd
}
