// Package run is `kubectl run`: create a pod running one image (and a
// Service for it with --expose), optionally attach to it (-i, -t,
// --attach), and delete what it created when the session ends (--rm).
package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/reference"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/kstack/kstack/pkg/kubectl/cmd/attach"
	"github.com/kstack/kstack/pkg/kubectl/util"
)

type options struct {
	f     *util.Factory
	print *genericclioptions.PrintFlags

	image, restart, port, pullPolicy, labels string
	envs, annotations                        []string
	overrides, overrideType                  string
	command, privileged, expose              bool
	stdin, tty, attach, leaveStdinOpen, rm   bool
	quiet, saveConfig                        bool
	cascade                                  string
	timeout                                  time.Duration
	fieldManager                             string
}

// New returns the run command.
func New(f *util.Factory) *cobra.Command {
	print := util.NewPrintFlags("created")
	o := &options{f: f, print: print}
	cmd := &cobra.Command{
		Use:                   "run NAME --image=image [--env=\"key=value\"] [--port=port] [--dry-run=server|client] [--overrides=inline-json] [--command] -- [COMMAND] [args...]",
		DisableFlagsInUseLine: true,
		Short:                 "Run a particular image on the cluster",
		Long:                  "Create and run a particular image in a pod.",
		Example: `  # Start a nginx pod
  kubectl run nginx --image=nginx

  # Start a hazelcast pod and let the container expose port 5701
  kubectl run hazelcast --image=hazelcast/hazelcast --port=5701

  # Start a hazelcast pod and set environment variables "DNS_DOMAIN=cluster" and "POD_NAMESPACE=default" in the container
  kubectl run hazelcast --image=hazelcast/hazelcast --env="DNS_DOMAIN=cluster" --env="POD_NAMESPACE=default"

  # Start a hazelcast pod and set labels "app=hazelcast" and "env=prod" in the container
  kubectl run hazelcast --image=hazelcast/hazelcast --labels="app=hazelcast,env=prod"

  # Dry run; print the corresponding API objects without creating them
  kubectl run nginx --image=nginx --dry-run=client

  # Start a nginx pod, but overload the spec with a partial set of values parsed from JSON
  kubectl run nginx --image=nginx --overrides='{ "apiVersion": "v1", "spec": { ... } }'

  # Start a busybox pod and keep it in the foreground, don't restart it if it exits
  kubectl run -i -t busybox --image=busybox --restart=Never

  # Start the nginx pod using the default command, but use custom arguments (arg1 .. argN) for that command
  kubectl run nginx --image=nginx -- <arg1> <arg2> ... <argN>

  # Start the nginx pod using a different command and custom arguments
  kubectl run nginx --image=nginx --command -- <cmd> <arg1> ... <argN>`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, args)
		},
	}
	flags := cmd.Flags()
	// The delete flags upstream's run carries (for --rm); only --cascade
	// is used.
	flags.StringSliceP("filename", "f", nil, "to use to replace the resource.")
	flags.MarkDeprecated("filename", "it is ignored by kubectl run and will be removed in a future release")
	flags.MarkShorthandDeprecated("filename", "it is ignored by kubectl run and will be removed in a future release")
	flags.StringP("kustomize", "k", "", "Process a kustomization directory. This flag can't be used together with -f or -R.")
	flags.BoolP("recursive", "R", false, "Process the directory used in -f, --filename recursively. Useful when you want to manage related manifests organized within the same directory.")
	flags.StringVar(&o.cascade, "cascade", "background", `Must be "background", "orphan", or "foreground". Selects the deletion cascading strategy for the dependents (e.g. Pods created by a ReplicationController). Defaults to background.`)
	flags.Lookup("cascade").NoOptDefVal = "background"
	flags.Bool("force", false, "If true, immediately remove resources from API and bypass graceful deletion. Note that immediate deletion of some resources may result in inconsistency or data loss and requires confirmation.")
	flags.Int("grace-period", -1, "Period of time in seconds given to the resource to terminate gracefully. Ignored if negative. Set to 1 for immediate shutdown. Can only be set to 0 when --force is true (force deletion).")
	flags.Duration("timeout", 0, "The length of time to wait before giving up on a delete, zero means determine a timeout from the size of the object")
	flags.Bool("wait", false, "If true, wait for resources to be gone before returning. This waits for finalizers.")
	print.AddFlags(cmd)
	util.AddDryRunFlag(cmd)
	flags.StringArrayVar(&o.annotations, "annotations", nil, "Annotations to apply to the pod.")
	flags.StringVar(&o.image, "image", "", "The image for the container to run.")
	cmd.MarkFlagRequired("image")
	flags.StringVar(&o.pullPolicy, "image-pull-policy", "", "The image pull policy for the container.  If left empty, this value will not be specified by the client and defaulted by the server.")
	flags.BoolVar(&o.rm, "rm", false, "If true, delete the pod after it exits.  Only valid when attaching to the container, e.g. with '--attach' or with '-i/--stdin'.")
	flags.StringArrayVar(&o.envs, "env", nil, "Environment variables to set in the container.")
	flags.StringVar(&o.port, "port", "", "The port that this container exposes.")
	flags.StringVarP(&o.labels, "labels", "l", "", "Comma separated labels to apply to the pod. Will override previous values.")
	flags.BoolVarP(&o.stdin, "stdin", "i", false, "Keep stdin open on the container in the pod, even if nothing is attached.")
	flags.BoolVarP(&o.tty, "tty", "t", false, "Allocate a TTY for the container in the pod.")
	flags.BoolVar(&o.attach, "attach", false, "If true, wait for the Pod to start running, and then attach to the Pod as if 'kubectl attach ...' were called.  Default false, unless '-i/--stdin' is set, in which case the default is true. With '--restart=Never' the exit code of the container process is returned.")
	flags.BoolVar(&o.leaveStdinOpen, "leave-stdin-open", false, "If the pod is started in interactive mode or with stdin, leave stdin open after the first attach completes. By default, stdin will be closed after the first attach completes.")
	flags.StringVar(&o.restart, "restart", "Always", "The restart policy for this Pod.  Legal values [Always, OnFailure, Never].")
	flags.BoolVar(&o.command, "command", false, "If true and extra arguments are present, use them as the 'command' field in the container, rather than the 'args' field which is the default.")
	flags.BoolVar(&o.expose, "expose", false, "If true, create a ClusterIP service associated with the pod.  Requires `--port`.")
	flags.BoolVarP(&o.quiet, "quiet", "q", false, "If true, suppress prompt messages.")
	flags.BoolVar(&o.privileged, "privileged", false, "If true, run the container in privileged mode.")
	flags.String("detach-keys", "ctrl-p,ctrl-q", "Override the key sequence for detaching a container.")
	util.AddFieldManagerFlag(cmd, &o.fieldManager, "kubectl-run")
	flags.StringVar(&o.overrides, "overrides", "", "An inline JSON override for the generated object. If this is non-empty, it is used to override the generated object. Requires that the object supply a valid apiVersion field.")
	flags.StringVar(&o.overrideType, "override-type", "merge", "The method used to override the generated object: json, merge, or strategic.")
	flags.BoolVar(&o.saveConfig, "save-config", false, "If true, the configuration of current object will be saved in its annotation. Otherwise, the annotation will be unchanged. This flag is useful when you want to perform kubectl apply on this object in the future.")
	flags.DurationVar(&o.timeout, "pod-running-timeout", time.Minute, "The length of time (like 5s, 2m, or 3h, higher than zero) to wait until at least one pod is running")
	return cmd
}

