package apiserver

import (
	"reflect"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// generationRule is how one kind tracks metadata.generation, as its
// upstream strategy does: most kinds leave it 0 for ever (Services,
// Namespaces, Nodes, Leases, ConfigMaps, ...); the kinds whose controllers
// report an observedGeneration start at 1 and bump it when their desired
// state changes.
type generationRule struct {
	// onCreate is the generation a new object gets (0 or 1).
	onCreate int64
	// field is the top-level field whose change bumps the generation on
	// update; "" never bumps, "*" bumps on any change outside metadata
	// (and on label changes: EndpointSlices).
	field string
}

// generationRules lists the kinds with a generation, by storage group and
// resource; every other kind keeps generation 0.
var generationRules = map[schema.GroupResource]generationRule{
	{Group: "", Resource: "pods"}:                                                          {1, "Spec"},
	{Group: "", Resource: "podtemplates"}:                                                  {1, "Template"},
	{Group: "", Resource: "replicationcontrollers"}:                                        {1, "Spec"},
	{Group: "apps", Resource: "deployments"}:                                               {1, "Spec"},
	{Group: "apps", Resource: "replicasets"}:                                               {1, "Spec"},
	{Group: "apps", Resource: "statefulsets"}:                                              {1, "Spec"},
	{Group: "apps", Resource: "daemonsets"}:                                                {1, "Spec"},
	{Group: "batch", Resource: "jobs"}:                                                     {1, "Spec"},
	{Group: "batch", Resource: "cronjobs"}:                                                 {1, "Spec"},
	{Group: "autoscaling", Resource: "horizontalpodautoscalers"}:                           {1, "Spec"},
	{Group: "discovery.k8s.io", Resource: "endpointslices"}:                                {1, "*"},
	{Group: "policy", Resource: "poddisruptionbudgets"}:                                    {1, "Spec"},
	{Group: "networking.k8s.io", Resource: "networkpolicies"}:                              {1, "Spec"},
	{Group: "networking.k8s.io", Resource: "ingresses"}:                                    {1, "Spec"},
	{Group: "networking.k8s.io", Resource: "ingressclasses"}:                               {1, "Spec"},
	{Group: "scheduling.k8s.io", Resource: "priorityclasses"}:                              {1, ""},
	{Group: "storage.k8s.io", Resource: "csidrivers"}:                                      {0, "Spec"},
	{Group: "resource.k8s.io", Resource: "deviceclasses"}:                                  {1, "Spec"},
	{Group: "resource.k8s.io", Resource: "devicetaintrules"}:                               {1, "Spec"},
	{Group: "resource.k8s.io", Resource: "resourceslices"}:                                 {1, "Spec"},
	{Group: "admissionregistration.k8s.io", Resource: "mutatingwebhookconfigurations"}:     {1, "Webhooks"},
	{Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations"}:   {1, "Webhooks"},
	{Group: "admissionregistration.k8s.io", Resource: "validatingadmissionpolicies"}:       {1, "Spec"},
	{Group: "admissionregistration.k8s.io", Resource: "validatingadmissionpolicybindings"}: {1, "Spec"},
	{Group: "admissionregistration.k8s.io", Resource: "mutatingadmissionpolicies"}:         {1, "Spec"},
	{Group: "admissionregistration.k8s.io", Resource: "mutatingadmissionpolicybindings"}:   {1, "Spec"},
	{Group: "flowcontrol.apiserver.k8s.io", Resource: "flowschemas"}:                       {1, "Spec"},
	{Group: "flowcontrol.apiserver.k8s.io", Resource: "prioritylevelconfigurations"}:       {1, "Spec"},
}

// createGeneration is the generation a new object of the store's kind gets.
func (rs *resourceStore) createGeneration() int64 {
	return generationRules[rs.res.StorageGroupResource()].onCreate
}

// generationChanged reports whether an update of obj (from old) bumps the
// generation, as the kind's upstream strategy decides.
func (rs *resourceStore) generationChanged(obj, old runtime.Object) bool {
	rule, ok := generationRules[rs.res.StorageGroupResource()]
	if !ok {
		return false
	}
	switch rule.field {
	case "":
		return false
	case "*":
		return changedOutsideMeta(obj, old)
	}
	a, b := topField(obj, rule.field), topField(old, rule.field)
	if !a.IsValid() || !b.IsValid() {
		return false
	}
	return !apiequality.Semantic.DeepEqual(a.Interface(), b.Interface())
}

// changedOutsideMeta compares everything but ObjectMeta, and the labels.
func changedOutsideMeta(obj, old runtime.Object) bool {
	a, b := obj.DeepCopyObject(), old.DeepCopyObject()
	am, err1 := meta.Accessor(a)
	bm, err2 := meta.Accessor(b)
	if err1 != nil || err2 != nil {
		return false
	}
	if !apiequality.Semantic.DeepEqual(am.GetLabels(), bm.GetLabels()) {
		return true
	}
	for _, o := range []runtime.Object{a, b} {
		f := topField(o, "ObjectMeta")
		if f.IsValid() && f.CanSet() {
			f.Set(reflect.Zero(f.Type()))
		}
	}
	return !apiequality.Semantic.DeepEqual(a, b)
}
