package admission

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func newTestServiceAccount(store Store) *ServiceAccount {
	p := NewServiceAccount(store)
	p.sleep = func(time.Duration) {}
	p.suffix = func() string { return "abcde" }
	return p
}

func TestServiceAccount_DefaultsAndMountsToken(t *testing.T) {
	f := false
	store := newFakeStore(
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "ns"},
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "nomount", Namespace: "ns"}, AutomountServiceAccountToken: &f},
	)
	pod := newPod("p", corev1.Container{Name: "a", Image: "x"},
		corev1.Container{Name: "b", Image: "x", VolumeMounts: []corev1.VolumeMount{{Name: "own", MountPath: DefaultAPITokenMountPath}}})
	pod.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "x"}}
	if err := newTestServiceAccount(store).Admit(context.Background(), podAttrs(Create, pod)); err != nil {
		t.Fatal(err)
	}
	if pod.Spec.ServiceAccountName != "default" || pod.Spec.DeprecatedServiceAccount != "default" {
		t.Errorf("serviceAccountName = %q/%q, want default", pod.Spec.ServiceAccountName, pod.Spec.DeprecatedServiceAccount)
	}
	if len(pod.Spec.Volumes) != 1 || pod.Spec.Volumes[0].Name != "kube-api-access-abcde" {
		t.Fatalf("volumes = %+v", pod.Spec.Volumes)
	}
	proj := pod.Spec.Volumes[0].Projected
	if proj == nil || *proj.DefaultMode != 0o644 || len(proj.Sources) != 3 ||
		proj.Sources[0].ServiceAccountToken.Path != "token" || *proj.Sources[0].ServiceAccountToken.ExpirationSeconds != 3607 ||
		proj.Sources[1].ConfigMap.Name != "kube-root-ca.crt" || proj.Sources[1].ConfigMap.Items[0].Key != "ca.crt" ||
		proj.Sources[2].DownwardAPI.Items[0].FieldRef.FieldPath != "metadata.namespace" {
		t.Errorf("projected source = %+v", proj)
	}
	mounted := func(c corev1.Container) int {
		n := 0
		for _, m := range c.VolumeMounts {
			if m.Name == "kube-api-access-abcde" && m.ReadOnly && m.MountPath == DefaultAPITokenMountPath {
				n++
			}
		}
		return n
	}
	if mounted(pod.Spec.Containers[0]) != 1 || mounted(pod.Spec.InitContainers[0]) != 1 {
		t.Errorf("token not mounted in a and init: %+v %+v", pod.Spec.Containers[0].VolumeMounts, pod.Spec.InitContainers[0].VolumeMounts)
	}
	if mounted(pod.Spec.Containers[1]) != 0 || len(pod.Spec.Containers[1].VolumeMounts) != 1 {
		t.Errorf("container b mounts its own volume at the token path, got %+v", pod.Spec.Containers[1].VolumeMounts)
	}
	if len(pod.Spec.ImagePullSecrets) != 1 || pod.Spec.ImagePullSecrets[0].Name != "regcred" {
		t.Errorf("imagePullSecrets = %+v", pod.Spec.ImagePullSecrets)
	}
}

func TestServiceAccount_Automount(t *testing.T) {
	yes, no := true, false
	store := newFakeStore(
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "ns"}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "nomount", Namespace: "ns"}, AutomountServiceAccountToken: &no},
	)
	tests := []struct {
		name      string
		sa        string
		pod       *bool
		wantMount bool
	}{
		{"default mounts", "default", nil, true},
		{"pod opts out", "default", &no, false},
		{"service account opts out", "nomount", nil, false},
		{"pod wins over service account", "nomount", &yes, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := newPod("p")
			pod.Spec.ServiceAccountName = tt.sa
			pod.Spec.AutomountServiceAccountToken = tt.pod
			if err := newTestServiceAccount(store).Admit(context.Background(), podAttrs(Create, pod)); err != nil {
				t.Fatal(err)
			}
			if got := len(pod.Spec.Volumes) == 1; got != tt.wantMount {
				t.Errorf("mounted = %v, want %v", got, tt.wantMount)
			}
		})
	}
}

func TestServiceAccount_Refusals(t *testing.T) {
	store := newFakeStore()
	tests := []struct {
		name string
		pod  func() *corev1.Pod
		want string
	}{
		{"missing default service account", func() *corev1.Pod { return newPod("p") },
			`pods "p" is forbidden: error looking up service account ns/default: serviceaccount "default" not found`},
		{"missing named service account", func() *corev1.Pod {
			p := newPod("p")
			p.Spec.ServiceAccountName = "robot"
			return p
		}, `pods "p" is forbidden: error looking up service account ns/robot: serviceaccount "robot" not found`},
		{"mirror pod with a service account", func() *corev1.Pod {
			p := newPod("p")
			p.Annotations = map[string]string{MirrorPodAnnotation: "x"}
			p.Spec.ServiceAccountName = "robot"
			return p
		}, `pods "p" is forbidden: a mirror pod may not reference service accounts`},
		{"mirror pod with a secret volume", func() *corev1.Pod {
			p := newPod("p")
			p.Annotations = map[string]string{MirrorPodAnnotation: "x"}
			p.Spec.Volumes = []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}}}
			return p
		}, `pods "p" is forbidden: a mirror pod may not reference secrets`},
		{"mirror pod with a token projection", func() *corev1.Pod {
			p := newPod("p")
			p.Annotations = map[string]string{MirrorPodAnnotation: "x"}
			p.Spec.Volumes = []corev1.Volume{{Name: "t", VolumeSource: corev1.VolumeSource{Projected: TokenVolumeSource()}}}
			return p
		}, `pods "p" is forbidden: a mirror pod may not use ServiceAccountToken volume projections`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := newTestServiceAccount(store).Admit(context.Background(), podAttrs(Create, tt.pod()))
			mustForbidden(t, err, tt.want)
		})
	}
}

func TestServiceAccount_LeavesMirrorPodsAndOtherWritesAlone(t *testing.T) {
	store := newFakeStore()
	mirror := newPod("m")
	mirror.Annotations = map[string]string{MirrorPodAnnotation: "x"}
	if err := newTestServiceAccount(store).Admit(context.Background(), podAttrs(Create, mirror)); err != nil {
		t.Fatal(err)
	}
	if mirror.Spec.ServiceAccountName != "" || len(mirror.Spec.Volumes) != 0 {
		t.Errorf("mirror pod changed: %+v", mirror.Spec)
	}
	update := newPod("u")
	if err := newTestServiceAccount(store).Admit(context.Background(), podAttrs(Update, update)); err != nil {
		t.Fatalf("update must not be admitted by ServiceAccount: %v", err)
	}
	if update.Spec.ServiceAccountName != "" {
		t.Errorf("update changed the pod")
	}
}
