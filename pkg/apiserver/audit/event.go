package audit

import (
	"encoding/json"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// EventAPIVersion and EventKind of every audit log line.
const (
	EventAPIVersion = "audit.k8s.io/v1"
	EventKind       = "Event"
)

// Event is one audit.k8s.io/v1 Event: one line of the audit log.
type Event struct {
	Kind       string    `json:"kind"`
	APIVersion string    `json:"apiVersion"`
	Level      Level     `json:"level"`
	AuditID    types.UID `json:"auditID"`
	Stage      Stage     `json:"stage"`
	RequestURI string    `json:"requestURI"`
	Verb       string    `json:"verb"`
	// User is who sent the request (authenticated, before impersonation).
	User authnv1.UserInfo `json:"user"`
	// ImpersonatedUser is who the request acted as, when impersonating.
	ImpersonatedUser *authnv1.UserInfo `json:"impersonatedUser,omitempty"`
	SourceIPs        []string          `json:"sourceIPs,omitempty"`
	UserAgent        string            `json:"userAgent,omitempty"`
	// ObjectRef is set for resource requests.
	ObjectRef *ObjectReference `json:"objectRef,omitempty"`
	// ResponseStatus is set from ResponseStarted on: the code, and for
	// errors the Status' status, message and reason.
	ResponseStatus *metav1.Status `json:"responseStatus,omitempty"`
	// RequestObject is the JSON request body (level Request and above).
	RequestObject json.RawMessage `json:"requestObject,omitempty"`
	// ResponseObject is the JSON response body (level RequestResponse).
	ResponseObject           json.RawMessage   `json:"responseObject,omitempty"`
	RequestReceivedTimestamp metav1.MicroTime  `json:"requestReceivedTimestamp"`
	StageTimestamp           metav1.MicroTime  `json:"stageTimestamp"`
	Annotations              map[string]string `json:"annotations,omitempty"`
}

// ObjectReference is what a resource request addresses.
type ObjectReference struct {
	Resource        string    `json:"resource,omitempty"`
	Namespace       string    `json:"namespace,omitempty"`
	Name            string    `json:"name,omitempty"`
	UID             types.UID `json:"uid,omitempty"`
	APIGroup        string    `json:"apiGroup,omitempty"`
	APIVersion      string    `json:"apiVersion,omitempty"`
	ResourceVersion string    `json:"resourceVersion,omitempty"`
	Subresource     string    `json:"subresource,omitempty"`
}

// Annotation keys the authorizer sets, as upstream.
const (
	AnnotationDecision = "authorization.k8s.io/decision" // "allow" or "forbid"
	AnnotationReason   = "authorization.k8s.io/reason"
)
