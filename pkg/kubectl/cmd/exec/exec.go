// Package exec is `kubectl exec`: run a command in a container through
// pods/exec (WebSocket v5, falling back to SPDY), with stdin and a TTY
// when asked, exiting with the command's exit code.
package exec

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

// New returns the exec command.
func New(f *util.Factory) *cobra.Command {
	o := &util.StreamOptions{}
	var filenames []string
	cmd := &cobra.Command{
		Use:                   "exec (POD | TYPE/NAME) [-c CONTAINER] [flags] -- COMMAND [args...]",
		DisableFlagsInUseLine: true,
		Short:                 "Execute a command in a container",
		Long:                  "Execute a command in a container.",
		Example: `  # Get output from running the 'date' command from pod mypod, using the first container by default
  kubectl exec mypod -- date

  # Switch to raw terminal mode; sends stdin to 'bash' in ruby-container from pod mypod
  # and sends stdout/stderr from 'bash' back to the client
  kubectl exec mypod -c ruby-container -i -t -- bash -il`,
		RunE: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			if len(args) == 0 || dash == 0 {
				return util.UsageError(cmd, "exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead")
			}
			if dash == -1 && len(args) > 1 {
				return util.UsageError(cmd, "exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead")
			}
			if dash > 1 {
				return util.UsageError(cmd, "exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead")
			}
			command := args[1:]
			if len(command) == 0 {
				return errors.New("you must specify at least one command for the container")
			}
			return Run(cmd.Context(), f, args[0], command, o)
		},
	}
	cmd.Flags().StringVarP(&o.Container, "container", "c", "", "Container name. If omitted, use the kubectl.kubernetes.io/default-container annotation for selecting the container to be attached or the first container in the pod will be chosen")
	cmd.Flags().StringSliceVarP(&filenames, "filename", "f", nil, "to use to exec into the resource")
	cmd.Flags().BoolVarP(&o.Stdin, "stdin", "i", false, "Pass stdin to the container")
	cmd.Flags().BoolVarP(&o.TTY, "tty", "t", false, "Stdin is a TTY")
	cmd.Flags().BoolVarP(&o.Quiet, "quiet", "q", false, "Only print output from the remote session")
	cmd.Flags().Duration("pod-running-timeout", 60e9, "The length of time (like 5s, 2m, or 3h, higher than zero) to wait until at least one pod is running")
	return cmd
}

// Run executes command in the pod named by arg (POD or TYPE/NAME); cp
// uses it too.
func Run(ctx context.Context, f *util.Factory, arg string, command []string, o *util.StreamOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	pod, err := f.PodForArg(ctx, arg)
	if err != nil {
		return err
	}
	return util.StreamError(RunInPod(ctx, f, pod, command, o, f.IOStreams.In, f.Out, f.ErrOut), f.ErrOut)
}

// RunInPod streams command in pod with the given streams. A non-zero exit
// of the command is a k8s.io/client-go/util/exec.ExitError, not yet
// reported (util.StreamError does that).
func RunInPod(ctx context.Context, f *util.Factory, pod *corev1.Pod, command []string, o *util.StreamOptions, in io.Reader, out, errOut io.Writer) error {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return fmt.Errorf("cannot exec into a container in a completed pod; current phase is %s", pod.Status.Phase)
	}
	container, err := util.DefaultContainer(pod, o.Container, o.Quiet, errOut)
	if err != nil {
		return err
	}
	restore, sizes := util.TerminalSetup(in, errOut, o)
	defer restore()
	cs, err := f.Clientset()
	if err != nil {
		return err
	}
	config, err := f.RESTConfig()
	if err != nil {
		return err
	}
	req := cs.CoreV1().RESTClient().Post().Resource("pods").Name(pod.Name).Namespace(pod.Namespace).SubResource("exec")
	req.VersionedParams(&corev1.PodExecOptions{
		Container: container, Command: command,
		Stdin: o.Stdin, Stdout: out != nil, Stderr: errOut != nil && !o.TTY, TTY: o.TTY,
	}, scheme.ParameterCodec)
	exec, err := util.Executor(config, req.URL())
	if err != nil {
		return err
	}
	streams := remotecommand.StreamOptions{Stdout: out, Tty: o.TTY, TerminalSizeQueue: sizes}
	if o.Stdin {
		streams.Stdin = in
	}
	if !o.TTY {
		streams.Stderr = errOut
	}
	err = exec.StreamWithContext(ctx, streams)
	if err != nil && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
