// Package attrs gives, per kind, the labels and the selectable fields that
// list and watch filter on with labelSelector and fieldSelector, as upstream:
// every kind has metadata.name (and metadata.namespace), and a few kinds add
// their own fields (pods spec.nodeName, events involvedObject.*, ...).
//
// The REST layer calls ValidateSelector once per request (an unknown field
// label is upstream's 400 "field label not supported: <label>"), then
// ConvertSelector to rewrite legacy and cross-group spellings to the names
// For's field sets use, and For(gk)(obj) per object it filters. Nothing here
// uses reflection: each kind has a hand-written field function.
package attrs

import (
	"fmt"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kstack/kstack/api"
)

// AttrFunc returns an object's labels and selectable fields.
type AttrFunc func(obj runtime.Object) (labels.Set, fields.Set, error)

// kindFields describes one kind's field selector support.
type kindFields struct {
	// fields are the labels present in the field set besides metadata.*.
	fields []string
	// aliases are accepted labels that ConvertSelector rewrites to a field
	// name (pods' legacy spec.host, events.k8s.io's regarding.*).
	aliases map[string]string
	// noNamespaceLabel: upstream's own conversion function for the kind
	// rejects metadata.namespace (nodes, namespaces).
	noNamespaceLabel bool
	attrs            AttrFunc
}

var (
	podGK       = schema.GroupKind{Kind: "Pod"}
	eventGK     = schema.GroupKind{Kind: "Event"}
	eventsGK    = schema.GroupKind{Group: "events.k8s.io", Kind: "Event"}
	namespaceGK = schema.GroupKind{Kind: "Namespace"}
	nodeGK      = schema.GroupKind{Kind: "Node"}
)