// created is an object run made, for printing and for --rm.
type created struct {
	obj     runtime.Object
	mapping *meta.RESTMapping
}

func (o *options) run(cmd *cobra.Command, args []string) error {
	f := o.f
	// Validation in upstream's order: the flags' values first (Complete),
	// then the arguments and their combinations (Validate).
	annots, err := parsePairs(o.annotations, "annotations")
	if err != nil {
		return err
	}
	labels, err := parseLabels(o.labels)
	if err != nil {
		return err
	}
	env, err := parseEnvs(o.envs)
	if err != nil {
		return err
	}
	policy, err := restartPolicy(o.restart, o.stdin)
	if err != nil {
		return err
	}
	pull := corev1.PullPolicy(o.pullPolicy)
	switch pull {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever, "":
	default:
		return fmt.Errorf("invalid image pull policy: %s, valid values are: %s, %s, %s", o.pullPolicy, corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever)
	}
	if o.timeout <= 0 {
		return fmt.Errorf("--pod-running-timeout must be higher than zero")
	}
	if !cmd.Flags().Changed("attach") && o.stdin {
		o.attach = true
	}
	dryRun, err := util.GetDryRun(cmd)
	if err != nil {
		return err
	}
	ns, enforceNS, err := f.Namespace()
	if err != nil {
		return err
	}
	if len(args) == 0 || cmd.ArgsLenAtDash() == 0 {
		return fmt.Errorf("NAME is required for run")
	}
	if o.image == "" {
		return fmt.Errorf("--image is required")
	}
	if !reference.ReferenceRegexp.MatchString(o.image) {
		return fmt.Errorf("invalid image name %q: %w", o.image, reference.ErrReferenceInvalidFormat)
	}
	if o.tty && !o.stdin {
		return fmt.Errorf("-i/--stdin is required for containers with -t/--tty=true")
	}
	if o.expose && o.port == "" {
		return fmt.Errorf("--port must be set when exposing a service")
	}
	if o.port != "" {
		if _, err := strconv.Atoi(o.port); err != nil {
			return fmt.Errorf("--port must be a number")
		}
	}
	if !o.attach && o.rm {
		return fmt.Errorf("--rm should only be used for attached containers")
	}
	if o.attach && dryRun != util.DryRunNone {
		return fmt.Errorf("--dry-run=[server|client] can't be used with attached containers options (--attach, --stdin, or --tty)")
	}
	name := args[0]
	podLabels := labels
	if len(podLabels) == 0 {
		podLabels = map[string]string{"run": name}
	}
	pod := o.pod(name, podLabels, annots, env, policy, pull, args[1:])
	var objs []created
	runObj, err := o.create(cmd, pod, ns, enforceNS, dryRun, true)
	if err != nil {
		return err
	}
	objs = append(objs, runObj)
	var errs []error
	if o.expose {
		svc, err := o.create(cmd, o.service(name, labels, podLabels), ns, enforceNS, dryRun, false)
		if err != nil {
			errs = append(errs, err)
		} else {
			objs = append(objs, svc)
		}
	}
	if o.attach {
		if o.rm {
			defer o.remove(objs)
		}
		return o.attachAndWait(cmd, runObj.obj.(*corev1.Pod), policy)
	}
	printer, err := util.Printer(o.print, dryRun)
	if err != nil {
		return err
	}
	for _, c := range objs {
		if err := printer.PrintObj(c.obj, f.Out); err != nil {
			errs = append(errs, err)
		}
	}
	return utilerrors.NewAggregate(errs)
}

