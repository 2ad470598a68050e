package openapi

import (
	"reflect"
	"sort"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kstack/kstack/api"
)

// The neutral description of the paths we serve, rendered later into
// swagger 2.0 (v2.go) and OpenAPI 3.0 (v3.go).

// param is one parameter of an operation or a path.
type param struct {
	name, in, description string
	typ                   string // "string", "integer", "boolean"
	required              bool
}

// operation is one HTTP method on a path.
type operation struct {
	method      string // get, put, post, patch, delete
	id          string
	description string
	action      string // x-kubernetes-action
	gvk         *schema.GroupVersionKind
	tag         string
	params      []param
	body        string // request body model name, "" for none
	patch       bool   // body is a patch (patch content types)
	responses   []response
	watch       bool // responses also come as watch streams
	consumesAll bool
}

// response is one status code of an operation; model "" means no body,
// "string" a plain string.
type response struct {
	code        int
	description string
	model       string
}

// pathItem is one URL template with its operations.
type pathItem struct {
	path   string
	params []param
	ops    []operation
}

// Model names of the shared meta types the paths refer to.
var (
	deleteOptionsModel   = modelName(reflect.TypeOf(metav1.DeleteOptions{}))
	statusModel          = modelName(reflect.TypeOf(metav1.Status{}))
	watchEventModel      = modelName(reflect.TypeOf(metav1.WatchEvent{}))
	patchModel           = modelName(reflect.TypeOf(metav1.Patch{}))
	apiResourceListModel = modelName(reflect.TypeOf(metav1.APIResourceList{}))
)

// Go types whose fields become query parameters, as upstream derives them.
var (
	listOptions   = reflect.TypeOf(metav1.ListOptions{})
	createOptions = reflect.TypeOf(metav1.CreateOptions{})
	updateOptions = reflect.TypeOf(metav1.UpdateOptions{})
	patchOptions  = reflect.TypeOf(metav1.PatchOptions{})
	deleteOptions = reflect.TypeOf(metav1.DeleteOptions{})
)

// Per-subresource request kinds and their option types.
var (
	scaleType         = reflect.TypeOf(autoscalingv1.Scale{})
	bindingType       = reflect.TypeOf(corev1.Binding{})
	evictionType      = reflect.TypeOf(policyv1.Eviction{})
	tokenRequestType  = reflect.TypeOf(authenticationv1.TokenRequest{})
	connectOptionType = map[string]reflect.Type{
		"log":         reflect.TypeOf(corev1.PodLogOptions{}),
		"exec":        reflect.TypeOf(corev1.PodExecOptions{}),
		"attach":      reflect.TypeOf(corev1.PodAttachOptions{}),
		"portforward": reflect.TypeOf(corev1.PodPortForwardOptions{}),
	}
)

