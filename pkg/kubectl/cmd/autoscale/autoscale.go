// Package autoscale is `kubectl autoscale`: create an autoscaling/v2
// HorizontalPodAutoscaler for a scalable workload (falling back to
// autoscaling/v1 when the server refuses v2 and the target fits v1).
package autoscale

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	apiresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/scale"
	"k8s.io/klog/v2"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

type options struct {
	f                *util.Factory
	print            *genericclioptions.PrintFlags
	filenames        resource.FilenameOptions
	min, max         int32
	cpuPercent       int32
	cpu, memory      string
	name             string
	fieldManager     string
	saveConfig       bool
	dryRun           util.DryRun
	namespace        string
	enforceNamespace bool
}

// New returns the autoscale command.
func New(f *util.Factory) *cobra.Command {
	o := &options{f: f, print: util.NewPrintFlags("autoscaled")}
	cmd := &cobra.Command{
		Use:                   "autoscale (-f FILENAME | TYPE NAME | TYPE/NAME) [--min=MINPODS] --max=MAXPODS [--cpu=CPU] [--memory=MEMORY]",
		DisableFlagsInUseLine: true,
		Short:                 "Auto-scale a deployment, replica set, stateful set, or replication controller",
		Long: `Creates an autoscaler that automatically chooses and sets the number of pods that run in a Kubernetes cluster. The command will attempt to use the autoscaling/v2 API first, in case of an error, it will fall back to autoscaling/v1 API.

 Looks up a deployment, replica set, stateful set, or replication controller by name and creates an autoscaler that uses the given resource as a reference. An autoscaler can automatically increase or decrease number of pods deployed within the system as needed.`,
		Example: `  # Auto scale a deployment "foo", with the number of pods between 2 and 10, no target CPU utilization specified so a default autoscaling policy will be used
  kubectl autoscale deployment foo --min=2 --max=10

  # Auto scale a replication controller "foo", with the number of pods between 1 and 5, target CPU utilization at 80%
  kubectl autoscale rc foo --max=5 --cpu=80%

  # Auto scale a deployment "bar", with the number of pods between 3 and 6, target average CPU of 500m and memory of 200Mi
  kubectl autoscale deployment bar --min=3 --max=6 --cpu=500m --memory=200Mi

  # Auto scale a deployment "bar", with the number of pods between 2 and 8, target CPU utilization 60% and memory utilization 70%
  kubectl autoscale deployment bar --min=2 --max=8 --cpu=60% --memory=70%`,
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args) },
	}
	o.print.AddFlags(cmd)
	flags := cmd.Flags()
	flags.Int32Var(&o.min, "min", -1, "The lower limit for the number of pods that can be set by the autoscaler. If it's not specified or negative, the server will apply a default value.")
	flags.Int32Var(&o.max, "max", -1, "The upper limit for the number of pods that can be set by the autoscaler. Required.")
	cmd.MarkFlagRequired("max")
	flags.Int32Var(&o.cpuPercent, "cpu-percent", -1, "The target average CPU utilization (represented as a percent of requested CPU) over all the pods. If it's not specified or negative, a default autoscaling policy will be used.")
	flags.MarkDeprecated("cpu-percent", cpuPercentDeprecation)
	flags.StringVar(&o.cpu, "cpu", "", `Target CPU utilization over all the pods. When specified as a percentage (e.g."70%" for 70% of requested CPU) it will target average utilization. When specified as quantity (e.g."500m" for 500 milliCPU) it will target average value. Value without units is treated as a quantity with miliCPU being the unit (e.g."500" is "500m").`)
	flags.StringVar(&o.memory, "memory", "", `Target memory utilization over all the pods. When specified  as a percentage (e.g."60%" for 60% of requested memory) it will target average utilization. When specified as quantity (e.g."200Mi" for 200 MiB, "1Gi" for 1 GiB) it will target average value. Value without units is treated as a quantity with mebibytes being the unit (e.g."200" is "200Mi").`)
	flags.StringVar(&o.name, "name", "", "The name for the newly created object. If not specified, the name of the input resource will be used.")
	util.AddDryRunFlag(cmd)
	flags.StringSliceVarP(&o.filenames.Filenames, "filename", "f", nil, "Filename, directory, or URL to files identifying the resource to autoscale.")
	flags.StringVarP(&o.filenames.Kustomize, "kustomize", "k", "", "Process the kustomization directory. This flag can't be used together with -f or -R.")
	flags.BoolVarP(&o.filenames.Recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively. Useful when you want to manage related manifests organized within the same directory.")
	flags.BoolVar(&o.saveConfig, "save-config", false, "If true, the configuration of current object will be saved in its annotation. Otherwise, the annotation will be unchanged. This flag is useful when you want to perform kubectl apply on this object in the future.")
	util.AddFieldManagerFlag(cmd, &o.fieldManager, "kubectl-autoscale")
	return cmd
}