// pod is the pod run creates.
func (o *options) pod(name string, labels, annots map[string]string, env []corev1.EnvVar, policy corev1.RestartPolicy, pull corev1.PullPolicy, args []string) *corev1.Pod {
	c := corev1.Container{
		Name: name, Image: o.image, Env: env,
		Stdin: o.stdin, StdinOnce: !o.leaveStdinOpen && o.stdin, TTY: o.tty,
		ImagePullPolicy: pull,
	}
	if o.privileged {
		privileged := true
		c.SecurityContext = &corev1.SecurityContext{Privileged: &privileged}
	}
	if len(args) > 0 {
		if o.command {
			c.Command = args
		} else {
			c.Args = args
		}
	}
	if o.port != "" {
		n, _ := strconv.Atoi(o.port)
		c.Ports = []corev1.ContainerPort{{ContainerPort: int32(n)}}
	}
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: annots},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{c}, DNSPolicy: corev1.DNSClusterFirst, RestartPolicy: policy},
	}
}

// service is --expose's ClusterIP Service: it carries only the labels the
// user asked for and selects the pod's.
func (o *options) service(name string, labels, selector map[string]string) *corev1.Service {
	n, _ := strconv.Atoi(o.port)
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports:    []corev1.ServicePort{{Port: int32(n), Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(int32(n))}},
		},
	}
}

