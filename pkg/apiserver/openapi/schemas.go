package openapi

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// Interfaces the k8s.io/api and apimachinery types implement for OpenAPI
// generators; we call them through reflection on zero values.
type (
	modelNamer interface{ OpenAPIModelName() string }
	swaggerDoc interface {
		SwaggerDoc() map[string]string
	}
	schemaTyper interface {
		OpenAPISchemaType() []string
		OpenAPISchemaFormat() string
	}
	oneOfTyper interface{ OpenAPIV3OneOfTypes() []string }
)

var (
	rawExtensionType = reflect.TypeOf(runtime.RawExtension{})
	fieldsV1Type     = reflect.TypeOf(metav1.FieldsV1{})
)

// Reflection cannot see k8s.io/api's +optional and +required comment
// markers, which decide upstream's required lists. We take a field as
// required when its json tag has neither omitempty nor omitzero and it is
// not a pointer, and correct that guess with two lists read off the
// markers of k8s.io/api v0.37: notRequired are fields marked +optional
// whose tag has no omitempty (conditions' type and status, for one);
// alsoRequired are fields without the +optional marker that the guess
// misses: pointers without omitempty (DeploymentSpec.selector) and fields
// marked +required despite omitempty (Deployment.spec).
var notRequired = map[string]map[string]bool{
	"io.k8s.api.rbac.v1.Role":                                    {"rules": true},
	"io.k8s.api.rbac.v1.ClusterRole":                             {"rules": true},
	"io.k8s.api.core.v1.ProjectedVolumeSource":                   {"sources": true},
	"io.k8s.api.apps.v1.ControllerRevision":                      {"revision": true},
	"io.k8s.api.apps.v1.DaemonSetCondition":                      {"status": true, "type": true},
	"io.k8s.api.apps.v1.DeploymentCondition":                     {"status": true, "type": true},
	"io.k8s.api.apps.v1.ReplicaSetCondition":                     {"status": true, "type": true},
	"io.k8s.api.apps.v1.StatefulSetCondition":                    {"status": true, "type": true},
	"io.k8s.api.apps.v1.StatefulSetOrdinals":                     {"start": true},
	"io.k8s.api.apps.v1.StatefulSetSpec":                         {"serviceName": true},
	"io.k8s.api.apps.v1.StatefulSetStatus":                       {"availableReplicas": true},
	"io.k8s.api.authentication.v1.TokenRequest":                  {"spec": true},
	"io.k8s.api.authentication.v1.TokenRequestSpec":              {"audiences": true},
	"io.k8s.api.authentication.v1.TokenRequestStatus":            {"expirationTimestamp": true, "token": true},
	"io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus":    {"currentMetrics": true},
	"io.k8s.api.batch.v1.PodFailurePolicyOnPodConditionsPattern": {"status": true},
	"io.k8s.api.core.v1.ContainerImage":                          {"names": true},
	"io.k8s.api.core.v1.Event":                                   {"reportingComponent": true, "reportingInstance": true},
	"io.k8s.api.core.v1.NodeRuntimeHandler":                      {"name": true},
	"io.k8s.api.discovery.v1.EndpointSlice":                      {"endpoints": true, "ports": true},
	"io.k8s.api.events.v1.Event":                                 {"metadata": true},
	"io.k8s.api.networking.v1.NetworkPolicySpec":                 {"podSelector": true},
	"io.k8s.api.policy.v1.PodDisruptionBudgetStatus":             {"currentHealthy": true, "desiredHealthy": true, "disruptionsAllowed": true, "expectedPods": true},
	"io.k8s.api.rbac.v1.RoleRef":                                 {"apiGroup": true},
	"io.k8s.api.resource.v1.AllocatedDeviceStatus":               {"conditions": true},
	"io.k8s.api.resource.v1.DeviceClaim":                         {"requests": true},
	"io.k8s.api.resource.v1.DeviceClass":                         {"spec": true},
	"io.k8s.api.resource.v1.ResourceClaim":                       {"spec": true},
	"io.k8s.api.resource.v1.ResourceClaimSpec":                   {"devices": true},
	"io.k8s.api.resource.v1.ResourceClaimTemplate":               {"spec": true},
	"io.k8s.api.resource.v1.ResourceClaimTemplateSpec":           {"spec": true},
	"io.k8s.api.scheduling.v1.PriorityClass":                     {"value": true},
	"io.k8s.api.storage.v1.CSINodeDriver":                        {"topologyKeys": true},
}

