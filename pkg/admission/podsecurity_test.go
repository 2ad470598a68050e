package admission

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func namespace(labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns", Labels: labels}}
}

func ptr[T any](v T) *T { return &v }

// restrictedPod passes the restricted level.
func restrictedPod() *corev1.Pod {
	pod := newPod("p")
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: ptr(true),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
	pod.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{AllowPrivilegeEscalation: ptr(false),
		Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_BIND_SERVICE"}}}
	return pod
}

func TestPodSecurity_Enforce(t *testing.T) {
	restricted := map[string]string{PodSecurityEnforceLabel: "restricted"}
	baseline := map[string]string{PodSecurityEnforceLabel: "baseline"}
	tests := []struct {
		name   string
		labels map[string]string
		pod    func() *corev1.Pod
		want   string
	}{
		{"unlabelled namespace is privileged", nil, func() *corev1.Pod {
			p := newPod("p")
			p.Spec.HostNetwork = true
			return p
		}, ""},
		{"restricted pod in restricted", restricted, restrictedPod, ""},
		{"plain pod in restricted", restricted, func() *corev1.Pod { return newPod("p") },
			`pods "p" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`},
		{"plain pod in baseline", baseline, func() *corev1.Pod { return newPod("p") }, ""},
		{"host namespaces and privileged in baseline", baseline, func() *corev1.Pod {
			p := newPod("p", corev1.Container{Name: "a", Image: "x", SecurityContext: &corev1.SecurityContext{Privileged: ptr(true)}},
				corev1.Container{Name: "b", Image: "x", SecurityContext: &corev1.SecurityContext{Privileged: ptr(true)}})
			p.Spec.HostNetwork, p.Spec.HostPID = true, true
			return p
		}, `pods "p" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true, hostPID=true), privileged (containers "a", "b" must not set securityContext.privileged=true)`},
		{"capabilities, hostPath, hostPort in baseline", baseline, func() *corev1.Pod {
			p := newPod("p", corev1.Container{Name: "c", Image: "x", Ports: []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080}},
				SecurityContext: &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN", "CHOWN", "SYS_ADMIN"}}}})
			p.Spec.Volumes = []corev1.Volume{{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
			return p
		}, `pods "p" is forbidden: violates PodSecurity "baseline:latest": non-default capabilities (container "c" must not include "NET_ADMIN", "SYS_ADMIN" in securityContext.capabilities.add), hostPath volumes (volume "host"), hostPort (container "c" uses hostPort 8080)`},
		{"seccomp, sysctls, procMount, seLinux in baseline", baseline, func() *corev1.Pod {
			p := newPod("p", corev1.Container{Name: "c", Image: "x", SecurityContext: &corev1.SecurityContext{
				ProcMount: ptr(corev1.UnmaskedProcMount), SELinuxOptions: &corev1.SELinuxOptions{Type: "spc_t", User: "root"}}})
			p.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined},
				Sysctls: []corev1.Sysctl{{Name: "kernel.msgmax", Value: "1"}, {Name: "net.ipv4.tcp_syncookies", Value: "1"}}}
			return p
		}, `pods "p" is forbidden: violates PodSecurity "baseline:latest": procMount (container "c" must not set securityContext.procMount to "Unmasked"), seLinuxOptions (container "c" set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set), seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined"), forbidden sysctls (kernel.msgmax)`},
		{"restricted volume types and root user", restricted, func() *corev1.Pod {
			p := restrictedPod()
			p.Spec.SecurityContext.RunAsUser = ptr(int64(0))
			p.Spec.Volumes = []corev1.Volume{
				{Name: "ok", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}},
				{Name: "nfs", VolumeSource: corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "s", Path: "/"}}},
			}
			return p
		}, `pods "p" is forbidden: violates PodSecurity "restricted:latest": restricted volume types (volumes "host", "nfs" use restricted volume types "hostPath", "nfs"), runAsUser=0 (pod must not set runAsUser=0)`},
		{"explicit runAsNonRoot=false", restricted, func() *corev1.Pod {
			p := restrictedPod()
			p.Spec.Containers[0].SecurityContext.RunAsNonRoot = ptr(false)
			return p
		}, `pods "p" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true (container "c" must not set securityContext.runAsNonRoot=false)`},
		{"invalid level enforces restricted", map[string]string{PodSecurityEnforceLabel: "bogus"}, func() *corev1.Pod {
			p := restrictedPod()
			p.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = nil
			return p
		}, `pods "p" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false)`},
		{"pinned version is shown", map[string]string{PodSecurityEnforceLabel: "baseline", PodSecurityEnforceLabel + "-version": "v1.30"}, func() *corev1.Pod {
			p := newPod("p")
			p.Spec.HostIPC = true
			return p
		}, `pods "p" is forbidden: violates PodSecurity "baseline:v1.30": host namespaces (hostIPC=true)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newFakeStore(namespace(tt.labels))
			err := NewPodSecurity(store).Validate(context.Background(), podAttrs(Create, tt.pod()))
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

func TestPodSecurity_Warn(t *testing.T) {
	store := newFakeStore(namespace(map[string]string{PodSecurityEnforceLabel: "baseline", PodSecurityWarnLabel: "restricted"}))
	pod := newPod("p")
	pod.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{AllowPrivilegeEscalation: ptr(false),
		Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}, RunAsNonRoot: ptr(true),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost}, RunAsUser: ptr(int64(0))}
	a := podAttrs(Create, pod)
	if err := NewPodSecurity(store).Validate(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	want := `would violate PodSecurity "restricted:latest": runAsUser=0 (container "c" must not set runAsUser=0)`
	if len(a.Warnings) != 1 || a.Warnings[0] != want {
		t.Errorf("warnings = %q, want [%q]", a.Warnings, want)
	}
}

func TestPodSecurity_WorkloadsWarnOnly(t *testing.T) {
	store := newFakeStore(namespace(map[string]string{PodSecurityEnforceLabel: "baseline"}))
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"}}
	d.Spec.Template.Spec = corev1.PodSpec{HostPID: true, Containers: []corev1.Container{{Name: "c", Image: "x"}}}
	a := &Attributes{Operation: Create, Resource: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"},
		Namespace: "ns", Name: "web", Object: d}
	if err := NewPodSecurity(store).Validate(context.Background(), a); err != nil {
		t.Fatalf("workloads are not refused: %v", err)
	}
	want := `would violate PodSecurity "baseline:latest": host namespaces (hostPID=true)`
	if len(a.Warnings) != 1 || a.Warnings[0] != want {
		t.Errorf("warnings = %q, want [%q]", a.Warnings, want)
	}
}

func TestPodSecurity_UpdatesOnlyReevaluatedWhenSignificant(t *testing.T) {
	store := newFakeStore(namespace(map[string]string{PodSecurityEnforceLabel: "baseline"}))
	old := newPod("p")
	old.Spec.HostNetwork = true // admitted before the label was set
	labelsOnly := old.DeepCopy()
	labelsOnly.Labels = map[string]string{"a": "b"}
	a := podAttrs(Update, labelsOnly)
	a.OldObject = old
	if err := NewPodSecurity(store).Validate(context.Background(), a); err != nil {
		t.Fatalf("label change refused: %v", err)
	}
	image := old.DeepCopy()
	image.Spec.Containers[0].Image = "busybox:2"
	a = podAttrs(Update, image)
	a.OldObject = old
	mustForbidden(t, NewPodSecurity(store).Validate(context.Background(), a),
		`pods "p" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true)`)
}