// create maps obj's kind through discovery (so, as upstream, even a
// client dry run asks the server), applies --overrides (to the pod only)
// and creates it unless this is a client dry run.
func (o *options) create(cmd *cobra.Command, obj runtime.Object, ns string, enforceNS bool, dryRun util.DryRun, override bool) (created, error) {
	gvk := obj.GetObjectKind().GroupVersionKind()
	mapper, err := o.f.RESTMapper()
	if err != nil {
		return created{}, err
	}
	mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return created{}, err
	}
	if override && o.overrides != "" {
		if obj, err = util.ApplyOverrides(obj, o.overrides, o.overrideType); err != nil {
			return created{}, err
		}
	}
	if dryRun == util.DryRunClient {
		if a, err := meta.Accessor(obj); err == nil && enforceNS {
			a.SetNamespace(ns)
		}
		return created{obj: obj, mapping: mapping}, nil
	}
	if o.saveConfig {
		if _, err := util.SetLastAppliedTyped(obj); err != nil {
			return created{}, err
		}
	}
	out, err := o.f.CreateObject(context.Background(), obj, ns, dryRun, o.fieldManager, "")
	if err != nil {
		return created{}, err
	}
	return created{obj: out, mapping: mapping}, nil
}

// remove deletes what run created (--rm), printing each as delete does.
func (o *options) remove(objs []created) {
	dyn, err := o.f.Dynamic()
	if err != nil {
		return
	}
	propagation := metav1.DeletePropagationBackground
	switch o.cascade {
	case "foreground":
		propagation = metav1.DeletePropagationForeground
	case "orphan", "false":
		propagation = metav1.DeletePropagationOrphan
	}
	for _, c := range objs {
		a, err := meta.Accessor(c.obj)
		if err != nil {
			continue
		}
		err = dyn.Resource(c.mapping.Resource).Namespace(a.GetNamespace()).Delete(context.Background(), a.GetName(), metav1.DeleteOptions{PropagationPolicy: &propagation})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			fmt.Fprintf(o.f.ErrOut, "error: %v\n", err)
			continue
		}
		if !o.quiet {
			fmt.Fprintf(o.f.Out, "%s \"%s\" deleted from %s namespace\n", util.KindString(c.mapping.GroupVersionKind), a.GetName(), a.GetNamespace())
		}
	}
}

// errPodCompleted ends the wait for a running pod that has already
// finished.
var errPodCompleted = errors.New("pod ran to completion")