var alsoRequired = map[string]map[string]bool{
	"io.k8s.api.admissionregistration.v1.MutatingWebhook":                      {"sideEffects": true},
	"io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicyBinding":     {"spec": true},
	"io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicyBindingSpec": {"policyName": true, "validationActions": true},
	"io.k8s.api.admissionregistration.v1.ValidatingWebhook":                    {"sideEffects": true},
	"io.k8s.api.apps.v1.DaemonSet":                                             {"spec": true},
	"io.k8s.api.apps.v1.DaemonSetSpec":                                         {"selector": true},
	"io.k8s.api.apps.v1.Deployment":                                            {"spec": true},
	"io.k8s.api.apps.v1.DeploymentSpec":                                        {"selector": true},
	"io.k8s.api.apps.v1.ReplicaSet":                                            {"spec": true},
	"io.k8s.api.apps.v1.ReplicaSetSpec":                                        {"selector": true},
	"io.k8s.api.apps.v1.StatefulSet":                                           {"spec": true},
	"io.k8s.api.apps.v1.StatefulSetSpec":                                       {"selector": true},
	"io.k8s.api.authentication.v1.TokenReviewSpec":                             {"token": true},
	"io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler":                        {"spec": true},
	"io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler":                        {"spec": true},
	"io.k8s.api.batch.v1.CronJob":                                              {"spec": true},
	"io.k8s.api.core.v1.ContainerRestartRule":                                  {"action": true},
	"io.k8s.api.core.v1.ContainerRestartRuleOnExitCodes":                       {"operator": true},
	"io.k8s.api.core.v1.EvictionResponder":                                     {"priority": true},
	"io.k8s.api.core.v1.ImageVolumeStatus":                                     {"imageRef": true},
	"io.k8s.api.core.v1.NodeAllocatableMappedResources":                        {"quantity": true},
	"io.k8s.api.core.v1.PodCertificateProjection":                              {"keyType": true, "signerName": true},
	"io.k8s.api.core.v1.ScaleIOPersistentVolumeSource":                         {"secretRef": true},
	"io.k8s.api.core.v1.ScaleIOVolumeSource":                                   {"secretRef": true},
	"io.k8s.api.networking.v1.HTTPIngressPath":                                 {"pathType": true},
	"io.k8s.api.networking.v1.IPAddress":                                       {"spec": true},
	"io.k8s.api.networking.v1.IPAddressSpec":                                   {"parentRef": true},
	"io.k8s.api.networking.v1.ParentReference":                                 {"name": true, "resource": true},
	"io.k8s.api.resource.v1.CapacityRequestPolicyRange":                        {"min": true},
	"io.k8s.api.resource.v1.CounterSet":                                        {"counters": true},
	"io.k8s.api.resource.v1.DeviceCounterConsumption":                          {"counters": true},
	"io.k8s.api.resource.v1.DeviceTaintRuleSpec":                               {"taint": true},
}

// definitions builds OpenAPI schemas for Go types by reflection, in the
// dialect of one OpenAPI version: v2 refers to "#/definitions/<name>", v3
// to "#/components/schemas/<name>" and wraps a described reference in
// allOf (as upstream does, so the description survives).
type definitions struct {
	v3      bool
	schemas map[string]*spec.Schema
	gvks    map[string][]schema.GroupVersionKind // model name -> x-kubernetes-group-version-kind
	lists   *listSemantics
}

func newDefinitions(v3 bool, gvks map[string][]schema.GroupVersionKind, lists *listSemantics) *definitions {
	return &definitions{v3: v3, schemas: map[string]*spec.Schema{}, gvks: gvks, lists: lists}
}

// ref returns the reference to the named model in this dialect.
func (d *definitions) ref(name string) spec.Ref {
	if d.v3 {
		return spec.MustCreateRef("#/components/schemas/" + name)
	}
	return spec.MustCreateRef("#/definitions/" + name)
}

// refSchema is a bare reference to a model.
func (d *definitions) refSchema(name string) *spec.Schema {
	return &spec.Schema{SchemaProps: spec.SchemaProps{Ref: d.ref(name)}}
}

// modelName is the upstream OpenAPI name of a Go type:
// io.k8s.api.core.v1.Pod, io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta.
func modelName(t reflect.Type) string {
	if n, ok := reflect.New(t).Elem().Interface().(modelNamer); ok {
		return n.OpenAPIModelName()
	}
	// Fallback for types without the generated method: reverse the domain
	// of the package path, as the generators do.
	path := t.PkgPath()
	parts := strings.SplitN(path, "/", 2)
	domain := strings.Split(parts[0], ".")
	for i, j := 0, len(domain)-1; i < j; i, j = i+1, j-1 {
		domain[i], domain[j] = domain[j], domain[i]
	}
	name := strings.Join(domain, ".")
	if len(parts) == 2 {
		name += "." + strings.ReplaceAll(parts[1], "/", ".")
	}
	return name + "." + t.Name()
}

// isModel reports whether a type gets its own definition (and is
// referenced) rather than being inlined: named structs.
func isModel(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && t.Name() != ""
}

// define adds the definition of t (and everything it references) and
// returns its model name.
func (d *definitions) define(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	name := modelName(t)
	if _, ok := d.schemas[name]; ok {
		return name
	}
	s := &spec.Schema{}
	d.schemas[name] = s // before recursing: types may refer to themselves
	*s = d.modelSchema(t, name)
	return name
}