// optionParams turns the fields of an options struct into query
// parameters, described by its SwaggerDoc. Nested structs (preconditions)
// are not query parameters; metav1.Time is.
func optionParams(t reflect.Type, skip ...string) []param {
	var docs map[string]string
	if sd, ok := reflect.New(t).Elem().Interface().(swaggerDoc); ok {
		docs = sd.SwaggerDoc()
	}
	var out []param
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous || name == "" || name == "-" || contains(skip, name) {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		typ := "string"
		switch ft.Kind() {
		case reflect.Bool:
			typ = "boolean"
		case reflect.Int, reflect.Int32, reflect.Int64:
			typ = "integer"
		case reflect.Struct:
			if ft != reflect.TypeOf(metav1.Time{}) {
				continue
			}
		}
		out = append(out, param{name: name, in: "query", description: docs[name], typ: typ})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var (
	prettyParam    = param{name: "pretty", in: "query", typ: "string", description: "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget)."}
	namespaceParam = param{name: "namespace", in: "path", typ: "string", required: true, description: "object name and auth scope, such as for teams and projects"}
	pathParam      = param{name: "path", in: "path", typ: "string", required: true, description: "path to the resource"}
)

func nameParam(kind string) param {
	return param{name: "name", in: "path", typ: "string", required: true, description: "name of the " + kind}
}

// opNames derives upstream's operation ids and tags: "core" is Core,
// "rbac.authorization.k8s.io" is RbacAuthorization.
func opNames(gv schema.GroupVersion) (idPart, tag string) {
	group := gv.Group
	if group == "" {
		group = "core"
	}
	group = strings.TrimSuffix(group, ".k8s.io")
	var pascal string
	for _, p := range strings.Split(group, ".") {
		pascal += strings.ToUpper(p[:1]) + p[1:]
	}
	version := strings.ToUpper(gv.Version[:1]) + gv.Version[1:]
	tag = strings.ToLower(pascal[:1]) + pascal[1:] + "_" + gv.Version
	return pascal + version, tag
}

// gvPrefix is the URL prefix of a group version: /api/v1, /apis/apps/v1.
func gvPrefix(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "/api/" + gv.Version
	}
	return "/apis/" + gv.Group + "/" + gv.Version
}

// gvPaths lists every path served for the resources of one group version,
// sorted by path.
func gvPaths(gv schema.GroupVersion, resources []*api.Resource) []pathItem {
	idPart, tag := opNames(gv)
	prefix := gvPrefix(gv)
	items := map[string]*pathItem{}
	item := func(path string, params ...param) *pathItem {
		if it, ok := items[path]; ok {
			return it
		}
		it := &pathItem{path: path, params: params}
		items[path] = it
		return it
	}
	add := func(it *pathItem, op operation) {
		op.tag = tag
		it.ops = append(it.ops, op)
	}

	item(prefix + "/").ops = []operation{{
		method: "get", id: "get" + idPart + "APIResources", description: "get available resources", tag: tag,
		responses: []response{{200, "OK", apiResourceListModel}, {401, "Unauthorized", ""}},
	}}

	listParams := optionParams(listOptions)
	for _, r := range resources {
		gvk := r.GroupVersionKind()
		kind := r.Kind
		scoped := kind
		collection := prefix + "/" + r.Resource
		watchCollection := prefix + "/watch/" + r.Resource
		var scopeParams []param
		if r.Namespaced {
			scoped = "Namespaced" + kind
			collection = prefix + "/namespaces/{namespace}/" + r.Resource
			watchCollection = prefix + "/watch/namespaces/{namespace}/" + r.Resource
			scopeParams = []param{namespaceParam}
		}
		model := modelName(reflect.TypeOf(r.New()).Elem())
		objectResponses := func(codes ...int) []response {
			var out []response
			for _, c := range codes {
				out = append(out, response{c, statusText(c), model})
			}
			return append(out, response{401, "Unauthorized", ""})
		}
		itemParams := join([]param{nameParam(kind)}, scopeParams)

		if r.Virtual && !r.AllowsVerb("list") {
			// bindings, reviews: create only (componentstatuses, also
			// virtual, are read like any resource).
			if r.AllowsVerb("create") {
				add(item(collection, join(scopeParams, []param{prettyParam})...), operation{
					method: "post", id: "create" + idPart + scoped, description: "create a " + kind,
					action: "post", gvk: &gvk, params: optionParams(createOptions), body: model, consumesAll: true,
					responses: objectResponses(200, 201, 202),
				})
			}
			continue
		}

		listModel := modelName(reflect.TypeOf(r.NewList()).Elem())
		coll := item(collection, join(scopeParams, []param{prettyParam})...)
		if r.AllowsVerb("list") {
			add(coll, operation{
				method: "get", id: "list" + idPart + scoped, description: listDescription(r) + kind,
				action: "list", gvk: &gvk, params: listParams, watch: true,
				responses: []response{{200, "OK", listModel}, {401, "Unauthorized", ""}},
			})
			if r.Namespaced {
				add(item(prefix+"/"+r.Resource, join(listParams, []param{prettyParam})...), operation{
					method: "get", id: "list" + idPart + kind + "ForAllNamespaces", description: "list or watch objects of kind " + kind,
					action: "list", gvk: &gvk, watch: true,
					responses: []response{{200, "OK", listModel}, {401, "Unauthorized", ""}},
				})
			}
		}
		if r.AllowsVerb("create") {
			add(coll, operation{
				method: "post", id: "create" + idPart + scoped, description: "create " + article(kind) + " " + kind,
				action: "post", gvk: &gvk, params: optionParams(createOptions), body: model, consumesAll: true,
				responses: objectResponses(200, 201, 202),
			})
		}
		if r.AllowsVerb("deletecollection") {
			add(coll, operation{
				method: "delete", id: "delete" + idPart + "Collection" + scoped, description: "delete collection of " + kind,
				action: "deletecollection", gvk: &gvk, params: mergeParams(optionParams(deleteOptions), listParams, "watch", "allowWatchBookmarks"),
				body: deleteOptionsModel, consumesAll: true,
				responses: []response{{200, "OK", statusModel}, {401, "Unauthorized", ""}},
			})
		}

		obj := item(collection+"/{name}", join(itemParams, []param{prettyParam})...)
		if r.AllowsVerb("get") {
			add(obj, operation{
				method: "get", id: "read" + idPart + scoped, description: "read the specified " + kind,
				action: "get", gvk: &gvk, responses: objectResponses(200),
			})
		}
		if r.AllowsVerb("update") {
			add(obj, updateOp("replace"+idPart+scoped, "replace the specified "+kind, &gvk, model, objectResponses(200, 201)))
		}
		if r.AllowsVerb("delete") {
			add(obj, operation{
				method: "delete", id: "delete" + idPart + scoped, description: "delete " + article(kind) + " " + kind,
				action: "delete", gvk: &gvk, params: optionParams(deleteOptions), body: deleteOptionsModel, consumesAll: true,
				responses: []response{{200, "OK", statusModel}, {202, "Accepted", statusModel}, {401, "Unauthorized", ""}},
			})
		}
		if r.AllowsVerb("patch") {
			add(obj, patchOp("patch"+idPart+scoped, "partially update the specified "+kind, &gvk, objectResponses(200, 201)))
		}
		if r.AllowsVerb("watch") {
			watchParams := join(listParams, []param{prettyParam})
			add(item(watchCollection+"/{name}", join(itemParams, watchParams)...), operation{
				method: "get", id: "watch" + idPart + scoped, action: "watch", gvk: &gvk, watch: true,
				description: "watch changes to an object of kind " + kind + ". deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter.",
				responses:   []response{{200, "OK", watchEventModel}, {401, "Unauthorized", ""}},
			})
			add(item(watchCollection, join(scopeParams, watchParams)...), operation{
				method: "get", id: "watch" + idPart + scoped + "List", action: "watchlist", gvk: &gvk, watch: true,
				description: "watch individual changes to a list of " + kind + ". deprecated: use the 'watch' parameter with a list operation instead.",
				responses:   []response{{200, "OK", watchEventModel}, {401, "Unauthorized", ""}},
			})
			if r.Namespaced {
				add(item(prefix+"/watch/"+r.Resource, watchParams...), operation{
					method: "get", id: "watch" + idPart + kind + "ListForAllNamespaces", action: "watchlist", gvk: &gvk, watch: true,
					description: "watch individual changes to a list of " + kind + ". deprecated: use the 'watch' parameter with a list operation instead.",
					responses:   []response{{200, "OK", watchEventModel}, {401, "Unauthorized", ""}},
				})
			}
		}

		for _, sub := range r.Subresources {
			subPath := collection + "/{name}/" + sub
			subItem := func() *pathItem { return item(subPath, join(itemParams, []param{prettyParam})...) }
			title := strings.ToUpper(sub[:1]) + sub[1:]
			switch sub {
			case "status", "ephemeralcontainers", "resize":
				if sub == "ephemeralcontainers" {
					title = "EphemeralContainers"
				}
				it := subItem()
				add(it, operation{method: "get", id: "read" + idPart + scoped + title, description: "read " + sub + " of the specified " + kind,
					action: "get", gvk: &gvk, responses: objectResponses(200)})
				add(it, updateOp("replace"+idPart+scoped+title, "replace "+sub+" of the specified "+kind, &gvk, model, objectResponses(200, 201)))
				add(it, patchOp("patch"+idPart+scoped+title, "partially update "+sub+" of the specified "+kind, &gvk, objectResponses(200, 201)))
			case "scale":
				scaleGVK := schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}
				scale := modelName(scaleType)
				scaleResponses := []response{{200, "OK", scale}, {201, "Created", scale}, {401, "Unauthorized", ""}}
				it := subItem()
				add(it, operation{method: "get", id: "read" + idPart + scoped + "Scale", description: "read scale of the specified " + kind,
					action: "get", gvk: &scaleGVK, responses: []response{{200, "OK", scale}, {401, "Unauthorized", ""}}})
				add(it, updateOp("replace"+idPart+scoped+"Scale", "replace scale of the specified "+kind, &scaleGVK, scale, scaleResponses))
				add(it, patchOp("patch"+idPart+scoped+"Scale", "partially update scale of the specified "+kind, &scaleGVK, scaleResponses))
			case "binding", "eviction", "token":
				t := map[string]reflect.Type{"binding": bindingType, "eviction": evictionType, "token": tokenRequestType}[sub]
				m := modelName(t)
				subGVK := gvkOf(t)
				add(subItem(), operation{method: "post", id: "create" + idPart + scoped + title, description: "create " + sub + " of " + article(kind) + " " + kind,
					action: "post", gvk: &subGVK, params: optionParams(createOptions), body: m, consumesAll: true,
					responses: []response{{200, "OK", m}, {201, "Created", m}, {202, "Accepted", m}, {401, "Unauthorized", ""}}})
			case "finalize":
				add(subItem(), updateOp("replace"+idPart+scoped+"Finalize", "replace finalize of the specified "+kind, &gvk, model, objectResponses(200, 201)))
			case "log":
				optGVK := gvkOf(connectOptionType[sub])
				add(subItem(), operation{method: "get", id: "read" + idPart + scoped + "Log", description: "read log of the specified " + kind,
					action: "get", gvk: &optGVK, params: optionParams(connectOptionType[sub]),
					responses: []response{{200, "OK", "string"}, {401, "Unauthorized", ""}}})
			case "exec", "attach", "portforward":
				optGVK := gvkOf(connectOptionType[sub])
				if sub == "portforward" {
					title = "Portforward"
				}
				it := item(subPath, join(itemParams, optionParams(connectOptionType[sub]))...)
				for _, m := range []string{"get", "post"} {
					add(it, operation{method: m, id: "connect" + strings.ToUpper(m[:1]) + m[1:] + idPart + scoped + title,
						description: "connect " + strings.ToUpper(m) + " requests to " + sub + " of " + kind,
						action:      "connect", gvk: &optGVK, responses: []response{{200, "OK", "string"}, {401, "Unauthorized", ""}}})
				}
			case "proxy":
				optGVK := schema.GroupVersionKind{Version: "v1", Kind: kind + "ProxyOptions"}
				for _, p := range []string{subPath, subPath + "/{path}"} {
					params, suffix := join(itemParams, []param{{name: "path", in: "query", typ: "string", description: "Path is the URL path to use for the current proxy request."}}), ""
					if strings.HasSuffix(p, "{path}") {
						params, suffix = join(itemParams, []param{pathParam}), "WithPath"
					}
					it := item(p, params...)
					for _, m := range []string{"delete", "get", "head", "options", "patch", "post", "put"} {
						add(it, operation{method: m, id: "connect" + strings.ToUpper(m[:1]) + m[1:] + idPart + scoped + "Proxy" + suffix,
							description: "connect " + strings.ToUpper(m) + " requests to proxy of " + kind,
							action:      "connect", gvk: &optGVK, responses: []response{{200, "OK", "string"}, {401, "Unauthorized", ""}}})
					}
				}
			}
		}
	}

	out := make([]pathItem, 0, len(items))
	for _, it := range items {
		sort.Slice(it.params, func(i, j int) bool { return it.params[i].name < it.params[j].name })
		out = append(out, *it)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

func updateOp(id, description string, gvk *schema.GroupVersionKind, model string, responses []response) operation {
	return operation{method: "put", id: id, description: description, action: "put", gvk: gvk,
		params: optionParams(updateOptions), body: model, consumesAll: true, responses: responses}
}

// patchOp is a PATCH operation. Its fieldValidation parameter is what
// kubectl's query-param verifier looks for to decide that the server
// validates fields itself.
func patchOp(id, description string, gvk *schema.GroupVersionKind, responses []response) operation {
	return operation{method: "patch", id: id, description: description, action: "patch", gvk: gvk,
		params: optionParams(patchOptions), body: patchModel, patch: true, responses: responses}
}

// mergeParams joins parameter lists, dropping duplicates and the skipped
// names, sorted by name.
func mergeParams(a, b []param, skip ...string) []param {
	seen := map[string]bool{}
	var out []param
	for _, p := range join(a, b) {
		if seen[p.name] || contains(skip, p.name) {
			continue
		}
		seen[p.name] = true
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// gvkOf finds the GVK of a Go type registered in api.Scheme (every type
// passed here is).
func gvkOf(t reflect.Type) schema.GroupVersionKind {
	obj, ok := reflect.New(t).Interface().(runtime.Object)
	if !ok {
		return schema.GroupVersionKind{}
	}
	gvks, _, err := api.Scheme.ObjectKinds(obj)
	if err != nil || len(gvks) == 0 {
		return schema.GroupVersionKind{}
	}
	return gvks[0]
}

// join concatenates parameter lists into a new slice (never aliasing).
func join(lists ...[]param) []param {
	var out []param
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func statusText(code int) string {
	switch code {
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 202:
		return "Accepted"
	}
	return "Unauthorized"
}

func article(kind string) string {
	if strings.ContainsRune("AEIOU", rune(kind[0])) {
		return "an"
	}
	return "a"
}

// listDescription words a list operation as upstream: "list or watch" when
// the resource can be watched.
func listDescription(r *api.Resource) string {
	if r.AllowsVerb("watch") {
		return "list or watch objects of kind "
	}
	return "list objects of kind "
}