var byKind = map[schema.GroupKind]*kindFields{
	podGK: {
		fields: []string{"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
			"spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"},
		// Upstream accepts status.podIPs but never puts it in the field set,
		// so `status.podIPs=x` matches nothing; we keep that.
		aliases: map[string]string{"spec.host": "spec.nodeName", "status.podIPs": "status.podIPs"},
		attrs:   podAttrs,
	},
	nodeGK: {
		fields: []string{"spec.unschedulable"}, noNamespaceLabel: true,
		attrs: func(obj runtime.Object) (labels.Set, fields.Set, error) {
			n, ok := obj.(*corev1.Node)
			if !ok {
				return nil, nil, wrongType(obj, "Node")
			}
			return n.Labels, fields.Set{
				"metadata.name":      n.Name,
				"spec.unschedulable": strconv.FormatBool(n.Spec.Unschedulable),
			}, nil
		},
	},
	namespaceGK: {
		// "name" is an old upstream mistake kept for compatibility.
		fields: []string{"status.phase", "name"}, noNamespaceLabel: true,
		attrs: func(obj runtime.Object) (labels.Set, fields.Set, error) {
			ns, ok := obj.(*corev1.Namespace)
			if !ok {
				return nil, nil, wrongType(obj, "Namespace")
			}
			return ns.Labels, fields.Set{
				"metadata.name": ns.Name,
				"status.phase":  string(ns.Status.Phase),
				"name":          ns.Name,
			}, nil
		},
	},
	{Kind: "PersistentVolume"}: {
		fields: []string{"name"},
		attrs: func(obj runtime.Object) (labels.Set, fields.Set, error) {
			pv, ok := obj.(*corev1.PersistentVolume)
			if !ok {
				return nil, nil, wrongType(obj, "PersistentVolume")
			}
			return pv.Labels, fields.Set{"metadata.name": pv.Name, "name": pv.Name}, nil
		},
	},
	{Kind: "PersistentVolumeClaim"}: {
		fields: []string{"name"},
		attrs: func(obj runtime.Object) (labels.Set, fields.Set, error) {
			pvc, ok := obj.(*corev1.PersistentVolumeClaim)
			if !ok {
				return nil, nil, wrongType(obj, "PersistentVolumeClaim")
			}
			return pvc.Labels, fields.Set{"metadata.name": pvc.Name, "metadata.namespace": pvc.Namespace, "name": pvc.Name}, nil
		},
	},
	{Kind: "Secret"}: {
		fields: []string{"type"},
		attrs: func(obj runtime.Object) (labels.Set, fields.Set, error) {
			s, ok := obj.(*corev1.Secret)
			if !ok {
				return nil, nil, wrongType(obj, "Secret")
			}
			return s.Labels, fields.Set{"metadata.name": s.Name, "metadata.namespace": s.Namespace, "type": string(s.Type)}, nil
		},
	},
	{Kind: "Service"}: {
		fields: []string{"spec.clusterIP", "spec.type"},
		attrs: func(obj runtime.Object) (labels.Set, fields.Set, error) {
			s, ok := obj.(*corev1.Service)
			if !ok {
				return nil, nil, wrongType(obj, "Service")
			}
			return s.Labels, fields.Set{"metadata.name": s.Name, "metadata.namespace": s.Namespace,
				"spec.clusterIP": s.Spec.ClusterIP, "spec.type": string(s.Spec.Type)}, nil
		},
	},
	{Kind: "ReplicationController"}: {
		fields: []string{"status.replicas"},
		attrs: func(obj runtime.Object) (labels.Set, fields.Set, error) {
			rc, ok := obj.(*corev1.ReplicationController)
			if !ok {
				return nil, nil, wrongType(obj, "ReplicationController")
			}
			return rc.Labels, fields.Set{"metadata.name": rc.Name, "metadata.namespace": rc.Namespace,
				"status.replicas": strconv.Itoa(int(rc.Status.Replicas))}, nil
		},
	},
	{Group: "apps", Kind: "ReplicaSet"}: {
		fields: []string{"status.replicas"},
		attrs: func(obj runtime.Object) (labels.Set, fields.Set, error) {
			rs, ok := obj.(*appsv1.ReplicaSet)
			if !ok {
				return nil, nil, wrongType(obj, "ReplicaSet")
			}
			return rs.Labels, fields.Set{"metadata.name": rs.Name, "metadata.namespace": rs.Namespace,
				"status.replicas": strconv.Itoa(int(rs.Status.Replicas))}, nil
		},
	},
	{Group: "batch", Kind: "Job"}: {
		fields: []string{"status.successful"},
		attrs: func(obj runtime.Object) (labels.Set, fields.Set, error) {
			j, ok := obj.(*batchv1.Job)
			if !ok {
				return nil, nil, wrongType(obj, "Job")
			}
			return j.Labels, fields.Set{"metadata.name": j.Name, "metadata.namespace": j.Namespace,
				"status.successful": strconv.Itoa(int(j.Status.Succeeded))}, nil
		},
	},
	{Group: "certificates.k8s.io", Kind: "CertificateSigningRequest"}: {
		fields: []string{"spec.signerName"},
		attrs: func(obj runtime.Object) (labels.Set, fields.Set, error) {
			c, ok := obj.(*certificatesv1.CertificateSigningRequest)
			if !ok {
				return nil, nil, wrongType(obj, "CertificateSigningRequest")
			}
			return c.Labels, fields.Set{"metadata.name": c.Name, "spec.signerName": c.Spec.SignerName}, nil
		},
	},
	eventGK: {
		fields: eventFields,
		attrs:  eventAttrs,
	},
	// events.k8s.io shares core events' storage and, as upstream, their
	// field set: its own spellings are aliases of the core names, and the
	// core spellings themselves (involvedObject.*) are not accepted.
	eventsGK: {
		aliases: map[string]string{
			"regarding.kind":            "involvedObject.kind",
			"regarding.namespace":       "involvedObject.namespace",
			"regarding.name":            "involvedObject.name",
			"regarding.uid":             "involvedObject.uid",
			"regarding.apiVersion":      "involvedObject.apiVersion",
			"regarding.resourceVersion": "involvedObject.resourceVersion",
			"regarding.fieldPath":       "involvedObject.fieldPath",
			"reportingController":       "reportingComponent",
			"reason":                    "reason",
			"source":                    "source",
			"type":                      "type",
		},
		attrs: eventAttrs,
	},
}

var eventFields = []string{"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
	"involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
	"involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"}

func podAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, nil, wrongType(obj, "Pod")
	}
	podIP := p.Status.PodIP
	if len(p.Status.PodIPs) > 0 {
		podIP = p.Status.PodIPs[0].IP
	}
	return p.Labels, fields.Set{
		"metadata.name":            p.Name,
		"metadata.namespace":       p.Namespace,
		"spec.nodeName":            p.Spec.NodeName,
		"spec.restartPolicy":       string(p.Spec.RestartPolicy),
		"spec.schedulerName":       p.Spec.SchedulerName,
		"spec.serviceAccountName":  p.Spec.ServiceAccountName,
		"spec.hostNetwork":         strconv.FormatBool(p.Spec.HostNetwork),
		"status.phase":             string(p.Status.Phase),
		"status.podIP":             podIP,
		"status.nominatedNodeName": p.Status.NominatedNodeName,
	}, nil
}

