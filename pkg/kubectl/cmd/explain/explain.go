// Package explain is `kubectl explain`: the documentation of a resource
// and its fields, read from the server's OpenAPI v3 document of the
// resource's group version and printed as upstream's plaintext template
// prints it.
//
//	TYPE[.FIELD...] ──► REST mapper (short names, plural/singular, group
//	                    prefix "deployments.apps.spec") ──► group version
//	                    resource + field path
//	/openapi/v3 ──► /openapi/v3/apis/<group>/<version> ──► renderer: the
//	                    kind from the resource's paths, its schema from
//	                    components, then the walk down the field path
package explain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/openapi"
	"k8s.io/client-go/openapi/cached"
	"k8s.io/client-go/util/jsonpath"
	"k8s.io/kube-openapi/pkg/util/proto"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

const (
	formatPlaintext   = "plaintext"
	formatPlaintextV2 = "plaintext-openapiv2"
)

type options struct {
	apiVersion string
	output     string
	recursive  bool
	maxDepth   int
}

// New returns the explain command.
func New(f *util.Factory) *cobra.Command {
	o := &options{output: formatPlaintext}
	cmd := &cobra.Command{
		Use:                   "explain TYPE [--recursive=FALSE|TRUE] [--api-version=api-version-group] [-o|--output=plaintext|plaintext-openapiv2]",
		DisableFlagsInUseLine: true,
		Short:                 "Get documentation for a resource",
		Long: `Describe fields and structure of various resources.

 This command describes the fields associated with each supported API resource. Fields are identified via a simple JSONPath identifier:

        TYPE.FIELDNAME[.FIELDNAME]
        ` + `
 Information about each field is retrieved from the server in OpenAPI format.

Use "kubectl api-resources" for a complete list of supported resources.`,
		Example: `  # Get the documentation of the resource and its fields
  kubectl explain pods
  
  # Get all the fields in the resource
  kubectl explain pods --recursive
  
  # Get fields in the resource up to a specific recursive depth
  kubectl explain pods --recursive --max-depth=2
  
  # Get the explanation for deployment in supported api versions
  kubectl explain deployments --api-version=apps/v1
  
  # Get the documentation of a specific field of a resource
  kubectl explain pods.spec.containers
  
  # Get the documentation of resources in different format
  kubectl explain deployment --output=plaintext-openapiv2`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.validate(cmd, args); err != nil {
				return err
			}
			return o.run(f, args[0])
		},
	}
	cmd.Flags().BoolVarP(&o.recursive, "recursive", "R", false, "Print the fields of fields. Use --max-depth to cap the recursion depth.")
	cmd.Flags().StringVar(&o.apiVersion, "api-version", "", "Get different explanations for particular API version (API group/version)")
	cmd.Flags().StringVarP(&o.output, "output", "o", formatPlaintext, "Format in which to render the schema (plaintext, plaintext-openapiv2)")
	cmd.Flags().IntVar(&o.maxDepth, "max-depth", 0, "Maximum recursion depth when printing nested fields with --recursive. 0 means no limit. Requires --recursive when greater than 0.")
	return cmd
}

func (o *options) validate(cmd *cobra.Command, args []string) error {
	switch {
	case len(args) == 0:
		return fmt.Errorf("You must specify the type of resource to explain. Use \"%s api-resources\" for a complete list of supported resources.\n", cmd.Root().Name())
	case len(args) > 1:
		return fmt.Errorf("We accept only this format: explain RESOURCE\n")
	case o.maxDepth > 0 && !o.recursive:
		return fmt.Errorf("--max-depth requires --recursive")
	case o.maxDepth < 0:
		return fmt.Errorf("--max-depth must be non-negative")
	}
	return nil
}