const cpuPercentDeprecation = "Use --cpu with percentage or resource quantity format (e.g., '70%' for utilization or '500m' for milliCPU)."

func (o *options) run(cmd *cobra.Command, args []string) error {
	var err error
	if o.dryRun, err = util.GetDryRun(cmd); err != nil {
		return err
	}
	disc, err := o.f.Discovery()
	if err != nil {
		return err
	}
	resolver := scale.NewDiscoveryScaleKindResolver(disc)
	if o.namespace, o.enforceNamespace, err = o.f.Namespace(); err != nil {
		return err
	}
	if o.max < 1 {
		return fmt.Errorf("--max=MAXPODS is required and must be at least 1, max: %d", o.max)
	}
	if o.max < o.min {
		return fmt.Errorf("--max=MAXPODS must be larger or equal to --min=MINPODS, max: %d, min: %d", o.max, o.min)
	}
	if o.cpuPercent > 0 && o.cpu != "" {
		return fmt.Errorf("--cpu-percent and --cpu are mutually exclusive")
	}
	for _, t := range o.resourceTargets() {
		if t.spec != "" {
			if _, _, _, err := parseTarget(t.spec, t.res); err != nil {
				return err
			}
		}
	}
	r := o.f.NewBuilder().
		Unstructured().
		ContinueOnError().
		NamespaceParam(o.namespace).DefaultNamespace().
		FilenameParam(o.enforceNamespace, &o.filenames).
		ResourceTypeOrNameArgs(false, args...).
		Flatten().
		Do()
	if err := r.Err(); err != nil {
		return err
	}
	count := 0
	err = r.Visit(func(info *resource.Info, err error) error {
		if err != nil {
			return err
		}
		mapping := info.ResourceMapping()
		gvr := mapping.GroupVersionKind.GroupVersion().WithResource(mapping.Resource.Resource)
		if _, err := resolver.ScaleForResource(gvr); err != nil {
			return fmt.Errorf("cannot autoscale a %s: %w", mapping.GroupVersionKind.Kind, err)
		}
		v2, err := o.hpaV2(info.Name, mapping)
		if err != nil {
			return fmt.Errorf("failed to create HorizontalPodAutoscaler using autoscaling/v2 API: %w", err)
		}
		if err := o.create(v2); err != nil {
			klog.V(1).Infof("Encountered an error with the autoscaling/v2 HorizontalPodAutoscaler: %v. Falling back to try the autoscaling/v1 HorizontalPodAutoscaler", err)
			if ok, err := o.fitsV1(); !ok {
				return fmt.Errorf("failed to create autoscaling/v2 HPA and the configuration is incompatible with autoscaling/v1: %w", err)
			}
			if err := o.create(o.hpaV1(info.Name, mapping)); err != nil {
				return err
			}
		}
		count++
		return nil
	})
	if err != nil {
		return err
	}
	if count == 0 {
		return fmt.Errorf("no objects passed to autoscale")
	}
	return nil
}

// fitsV1: the target can be written as an autoscaling/v1 HPA (a CPU
// utilization at most).
func (o *options) fitsV1() (bool, error) {
	_, _, kind, err := parseTarget(o.cpu, corev1.ResourceCPU)
	if err != nil {
		return false, err
	}
	return (o.cpuPercent >= 0 && o.memory == "") || (o.memory == "" && kind == autoscalingv2.UtilizationMetricType), nil
}