// attachAndWait waits for the pod to run, shows what it printed so far,
// attaches to it, and (for --restart=Never or OnFailure) waits for it to
// end and returns its container's exit code, as upstream.
func (o *options) attachAndWait(cmd *cobra.Command, pod *corev1.Pod, policy corev1.RestartPolicy) error {
	cs, err := o.f.Clientset()
	if err != nil {
		return err
	}
	ctx := context.Background()
	running, err := waitForPod(cs, pod.Namespace, pod.Name, o.timeout, runningAndReady)
	if err != nil && !errors.Is(err, errPodCompleted) {
		return err
	}
	so := &util.StreamOptions{Stdin: o.stdin, TTY: o.tty, Quiet: o.quiet}
	if running.Status.Phase == corev1.PodSucceeded || running.Status.Phase == corev1.PodFailed {
		if err := o.logs(ctx, cs, running, nil); err != nil {
			return err
		}
	} else {
		var since *metav1.Time
		if name, err := util.DefaultContainer(running, "", o.quiet, o.f.ErrOut); err == nil {
			lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if err := o.logs(lctx, cs, running, &corev1.PodLogOptions{Container: name}); err == nil {
				now := metav1.Now()
				since = &now
			} else {
				fmt.Fprintf(o.f.ErrOut, "warning: couldn't fetch pre-attach logs: %v\n", err)
			}
			cancel()
		}
		if err := attach.Run(ctx, o.f, running, so, cmd.Parent().CommandPath()+" attach"); err != nil {
			fmt.Fprintf(o.f.ErrOut, "warning: couldn't attach to pod/%s, falling back to streaming logs: %v\n", pod.Name, err)
			if err := o.logs(ctx, cs, running, &corev1.PodLogOptions{SinceTime: since}); err != nil {
				return err
			}
		}
	}
	if o.leaveStdinOpen || (policy != corev1.RestartPolicyNever && policy != corev1.RestartPolicyOnFailure) {
		return nil
	}
	done := completed
	if policy == corev1.RestartPolicyOnFailure {
		done = succeeded
	}
	final, err := waitForPod(cs, pod.Namespace, pod.Name, o.timeout, done)
	if err != nil {
		return err
	}
	switch final.Status.Phase {
	case corev1.PodSucceeded:
		return nil
	case corev1.PodFailed:
		unknown := fmt.Errorf("pod %s/%s failed with unknown exit code", final.Namespace, final.Name)
		if len(final.Status.ContainerStatuses) == 0 || final.Status.ContainerStatuses[0].State.Terminated == nil {
			return unknown
		}
		t := final.Status.ContainerStatuses[0].State.Terminated
		if t.ExitCode == 0 {
			return unknown
		}
		// Upstream prints this one without the "error: " prefix.
		msg := fmt.Sprintf("pod %s/%s terminated (%s)\n%s", final.Namespace, final.Name, t.Reason, t.Message)
		if !strings.HasSuffix(msg, "\n") {
			msg += "\n"
		}
		fmt.Fprint(o.f.ErrOut, msg)
		return &util.ExitCodeError{Code: int(t.ExitCode)}
	}
	return fmt.Errorf("pod %s/%s left in phase %s", final.Namespace, final.Name, final.Status.Phase)
}

// logs copies the pod's log (opts nil: the default container's) to out.
func (o *options) logs(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod, opts *corev1.PodLogOptions) error {
	if opts == nil {
		name, err := util.DefaultContainer(pod, "", o.quiet, o.f.ErrOut)
		if err != nil {
			return err
		}
		opts = &corev1.PodLogOptions{Container: name}
	}
	if opts.Container == "" {
		name, err := util.DefaultContainer(pod, "", true, nil)
		if err != nil {
			return err
		}
		opts.Container = name
	}
	rc, err := cs.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, opts).Stream(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(o.f.Out, rc)
	return err
}