func (o *options) run(f *util.Factory, arg string) error {
	mapper, err := f.RESTMapper()
	if err != nil {
		return err
	}
	dc, err := f.Discovery()
	if err != nil {
		return err
	}
	client := cached.NewClient(dc.OpenAPIV3())

	var gvr schema.GroupVersionResource
	var fieldPath []string
	if o.apiVersion == "" {
		gvr, fieldPath, err = resolveWithGroupPrefix(arg, mapper)
	} else {
		gvr, fieldPath, err = resolve(arg, mapper)
	}
	if err != nil {
		return err
	}

	switch o.output {
	case formatPlaintextV2:
		return o.runV2(f, mapper, gvr, fieldPath)
	case formatPlaintext:
		// A server without OpenAPI v3 gets the v2 explanation.
		if _, err := client.Paths(); err != nil {
			return o.runV2(f, mapper, gvr, fieldPath)
		}
	default:
		// Upstream looks the document up first and then finds no
		// template of that name; so do we, for the same errors.
	}
	if o.apiVersion != "" {
		gv, err := schema.ParseGroupVersion(o.apiVersion)
		if err != nil {
			return err
		}
		gvr.Group, gvr.Version = gv.Group, gv.Version
	}
	doc, err := groupVersionDocument(client, gvr)
	if err != nil {
		return err
	}
	if o.output != formatPlaintext {
		return fmt.Errorf("unrecognized format: %s", o.output)
	}
	r := &renderer{doc: doc, recursive: o.recursive, maxDepth: o.maxDepth}
	var out bytes.Buffer
	err = r.render(&out, gvr, fieldPath)
	f.Out.Write(out.Bytes())
	return err
}

// runV2 explains from the swagger 2.0 document: the kind comes from the
// mapper (with --api-version's group version), the model from the
// document's x-kubernetes-group-version-kind.
func (o *options) runV2(f *util.Factory, mapper meta.RESTMapper, gvr schema.GroupVersionResource, fieldPath []string) error {
	gvk, _ := mapper.KindFor(gvr)
	if gvk.Empty() {
		var err error
		if gvk, err = mapper.KindFor(gvr.GroupResource().WithVersion("")); err != nil {
			return err
		}
	}
	if o.apiVersion != "" {
		gv, err := schema.ParseGroupVersion(o.apiVersion)
		if err != nil {
			return err
		}
		gvk = gv.WithKind(gvk.Kind)
	}
	dc, err := f.Discovery()
	if err != nil {
		return err
	}
	doc, err := dc.OpenAPISchema()
	if err != nil {
		return err
	}
	models, err := proto.NewOpenAPIData(doc)
	if err != nil {
		return err
	}
	name, ok := v2Resources(models)[gvk]
	var model proto.Schema
	if ok {
		model = models.LookupModel(name)
	}
	if model == nil {
		return fmt.Errorf("couldn't find resource for %q", gvk)
	}
	s, err := v2Lookup(model, fieldPath)
	if err != nil {
		return err
	}
	if s == nil {
		return fmt.Errorf("field %q has no schema", strings.Join(fieldPath, "."))
	}
	m := &v2Model{out: v2Printer{w: f.Out}, gvk: gvk, recursive: o.recursive, maxDepth: o.maxDepth}
	if len(fieldPath) > 0 {
		m.name = fieldPath[len(fieldPath)-1]
	}
	m.print(s)
	return nil
}