func (o *options) create(hpa runtime.Object) error {
	if o.dryRun == util.DryRunClient {
		printer, err := util.PrinterWithOperation(o.print, o.dryRun, "created")
		if err != nil {
			return err
		}
		return printer.PrintObj(hpa, o.f.Out)
	}
	if o.saveConfig {
		if _, err := util.SetLastAppliedTyped(hpa); err != nil {
			return err
		}
	}
	cs, err := o.f.Clientset()
	if err != nil {
		return err
	}
	opts := metav1.CreateOptions{FieldManager: o.fieldManager}
	if o.dryRun == util.DryRunServer {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	var actual runtime.Object
	switch h := hpa.(type) {
	case *autoscalingv2.HorizontalPodAutoscaler:
		actual, err = cs.AutoscalingV2().HorizontalPodAutoscalers(o.namespace).Create(context.Background(), h, opts)
	case *autoscalingv1.HorizontalPodAutoscaler:
		actual, err = cs.AutoscalingV1().HorizontalPodAutoscalers(o.namespace).Create(context.Background(), h, opts)
	default:
		return fmt.Errorf("unsupported HorizontalPodAutoscaler type %T", hpa)
	}
	if err != nil {
		return err
	}
	printer, err := util.PrinterWithOperation(o.print, o.dryRun, "autoscaled")
	if err != nil {
		return err
	}
	return printer.PrintObj(actual, o.f.Out)
}

// resourceTarget is a --cpu or --memory target as given.
type resourceTarget struct {
	spec string
	res  corev1.ResourceName
}

// resourceTargets are the --cpu and --memory targets, in that order.
func (o *options) resourceTargets() []resourceTarget {
	return []resourceTarget{{o.cpu, corev1.ResourceCPU}, {o.memory, corev1.ResourceMemory}}
}

// hpaBase is what both HorizontalPodAutoscaler versions share: the name
// (--name, else the target's), the target ref (the same fields in
// autoscaling/v1 and v2) and the lower limit when --min is set.
func (o *options) hpaBase(ref string, mapping *meta.RESTMapping) (metav1.ObjectMeta, autoscalingv2.CrossVersionObjectReference, *int32) {
	name := o.name
	if name == "" {
		name = ref
	}
	target := autoscalingv2.CrossVersionObjectReference{
		APIVersion: mapping.GroupVersionKind.GroupVersion().String(),
		Kind:       mapping.GroupVersionKind.Kind,
		Name:       ref,
	}
	var minReplicas *int32
	if o.min > 0 {
		m := o.min
		minReplicas = &m
	}
	return metav1.ObjectMeta{Name: name}, target, minReplicas
}

func (o *options) hpaV2(ref string, mapping *meta.RESTMapping) (*autoscalingv2.HorizontalPodAutoscaler, error) {
	objMeta, target, minReplicas := o.hpaBase(ref, mapping)
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: objMeta,
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: target,
			MinReplicas:    minReplicas,
			MaxReplicas:    o.max,
		},
	}
	var metrics []autoscalingv2.MetricSpec
	if o.cpuPercent > 0 {
		p := o.cpuPercent
		metrics = append(metrics, autoscalingv2.MetricSpec{
			Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &p}},
		})
	}
	for _, m := range o.resourceTargets() {
		if m.spec == "" {
			continue
		}
		q, v, kind, err := parseTarget(m.spec, m.res)
		if err != nil {
			return nil, err
		}
		target := autoscalingv2.MetricTarget{Type: kind}
		if kind == autoscalingv2.UtilizationMetricType {
			target.AverageUtilization = &v
		} else {
			target.AverageValue = &q
		}
		metrics = append(metrics, autoscalingv2.MetricSpec{
			Type:     autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricSource{Name: m.res, Target: target},
		})
	}
	hpa.Spec.Metrics = metrics
	return hpa, nil
}

func (o *options) hpaV1(ref string, mapping *meta.RESTMapping) *autoscalingv1.HorizontalPodAutoscaler {
	objMeta, target, minReplicas := o.hpaBase(ref, mapping)
	hpa := &autoscalingv1.HorizontalPodAutoscaler{
		ObjectMeta: objMeta,
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference(target),
			MinReplicas:    minReplicas,
			MaxReplicas:    o.max,
		},
	}
	if o.cpuPercent >= 0 {
		c := o.cpuPercent
		hpa.Spec.TargetCPUUtilizationPercentage = &c
	}
	return hpa
}

// parseTarget reads a --cpu or --memory target: "70%" is an average
// utilization; a quantity ("500m", "2Gi") or a bare number (milliCPU or
// mebibytes) an average value.
func parseTarget(input string, res corev1.ResourceName) (apiresource.Quantity, int32, autoscalingv2.MetricTargetType, error) {
	input = strings.TrimSpace(input)
	if input == "" {
		return apiresource.Quantity{}, 0, "", errors.New("empty input")
	}
	if p, ok := strings.CutSuffix(input, "%"); ok {
		n, err := strconv.ParseInt(p, 10, 32)
		if err != nil || n < 0 {
			return apiresource.Quantity{}, 0, "", fmt.Errorf("invalid percentage value: %s", p)
		}
		return apiresource.Quantity{}, int32(n), autoscalingv2.UtilizationMetricType, nil
	}
	if f, err := strconv.ParseFloat(input, 64); err == nil {
		var unit string
		switch res {
		case corev1.ResourceCPU:
			unit = "m"
		case corev1.ResourceMemory:
			unit = "Mi"
		default:
			return apiresource.Quantity{}, 0, "", fmt.Errorf("unsupported resource type: %v", res)
		}
		q, err := apiresource.ParseQuantity(fmt.Sprintf("%g%s", f, unit))
		if err != nil {
			return apiresource.Quantity{}, 0, "", err
		}
		return q, 0, autoscalingv2.AverageValueMetricType, nil
	}
	q, err := apiresource.ParseQuantity(input)
	if err != nil {
		return apiresource.Quantity{}, 0, "", fmt.Errorf("invalid resource %s value: %s", res, input)
	}
	return q, 0, autoscalingv2.AverageValueMetricType, nil
}
