package openapi

import (
	"reflect"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/kstack/kstack/api"
)

// Content types, as upstream lists them.
var (
	objectContentTypes = []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf"}
	watchContentTypes  = []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf",
		"application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch"}
	patchContentTypes = []string{"application/apply-patch+yaml", "application/json-patch+json",
		"application/merge-patch+json", "application/strategic-merge-patch+json"}
	stringContentTypes = []string{"*/*"}
)

// model is what the documents are built from: the served group versions
// with their paths, and which model carries which GVKs.
type model struct {
	version string
	gvs     []schema.GroupVersion
	paths   map[schema.GroupVersion][]pathItem
	gvks    map[string][]schema.GroupVersionKind
	roots   []reflect.Type // types defined in every dialect (kinds, lists, shared types)
	lists   *listSemantics
}

// newModel collects the served resources into a model.
func newModel(resources []api.Resource, version string, lists *listSemantics) *model {
	m := &model{version: version, paths: map[schema.GroupVersion][]pathItem{}, gvks: map[string][]schema.GroupVersionKind{}, lists: lists}
	byGV := map[schema.GroupVersion][]*api.Resource{}
	for i := range resources {
		r := &resources[i]
		gv := r.GroupVersion()
		if _, ok := byGV[gv]; !ok {
			m.gvs = append(m.gvs, gv)
		}
		byGV[gv] = append(byGV[gv], r)
		kind := reflect.TypeOf(r.New()).Elem()
		m.addGVK(kind, r.GroupVersionKind())
		m.roots = append(m.roots, kind)
		if !r.Virtual || r.AllowsVerb("list") {
			list := reflect.TypeOf(r.NewList()).Elem()
			m.addGVK(list, gv.WithKind(r.Kind+"List"))
			m.roots = append(m.roots, list)
		}
	}
	for _, gv := range m.gvs {
		m.paths[gv] = gvPaths(gv, byGV[gv])
	}
	// Shared meta types: DeleteOptions and WatchEvent are registered in
	// every group version, Status in core, as upstream lists them.
	for _, gv := range m.gvs {
		for _, t := range []reflect.Type{reflect.TypeOf(metav1.DeleteOptions{}), reflect.TypeOf(metav1.WatchEvent{})} {
			m.addGVK(t, gv.WithKind(t.Name()))
		}
	}
	m.addGVK(reflect.TypeOf(metav1.Status{}), schema.GroupVersionKind{Version: "v1", Kind: "Status"})
	for _, t := range []reflect.Type{scaleType, bindingType, evictionType, tokenRequestType} {
		m.addGVK(t, gvkOf(t))
	}
	m.roots = append(m.roots, reflect.TypeOf(metav1.DeleteOptions{}), reflect.TypeOf(metav1.WatchEvent{}),
		reflect.TypeOf(metav1.Status{}), reflect.TypeOf(metav1.Patch{}), reflect.TypeOf(metav1.APIResourceList{}),
		scaleType, bindingType, evictionType, tokenRequestType)
	return m
}

func (m *model) addGVK(t reflect.Type, gvk schema.GroupVersionKind) {
	if gvk.Kind == "" {
		return
	}
	name := modelName(t)
	for _, have := range m.gvks[name] {
		if have == gvk {
			return
		}
	}
	m.gvks[name] = append(m.gvks[name], gvk)
}

// definitions builds every schema in one dialect.
func (m *model) definitions(v3 bool) *definitions {
	d := newDefinitions(v3, m.gvks, m.lists)
	for _, t := range m.roots {
		d.define(t)
	}
	return d
}

var bearerToken = spec.SecurityScheme{SecuritySchemeProps: spec.SecuritySchemeProps{
	Type: "apiKey", Name: "authorization", In: "header", Description: "Bearer Token authentication",
}}

