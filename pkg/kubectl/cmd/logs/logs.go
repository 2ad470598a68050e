// Package logs is `kubectl logs`: a container's log from pods/log
// (which the apiserver proxies to the kubelet), for a pod, a workload's
// first pod, or every pod a selector matches, optionally followed and
// prefixed with its source.
package logs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

const usageErr = "expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\nPOD or TYPE/NAME is a required argument for the logs command"

type options struct {
	f                 *util.Factory
	follow            bool
	container         string
	allContainers     bool
	allPods           bool
	previous          bool
	timestamps        bool
	tail              int64
	limitBytes        int64
	since             time.Duration
	sinceTime         string
	selector          string
	prefix            bool
	maxLogRequests    int
	ignoreErrors      bool
	podRunningTimeout time.Duration
	insecureBackend   bool
}

// stream is one container's log request.
type stream struct {
	pod, container string
	opts           *corev1.PodLogOptions
	ns             string
}

// New returns the logs command.
func New(f *util.Factory) *cobra.Command {
	o := &options{f: f, tail: -1, maxLogRequests: 5, podRunningTimeout: 20 * time.Second}
	cmd := &cobra.Command{
		Use:                   "logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]",
		DisableFlagsInUseLine: true,
		Short:                 "Print the logs for a container in a pod",
		Long:                  "Print the logs for a container in a pod or specified resource. If the pod has only one container, the container name is optional.",
		Example: `  # Return snapshot logs from pod nginx with only one container
  kubectl logs nginx

  # Begin streaming the logs from all containers in pods defined by label app=nginx
  kubectl logs -f -l app=nginx --all-containers=true

  # Return snapshot logs from first container of a job named hello
  kubectl logs job/hello`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, args)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&o.allPods, "all-pods", false, "Get logs from all pod(s). Sets prefix to true.")
	fl.BoolVar(&o.allContainers, "all-containers", false, "Get all containers' logs in the pod(s).")
	fl.BoolVarP(&o.follow, "follow", "f", false, "Specify if the logs should be streamed.")
	fl.BoolVar(&o.timestamps, "timestamps", false, "Include timestamps on each line in the log output")
	fl.Int64Var(&o.limitBytes, "limit-bytes", 0, "Maximum bytes of logs to return. Defaults to no limit.")
	fl.BoolVarP(&o.previous, "previous", "p", false, "If true, print the logs for the previous instance of the container in a pod if it exists.")
	fl.Int64Var(&o.tail, "tail", -1, "Lines of recent log file to display. Defaults to -1 with no selector, showing all log lines otherwise 10, if a selector is provided.")
	fl.BoolVar(&o.ignoreErrors, "ignore-errors", false, "If watching / following pod logs, allow for any errors that occur to be non-fatal")
	fl.StringVar(&o.sinceTime, "since-time", "", "Only return logs after a specific date (RFC3339). Defaults to all logs. Only one of since-time / since may be used.")
	fl.DurationVar(&o.since, "since", 0, "Only return logs newer than a relative duration like 5s, 2m, or 3h. Defaults to all logs. Only one of since-time / since may be used.")
	fl.StringVarP(&o.container, "container", "c", "", "Print the logs of this container")
	fl.BoolVar(&o.insecureBackend, "insecure-skip-tls-verify-backend", false, "Skip verifying the identity of the kubelet that logs are requested from.  In theory, an attacker could provide invalid log content back. You might want to use this if your kubelet serving certificates have expired.")
	fl.DurationVar(&o.podRunningTimeout, "pod-running-timeout", 20*time.Second, "The length of time (like 5s, 2m, or 3h, higher than zero) to wait until at least one pod is running")
	fl.StringVarP(&o.selector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints.")
	fl.IntVar(&o.maxLogRequests, "max-log-requests", 5, "Specify maximum number of concurrent logs to follow when using by a selector. Defaults to 5.")
	fl.BoolVar(&o.prefix, "prefix", false, "Prefix each log line with the log source (pod name and container name)")
	return cmd
}

