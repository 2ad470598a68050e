package admission

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Names and paths of upstream's ServiceAccount admission.
const (
	// DefaultServiceAccountName is the service account a pod gets when it
	// names none.
	DefaultServiceAccountName = "default"
	// ServiceAccountVolumeName prefixes the projected token volume.
	ServiceAccountVolumeName = "kube-api-access"
	// DefaultAPITokenMountPath is where the token volume is mounted.
	DefaultAPITokenMountPath = "/var/run/secrets/kubernetes.io/serviceaccount"
	// RootCAConfigMapName holds the cluster CA in every namespace.
	RootCAConfigMapName = "kube-root-ca.crt"
	// MirrorPodAnnotation marks a kubelet's mirror of a static pod.
	MirrorPodAnnotation = "kubernetes.io/config.mirror"
	// tokenExpirationSeconds is upstream's WarnOnlyBoundTokenExpirationSeconds.
	tokenExpirationSeconds = int64(3607)
)

// ServiceAccount is upstream's ServiceAccount admission plugin: it gives a
// pod the "default" service account when it names none, refuses pods whose
// service account does not exist, mounts the projected API-access volume
// (token, ca.crt, namespace) into every container and copies the service
// account's imagePullSecrets. Mirror pods are left alone but may not use
// service accounts or secrets.
type ServiceAccount struct {
	store Store
	// sleep waits between lookups of a missing default service account
	// (the controller may be creating it); a seam for tests.
	sleep func(time.Duration)
	// suffix makes the volume name's random suffix; a seam for tests.
	suffix func() string
}

// NewServiceAccount returns the plugin reading service accounts from store.
func NewServiceAccount(store Store) *ServiceAccount {
	return &ServiceAccount{store: store, sleep: time.Sleep, suffix: func() string { return randomSuffix(5) }}
}

var _ Mutator = (*ServiceAccount)(nil)

// Admit defaults and checks the service account of a created pod.
func (p *ServiceAccount) Admit(ctx context.Context, a *Attributes) error {
	if !isPods(a) || a.Operation != Create {
		return nil
	}
	pod, ok := a.Object.(*corev1.Pod)
	if !ok {
		return nil
	}
	if _, mirror := pod.Annotations[MirrorPodAnnotation]; mirror {
		// The kubelet deletes a mirror pod whose spec differs from its
		// static pod: never change it, only refuse what it may not use.
		if err := mirrorPodRefusal(pod); err != nil {
			return forbidden(a, err)
		}
		return nil
	}
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = pod.Spec.DeprecatedServiceAccount
	}
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = DefaultServiceAccountName
	}
	pod.Spec.DeprecatedServiceAccount = pod.Spec.ServiceAccountName
	sa, err := p.getServiceAccount(ctx, a.Namespace, pod.Spec.ServiceAccountName)
	if err != nil {
		return forbidden(a, fmt.Errorf("error looking up service account %s/%s: %w", a.Namespace, pod.Spec.ServiceAccountName, err))
	}
	if shouldAutomount(sa, pod) {
		p.mountToken(pod)
	}
	if len(pod.Spec.ImagePullSecrets) == 0 && len(sa.ImagePullSecrets) > 0 {
		pod.Spec.ImagePullSecrets = make([]corev1.LocalObjectReference, len(sa.ImagePullSecrets))
		for i, s := range sa.ImagePullSecrets {
			pod.Spec.ImagePullSecrets[i].Name = s.Name
		}
	}
	return nil
}

// getServiceAccount reads a service account, asking again for a while
// when the default one is missing (upstream: up to ten times).
func (p *ServiceAccount) getServiceAccount(ctx context.Context, ns, name string) (*corev1.ServiceAccount, error) {
	attempts := 1
	if name == DefaultServiceAccountName {
		attempts = 10
	}
	for i := 0; i < attempts; i++ {
		if i > 0 {
			p.sleep(time.Duration(100+rand.IntN(100)) * time.Millisecond)
		}
		obj, err := p.store.Get(ctx, grServiceAccounts, ns, name)
		if err == nil {
			sa, ok := obj.(*corev1.ServiceAccount)
			if !ok {
				return nil, fmt.Errorf("unexpected object %T for a service account", obj)
			}
			return sa, nil
		}
		if !apierrors.IsNotFound(err) {
			return nil, err
		}
		if ctx.Err() != nil {
			break
		}
	}
	// Upstream names the resource in the singular here.
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "serviceaccount"}, name)
}

// shouldAutomount: the pod's automountServiceAccountToken wins over the
// service account's; the default is to mount.
func shouldAutomount(sa *corev1.ServiceAccount, pod *corev1.Pod) bool {
	if pod.Spec.AutomountServiceAccountToken != nil {
		return *pod.Spec.AutomountServiceAccountToken
	}
	if sa.AutomountServiceAccountToken != nil {
		return *sa.AutomountServiceAccountToken
	}
	return true
}