// swagger renders the swagger 2.0 document for all group versions.
func (m *model) swagger() *spec.Swagger {
	d := m.definitions(false)
	defs := make(spec.Definitions, len(d.schemas))
	for name, s := range d.schemas {
		defs[name] = *s
	}
	paths := &spec.Paths{Paths: map[string]spec.PathItem{}}
	for _, gv := range m.gvs {
		for _, it := range m.paths[gv] {
			var pi spec.PathItem
			for _, p := range it.params {
				pi.Parameters = append(pi.Parameters, v2Param(p))
			}
			for _, op := range it.ops {
				o := v2Operation(d, op)
				switch op.method {
				case "get":
					pi.Get = o
				case "put":
					pi.Put = o
				case "post":
					pi.Post = o
				case "patch":
					pi.Patch = o
				case "delete":
					pi.Delete = o
				case "head":
					pi.Head = o
				case "options":
					pi.Options = o
				}
			}
			paths.Paths[it.path] = pi
		}
	}
	return &spec.Swagger{SwaggerProps: spec.SwaggerProps{
		Swagger:             "2.0",
		Info:                &spec.Info{InfoProps: spec.InfoProps{Title: "Kubernetes", Version: m.version}},
		Paths:               paths,
		Definitions:         defs,
		SecurityDefinitions: spec.SecurityDefinitions{"BearerToken": &bearerToken},
		Security:            []map[string][]string{{"BearerToken": {}}},
	}}
}

func v2Param(p param) spec.Parameter {
	out := spec.Parameter{ParamProps: spec.ParamProps{Name: p.name, In: p.in, Description: p.description, Required: p.required}}
	out.Type = p.typ
	out.UniqueItems = true
	return out
}

func v2Operation(d *definitions, op operation) *spec.Operation {
	o := &spec.Operation{OperationProps: spec.OperationProps{
		Description: op.description, ID: op.id, Tags: []string{op.tag}, Schemes: []string{"https"},
		Produces: objectContentTypes,
	}}
	if op.watch {
		o.Produces = watchContentTypes
	}
	for _, p := range op.params {
		o.Parameters = append(o.Parameters, v2Param(p))
	}
	if op.body != "" {
		o.Consumes = []string{"*/*"}
		if op.patch {
			o.Consumes = patchContentTypes
		}
		o.Parameters = append(o.Parameters, spec.Parameter{ParamProps: spec.ParamProps{
			Name: "body", In: "body", Required: op.method != "delete", Schema: d.refSchema(op.body),
		}})
	} else {
		o.Consumes = []string{"*/*"}
	}
	o.Responses = &spec.Responses{ResponsesProps: spec.ResponsesProps{StatusCodeResponses: map[int]spec.Response{}}}
	for _, r := range op.responses {
		resp := spec.Response{ResponseProps: spec.ResponseProps{Description: r.description}}
		switch r.model {
		case "":
		case "string":
			resp.Schema = &spec.Schema{SchemaProps: spec.SchemaProps{Type: spec.StringOrArray{"string"}}}
			o.Produces = stringContentTypes
		default:
			resp.Schema = d.refSchema(r.model)
		}
		o.Responses.StatusCodeResponses[r.code] = resp
	}
	if op.action != "" {
		o.AddExtension("x-kubernetes-action", op.action)
	}
	if op.gvk != nil {
		o.AddExtension("x-kubernetes-group-version-kind", map[string]any{"group": op.gvk.Group, "version": op.gvk.Version, "kind": op.gvk.Kind})
	}
	return o
}

// openAPIV3 renders the OpenAPI 3.0 document of one group version, d
// holding the v3 definitions of all models: only the models its paths
// reach are included.
func (m *model) openAPIV3(d *definitions, gv schema.GroupVersion) *spec3.OpenAPI {
	paths := &spec3.Paths{Paths: map[string]*spec3.Path{}}
	reach := map[string]bool{}
	for _, it := range m.paths[gv] {
		p := &spec3.Path{}
		for _, prm := range it.params {
			p.Parameters = append(p.Parameters, v3Param(prm))
		}
		for _, op := range it.ops {
			o := v3Operation(d, op, reach)
			switch op.method {
			case "get":
				p.Get = o
			case "put":
				p.Put = o
			case "post":
				p.Post = o
			case "patch":
				p.Patch = o
			case "delete":
				p.Delete = o
			case "head":
				p.Head = o
			case "options":
				p.Options = o
			}
		}
		paths.Paths[it.path] = p
	}
	// The kinds served here are in the document even when only reached
	// through a list (kubectl explain finds them by GVK).
	for name, gvks := range m.gvks {
		for _, gvk := range gvks {
			if gvk.GroupVersion() == gv && d.schemas[name] != nil {
				reach[name] = true
			}
		}
	}
	schemas := map[string]*spec.Schema{}
	var names []string
	for name := range reach {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		d.closure(name, schemas)
	}
	return &spec3.OpenAPI{
		Version: "3.0.0",
		Info:    &spec.Info{InfoProps: spec.InfoProps{Title: "Kubernetes", Version: m.version}},
		Paths:   paths,
		Components: &spec3.Components{
			Schemas: schemas,
			SecuritySchemes: spec3.SecuritySchemes{"BearerToken": &spec3.SecurityScheme{SecuritySchemeProps: spec3.SecuritySchemeProps{
				Type: "apiKey", Name: "authorization", In: "header", Description: "Bearer Token authentication",
			}}},
		},
		SecurityRequirement: []map[string][]string{{"BearerToken": {}}},
	}
}

