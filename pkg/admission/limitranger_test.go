package admission

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func limitRange(items ...corev1.LimitRangeItem) *corev1.LimitRange {
	return &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "limits", Namespace: "ns"}, Spec: corev1.LimitRangeSpec{Limits: items}}
}

func TestLimitRanger_DefaultsContainersAndAnnotates(t *testing.T) {
	store := newFakeStore(limitRange(corev1.LimitRangeItem{
		Type:           corev1.LimitTypeContainer,
		Default:        rl("cpu", "500m", "memory", "256Mi"),
		DefaultRequest: rl("cpu", "100m", "memory", "128Mi"),
	}))
	pod := newPod("p", container("app", rl("cpu", "200m"), nil), container("side", nil, rl("memory", "64Mi")))
	pod.Spec.InitContainers = []corev1.Container{container("init", nil, nil)}
	if err := NewLimitRanger(store).Admit(context.Background(), podAttrs(Create, pod)); err != nil {
		t.Fatal(err)
	}
	app := pod.Spec.Containers[0].Resources
	if q := app.Requests["cpu"]; q.String() != "200m" {
		t.Errorf("app cpu request overwritten: %s", q.String())
	}
	if q := app.Requests["memory"]; q.String() != "128Mi" {
		t.Errorf("app memory request = %s, want 128Mi", q.String())
	}
	if q := app.Limits["cpu"]; q.String() != "500m" {
		t.Errorf("app cpu limit = %s, want 500m", q.String())
	}
	want := "LimitRanger plugin set: memory request for container app; cpu, memory limit for container app; " +
		"cpu, memory request for container side; cpu limit for container side; " +
		"cpu, memory request for init container init; cpu, memory limit for init container init"
	if got := pod.Annotations[LimitRangerAnnotation]; got != want {
		t.Errorf("annotation:\n got: %s\nwant: %s", got, want)
	}
}

func TestLimitRanger_DefaultsFromMaxAndMin(t *testing.T) {
	// A LimitRange stored without defaulting: default limit from max,
	// default request from min.
	store := newFakeStore(limitRange(corev1.LimitRangeItem{
		Type: corev1.LimitTypeContainer, Max: rl("cpu", "1"), Min: rl("memory", "10Mi"),
	}))
	pod := newPod("p", container("c", nil, nil))
	if err := NewLimitRanger(store).Admit(context.Background(), podAttrs(Create, pod)); err != nil {
		t.Fatal(err)
	}
	r := pod.Spec.Containers[0].Resources
	if q := r.Limits["cpu"]; q.String() != "1" {
		t.Errorf("cpu limit = %s", q.String())
	}
	if q := r.Requests["cpu"]; q.String() != "1" {
		t.Errorf("cpu request = %s (defaults to the default limit)", q.String())
	}
	if q := r.Requests["memory"]; q.String() != "10Mi" {
		t.Errorf("memory request = %s", q.String())
	}
}

func TestLimitRanger_Validate(t *testing.T) {
	containerItem := corev1.LimitRangeItem{
		Type: corev1.LimitTypeContainer,
		Min:  rl("cpu", "100m"), Max: rl("memory", "1Gi"),
		MaxLimitRequestRatio: rl("cpu", "2"),
	}
	tests := []struct {
		name string
		item corev1.LimitRangeItem
		pod  *corev1.Pod
		want string
	}{
		{"within limits", containerItem, newPod("p", container("c", rl("cpu", "100m", "memory", "1Gi"), rl("cpu", "200m", "memory", "1Gi"))), ""},
		{"below min request", containerItem, newPod("p", container("c", rl("cpu", "50m"), rl("cpu", "100m", "memory", "1Gi"))),
			`pods "p" is forbidden: minimum cpu usage per Container is 100m, but request is 50m`},
		{"above max limit", containerItem, newPod("p", container("c", rl("cpu", "100m", "memory", "1Gi"), rl("cpu", "200m", "memory", "2Gi"))),
			`pods "p" is forbidden: maximum memory usage per Container is 1Gi, but limit is 2Gi`},
		{"no limit for a max", containerItem, newPod("p", container("c", rl("cpu", "100m"), rl("cpu", "100m"))),
			`pods "p" is forbidden: maximum memory usage per Container is 1Gi.  No limit is specified`},
		{"ratio too high", containerItem, newPod("p", container("c", rl("cpu", "100m", "memory", "1Gi"), rl("cpu", "300m", "memory", "1Gi"))),
			`pods "p" is forbidden: cpu max limit to request ratio per Container is 2, but provided ratio is 3.000000`},
		{"several violations", containerItem, newPod("p", container("c", rl("cpu", "50m"), rl("cpu", "400m"))),
			`pods "p" is forbidden: [minimum cpu usage per Container is 100m, but request is 50m, maximum memory usage per Container is 1Gi.  No limit is specified, cpu max limit to request ratio per Container is 2, but provided ratio is 8.000000]`},
		{"pod max over the sum of containers", corev1.LimitRangeItem{Type: corev1.LimitTypePod, Max: rl("cpu", "1")},
			newPod("p", container("a", rl("cpu", "600m"), rl("cpu", "600m")), container("b", rl("cpu", "600m"), rl("cpu", "600m"))),
			`pods "p" is forbidden: maximum cpu usage per Pod is 1, but limit is 1200m`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := NewLimitRanger(newFakeStore(limitRange(tt.item))).Validate(context.Background(), podAttrs(Create, tt.pod))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			mustForbidden(t, err, tt.want)
		})
	}
}

func TestLimitRanger_PersistentVolumeClaims(t *testing.T) {
	store := newFakeStore(limitRange(corev1.LimitRangeItem{
		Type: corev1.LimitTypePersistentVolumeClaim, Min: rl("storage", "1Gi"), Max: rl("storage", "10Gi"),
	}))
	pvcAttrs := func(size string) *Attributes {
		pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "ns"}}
		if size != "" {
			pvc.Spec.Resources.Requests = corev1.ResourceList{"storage": resource.MustParse(size)}
		}
		return &Attributes{Operation: Create, Resource: schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"},
			Namespace: "ns", Name: "data", Object: pvc}
	}
	tests := []struct{ size, want string }{
		{"5Gi", ""},
		{"500Mi", `persistentvolumeclaims "data" is forbidden: minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi`},
		{"20Gi", `persistentvolumeclaims "data" is forbidden: maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi`},
	}
	for _, tt := range tests {
		err := NewLimitRanger(store).Validate(context.Background(), pvcAttrs(tt.size))
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.size, err)
			}
			continue
		}
		mustForbidden(t, err, tt.want)
	}
}

func TestLimitRanger_IgnoresPodUpdates(t *testing.T) {
	store := newFakeStore(limitRange(corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Min: rl("cpu", "1")}))
	pod := newPod("p", container("c", rl("cpu", "10m"), nil))
	a := podAttrs(Update, pod)
	a.OldObject = pod.DeepCopy()
	if err := NewLimitRanger(store).Validate(context.Background(), a); err != nil {
		t.Fatalf("pod updates are not checked: %v", err)
	}
}
