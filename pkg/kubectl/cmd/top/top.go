// Package top is `kubectl top node|pod`: CPU and memory use from the
// resource metrics API (metrics.k8s.io) when the cluster serves it.
package top

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"text/tabwriter"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

// metricsItem is a NodeMetrics or PodMetrics, as far as top reads them.
type metricsItem struct {
	Metadata   metav1.ObjectMeta   `json:"metadata"`
	Usage      corev1.ResourceList `json:"usage"`
	Containers []struct {
		Name  string              `json:"name"`
		Usage corev1.ResourceList `json:"usage"`
	} `json:"containers"`
}

type metricsList struct {
	Items []metricsItem `json:"items"`
}

// New returns the top command.
func New(f *util.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "top",
		Short: "Display resource (CPU/memory) usage",
		Long: `Display resource (CPU/memory) usage.

 The top command allows you to see the resource consumption for nodes or pods.

 This command requires Metrics Server to be correctly configured and working on the server.`,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newNode(f), newPod(f))
	return cmd
}

type options struct {
	f             *util.Factory
	selector      string
	noHeaders     bool
	sortBy        string
	allNamespaces bool
	containers    bool
}

// selectorUsage is the --selector help of both subcommands.
const selectorUsage = "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints."

// subcommand is `top node` or `top pod` with the flags both have: run gets
// the NAME argument, if any (at most one).
func (o *options) subcommand(use, short string, aliases []string, run func(ctx context.Context, name string) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   use,
		DisableFlagsInUseLine: true,
		Short:                 short,
		Aliases:               aliases,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return util.UsageError(cmd, "%s", cmd.Use)
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			return run(ctx, name)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.selector, "selector", "l", "", selectorUsage)
	fl.Bool("use-protocol-buffers", true, "Enables using protocol-buffers to access Metrics API.")
	return cmd
}

func newNode(f *util.Factory) *cobra.Command {
	o := &options{f: f}
	cmd := o.subcommand("node [NAME | -l label]", "Display resource (CPU/memory) usage of nodes", []string{"nodes", "no"}, o.runNode)
	fl := cmd.Flags()
	fl.StringVar(&o.sortBy, "sort-by", "", "If non-empty, sort nodes list using specified field. The field can be either 'cpu' or 'memory'.")
	fl.BoolVar(&o.noHeaders, "no-headers", false, "If present, print output without headers")
	fl.Bool("show-capacity", false, "Print node resources based on Capacity instead of Allocatable(default) of the nodes.")
	fl.Bool("show-swap", false, "Print node resources related to swap memory.")
	return cmd
}

func newPod(f *util.Factory) *cobra.Command {
	o := &options{f: f}
	cmd := o.subcommand("pod [NAME | -l label]", "Display resource (CPU/memory) usage of pods", []string{"pods", "po"}, o.runPod)
	fl := cmd.Flags()
	fl.StringVar(&o.sortBy, "sort-by", "", "If non-empty, sort pods list using specified field. The field can be either 'cpu' or 'memory'.")
	fl.BoolVar(&o.noHeaders, "no-headers", false, "If present, print output without headers.")
	fl.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "If present, list the requested object(s) across all namespaces. Namespace in current context is ignored even if specified with --namespace.")
	fl.BoolVar(&o.containers, "containers", false, "If present, print usage of containers within a pod.")
	fl.Bool("sum", false, "Print the sum of the resource usage")
	return cmd
}

// metricsVersion is the metrics.k8s.io version the server serves; an
// error when it serves none.
func (o *options) metricsVersion() (string, error) {
	dc, err := o.f.Discovery()
	if err != nil {
		return "", err
	}
	groups, err := dc.ServerGroups()
	if err != nil {
		return "", err
	}
	for _, g := range groups.Groups {
		if g.Name != "metrics.k8s.io" {
			continue
		}
		for _, v := range g.Versions {
			if v.Version == "v1beta1" {
				return v.Version, nil
			}
		}
	}
	return "", errors.New("Metrics API not available")
}

// validate checks --sort-by and that name and --selector are not both
// given; conflict is the error for both.
func (o *options) validate(name, conflict string) error {
	if o.sortBy != "" && o.sortBy != "cpu" && o.sortBy != "memory" {
		return errors.New("--sort-by accepts only cpu or memory")
	}
	if name != "" && o.selector != "" {
		return errors.New(conflict)
	}
	return nil
}

