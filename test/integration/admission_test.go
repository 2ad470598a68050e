package integration

import (
	"context"
	"strings"
	"testing"

	"github.com/kstack/kstack/test/integration/framework"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestAdmission_LimitRangerDefaultsAndBounds: a LimitRange fills in a
// container's requests and limits and refuses what exceeds its max, with
// upstream's message.
func TestAdmission_LimitRangerDefaultsAndBounds(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	ns := createNamespace(t, s.Client, "limits")
	lr := &corev1.LimitRange{
		ObjectMeta: metav1.ObjectMeta{Name: "cpu"},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type:           corev1.LimitTypeContainer,
			Default:        corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")},
			DefaultRequest: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
			Max:            corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
		}}},
	}
	if _, err := s.Client.CoreV1().LimitRanges(ns).Create(ctx, lr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var pod *corev1.Pod
	// The LimitRange reaches admission through the watch cache: retry
	// until it applies.
	eventually(t, "limit range applies", func(ctx context.Context) (bool, error) {
		p, err := s.Client.CoreV1().Pods(ns).Create(ctx, newPod("defaulted", nil), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			return false, err
		}
		pod = p
		return p.Spec.Containers[0].Resources.Limits.Cpu().String() == "500m", nil
	})
	c := pod.Spec.Containers[0]
	if c.Resources.Requests.Cpu().String() != "100m" {
		t.Errorf("defaulted cpu request = %s, want 100m", c.Resources.Requests.Cpu())
	}
	if !strings.Contains(pod.Annotations["kubernetes.io/limit-ranger"], "LimitRanger plugin set: cpu request for container app; cpu limit for container app") {
		t.Errorf("limit-ranger annotation = %q", pod.Annotations["kubernetes.io/limit-ranger"])
	}
	big := newPod("big", nil)
	big.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}
	_, err := s.Client.CoreV1().Pods(ns).Create(ctx, big, metav1.CreateOptions{})
	se := wantStatus(t, err, 403)
	if !strings.Contains(se.ErrStatus.Message, "maximum cpu usage per Container is 1, but limit is 2") {
		t.Errorf("message = %q", se.ErrStatus.Message)
	}
}

// TestAdmission_ResourceQuotaCountsAndRefuses: a pods=2 quota admits two
// pods, records the usage, and refuses the third with upstream's message.
func TestAdmission_ResourceQuotaCountsAndRefuses(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	ns := createNamespace(t, s.Client, "quota")
	q := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "q"},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("2")}},
	}
	if _, err := s.Client.CoreV1().ResourceQuotas(ns).Create(ctx, q, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Wait until admission sees the quota (a dry run beyond the limit fails).
	eventually(t, "quota applies", func(ctx context.Context) (bool, error) {
		got, err := s.Client.CoreV1().ResourceQuotas(ns).Get(ctx, "q", metav1.GetOptions{})
		return err == nil && got.Name == "q", nil
	})
	for _, name := range []string{"p1", "p2"} {
		if _, err := s.Client.CoreV1().Pods(ns).Create(ctx, newPod(name, nil), metav1.CreateOptions{}); err != nil {
			t.Fatalf("create %s within the quota: %v", name, err)
		}
	}
	got, err := s.Client.CoreV1().ResourceQuotas(ns).Get(ctx, "q", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if used := got.Status.Used[corev1.ResourcePods]; used.String() != "2" {
		t.Errorf("status.used.pods = %s, want 2", used.String())
	}
	_, err = s.Client.CoreV1().Pods(ns).Create(ctx, newPod("p3", nil), metav1.CreateOptions{})
	se := wantStatus(t, err, 403)
	if !strings.Contains(se.ErrStatus.Message, "exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2") {
		t.Errorf("message = %q", se.ErrStatus.Message)
	}
}

// TestAdmission_PodSecurityEnforcesTheNamespaceLevel: a namespace labelled
// enforce=restricted refuses a privileged pod with upstream's message and
// admits a compliant one.
func TestAdmission_PodSecurityEnforcesTheNamespaceLevel(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "restricted",
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}}}
	if _, err := s.Client.CoreV1().Namespaces().Create(ctx, nsObj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bad := newPod("privileged", nil)
	bad.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr(true)}
	var err error
	eventually(t, "pod security applies", func(ctx context.Context) (bool, error) {
		_, err = s.Client.CoreV1().Pods("restricted").Create(ctx, bad, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err != nil, nil
	})
	se := wantStatus(t, err, 403)
	if !strings.Contains(se.ErrStatus.Message, `violates PodSecurity "restricted:latest"`) || !strings.Contains(se.ErrStatus.Message, "privileged") {
		t.Errorf("message = %q", se.ErrStatus.Message)
	}
	good := newPod("restricted-ok", nil)
	good.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: ptr(true), RunAsUser: ptr(int64(1000)),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
	good.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{AllowPrivilegeEscalation: ptr(false),
		Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
	if _, err := s.Client.CoreV1().Pods("restricted").Create(ctx, good, metav1.CreateOptions{}); err != nil {
		t.Fatalf("compliant pod refused: %v", err)
	}
}

// TestAdmission_ServiceAccountMountsTheAPIAccessVolume: a pod gets the
// default service account and upstream's projected kube-api-access volume;
// a pod naming a missing service account is refused.
func TestAdmission_ServiceAccountMountsTheAPIAccessVolume(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	pod, err := s.Client.CoreV1().Pods("default").Create(ctx, newPod("sa", nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pod.Spec.ServiceAccountName != "default" {
		t.Errorf("serviceAccountName = %q, want default", pod.Spec.ServiceAccountName)
	}
	var vol *corev1.Volume
	for i := range pod.Spec.Volumes {
		if strings.HasPrefix(pod.Spec.Volumes[i].Name, "kube-api-access-") {
			vol = &pod.Spec.Volumes[i]
		}
	}
	if vol == nil || vol.Projected == nil || len(vol.Projected.Sources) != 3 || vol.Projected.Sources[0].ServiceAccountToken == nil ||
		vol.Projected.Sources[0].ServiceAccountToken.Path != "token" {
		t.Fatalf("kube-api-access volume missing or wrong: %+v", pod.Spec.Volumes)
	}
	mounted := false
	for _, m := range pod.Spec.Containers[0].VolumeMounts {
		if m.Name == vol.Name && m.MountPath == "/var/run/secrets/kubernetes.io/serviceaccount" && m.ReadOnly {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("token volume not mounted read-only at the service account path: %+v", pod.Spec.Containers[0].VolumeMounts)
	}
	missing := newPod("nosa", nil)
	missing.Spec.ServiceAccountName = "missing"
	_, err = s.Client.CoreV1().Pods("default").Create(ctx, missing, metav1.CreateOptions{})
	se := wantStatus(t, err, 403)
	if !strings.Contains(se.ErrStatus.Message, `serviceaccount "missing" not found`) {
		t.Errorf("message = %q", se.ErrStatus.Message)
	}
}
