package attrs

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestFor_Matches(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "prod", Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{NodeName: "node-a", RestartPolicy: corev1.RestartPolicyAlways, SchedulerName: "default-scheduler", HostNetwork: true},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1", PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}, {IP: "fd00::1"}}},
	}
	coreEvent := &corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: "e1", Namespace: "prod"},
		InvolvedObject:      corev1.ObjectReference{Kind: "Pod", Name: "web-1", Namespace: "prod", UID: "u1"},
		Reason:              "Scheduled",
		Type:                corev1.EventTypeNormal,
		ReportingController: "default-scheduler",
	}
	newEvent := &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: "e2", Namespace: "prod"},
		Regarding:  corev1.ObjectReference{Kind: "Node", Name: "node-a"},
		Reason:     "Ready", Type: corev1.EventTypeWarning, ReportingController: "kubelet",
	}
	tests := []struct {
		name     string
		gk       schema.GroupKind
		obj      runtime.Object
		selector string
		want     bool
	}{
		{"pod by node", podGK, pod, "spec.nodeName=node-a", true},
		{"pod by other node", podGK, pod, "spec.nodeName=node-b", false},
		{"unscheduled pods", podGK, pod, "spec.nodeName=", false},
		{"pod by phase and namespace", podGK, pod, "status.phase=Running,metadata.namespace=prod", true},
		{"pod host network", podGK, pod, "spec.hostNetwork=true", true},
		{"pod IP is the first of podIPs", podGK, pod, "status.podIP=10.0.0.1", true},
		{"pod legacy spec.host", podGK, pod, "spec.host=node-a", true},
		{"pod not running", podGK, pod, "status.phase!=Running", false},
		{"node unschedulable", nodeGK, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: corev1.NodeSpec{Unschedulable: true}}, "spec.unschedulable=true", true},
		{"namespace legacy name field", namespaceGK, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "prod"}}, "name=prod", true},
		{"secret type", schema.GroupKind{Kind: "Secret"}, &corev1.Secret{Type: corev1.SecretTypeTLS}, "type=kubernetes.io/tls", true},
		{"replicaset replicas", schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}, &appsv1.ReplicaSet{Status: appsv1.ReplicaSetStatus{Replicas: 3}}, "status.replicas=3", true},
		{"core event by involved object", eventGK, coreEvent, "involvedObject.kind=Pod,involvedObject.name=web-1,involvedObject.uid=u1", true},
		{"core event source falls back to the reporting controller", eventGK, coreEvent, "source=default-scheduler", true},
		{"events.k8s.io selector on a stored core event", eventsGK, coreEvent, "regarding.name=web-1,reportingController=default-scheduler", true},
		{"events.k8s.io selector on an events.k8s.io event", eventsGK, newEvent, "regarding.kind=Node,type=Warning", true},
		{"events.k8s.io reason mismatch", eventsGK, newEvent, "reason=NotReady", false},
		{"default kind: name", schema.GroupKind{Kind: "ConfigMap"}, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "prod"}}, "metadata.name=cm,metadata.namespace=prod", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := fields.ParseSelector(tt.selector)
			if err != nil {
				t.Fatal(err)
			}
			sel, err = ConvertSelector(tt.gk, sel)
			if err != nil {
				t.Fatalf("ConvertSelector: %v", err)
			}
			_, fs, err := For(tt.gk)(tt.obj)
			if err != nil {
				t.Fatal(err)
			}
			if got := sel.Matches(fs); got != tt.want {
				t.Fatalf("%q matches = %v, want %v (fields %v)", tt.selector, got, tt.want, fs)
			}
		})
	}
}

func TestFor_Labels(t *testing.T) {
	ls, _, err := For(podGK)(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}})
	if err != nil || ls.Get("app") != "web" {
		t.Fatalf("labels %v, err %v", ls, err)
	}
}

func TestFor_WrongType(t *testing.T) {
	if _, _, err := For(podGK)(&corev1.Node{}); err == nil {
		t.Fatal("pod attrs accepted a Node")
	}
}

func TestValidateSelector(t *testing.T) {
	tests := []struct {
		gk       schema.GroupKind
		selector string
		wantErr  string
	}{
		{podGK, "spec.nodeName=a,status.phase=Running", ""},
		{podGK, "spec.nodeName=a,spec.bogus=b", "field label not supported: spec.bogus"},
		{nodeGK, "metadata.namespace=x", "field label not supported: metadata.namespace"},
		{namespaceGK, "status.phase=Active", ""},
		{schema.GroupKind{Kind: "ConfigMap"}, "data.x=y", "field label not supported: data.x"},
		{schema.GroupKind{Kind: "Service"}, "spec.clusterIP=None", ""},
		{schema.GroupKind{Group: "batch", Kind: "Job"}, "status.successful=1", ""},
		{eventGK, "regarding.kind=Pod", "field label not supported: regarding.kind"},
		{eventsGK, "involvedObject.kind=Pod", "field label not supported: involvedObject.kind"},
		{eventsGK, "regarding.kind=Pod,source=kubelet", ""},
	}
	for _, tt := range tests {
		sel := fields.ParseSelectorOrDie(tt.selector)
		err := ValidateSelector(tt.gk, sel)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.wantErr {
			t.Errorf("%v %q: error %q, want %q", tt.gk, tt.selector, got, tt.wantErr)
		}
	}
}

func TestSupported_EveryTableKind(t *testing.T) {
	if got := Supported(podGK); len(got) < 10 || got[0] > got[len(got)-1] {
		t.Fatalf("pod labels not sorted or incomplete: %v", got)
	}
	for _, gk := range []schema.GroupKind{{Group: "apps", Kind: "Deployment"}, {Group: "coordination.k8s.io", Kind: "Lease"}} {
		if got := Supported(gk); len(got) != 2 {
			t.Errorf("%v: %v, want metadata.name and metadata.namespace", gk, got)
		}
	}
}