func (d *definitions) modelSchema(t reflect.Type, name string) spec.Schema {
	var s spec.Schema
	zero := reflect.New(t).Elem().Interface()
	var docs map[string]string
	if sd, ok := zero.(swaggerDoc); ok {
		docs = sd.SwaggerDoc()
	}
	s.Description = docs[""]
	if gvks := d.gvks[name]; len(gvks) > 0 {
		s.AddExtension("x-kubernetes-group-version-kind", gvkExtension(gvks))
	}

	switch {
	case t == rawExtensionType || t == fieldsV1Type:
		s.Type = spec.StringOrArray{"object"}
		return s
	}
	if st, ok := zero.(schemaTyper); ok {
		s.Format = st.OpenAPISchemaFormat()
		if of, ok := zero.(oneOfTyper); ok && d.v3 {
			for _, typ := range of.OpenAPIV3OneOfTypes() {
				s.OneOf = append(s.OneOf, spec.Schema{SchemaProps: spec.SchemaProps{Type: spec.StringOrArray{typ}}})
			}
			return s
		}
		s.Type = st.OpenAPISchemaType()
		return s
	}

	s.Type = spec.StringOrArray{"object"}
	if d.lists.atomicStruct(name) {
		s.AddExtension("x-kubernetes-map-type", "atomic")
	}
	d.addFields(&s, t, name, docs)
	sort.Strings(s.Required)
	return s
}

// addFields adds the json-visible fields of struct t to s, flattening
// inline (embedded) structs as encoding/json does.
func (d *definitions) addFields(s *spec.Schema, t reflect.Type, model string, docs map[string]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		jsonName, opts, _ := strings.Cut(tag, ",")
		if jsonName == "" && (f.Anonymous || strings.Contains(opts, "inline")) {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			var inner map[string]string
			if sd, ok := reflect.New(ft).Elem().Interface().(swaggerDoc); ok {
				inner = sd.SwaggerDoc()
			}
			d.addFields(s, ft, model, inner)
			continue
		}
		if jsonName == "" {
			jsonName = f.Name
		}
		fs := d.fieldSchema(f.Type, docs[jsonName])
		if ps := f.Tag.Get("patchStrategy"); ps != "" {
			fs.AddExtension("x-kubernetes-patch-strategy", ps)
		}
		if mk := f.Tag.Get("patchMergeKey"); mk != "" {
			fs.AddExtension("x-kubernetes-patch-merge-key", mk)
		}
		d.lists.annotateField(model, jsonName, fs)
		if s.Properties == nil {
			s.Properties = map[string]spec.Schema{}
		}
		s.Properties[jsonName] = *fs
		optional := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero") ||
			f.Type.Kind() == reflect.Pointer || notRequired[model][jsonName]
		if !optional || alsoRequired[model][jsonName] {
			s.Required = append(s.Required, jsonName)
		}
	}
}

// fieldSchema is the schema of a field (or element) of Go type t.
func (d *definitions) fieldSchema(t reflect.Type, description string) *spec.Schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if isModel(t) {
		name := d.define(t)
		if description == "" {
			return d.refSchema(name)
		}
		if d.v3 {
			return &spec.Schema{SchemaProps: spec.SchemaProps{
				Description: description,
				AllOf:       []spec.Schema{*d.refSchema(name)},
			}}
		}
		return &spec.Schema{SchemaProps: spec.SchemaProps{Description: description, Ref: d.ref(name)}}
	}
	s := &spec.Schema{SchemaProps: spec.SchemaProps{Description: description}}
	switch t.Kind() {
	case reflect.String:
		s.Type = spec.StringOrArray{"string"}
	case reflect.Bool:
		s.Type = spec.StringOrArray{"boolean"}
	case reflect.Int32, reflect.Uint32, reflect.Int16, reflect.Uint16, reflect.Int8:
		s.Type, s.Format = spec.StringOrArray{"integer"}, "int32"
	case reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint64:
		s.Type, s.Format = spec.StringOrArray{"integer"}, "int64"
	case reflect.Float64:
		s.Type, s.Format = spec.StringOrArray{"number"}, "double"
	case reflect.Float32:
		s.Type, s.Format = spec.StringOrArray{"number"}, "float"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			s.Type, s.Format = spec.StringOrArray{"string"}, "byte"
			break
		}
		s.Type = spec.StringOrArray{"array"}
		s.Items = &spec.SchemaOrArray{Schema: d.fieldSchema(t.Elem(), "")}
	case reflect.Map:
		s.Type = spec.StringOrArray{"object"}
		s.AdditionalProperties = &spec.SchemaOrBool{Allows: true, Schema: d.fieldSchema(t.Elem(), "")}
	case reflect.Interface, reflect.Struct:
		// Anonymous structs and interfaces: free-form objects.
		s.Type = spec.StringOrArray{"object"}
	default:
		panic(fmt.Sprintf("openapi: unsupported Go kind %s (%s)", t.Kind(), t))
	}
	return s
}

// gvkExtension renders GVKs as the x-kubernetes-group-version-kind list.
func gvkExtension(gvks []schema.GroupVersionKind) []any {
	out := make([]any, 0, len(gvks))
	for _, gvk := range gvks {
		out = append(out, map[string]any{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind})
	}
	return out
}