func (o *options) run(cmd *cobra.Command, args []string) error {
	containerFlag := cmd.Flags().Changed("container")
	var resourceArg string
	switch len(args) {
	case 0:
		if o.selector == "" {
			return util.UsageError(cmd, "%s", usageErr)
		}
	case 1:
		resourceArg = args[0]
		if o.selector != "" {
			return util.UsageError(cmd, "only a selector (-l) or a POD name is allowed")
		}
	case 2:
		resourceArg, o.container = args[0], args[1]
	default:
		return util.UsageError(cmd, "%s", usageErr)
	}
	if o.allPods {
		o.prefix = true
	}
	if o.podRunningTimeout <= 0 {
		return fmt.Errorf("--pod-running-timeout must be higher than zero")
	}
	ns, _, err := o.f.Namespace()
	if err != nil {
		return err
	}
	logOpts := &corev1.PodLogOptions{Container: o.container, Follow: o.follow, Previous: o.previous,
		Timestamps: o.timestamps, InsecureSkipTLSVerifyBackend: o.insecureBackend}
	if o.sinceTime != "" {
		t, err := time.Parse(time.RFC3339, o.sinceTime)
		if err != nil {
			return err
		}
		mt := metav1.NewTime(t)
		logOpts.SinceTime = &mt
	}
	if o.limitBytes != 0 {
		logOpts.LimitBytes = &o.limitBytes
	}
	if o.since != 0 {
		sec := int64(o.since.Round(time.Second).Seconds())
		logOpts.SinceSeconds = &sec
	}
	if o.selector != "" && o.tail == -1 && !cmd.Flags().Changed("tail") {
		ten := int64(10)
		logOpts.TailLines = &ten
	} else if o.tail != -1 {
		logOpts.TailLines = &o.tail
	}

	b := o.f.NewBuilder().WithScheme(scheme.Scheme, scheme.Scheme.PrioritizedVersionsAllGroups()...).
		NamespaceParam(ns).DefaultNamespace().SingleResourceType()
	if resourceArg != "" {
		b.ResourceNames("pods", resourceArg)
	}
	if o.selector != "" {
		b.ResourceTypes("pods").LabelSelectorParam(o.selector)
	}
	infos, err := b.Do().Infos()
	if err != nil {
		if apierrors.IsNotFound(err) {
			err = fmt.Errorf("error from server (NotFound): %w in namespace %q", err, ns)
		}
		return err
	}
	if o.selector == "" && len(infos) != 1 {
		return errors.New("expected a resource")
	}
	obj := infos[0].Object
	if o.selector != "" && len(obj.(*corev1.PodList).Items) == 0 {
		fmt.Fprintf(o.f.ErrOut, "No resources found in %s namespace.\n", ns)
	}

	// Validate.
	if o.sinceTime != "" && o.since != 0 {
		return fmt.Errorf("at most one of `sinceTime` or `sinceSeconds` may be specified")
	}
	if o.allContainers && logOpts.Container != "" {
		return fmt.Errorf("--all-containers=true should not be specified with container name %s", logOpts.Container)
	}
	if containerFlag && len(args) == 2 {
		return fmt.Errorf("only one of -c or an inline [CONTAINER] arg is allowed")
	}
	if o.limitBytes < 0 {
		return fmt.Errorf("--limit-bytes must be greater than 0")
	}
	if logOpts.SinceSeconds != nil && *logOpts.SinceSeconds < 0 {
		return fmt.Errorf("--since must be greater than 0")
	}
	if logOpts.TailLines != nil && *logOpts.TailLines < -1 {
		return fmt.Errorf("--tail must be greater than or equal to -1")
	}

	cs, err := o.f.Clientset()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	streams, err := o.streams(ctx, cs, infos[0], logOpts)
	if err != nil {
		return err
	}
	if o.follow && len(streams) > 1 {
		if len(streams) > o.maxLogRequests {
			return fmt.Errorf("you are attempting to follow %d log streams, but maximum allowed concurrency is %d, use --max-log-requests to increase the limit", len(streams), o.maxLogRequests)
		}
		return o.parallel(ctx, cs, streams)
	}
	for _, s := range streams {
		if err := o.consume(ctx, cs, s, o.writerFor(s, o.f.Out), o.f.Out); err != nil {
			return err
		}
	}
	return nil
}

// streams are the log requests for the object: one pod's container (or
// all of them), a workload's first pod, or each pod of a list.
func (o *options) streams(ctx context.Context, cs kubernetes.Interface, info *resource.Info, opts *corev1.PodLogOptions) ([]stream, error) {
	var pods []*corev1.Pod
	switch t := info.Object.(type) {
	case *corev1.PodList:
		for i := range t.Items {
			pods = append(pods, &t.Items[i])
		}
	case *corev1.Pod:
		pods = []*corev1.Pod{t}
	default:
		all, err := util.PodsForObject(ctx, cs, t)
		if err != nil {
			return nil, fmt.Errorf("cannot get the logs from %T: %v", t, err)
		}
		if len(all) == 0 {
			return nil, fmt.Errorf("timed out waiting for the condition")
		}
		if len(all) > 1 && !o.allPods {
			fmt.Fprintf(o.f.ErrOut, "Found %v pods, using pod/%v\n", len(all), all[0].Name)
			all = all[:1]
		}
		pods = all
		// A list of several pods never notes the defaulted container.
		if len(all) > 1 {
			return o.podStreams(pods, opts, true)
		}
		return o.podStreams(pods, opts, false)
	}
	return o.podStreams(pods, opts, false)
}