// mountToken adds the kube-api-access volume (unless the pod has one) and
// mounts it in every container and init container that does not already
// mount something at the token path.
func (p *ServiceAccount) mountToken(pod *corev1.Pod) {
	volumeName := ""
	for _, v := range pod.Spec.Volumes {
		if strings.HasPrefix(v.Name, ServiceAccountVolumeName+"-") {
			volumeName = v.Name
			break
		}
	}
	hasVolume := volumeName != ""
	if !hasVolume {
		volumeName = ServiceAccountVolumeName + "-" + p.suffix()
	}
	mount := corev1.VolumeMount{Name: volumeName, ReadOnly: true, MountPath: DefaultAPITokenMountPath}
	needsVolume := false
	addMount := func(containers []corev1.Container) {
		for i := range containers {
			mounted := false
			for _, m := range containers[i].VolumeMounts {
				if m.MountPath == DefaultAPITokenMountPath {
					mounted = true
					break
				}
			}
			if !mounted {
				containers[i].VolumeMounts = append(containers[i].VolumeMounts, mount)
				needsVolume = true
			}
		}
	}
	addMount(pod.Spec.InitContainers)
	addMount(pod.Spec.Containers)
	if !hasVolume && needsVolume {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{
			Name:         volumeName,
			VolumeSource: corev1.VolumeSource{Projected: TokenVolumeSource()},
		})
	}
}

// TokenVolumeSource is the projected volume upstream mounts for a pod's
// service account: a bound token, the cluster CA and the namespace.
func TokenVolumeSource() *corev1.ProjectedVolumeSource {
	mode := corev1.ProjectedVolumeSourceDefaultMode
	expiration := tokenExpirationSeconds
	return &corev1.ProjectedVolumeSource{
		DefaultMode: &mode,
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: &expiration}},
			{ConfigMap: &corev1.ConfigMapProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: RootCAConfigMapName},
				Items:                []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}},
			}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{
				Path:     "namespace",
				FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
			}}}},
		},
	}
}

// mirrorPodRefusal says why a mirror pod may not be admitted, or nil.
func mirrorPodRefusal(pod *corev1.Pod) error {
	if pod.Spec.ServiceAccountName != "" {
		return errors.New("a mirror pod may not reference service accounts")
	}
	if podReferencesSecrets(pod) {
		return errors.New("a mirror pod may not reference secrets")
	}
	for _, v := range pod.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, src := range v.Projected.Sources {
			if src.ServiceAccountToken != nil {
				return errors.New("a mirror pod may not use ServiceAccountToken volume projections")
			}
			if src.ClusterTrustBundle != nil {
				return errors.New("a mirror pod may not use ClusterTrustBundle volume projections")
			}
		}
	}
	return nil
}

// podReferencesSecrets reports any secret the pod names: pull secrets,
// env and envFrom, secret volumes and projections, volume secretRefs.
func podReferencesSecrets(pod *corev1.Pod) bool {
	if len(pod.Spec.ImagePullSecrets) > 0 {
		return true
	}
	envRefs := func(c *corev1.Container) bool {
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil {
				return true
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				return true
			}
		}
		return false
	}
	for i := range pod.Spec.InitContainers {
		if envRefs(&pod.Spec.InitContainers[i]) {
			return true
		}
	}
	for i := range pod.Spec.Containers {
		if envRefs(&pod.Spec.Containers[i]) {
			return true
		}
	}
	for i := range pod.Spec.EphemeralContainers {
		c := corev1.Container(pod.Spec.EphemeralContainers[i].EphemeralContainerCommon)
		if envRefs(&c) {
			return true
		}
	}
	for _, v := range pod.Spec.Volumes {
		s := v.VolumeSource
		switch {
		case s.Secret != nil,
			s.AzureFile != nil,
			s.CephFS != nil && s.CephFS.SecretRef != nil,
			s.Cinder != nil && s.Cinder.SecretRef != nil,
			s.FlexVolume != nil && s.FlexVolume.SecretRef != nil,
			s.RBD != nil && s.RBD.SecretRef != nil,
			s.ScaleIO != nil && s.ScaleIO.SecretRef != nil,
			s.ISCSI != nil && s.ISCSI.SecretRef != nil,
			s.StorageOS != nil && s.StorageOS.SecretRef != nil,
			s.CSI != nil && s.CSI.NodePublishSecretRef != nil:
			return true
		case s.Projected != nil:
			for _, src := range s.Projected.Sources {
				if src.Secret != nil {
					return true
				}
			}
		}
	}
	return false
}

// randomSuffix is upstream's generateName alphabet (no vowels, no
// look-alike digits).
func randomSuffix(n int) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}
