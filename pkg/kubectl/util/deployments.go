package util

import (
	"context"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// DeploymentReplicaSets lists the ReplicaSets a Deployment controls and
// splits them as the deployment controller does: the new one (whose
// template equals the Deployment's, ignoring pod-template-hash; the
// oldest if several), the old ones with replicas, and all old ones.
func DeploymentReplicaSets(ctx context.Context, cs kubernetes.Interface, d *appsv1.Deployment, chunkSize int64) (newRS *appsv1.ReplicaSet, oldWithReplicas, allOld []*appsv1.ReplicaSet, err error) {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, nil, nil, err
	}
	var owned []*appsv1.ReplicaSet
	opts := metav1.ListOptions{LabelSelector: sel.String(), Limit: chunkSize}
	for {
		list, err := cs.AppsV1().ReplicaSets(d.Namespace).List(ctx, opts)
		if err != nil {
			return nil, nil, nil, err
		}
		for i := range list.Items {
			if metav1.IsControlledBy(&list.Items[i], d) {
				owned = append(owned, &list.Items[i])
			}
		}
		if list.Continue == "" {
			break
		}
		opts.Continue = list.Continue
	}
	sort.SliceStable(owned, func(i, j int) bool {
		a, b := owned[i], owned[j]
		if a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.Name < b.Name
		}
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	})
	for _, rs := range owned {
		if TemplatesEqualIgnoringHash(&rs.Spec.Template, &d.Spec.Template) {
			newRS = rs
			break
		}
	}
	for _, rs := range owned {
		if newRS != nil && rs.UID == newRS.UID {
			continue
		}
		allOld = append(allOld, rs)
		if rs.Spec.Replicas == nil || *rs.Spec.Replicas != 0 {
			oldWithReplicas = append(oldWithReplicas, rs)
		}
	}
	return newRS, oldWithReplicas, allOld, nil
}

// TemplatesEqualIgnoringHash compares two pod templates without their
// pod-template-hash labels.
func TemplatesEqualIgnoringHash(a, b *corev1.PodTemplateSpec) bool {
	a, b = a.DeepCopy(), b.DeepCopy()
	delete(a.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	delete(b.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	return apiequality.Semantic.DeepEqual(a, b)
}
