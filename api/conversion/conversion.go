// Package conversion converts objects between the served versions that share
// storage: autoscaling/v1 and autoscaling/v2 HorizontalPodAutoscalers (v2 is
// stored), and core/v1 and events.k8s.io/v1 Events (core is stored).
//
// The REST layer calls Convert after decoding a request in a served version
// that differs from the storage version, and before encoding a stored object
// (or list, or watch event object) for a client of the other version.
package conversion

import (
	"fmt"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	hpaV1GVK         = autoscalingv1.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler")
	hpaV2GVK         = autoscalingv2.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler")
	hpaV1ListGVK     = autoscalingv1.SchemeGroupVersion.WithKind("HorizontalPodAutoscalerList")
	hpaV2ListGVK     = autoscalingv2.SchemeGroupVersion.WithKind("HorizontalPodAutoscalerList")
	coreEventGVK     = corev1.SchemeGroupVersion.WithKind("Event")
	coreEventListGVK = corev1.SchemeGroupVersion.WithKind("EventList")
	eventGVK         = eventsv1.SchemeGroupVersion.WithKind("Event")
	eventListGVK     = eventsv1.SchemeGroupVersion.WithKind("EventList")
)

// Convert returns obj as the kind and version to. An object already of that
// type is returned as is; otherwise the result is a new object that shares
// no mutable state the caller could observe changing (maps and slices of
// the input may be shared: treat the input as read-only afterwards). A list
// converts item by item. to may name the list kind or the item kind for a
// list ("HorizontalPodAutoscaler" converts an HPA list too). Unsupported
// pairs are an error.
func Convert(obj runtime.Object, to schema.GroupVersionKind) (runtime.Object, error) {
	from, ok := gvkOf(obj)
	if !ok {
		return nil, fmt.Errorf("convert %T to %s: not a convertible type", obj, to)
	}
	if from == to || from == to.GroupVersion().WithKind(to.Kind+"List") {
		return obj, nil
	}
	setKind := func(o runtime.Object, gvk schema.GroupVersionKind) runtime.Object {
		if !obj.GetObjectKind().GroupVersionKind().Empty() {
			o.GetObjectKind().SetGroupVersionKind(gvk)
		}
		return o
	}
	switch o := obj.(type) {
	case *autoscalingv2.HorizontalPodAutoscaler:
		if to == hpaV1GVK {
			out, err := HPAToV1(o)
			if err != nil {
				return nil, err
			}
			return setKind(out, hpaV1GVK), nil
		}
	case *autoscalingv1.HorizontalPodAutoscaler:
		if to == hpaV2GVK {
			return setKind(HPAToV2(o), hpaV2GVK), nil
		}
	case *autoscalingv2.HorizontalPodAutoscalerList:
		if to == hpaV1GVK || to == hpaV1ListGVK {
			out := &autoscalingv1.HorizontalPodAutoscalerList{ListMeta: o.ListMeta}
			if o.Items != nil {
				out.Items = make([]autoscalingv1.HorizontalPodAutoscaler, len(o.Items))
			}
			for i := range o.Items {
				item, err := HPAToV1(&o.Items[i])
				if err != nil {
					return nil, err
				}
				out.Items[i] = *item
			}
			return setKind(out, hpaV1ListGVK), nil
		}
	case *autoscalingv1.HorizontalPodAutoscalerList:
		if to == hpaV2GVK || to == hpaV2ListGVK {
			out := &autoscalingv2.HorizontalPodAutoscalerList{ListMeta: o.ListMeta}
			if o.Items != nil {
				out.Items = make([]autoscalingv2.HorizontalPodAutoscaler, len(o.Items))
			}
			for i := range o.Items {
				out.Items[i] = *HPAToV2(&o.Items[i])
			}
			return setKind(out, hpaV2ListGVK), nil
		}
	case *corev1.Event:
		if to == eventGVK {
			return setKind(EventToEventsV1(o), eventGVK), nil
		}
	case *eventsv1.Event:
		if to == coreEventGVK {
			return setKind(EventToCoreV1(o), coreEventGVK), nil
		}
	case *corev1.EventList:
		if to == eventGVK || to == eventListGVK {
			out := &eventsv1.EventList{ListMeta: o.ListMeta}
			if o.Items != nil {
				out.Items = make([]eventsv1.Event, len(o.Items))
			}
			for i := range o.Items {
				out.Items[i] = *EventToEventsV1(&o.Items[i])
			}
			return setKind(out, eventListGVK), nil
		}
	case *eventsv1.EventList:
		if to == coreEventGVK || to == coreEventListGVK {
			out := &corev1.EventList{ListMeta: o.ListMeta}
			if o.Items != nil {
				out.Items = make([]corev1.Event, len(o.Items))
			}
			for i := range o.Items {
				out.Items[i] = *EventToCoreV1(&o.Items[i])
			}
			return setKind(out, coreEventListGVK), nil
		}
	}
	return nil, fmt.Errorf("convert %s to %s: no conversion between these kinds", from, to)
}

