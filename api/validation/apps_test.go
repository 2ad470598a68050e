package validation

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestValidateCreate_Deployment(t *testing.T) {
	ru := func(d *appsv1.Deployment) *appsv1.RollingUpdateDeployment { return d.Spec.Strategy.RollingUpdate }
	runCreate(t, newDeployment, []createCase[*appsv1.Deployment]{
		{"valid", func(*appsv1.Deployment) {}, nil},
		{"selector required", func(d *appsv1.Deployment) { d.Spec.Selector = nil }, []string{"spec.selector Required"}},
		{"empty selector", func(d *appsv1.Deployment) { d.Spec.Selector = &metav1.LabelSelector{} }, []string{"spec.selector Invalid"}},
		{"selector does not match", func(d *appsv1.Deployment) { d.Spec.Template.Labels = map[string]string{"app": "api"} },
			[]string{"spec.template.metadata.labels Invalid"}},
		{"expression selector matches", func(d *appsv1.Deployment) {
			d.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"front", "back"}}}}
		}, nil},
		{"negative replicas", func(d *appsv1.Deployment) { d.Spec.Replicas = ptr(int32(-1)) }, []string{"spec.replicas Invalid"}},
		{"restartPolicy must be Always", func(d *appsv1.Deployment) { d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure },
			[]string{"spec.template.spec.restartPolicy NotSupported"}},
		{"template pod spec validated", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "" },
			[]string{"spec.template.spec.containers[0].image Required"}},
		{"template activeDeadlineSeconds", func(d *appsv1.Deployment) { d.Spec.Template.Spec.ActiveDeadlineSeconds = ptr(int64(10)) },
			[]string{"spec.template.spec.activeDeadlineSeconds Forbidden"}},
		{"both zero", func(d *appsv1.Deployment) {
			ru(d).MaxSurge = ptr(intstr.FromInt32(0))
			ru(d).MaxUnavailable = ptr(intstr.FromString("0%"))
		},
			[]string{"spec.strategy.rollingUpdate.maxUnavailable Invalid"}},
		{"bad percent", func(d *appsv1.Deployment) { ru(d).MaxSurge = ptr(intstr.FromString("25")) }, []string{"spec.strategy.rollingUpdate.maxSurge Invalid"}},
		{"maxUnavailable above 100%", func(d *appsv1.Deployment) { ru(d).MaxUnavailable = ptr(intstr.FromString("150%")) },
			[]string{"spec.strategy.rollingUpdate.maxUnavailable Invalid"}},
		{"negative maxSurge", func(d *appsv1.Deployment) { ru(d).MaxSurge = ptr(intstr.FromInt32(-1)) }, []string{"spec.strategy.rollingUpdate.maxSurge Invalid"}},
		{"Recreate with rollingUpdate", func(d *appsv1.Deployment) { d.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType },
			[]string{"spec.strategy.rollingUpdate Forbidden"}},
		{"bad strategy", func(d *appsv1.Deployment) { d.Spec.Strategy.Type = "BlueGreen" }, []string{"spec.strategy.type NotSupported"}},
		{"Recreate as a client sends it", func(d *appsv1.Deployment) {
			d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
			defaulted(d)
		}, nil},
		{"minReadySeconds", func(d *appsv1.Deployment) { d.Spec.MinReadySeconds = -1 }, []string{"spec.minReadySeconds Invalid"}},
		{"revisionHistoryLimit", func(d *appsv1.Deployment) { d.Spec.RevisionHistoryLimit = ptr(int32(-1)) }, []string{"spec.revisionHistoryLimit Invalid"}},
		{"progressDeadline not above minReady", func(d *appsv1.Deployment) { d.Spec.MinReadySeconds = 600 },
			[]string{"spec.progressDeadlineSeconds Invalid"}},
	})

	d := newDeployment()
	d.Spec.Template.Labels = map[string]string{"app": "api"}
	errs := ValidateCreate(d)
	if len(errs) != 1 || !strings.HasSuffix(errs[0].Error(), "`selector` does not match template `labels`") ||
		!strings.HasPrefix(errs[0].Error(), "spec.template.metadata.labels: Invalid value: ") {
		t.Errorf("got %v", errs)
	}
}

