package kubelet

import (
	"context"
	"slices"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/flowcontrol"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

// fakeObjects serves ConfigMaps and Secrets from maps (the unit-test
// stand-in for the apiserver).
type fakeObjects struct {
	cms     map[string]map[string]string
	secrets map[string]map[string][]byte
}

func (f fakeObjects) ConfigMap(_ context.Context, ns, name string) (*v1.ConfigMap, error) {
	d, ok := f.cms[name]
	if !ok {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, name)
	}
	return &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: d}, nil
}

func (f fakeObjects) Secret(_ context.Context, ns, name string) (*v1.Secret, error) {
	d, ok := f.secrets[name]
	if !ok {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, name)
	}
	return &v1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: d}, nil
}

func TestContainerEnv_AllSources(t *testing.T) {
	objs := fakeObjects{
		cms:     map[string]map[string]string{"cfg": {"B": "from-cm-b", "A": "from-cm-a", "mode": "fast"}},
		secrets: map[string]map[string][]byte{"sec": {"password": []byte("hunter2")}},
	}
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "prod", UID: "u1", Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"team": "infra"}},
		Spec:       v1.PodSpec{NodeName: "n1", ServiceAccountName: "sa"},
	}
	c := &v1.Container{
		EnvFrom: []v1.EnvFromSource{
			{ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}}},
			{Prefix: "S_", SecretRef: &v1.SecretEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "sec"}}},
			{ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "absent"}, Optional: ptr.To(true)}},
		},
		Env: []v1.EnvVar{
			{Name: "A", Value: "overridden"},
			{Name: "GREETING", Value: "hello $(A) $$(A) $(NOPE)"},
			{Name: "POD", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "NS", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
			{Name: "APP", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
			{Name: "TEAM", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.annotations['team']"}}},
			{Name: "NODE", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
			{Name: "POD_IP", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "HOST_IP", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "status.hostIP"}}},
			{Name: "MODE", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}, Key: "mode"}}},
			{Name: "PW", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "sec"}, Key: "password"}}},
			{Name: "OPT", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "sec"}, Key: "nope", Optional: ptr.To(true)}}},
			{Name: "MEM_MI", ValueFrom: &v1.EnvVarSource{ResourceFieldRef: &v1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
			{Name: "CPU", ValueFrom: &v1.EnvVarSource{ResourceFieldRef: &v1.ResourceFieldSelector{Resource: "limits.cpu"}}},
			{Name: "CPU_REQ_M", ValueFrom: &v1.EnvVarSource{ResourceFieldRef: &v1.ResourceFieldSelector{Resource: "requests.cpu", Divisor: resource.MustParse("1m")}}},
		},
		Resources: v1.ResourceRequirements{
			Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("250m")},
			Limits:   v1.ResourceList{v1.ResourceMemory: resource.MustParse("64Mi")},
		},
	}
	ec := envContext{PodIP: "10.0.0.5", HostIP: "192.168.0.1", NodeAllocatable: v1.ResourceList{v1.ResourceCPU: resource.MustParse("2")}}
	got, err := containerEnv(context.Background(), pod, c, ec, objs)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"A=overridden", "B=from-cm-b", "mode=fast", "S_password=hunter2",
		"GREETING=hello overridden $(A) $(NOPE)",
		"POD=web", "NS=prod", "APP=web", "TEAM=infra", "NODE=n1", "POD_IP=10.0.0.5", "HOST_IP=192.168.0.1",
		"MODE=fast", "PW=hunter2", "MEM_MI=64", "CPU=2", "CPU_REQ_M=250",
	}
	if !slices.Equal(got, want) {
		t.Errorf("env:\n got %q\nwant %q", got, want)
	}
}

func TestContainerEnv_MissingReferencesFail(t *testing.T) {
	objs := fakeObjects{cms: map[string]map[string]string{"cfg": {}}}
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
	tests := map[string]v1.Container{
		"configmap": {EnvFrom: []v1.EnvFromSource{{ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "absent"}}}}},
		"key":       {Env: []v1.EnvVar{{Name: "X", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "cfg"}, Key: "k"}}}}},
		"secret":    {Env: []v1.EnvVar{{Name: "X", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "s"}, Key: "k"}}}}},
		"field":     {Env: []v1.EnvVar{{Name: "X", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "spec.bogus"}}}}},
	}
	for name, c := range tests {
		if _, err := containerEnv(context.Background(), pod, &c, envContext{}, objs); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestCgroupResources(t *testing.T) {
	tests := []struct {
		name     string
		req, lim v1.ResourceList
		shares   uint64
		quota    int64
		period   uint64
		memory   int64
	}{
		{"best effort", nil, nil, 2, 0, 0, 0},
		{"request", v1.ResourceList{v1.ResourceCPU: resource.MustParse("500m")}, nil, 512, 0, 0, 0},
		{"limit implies request", nil, v1.ResourceList{v1.ResourceCPU: resource.MustParse("2"), v1.ResourceMemory: resource.MustParse("128Mi")}, 2048, 200000, 100000, 128 << 20},
		{"tiny limit", nil, v1.ResourceList{v1.ResourceCPU: resource.MustParse("1m")}, 2, 1000, 100000, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &v1.Container{Resources: v1.ResourceRequirements{Requests: tt.req, Limits: tt.lim}}
			s, q, p, m := cgroupResources(c)
			if s != tt.shares || q != tt.quota || p != tt.period || m != tt.memory {
				t.Errorf("got shares=%d quota=%d period=%d memory=%d", s, q, p, m)
			}
		})
	}
}

func TestShouldRestart(t *testing.T) {
	tests := []struct {
		policy v1.RestartPolicy
		exit   int
		want   bool
	}{
		{v1.RestartPolicyAlways, 0, true}, {v1.RestartPolicyAlways, 1, true},
		{v1.RestartPolicyOnFailure, 0, false}, {v1.RestartPolicyOnFailure, 1, true},
		{v1.RestartPolicyNever, 0, false}, {v1.RestartPolicyNever, 1, false},
	}
	for _, tt := range tests {
		if got := shouldRestart(tt.policy, tt.exit); got != tt.want {
			t.Errorf("shouldRestart(%s, %d) = %v", tt.policy, tt.exit, got)
		}
	}
}

// TestCrashLoopBackOff_DoublesToFiveMinutes drives the restart backoff the
// way syncPod does: each exit is checked with IsInBackOffSince and a
// restart records Next.
func TestCrashLoopBackOff_DoublesToFiveMinutes(t *testing.T) {
	clock := testingclock.NewFakeClock(t0)
	b := flowcontrol.NewFakeBackOff(backoffInitial, backoffMax, clock)
	const key = "uid/c"
	var delays []time.Duration
	for i := 0; i < 8; i++ {
		exit := clock.Now()
		if i > 0 && !b.IsInBackOffSince(key, exit) {
			t.Fatalf("exit %d: not in backoff right after exiting", i)
		}
		clock.Step(b.Get(key))
		if b.IsInBackOffSince(key, exit) {
			t.Fatalf("exit %d: still in backoff after %v", i, b.Get(key))
		}
		b.Next(key, exit)
		delays = append(delays, b.Get(key))
	}
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 300 * time.Second, 300 * time.Second, 300 * time.Second}
	if !slices.Equal(delays, want) {
		t.Errorf("delays = %v, want %v", delays, want)
	}
}