// gvkOf names the type of obj, whatever its TypeMeta says.
func gvkOf(obj runtime.Object) (schema.GroupVersionKind, bool) {
	switch obj.(type) {
	case *autoscalingv1.HorizontalPodAutoscaler:
		return hpaV1GVK, true
	case *autoscalingv2.HorizontalPodAutoscaler:
		return hpaV2GVK, true
	case *autoscalingv1.HorizontalPodAutoscalerList:
		return hpaV1ListGVK, true
	case *autoscalingv2.HorizontalPodAutoscalerList:
		return hpaV2ListGVK, true
	case *corev1.Event:
		return coreEventGVK, true
	case *eventsv1.Event:
		return eventGVK, true
	case *corev1.EventList:
		return coreEventListGVK, true
	case *eventsv1.EventList:
		return eventListGVK, true
	}
	return schema.GroupVersionKind{}, false
}

// EventToEventsV1 maps a core/v1 Event to events.k8s.io/v1, as upstream:
// involvedObject is regarding, message is note, source, firstTimestamp,
// lastTimestamp and count are the deprecated* fields.
func EventToEventsV1(in *corev1.Event) *eventsv1.Event {
	out := &eventsv1.Event{
		ObjectMeta:               *in.ObjectMeta.DeepCopy(),
		EventTime:                in.EventTime,
		ReportingController:      in.ReportingController,
		ReportingInstance:        in.ReportingInstance,
		Action:                   in.Action,
		Reason:                   in.Reason,
		Regarding:                in.InvolvedObject,
		Note:                     in.Message,
		Type:                     in.Type,
		DeprecatedSource:         in.Source,
		DeprecatedFirstTimestamp: in.FirstTimestamp,
		DeprecatedLastTimestamp:  in.LastTimestamp,
		DeprecatedCount:          in.Count,
	}
	if in.Series != nil {
		out.Series = &eventsv1.EventSeries{Count: in.Series.Count, LastObservedTime: in.Series.LastObservedTime}
	}
	if in.Related != nil {
		r := *in.Related
		out.Related = &r
	}
	return out
}

// EventToCoreV1 is the inverse of EventToEventsV1.
func EventToCoreV1(in *eventsv1.Event) *corev1.Event {
	out := &corev1.Event{
		ObjectMeta:          *in.ObjectMeta.DeepCopy(),
		InvolvedObject:      in.Regarding,
		Reason:              in.Reason,
		Message:             in.Note,
		Source:              in.DeprecatedSource,
		FirstTimestamp:      in.DeprecatedFirstTimestamp,
		LastTimestamp:       in.DeprecatedLastTimestamp,
		Count:               in.DeprecatedCount,
		Type:                in.Type,
		EventTime:           in.EventTime,
		Action:              in.Action,
		ReportingController: in.ReportingController,
		ReportingInstance:   in.ReportingInstance,
	}
	if in.Series != nil {
		out.Series = &corev1.EventSeries{Count: in.Series.Count, LastObservedTime: in.Series.LastObservedTime}
	}
	if in.Related != nil {
		r := *in.Related
		out.Related = &r
	}
	return out
}

// copyMeta deep-copies object metadata so annotation edits stay local.
func copyMeta(m *metav1.ObjectMeta) metav1.ObjectMeta { return *m.DeepCopy() }