func TestValidateUpdate_Deployment(t *testing.T) {
	runUpdate(t, newDeployment, []updateCase[*appsv1.Deployment]{
		{"scale and new image", func(d, _ *appsv1.Deployment) {
			d.Spec.Replicas = ptr(int32(5))
			d.Spec.Template.Spec.Containers[0].Image = "nginx:1.28"
		}, nil},
		{"selector immutable", func(d, _ *appsv1.Deployment) {
			d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "front"}}
		}, []string{"spec.selector Invalid"}},
	})
	old := newDeployment()
	old.ResourceVersion = "2"
	st := old.DeepCopy()
	st.Status = appsv1.DeploymentStatus{Replicas: 3, ReadyReplicas: 2, AvailableReplicas: 3}
	expectErrors(t, ValidateStatusUpdate(st, old), "status.availableReplicas Invalid")
}

func TestValidate_ReplicaSetStatefulSetDaemonSet(t *testing.T) {
	rs := func() *appsv1.ReplicaSet {
		d := newDeployment()
		return defaulted(&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-5d9c8", Namespace: "default"},
			Spec: appsv1.ReplicaSetSpec{Replicas: ptr(int32(1)), Selector: d.Spec.Selector, Template: d.Spec.Template}})
	}
	runCreate(t, rs, []createCase[*appsv1.ReplicaSet]{
		{"valid", func(*appsv1.ReplicaSet) {}, nil},
		{"selector mismatch", func(r *appsv1.ReplicaSet) { r.Spec.Template.Labels = nil }, []string{"spec.template.metadata.labels Invalid"}},
	})
	runUpdate(t, rs, []updateCase[*appsv1.ReplicaSet]{
		{"selector immutable", func(r, _ *appsv1.ReplicaSet) { r.Spec.Selector.MatchLabels["tier"] = "front" }, []string{"spec.selector Invalid"}},
	})

	sts := func() *appsv1.StatefulSet {
		d := newDeployment()
		return defaulted(&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default"}, Spec: appsv1.StatefulSetSpec{
			Replicas: ptr(int32(3)), ServiceName: "db", Selector: d.Spec.Selector, Template: d.Spec.Template,
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}, Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{"storage": resource.MustParse("1Gi")}},
			}}},
		}})
	}
	runCreate(t, sts, []createCase[*appsv1.StatefulSet]{
		{"valid", func(*appsv1.StatefulSet) {}, nil},
		{"bad podManagementPolicy", func(s *appsv1.StatefulSet) { s.Spec.PodManagementPolicy = "Random" }, []string{"spec.podManagementPolicy Invalid"}},
		{"bad updateStrategy", func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.Type = "Canary" }, []string{"spec.updateStrategy Invalid"}},
		{"negative partition", func(s *appsv1.StatefulSet) {
			s.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr(int32(-1))}
		},
			[]string{"spec.updateStrategy.rollingUpdate.partition Invalid"}},
		{"claim template without access modes", func(s *appsv1.StatefulSet) { s.Spec.VolumeClaimTemplates[0].Spec.AccessModes = nil },
			[]string{"spec.volumeClaimTemplates[0].spec.accessModes Required"}},
	})
	runUpdate(t, sts, []updateCase[*appsv1.StatefulSet]{
		{"replicas, template, strategy", func(s, _ *appsv1.StatefulSet) {
			s.Spec.Replicas = ptr(int32(5))
			s.Spec.Template.Spec.Containers[0].Image = "postgres:17"
			s.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
		}, nil},
		{"serviceName forbidden", func(s, _ *appsv1.StatefulSet) { s.Spec.ServiceName = "db2" }, []string{"spec Forbidden"}},
		{"claim templates forbidden", func(s, _ *appsv1.StatefulSet) { s.Spec.VolumeClaimTemplates = nil }, []string{"spec Forbidden"}},
	})

	ds := func() *appsv1.DaemonSet {
		d := newDeployment()
		return defaulted(&appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "kube-system"},
			Spec: appsv1.DaemonSetSpec{Selector: d.Spec.Selector, Template: d.Spec.Template}})
	}
	runCreate(t, ds, []createCase[*appsv1.DaemonSet]{
		{"valid", func(*appsv1.DaemonSet) {}, nil},
		{"both zero", func(d *appsv1.DaemonSet) {
			d.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptr(intstr.FromInt32(0))
			d.Spec.UpdateStrategy.RollingUpdate.MaxSurge = ptr(intstr.FromInt32(0))
		}, []string{"spec.updateStrategy.rollingUpdate.maxUnavailable Invalid"}},
		{"bad strategy", func(d *appsv1.DaemonSet) { d.Spec.UpdateStrategy.Type = "Fast" }, []string{"spec.updateStrategy.type NotSupported"}},
	})
	runUpdate(t, ds, []updateCase[*appsv1.DaemonSet]{
		{"selector immutable", func(d, _ *appsv1.DaemonSet) {
			d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "front"}}
		}, []string{"spec.selector Invalid"}},
	})
}
