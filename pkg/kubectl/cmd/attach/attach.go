// Package attach is `kubectl attach`: connect to a running container's
// stdout/stderr (and stdin with -i) through pods/attach.
package attach

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

// New returns the attach command.
func New(f *util.Factory) *cobra.Command {
	o := &util.StreamOptions{}
	cmd := &cobra.Command{
		Use:                   "attach (POD | TYPE/NAME) -c CONTAINER",
		DisableFlagsInUseLine: true,
		Short:                 "Attach to a running container",
		Long:                  "Attach to a process that is already running inside an existing container.",
		Example: `  # Get output from running pod mypod; use the 'kubectl.kubernetes.io/default-container' annotation
  # for selecting the container to be attached or the first container in the pod will be chosen
  kubectl attach mypod`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return util.UsageError(cmd, "at least 1 argument is required for attach")
			}
			if len(args) > 1 {
				return util.UsageError(cmd, "expected POD, TYPE/NAME, or TYPE NAME, (at most 2 arguments) saw %d: %v", len(args), args)
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			pod, err := f.PodForArg(ctx, args[0])
			if err != nil {
				return err
			}
			if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
				return fmt.Errorf("cannot attach a container in a completed pod; current phase is %s", pod.Status.Phase)
			}
			return Run(ctx, f, pod, o, cmd.CommandPath())
		},
	}
	cmd.Flags().StringVarP(&o.Container, "container", "c", "", "Container name. If omitted, use the kubectl.kubernetes.io/default-container annotation for selecting the container to be attached or the first container in the pod will be chosen")
	cmd.Flags().BoolVarP(&o.Stdin, "stdin", "i", false, "Pass stdin to the container")
	cmd.Flags().BoolVarP(&o.TTY, "tty", "t", false, "Stdin is a TTY")
	cmd.Flags().BoolVarP(&o.Quiet, "quiet", "q", false, "Only print output from the remote session")
	cmd.Flags().Duration("pod-running-timeout", 60e9, "The length of time (like 5s, 2m, or 3h, higher than zero) to wait until at least one pod is running")
	return cmd
}

// containerSpec is the pod's container (app, init or ephemeral) named
// name; DefaultContainer has checked it exists.
func containerSpec(pod *corev1.Pod, name string) corev1.Container {
	for _, c := range pod.Spec.Containers {
		if c.Name == name {
			return c
		}
	}
	for _, c := range pod.Spec.InitContainers {
		if c.Name == name {
			return c
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == name {
			return corev1.Container(c.EphemeralContainerCommon)
		}
	}
	return corev1.Container{Name: name}
}

func ephemeral(pod *corev1.Pod, name string) bool {
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == name {
			return true
		}
	}
	return false
}

// Run attaches to pod's container (o.Container, or the default one) with
// o's streams, as `kubectl attach` does once it has the pod; run uses it
// too. commandPath is the attach command's path for the "Session ended"
// hint.
func Run(ctx context.Context, f *util.Factory, pod *corev1.Pod, o *util.StreamOptions, commandPath string) error {
	name, err := util.DefaultContainer(pod, o.Container, o.Quiet, f.ErrOut)
	if err != nil {
		return fmt.Errorf("cannot attach to the container: %v", err)
	}
	container := containerSpec(pod, name)
	if o.TTY && !container.TTY {
		o.TTY = false
		if !o.Quiet {
			fmt.Fprintf(f.ErrOut, "error: Unable to use a TTY - container %s did not allocate one\n", name)
		}
	} else if !o.TTY && container.TTY {
		// A container started with a terminal only speaks through one.
		o.TTY = true
	}
	restore, sizes := util.TerminalSetup(f.In, f.ErrOut, o)
	defer restore()
	util.RedrawFirst(sizes)
	if !o.Quiet {
		fmt.Fprintln(f.ErrOut, "All commands and output from this session will be recorded in container logs, including credentials and sensitive information passed through the command prompt.")
		fmt.Fprintln(f.ErrOut, "If you don't see a command prompt, try pressing enter.")
	}
	cs, err := f.Clientset()
	if err != nil {
		return err
	}
	config, err := f.RESTConfig()
	if err != nil {
		return err
	}
	req := cs.CoreV1().RESTClient().Post().Resource("pods").Name(pod.Name).Namespace(pod.Namespace).SubResource("attach")
	req.VersionedParams(&corev1.PodAttachOptions{
		Container: name, Stdin: o.Stdin, Stdout: true, Stderr: !o.TTY, TTY: o.TTY,
	}, scheme.ParameterCodec)
	exec, err := util.Executor(config, req.URL())
	if err != nil {
		return err
	}
	streams := remotecommand.StreamOptions{Stdout: f.Out, Tty: o.TTY, TerminalSizeQueue: sizes}
	if o.Stdin {
		streams.Stdin = f.In
	}
	if !o.TTY {
		streams.Stderr = f.ErrOut
	}
	err = exec.StreamWithContext(ctx, streams)
	if err != nil && errors.Is(err, context.Canceled) {
		return nil
	}
	if err != nil {
		return util.StreamError(err, f.ErrOut)
	}
	if !o.Quiet && o.Stdin && o.TTY {
		ns := pod.Namespace
		if ephemeral(pod, name) {
			fmt.Fprintf(f.Out, "Session ended, the ephemeral container will not be restarted but may be reattached using '%s %s -c %s -n %s -i -t' if it is still running\n", commandPath, pod.Name, name, ns)
		} else {
			fmt.Fprintf(f.Out, "Session ended, resume using '%s %s -c %s -n %s -i -t' command\n", commandPath, pod.Name, name, ns)
		}
	}
	return nil
}