func (o *options) podStreams(pods []*corev1.Pod, opts *corev1.PodLogOptions, quiet bool) ([]stream, error) {
	var out []stream
	for _, pod := range pods {
		if o.allContainers {
			var names []string
			for _, c := range pod.Spec.InitContainers {
				names = append(names, c.Name)
			}
			for _, c := range pod.Spec.Containers {
				names = append(names, c.Name)
			}
			for _, c := range pod.Spec.EphemeralContainers {
				names = append(names, c.Name)
			}
			for _, n := range names {
				c := opts.DeepCopy()
				c.Container = n
				out = append(out, stream{pod: pod.Name, ns: pod.Namespace, container: n, opts: c})
			}
			continue
		}
		c := opts.DeepCopy()
		if c.Container == "" {
			if d := pod.Annotations[util.DefaultContainerAnnotation]; d != "" {
				if util.HasContainer(pod, d) {
					c.Container = d
				} else {
					fmt.Fprintf(o.f.ErrOut, "Default container name %q not found in pod %s\n", d, pod.Name)
				}
			}
		}
		if c.Container == "" {
			c.Container = pod.Spec.Containers[0].Name
			if !quiet && (len(pod.Spec.Containers) > 1 || len(pod.Spec.InitContainers) > 0 || len(pod.Spec.EphemeralContainers) > 0) {
				fmt.Fprintf(o.f.ErrOut, "Defaulted container %q out of: %s\n", c.Container, util.AllContainerNames(pod))
			}
		}
		if !util.HasContainer(pod, c.Container) {
			return nil, fmt.Errorf("container %s is not valid for pod %s out of: %s", c.Container, pod.Name, util.AllContainerNames(pod))
		}
		out = append(out, stream{pod: pod.Name, ns: pod.Namespace, container: c.Container, opts: c})
	}
	return out, nil
}

func (o *options) writerFor(s stream, w io.Writer) io.Writer {
	if !o.prefix {
		return w
	}
	return &prefixWriter{prefix: []byte(fmt.Sprintf("[pod/%s/%s] ", s.pod, s.container)), w: w}
}

// parallel follows every stream at once into stdout.
func (o *options) parallel(ctx context.Context, cs kubernetes.Interface, streams []stream) error {
	r, w := io.Pipe()
	var wg sync.WaitGroup
	var mu sync.Mutex
	locked := &lockedWriter{mu: &mu, w: w}
	for _, s := range streams {
		wg.Add(1)
		go func(s stream) {
			defer wg.Done()
			if err := o.consume(ctx, cs, s, o.writerFor(s, locked), locked); err != nil {
				w.CloseWithError(err)
			}
		}(s)
	}
	go func() {
		wg.Wait()
		w.Close()
	}()
	_, err := io.Copy(o.f.Out, r)
	return err
}

// consume copies one stream line by line; following, it retries while
// the server answers with a status (the container not started yet).
func (o *options) consume(ctx context.Context, cs kubernetes.Interface, s stream, out, errOut io.Writer) error {
	once := func() error {
		rc, err := cs.CoreV1().Pods(s.ns).GetLogs(s.pod, s.opts).Stream(ctx)
		if err != nil {
			return err
		}
		defer rc.Close()
		br := bufio.NewReader(rc)
		for {
			line, err := br.ReadBytes('\n')
			if len(line) > 0 {
				if _, werr := out.Write(line); werr != nil {
					return werr
				}
			}
			if err != nil {
				if err == io.EOF {
					return nil
				}
				return err
			}
		}
	}
	if !o.follow {
		err := once()
		if err != nil && o.ignoreErrors {
			fmt.Fprint(errOut, "error: "+err.Error()+"\n")
			return nil
		}
		return err
	}
	return wait.PollUntilContextTimeout(ctx, time.Second, o.podRunningTimeout, true, func(context.Context) (bool, error) {
		err := once()
		if err == nil {
			return true, nil
		}
		if o.ignoreErrors {
			fmt.Fprint(errOut, "error: "+err.Error()+"\n")
			return true, nil
		}
		fmt.Fprintln(o.f.ErrOut, err.Error())
		if _, ok := err.(apierrors.APIStatus); ok {
			return false, nil
		}
		return false, err
	})
}

type prefixWriter struct {
	prefix []byte
	w      io.Writer
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, err := p.w.Write(append(append([]byte{}, p.prefix...), b...))
	if n > len(b) {
		n = len(b)
	}
	return n, err
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