// groupVersionDocument fetches and decodes the OpenAPI v3 document of
// gvr's group version.
func groupVersionDocument(client openapi.Client, gvr schema.GroupVersionResource) (map[string]any, error) {
	paths, err := client.Paths()
	if err != nil {
		return nil, fmt.Errorf("failed to fetch list of groupVersions: %w", err)
	}
	path := "api/" + gvr.Version
	if gvr.Group != "" {
		path = "apis/" + gvr.Group + "/" + gvr.Version
	}
	gv, ok := paths[path]
	if !ok {
		return nil, fmt.Errorf("couldn't find resource for \"%v\"", gvr)
	}
	data, err := gv.Schema(runtime.ContentTypeJSON)
	if err != nil {
		return nil, fmt.Errorf("failed to fetch openapi schema for %s: %w", path, err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("failed to parse openapi schema for %s: %w", path, err)
	}
	return doc, nil
}

// parsePath splits "pods.spec.containers" into its field names with the
// JSONPath parser, as upstream (so "a[0]" is refused the same way).
func parsePath(in string) ([]jsonpath.Node, error) {
	in = strings.TrimSuffix(in, ".")
	p, err := jsonpath.Parse("user", "{."+in+"}")
	if err != nil {
		return nil, err
	}
	if len(p.Root.Nodes) != 1 {
		return nil, fmt.Errorf("must pass in 1 jsonpath string")
	}
	return p.Root.Nodes[0].(*jsonpath.ListNode).Nodes, nil
}

// fieldNames are the values of field nodes; any other node is an error
// with msg.
func fieldNames(nodes []jsonpath.Node, msg string) ([]string, error) {
	var names []string
	for _, n := range nodes {
		field, ok := n.(*jsonpath.FieldNode)
		if !ok {
			return nil, fmt.Errorf("%s", msg)
		}
		names = append(names, field.Value)
	}
	return names, nil
}

// resolve maps the first name of arg to one resource and the rest to a
// field path (used with --api-version).
func resolve(arg string, mapper meta.RESTMapper) (schema.GroupVersionResource, []string, error) {
	nodes, err := parsePath(arg)
	if err != nil {
		return schema.GroupVersionResource{}, nil, err
	}
	first, ok := nodes[0].(*jsonpath.FieldNode)
	if !ok {
		return schema.GroupVersionResource{}, nil, fmt.Errorf("invalid jsonpath syntax, first node must be field node")
	}
	gvr, err := mapper.ResourceFor(schema.GroupVersionResource{Resource: first.Value})
	if err != nil {
		return schema.GroupVersionResource{}, nil, err
	}
	fields, err := fieldNames(nodes[1:], "invalid jsonpath syntax, all nodes must be field nodes")
	if err != nil {
		return schema.GroupVersionResource{}, nil, err
	}
	return gvr, fields, nil
}

// resolveWithGroupPrefix is resolve, except that a resource whose
// "resource.group" prefixes arg wins ("deployments.apps.spec" is the
// field spec of apps' deployments); otherwise the mapper's first choice.
func resolveWithGroupPrefix(arg string, mapper meta.RESTMapper) (schema.GroupVersionResource, []string, error) {
	const notField = "invalid jsonpath syntax, first node must be field node"
	nodes, err := parsePath(arg)
	if err != nil {
		return schema.GroupVersionResource{}, nil, err
	}
	first, ok := nodes[0].(*jsonpath.FieldNode)
	if !ok {
		return schema.GroupVersionResource{}, nil, fmt.Errorf(notField)
	}
	gvrs, err := mapper.ResourcesFor(schema.GroupVersionResource{Resource: first.Value})
	if err != nil {
		return schema.GroupVersionResource{}, nil, err
	}
	for _, gvr := range gvrs {
		prefix := gvr.GroupResource().String()
		suffix, ok := strings.CutPrefix(arg, prefix)
		if !ok {
			continue
		}
		var fields []string
		if suffix != "" {
			rest, err := parsePath(suffix)
			if err != nil {
				return schema.GroupVersionResource{}, nil, err
			}
			if len(rest) > 0 {
				if fields, err = fieldNames(rest[1:], notField); err != nil {
					return schema.GroupVersionResource{}, nil, err
				}
			}
		}
		return gvr, fields, nil
	}
	if len(gvrs) == 0 {
		return schema.GroupVersionResource{}, []string{}, nil
	}
	fields, err := fieldNames(nodes[1:], notField)
	if err != nil {
		return schema.GroupVersionResource{}, nil, err
	}
	return gvrs[0], fields, nil
}