// eventAttrs serves both event groups, whichever type the object is: the
// field names are always core's (ConvertSelector maps events.k8s.io's).
func eventAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	var (
		m                         *corev1.ObjectReference
		lbls                      map[string]string
		name, ns                  string
		reason, reporting, source string
		typ                       string
	)
	switch e := obj.(type) {
	case *corev1.Event:
		m, lbls, name, ns = &e.InvolvedObject, e.Labels, e.Name, e.Namespace
		reason, reporting, source, typ = e.Reason, e.ReportingController, e.Source.Component, e.Type
	case *eventsv1.Event:
		m, lbls, name, ns = &e.Regarding, e.Labels, e.Name, e.Namespace
		reason, reporting, source, typ = e.Reason, e.ReportingController, e.DeprecatedSource.Component, e.Type
	default:
		return nil, nil, wrongType(obj, "Event")
	}
	// Events from the new API have no source; they are selected by their
	// reporting controller instead.
	if source == "" {
		source = reporting
	}
	return lbls, fields.Set{
		"metadata.name":                  name,
		"metadata.namespace":             ns,
		"involvedObject.kind":            m.Kind,
		"involvedObject.namespace":       m.Namespace,
		"involvedObject.name":            m.Name,
		"involvedObject.uid":             string(m.UID),
		"involvedObject.apiVersion":      m.APIVersion,
		"involvedObject.resourceVersion": m.ResourceVersion,
		"involvedObject.fieldPath":       m.FieldPath,
		"reason":                         reason,
		"reportingComponent":             reporting,
		"source":                         source,
		"type":                           typ,
	}, nil
}

// metaAttrs is every other kind's: labels, metadata.name and
// metadata.namespace (empty for cluster-scoped objects, which matches
// upstream's behaviour of leaving the field out).
func metaAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, nil, fmt.Errorf("selectable fields: %w", err)
	}
	return m.GetLabels(), fields.Set{"metadata.name": m.GetName(), "metadata.namespace": m.GetNamespace()}, nil
}

func wrongType(obj runtime.Object, kind string) error {
	return fmt.Errorf("selectable fields: expected a %s, got %T", kind, obj)
}

// For returns the attribute function for objects of gk. Kinds without
// fields of their own get labels plus metadata.name and metadata.namespace.
func For(gk schema.GroupKind) AttrFunc {
	if k, ok := byKind[gk]; ok {
		return k.attrs
	}
	return metaAttrs
}

// supported is the sorted label list per kind, built once.
var supported = map[schema.GroupKind][]string{}

var defaultSupported = []string{"metadata.name", "metadata.namespace"}

func init() {
	for gk, k := range byKind {
		labels := []string{"metadata.name"}
		if !k.noNamespaceLabel {
			labels = append(labels, "metadata.namespace")
		}
		labels = append(labels, k.fields...)
		for a := range k.aliases {
			labels = append(labels, a)
		}
		sort.Strings(labels)
		supported[gk] = labels
	}
	// Every served kind must resolve; the table is the list of kinds.
	for _, r := range api.Resources() {
		gk := schema.GroupKind{Group: r.Group, Kind: r.Kind}
		if _, ok := supported[gk]; !ok {
			supported[gk] = defaultSupported
		}
	}
}

// Supported lists the field labels a fieldSelector may use for gk, sorted.
// The slice is shared: do not modify it.
func Supported(gk schema.GroupKind) []string {
	if s, ok := supported[gk]; ok {
		return s
	}
	return defaultSupported
}

func isSupported(gk schema.GroupKind, label string) bool {
	for _, s := range Supported(gk) {
		if s == label {
			return true
		}
	}
	return false
}

// ValidateSelector returns upstream's error for the first field label in
// sel that gk does not support: `field label not supported: <label>`. The
// REST layer reports it as 400 BadRequest.
func ValidateSelector(gk schema.GroupKind, sel fields.Selector) error {
	if sel == nil || sel.Empty() {
		return nil
	}
	for _, r := range sel.Requirements() {
		if !isSupported(gk, r.Field) {
			return fmt.Errorf("field label not supported: %s", r.Field)
		}
	}
	return nil
}

// ConvertSelector validates sel and rewrites aliased labels to the names
// For's field sets use (pods' spec.host to spec.nodeName, events.k8s.io's
// regarding.kind to involvedObject.kind, ...). A selector without aliases is
// returned as is.
func ConvertSelector(gk schema.GroupKind, sel fields.Selector) (fields.Selector, error) {
	if err := ValidateSelector(gk, sel); err != nil {
		return nil, err
	}
	k, ok := byKind[gk]
	if !ok || len(k.aliases) == 0 || sel == nil || sel.Empty() {
		return sel, nil
	}
	return sel.Transform(func(field, value string) (string, string, error) {
		if to, ok := k.aliases[field]; ok {
			return to, value, nil
		}
		return field, value, nil
	})
}
