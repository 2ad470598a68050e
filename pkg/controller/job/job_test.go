package job

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestFormatIndexes(t *testing.T) {
	for _, tc := range []struct {
		in   []int
		want string
	}{
		{nil, ""}, {[]int{0}, "0"}, {[]int{0, 1, 2, 5, 7, 8}, "0-2,5,7-8"}, {[]int{3, 1}, "1,3"},
	} {
		set := map[int]bool{}
		for _, i := range tc.in {
			set[i] = true
		}
		if got := formatIndexes(set); got != tc.want {
			t.Errorf("formatIndexes(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	for n, want := range map[int32]time.Duration{0: 0, 1: 10 * time.Second, 2: 20 * time.Second, 4: 80 * time.Second, 10: 6 * time.Minute} {
		if got := backoff(n); got != want {
			t.Errorf("backoff(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestMatchFailurePolicy(t *testing.T) {
	name := "main"
	j := &batchv1.Job{Spec: batchv1.JobSpec{PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
		{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget}}},
		{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
			ContainerName: &name, Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}}},
		{Action: batchv1.PodFailurePolicyActionCount, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
			Operator: batchv1.PodFailurePolicyOnExitCodesOpNotIn, Values: []int32{0}}},
	}}}}
	exited := func(container string, code int32) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Status: corev1.PodStatus{Phase: corev1.PodFailed,
			ContainerStatuses: []corev1.ContainerStatus{{Name: container, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}}}}}
	}
	disrupted := exited("main", 42)
	disrupted.Status.Conditions = []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want batchv1.PodFailurePolicyAction
	}{
		{"exit 42 in main fails the job", exited("main", 42), batchv1.PodFailurePolicyActionFailJob},
		{"exit 42 elsewhere counts", exited("sidecar", 42), batchv1.PodFailurePolicyActionCount},
		{"disruption ignored first", disrupted, batchv1.PodFailurePolicyActionIgnore},
		{"exit 1 counts", exited("main", 1), batchv1.PodFailurePolicyActionCount},
	} {
		if got, _ := matchFailurePolicy(j, tc.pod); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestNewPod_Indexed(t *testing.T) {
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "ns", UID: "u"}, Spec: batchv1.JobSpec{
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}}}}
	p := newPod(j, 3)
	if p.Annotations[batchv1.JobCompletionIndexAnnotation] != "3" || p.Spec.Hostname != "pi-3" || p.GenerateName != "pi-3-" {
		t.Errorf("pod = %+v", p.ObjectMeta)
	}
	if env := p.Spec.Containers[0].Env; len(env) != 1 || env[0].Name != "JOB_COMPLETION_INDEX" {
		t.Errorf("env = %+v", env)
	}
	if ref := metav1.GetControllerOf(p); ref == nil || ref.Kind != "Job" {
		t.Errorf("owner = %+v", p.OwnerReferences)
	}
}

func TestParseIndexes_RoundTripsFormatIndexes(t *testing.T) {
	for _, s := range []string{"", "0", "1,3-5", "0-2,4,7-9"} {
		if got := formatIndexes(parseIndexes(s, 100)); got != s {
			t.Errorf("format(parse(%q)) = %q", s, got)
		}
	}
	if got := formatIndexes(parseIndexes("1-9", 5)); got != "1-4" {
		t.Errorf("indexes beyond completions kept: %q", got)
	}
}