func v3Param(p param) *spec3.Parameter {
	return &spec3.Parameter{ParameterProps: spec3.ParameterProps{
		Name: p.name, In: p.in, Description: p.description, Required: p.required,
		Schema: &spec.Schema{SchemaProps: spec.SchemaProps{Type: spec.StringOrArray{p.typ}, UniqueItems: true}},
	}}
}

func v3Operation(d *definitions, op operation, reach map[string]bool) *spec3.Operation {
	o := &spec3.Operation{OperationProps: spec3.OperationProps{Description: op.description, OperationId: op.id, Tags: []string{op.tag}}}
	for _, p := range op.params {
		o.Parameters = append(o.Parameters, v3Param(p))
	}
	content := func(types []string, s *spec.Schema) map[string]*spec3.MediaType {
		out := map[string]*spec3.MediaType{}
		for _, t := range types {
			out[t] = &spec3.MediaType{MediaTypeProps: spec3.MediaTypeProps{Schema: s}}
		}
		return out
	}
	if op.body != "" {
		reach[op.body] = true
		types := []string{"*/*"}
		if op.patch {
			types = patchContentTypes
		}
		o.RequestBody = &spec3.RequestBody{RequestBodyProps: spec3.RequestBodyProps{
			Content: content(types, d.refSchema(op.body)), Required: op.method != "delete",
		}}
	}
	o.Responses = &spec3.Responses{ResponsesProps: spec3.ResponsesProps{StatusCodeResponses: map[int]*spec3.Response{}}}
	for _, r := range op.responses {
		resp := &spec3.Response{ResponseProps: spec3.ResponseProps{Description: r.description}}
		switch r.model {
		case "":
		case "string":
			resp.Content = content(stringContentTypes, &spec.Schema{SchemaProps: spec.SchemaProps{Type: spec.StringOrArray{"string"}}})
		default:
			reach[r.model] = true
			types := objectContentTypes
			if op.watch {
				types = watchContentTypes
			}
			resp.Content = content(types, d.refSchema(r.model))
		}
		o.Responses.StatusCodeResponses[r.code] = resp
	}
	if op.action != "" {
		o.AddExtension("x-kubernetes-action", op.action)
	}
	if op.gvk != nil {
		o.AddExtension("x-kubernetes-group-version-kind", map[string]any{"group": op.gvk.Group, "version": op.gvk.Version, "kind": op.gvk.Kind})
	}
	return o
}

// closure copies the named schema and every schema it references into out.
func (d *definitions) closure(name string, out map[string]*spec.Schema) {
	if _, ok := out[name]; ok {
		return
	}
	s, ok := d.schemas[name]
	if !ok {
		return
	}
	out[name] = s
	for _, ref := range schemaRefs(s, nil) {
		d.closure(ref, out)
	}
}

// schemaRefs lists the model names a schema refers to.
func schemaRefs(s *spec.Schema, acc []string) []string {
	if s == nil {
		return acc
	}
	if r := s.Ref.String(); r != "" {
		acc = append(acc, refName(r))
	}
	for i := range s.AllOf {
		acc = schemaRefs(&s.AllOf[i], acc)
	}
	for i := range s.OneOf {
		acc = schemaRefs(&s.OneOf[i], acc)
	}
	if s.Items != nil {
		acc = schemaRefs(s.Items.Schema, acc)
	}
	if s.AdditionalProperties != nil {
		acc = schemaRefs(s.AdditionalProperties.Schema, acc)
	}
	for k := range s.Properties {
		p := s.Properties[k]
		acc = schemaRefs(&p, acc)
	}
	return acc
}

func refName(ref string) string {
	for i := len(ref) - 1; i >= 0; i-- {
		if ref[i] == '/' {
			return ref[i+1:]
		}
	}
	return ref
}