func (o *options) fetch(ctx context.Context, version, ns, resourceName, name string) ([]metricsItem, error) {
	cs, err := o.f.Clientset()
	if err != nil {
		return nil, err
	}
	req := cs.CoreV1().RESTClient().Get().AbsPath("/apis/metrics.k8s.io", version)
	if ns != "" {
		req = req.Namespace(ns)
	}
	req = req.Resource(resourceName)
	if name != "" {
		req = req.Name(name)
	} else if o.selector != "" {
		req = req.Param("labelSelector", o.selector)
	}
	raw, err := req.DoRaw(ctx)
	if err != nil {
		return nil, err
	}
	if name != "" {
		var one metricsItem
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, err
		}
		return []metricsItem{one}, nil
	}
	var list metricsList
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, err
	}
	return list.Items, nil
}

func (o *options) sortItems(items []metricsItem) {
	key := func(m metricsItem) int64 {
		switch o.sortBy {
		case "cpu":
			return m.Usage.Cpu().MilliValue()
		case "memory":
			return m.Usage.Memory().Value()
		}
		return 0
	}
	sort.SliceStable(items, func(i, j int) bool {
		if o.sortBy == "" {
			return items[i].Metadata.Name < items[j].Metadata.Name
		}
		return key(items[i]) > key(items[j])
	})
}

func cpuString(q resource.Quantity) string    { return fmt.Sprintf("%vm", q.MilliValue()) }
func memoryString(q resource.Quantity) string { return fmt.Sprintf("%vMi", q.Value()/(1024*1024)) }

func (o *options) runNode(ctx context.Context, name string) error {
	if err := o.validate(name, "only one of NAME or --selector can be provided"); err != nil {
		return err
	}
	version, err := o.metricsVersion()
	if err != nil {
		return err
	}
	items, err := o.fetch(ctx, version, "", "nodes", name)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return errors.New("metrics not available yet")
	}
	cs, err := o.f.Clientset()
	if err != nil {
		return err
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: o.selector})
	if err != nil {
		return err
	}
	alloc := map[string]corev1.ResourceList{}
	for _, n := range nodes.Items {
		alloc[n.Name] = n.Status.Allocatable
	}
	o.sortItems(items)
	w := tabwriter.NewWriter(o.f.Out, 10, 4, 3, ' ', 0)
	if !o.noHeaders {
		fmt.Fprintln(w, "NAME\tCPU(cores)\tCPU(%)\tMEMORY(bytes)\tMEMORY(%)\t")
	}
	for _, m := range items {
		a := alloc[m.Metadata.Name]
		cpu, mem := m.Usage.Cpu(), m.Usage.Memory()
		fmt.Fprintf(w, "%s\t%s\t%d%%\t%s\t%d%%\t\n", m.Metadata.Name,
			cpuString(*cpu), pct(cpu.MilliValue(), a.Cpu().MilliValue()),
			memoryString(*mem), pct(mem.Value(), a.Memory().Value()))
	}
	return w.Flush()
}

func pct(v, of int64) int64 {
	if of == 0 {
		return 0
	}
	return int64(float64(v) / float64(of) * 100)
}

func (o *options) runPod(ctx context.Context, name string) error {
	if err := o.validate(name, "only one of NAME or selector can be provided"); err != nil {
		return err
	}
	ns, _, err := o.f.Namespace()
	if err != nil {
		return err
	}
	version, err := o.metricsVersion()
	if err != nil {
		return err
	}
	listNS := ns
	if o.allNamespaces {
		listNS = ""
	}
	items, err := o.fetch(ctx, version, listNS, "pods", name)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		if o.allNamespaces {
			fmt.Fprintln(o.f.ErrOut, "No resources found")
		} else {
			fmt.Fprintf(o.f.ErrOut, "No resources found in %s namespace.\n", ns)
		}
		return nil
	}
	o.sortItems(items)
	w := tabwriter.NewWriter(o.f.Out, 10, 4, 3, ' ', 0)
	if !o.noHeaders {
		h := "NAME\tCPU(cores)\tMEMORY(bytes)\t"
		if o.containers {
			h = "POD\tNAME\tCPU(cores)\tMEMORY(bytes)\t"
		}
		if o.allNamespaces {
			h = "NAMESPACE\t" + h
		}
		fmt.Fprintln(w, h)
	}
	for _, m := range items {
		prefix := ""
		if o.allNamespaces {
			prefix = m.Metadata.Namespace + "\t"
		}
		if o.containers {
			for _, c := range m.Containers {
				fmt.Fprintf(w, "%s%s\t%s\t%s\t%s\t\n", prefix, m.Metadata.Name, c.Name, cpuString(*c.Usage.Cpu()), memoryString(*c.Usage.Memory()))
			}
			continue
		}
		cpu, mem := resource.Quantity{}, resource.Quantity{}
		for _, c := range m.Containers {
			cpu.Add(*c.Usage.Cpu())
			mem.Add(*c.Usage.Memory())
		}
		fmt.Fprintf(w, "%s%s\t%s\t%s\t\n", prefix, m.Metadata.Name, cpuString(cpu), memoryString(mem))
	}
	return w.Flush()
}
