package printers

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func init() {
	register(eventColumns, func(l *corev1.EventList) []corev1.Event { return l.Items }, coreEventCells)
	register(eventColumns, func(l *eventsv1.EventList) []eventsv1.Event { return l.Items }, eventsEventCells)
}

// eventColumns serve both core/v1 and events.k8s.io/v1 events, as upstream
// prints both from one internal type.
var eventColumns = []metav1.TableColumnDefinition{
	column("Last Seen", "string", corev1.Event{}.SwaggerDoc()["lastTimestamp"]),
	column("Type", "string", corev1.Event{}.SwaggerDoc()["type"]),
	column("Reason", "string", corev1.Event{}.SwaggerDoc()["reason"]),
	column("Object", "string", corev1.Event{}.SwaggerDoc()["involvedObject"]),
	wide("Subobject", "string", corev1.ObjectReference{}.SwaggerDoc()["fieldPath"]),
	wide("Source", "string", corev1.Event{}.SwaggerDoc()["source"]),
	column("Message", "string", corev1.Event{}.SwaggerDoc()["message"]),
	wide("First Seen", "string", corev1.Event{}.SwaggerDoc()["firstTimestamp"]),
	wide("Count", "string", corev1.Event{}.SwaggerDoc()["count"]),
	{Name: "Name", Type: "string", Format: "name", Priority: 1, Description: objectMetaDoc["name"]},
}

// eventFields are the event fields the table shows, named as in core/v1.
type eventFields struct {
	name                string
	firstTimestamp      metav1.Time
	lastTimestamp       metav1.Time
	eventTime           metav1.MicroTime
	count               int32
	series              bool
	seriesCount         int32
	seriesLastObserved  metav1.MicroTime
	involved            *corev1.ObjectReference
	eventType, reason   string
	message             string
	source              corev1.EventSource
	reportingController string
	reportingInstance   string
}

func coreEventCells(ev *corev1.Event, e *env, out []any) ([]any, error) {
	f := eventFields{
		name:                ev.Name,
		firstTimestamp:      ev.FirstTimestamp,
		lastTimestamp:       ev.LastTimestamp,
		eventTime:           ev.EventTime,
		count:               ev.Count,
		involved:            &ev.InvolvedObject,
		eventType:           ev.Type,
		reason:              ev.Reason,
		message:             ev.Message,
		source:              ev.Source,
		reportingController: ev.ReportingController,
		reportingInstance:   ev.ReportingInstance,
	}
	if ev.Series != nil {
		f.series, f.seriesCount, f.seriesLastObserved = true, ev.Series.Count, ev.Series.LastObservedTime
	}
	return eventCells(&f, e, out), nil
}

func eventsEventCells(ev *eventsv1.Event, e *env, out []any) ([]any, error) {
	f := eventFields{
		name:                ev.Name,
		firstTimestamp:      ev.DeprecatedFirstTimestamp,
		lastTimestamp:       ev.DeprecatedLastTimestamp,
		eventTime:           ev.EventTime,
		count:               ev.DeprecatedCount,
		involved:            &ev.Regarding,
		eventType:           ev.Type,
		reason:              ev.Reason,
		message:             ev.Note,
		source:              ev.DeprecatedSource,
		reportingController: ev.ReportingController,
		reportingInstance:   ev.ReportingInstance,
	}
	if ev.Series != nil {
		f.series, f.seriesCount, f.seriesLastObserved = true, ev.Series.Count, ev.Series.LastObservedTime
	}
	return eventCells(&f, e, out), nil
}

// eventCells computes LAST SEEN TYPE REASON OBJECT | SUBOBJECT SOURCE |
// MESSAGE | FIRST SEEN COUNT NAME. First seen falls back to eventTime,
// last seen to first seen; a series overrides last seen and count; a
// singleton event without a count counts 1.
func eventCells(f *eventFields, e *env, out []any) []any {
	first := e.since(f.firstTimestamp)
	if f.firstTimestamp.IsZero() {
		first = e.sinceMicro(f.eventTime)
	}
	last := e.since(f.lastTimestamp)
	if f.lastTimestamp.IsZero() {
		last = first
	}
	count := f.count
	if f.series {
		last = e.sinceMicro(f.seriesLastObserved)
		count = f.seriesCount
	} else if count == 0 {
		count = 1
	}

	target := strings.ToLower(f.involved.Kind)
	if f.involved.Name != "" {
		target += "/" + f.involved.Name
	}

	component := f.source.Component
	if component == "" {
		component = f.reportingController
	}
	instance := f.source.Host
	if instance == "" {
		instance = f.reportingInstance
	}
	source := component
	if instance != "" {
		source += ", " + instance
	}

	return append(out, last, f.eventType, f.reason, target, f.involved.FieldPath, source,
		strings.TrimSpace(f.message), first, int64(count), f.name)
}