// waitForPod watches the pod until done says so, for at most timeout.
func waitForPod(cs kubernetes.Interface, ns, name string, timeout time.Duration, done watchtools.ConditionFunc) (*corev1.Pod, error) {
	ctx, cancel := watchtools.ContextWithOptionalTimeout(context.Background(), timeout)
	defer cancel()
	selector := fields.OneTermEqualSelector("metadata.name", name).String()
	pods := cs.CoreV1().Pods(ns)
	lw := &cache.ListWatch{
		ListFunc: func(options metav1.ListOptions) (runtime.Object, error) {
			options.FieldSelector = selector
			return pods.List(context.Background(), options)
		},
		WatchFunc: func(options metav1.ListOptions) (watch.Interface, error) {
			options.FieldSelector = selector
			return pods.Watch(context.Background(), options)
		},
	}
	// The list and watch outlive ctx, as upstream's: ending them with it
	// makes the reflector log a closed watch before the timeout is seen.
	ev, err := watchtools.UntilWithSync(ctx, lw, &corev1.Pod{}, nil, done)
	var pod *corev1.Pod
	if ev != nil {
		pod, _ = ev.Object.(*corev1.Pod)
	}
	if pod == nil && err == nil {
		err = fmt.Errorf("pod %s/%s: no status", ns, name)
	}
	return pod, err
}

func deletedErr(ev watch.Event) error {
	if ev.Type == watch.Deleted {
		return apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "")
	}
	return nil
}

// completed: the pod has ended, either way.
func completed(ev watch.Event) (bool, error) {
	if err := deletedErr(ev); err != nil {
		return false, err
	}
	if p, ok := ev.Object.(*corev1.Pod); ok {
		return p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded, nil
	}
	return false, nil
}

// succeeded: the pod has ended well.
func succeeded(ev watch.Event) (bool, error) {
	if err := deletedErr(ev); err != nil {
		return false, err
	}
	if p, ok := ev.Object.(*corev1.Pod); ok {
		return p.Status.Phase == corev1.PodSucceeded, nil
	}
	return false, nil
}

// runningAndReady: the pod runs and is ready; errPodCompleted when it
// has ended already.
func runningAndReady(ev watch.Event) (bool, error) {
	if err := deletedErr(ev); err != nil {
		return false, err
	}
	p, ok := ev.Object.(*corev1.Pod)
	if !ok {
		return false, nil
	}
	switch p.Status.Phase {
	case corev1.PodFailed, corev1.PodSucceeded:
		return false, errPodCompleted
	case corev1.PodRunning:
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
	}
	return false, nil
}

func restartPolicy(restart string, interactive bool) (corev1.RestartPolicy, error) {
	if restart == "" {
		if interactive {
			return corev1.RestartPolicyOnFailure, nil
		}
		return corev1.RestartPolicyAlways, nil
	}
	p := corev1.RestartPolicy(restart)
	switch p {
	case corev1.RestartPolicyAlways, corev1.RestartPolicyNever, corev1.RestartPolicyOnFailure:
		return p, nil
	}
	return "", fmt.Errorf("invalid restart policy: %s, valid values are: %s, %s, %s", restart, corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever)
}

// parsePairs reads KEY=VALUE pairs, listing every malformed one.
func parsePairs(pairs []string, kind string) (map[string]string, error) {
	out := map[string]string{}
	var bad []string
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			bad = append(bad, p)
			continue
		}
		out[k] = v
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("invalid %s format: %s", kind, strings.Join(bad, ", "))
	}
	return out, nil
}

func parseLabels(spec string) (map[string]string, error) {
	if spec == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range strings.Split(spec, ",") {
		parts := strings.Split(kv, "=")
		if len(parts) != 2 {
			return nil, fmt.Errorf("unexpected label spec: %s", kv)
		}
		if parts[0] == "" {
			return nil, fmt.Errorf("unexpected empty label key")
		}
		out[parts[0]] = parts[1]
	}
	return out, nil
}

func parseEnvs(envs []string) ([]corev1.EnvVar, error) {
	out := make([]corev1.EnvVar, 0, len(envs))
	for _, e := range envs {
		k, v, ok := strings.Cut(e, "=")
		if !ok || k == "" || len(validation.IsEnvVarName(k)) != 0 {
			return nil, fmt.Errorf("invalid env: %v", e)
		}
		out = append(out, corev1.EnvVar{Name: k, Value: v})
	}
	return out, nil
}
