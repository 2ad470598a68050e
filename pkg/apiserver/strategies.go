package apiserver

import (
	"context"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// secretHooks merge stringData into data, as upstream's conversion of a
// v1 Secret does before anything else sees it: stringData wins over data
// for the same key, and is never stored or returned.
func secretHooks() *hooks {
	return &hooks{
		prepareCreate: func(_ context.Context, obj runtime.Object) error {
			mergeStringData(obj.(*corev1.Secret))
			return nil
		},
		prepareUpdate: func(_ context.Context, obj, _ runtime.Object, _ string) error {
			mergeStringData(obj.(*corev1.Secret))
			return nil
		},
	}
}

func mergeStringData(s *corev1.Secret) {
	if len(s.StringData) > 0 && s.Data == nil {
		s.Data = make(map[string][]byte, len(s.StringData))
	}
	for k, v := range s.StringData {
		s.Data[k] = []byte(v)
	}
	s.StringData = nil
}

// daemonSetHooks keep the DaemonSet's template generation, which the v1 API
// carries in the deprecated.daemonset.template.generation annotation as
// upstream: 1 on create (or what the client set, if higher), one more
// whenever an update changes the pod template, never set by an update.
func daemonSetHooks() *hooks {
	return &hooks{
		prepareCreate: func(_ context.Context, obj runtime.Object) error {
			ds := obj.(*appsv1.DaemonSet)
			gen, err := templateGeneration(ds)
			if err != nil {
				return err
			}
			setTemplateGeneration(ds, max(gen, 1))
			return nil
		},
		prepareUpdate: func(_ context.Context, obj, old runtime.Object, sub string) error {
			ds, oldDS := obj.(*appsv1.DaemonSet), old.(*appsv1.DaemonSet)
			if sub != "" {
				return nil
			}
			if _, err := templateGeneration(ds); err != nil {
				return err
			}
			gen, _ := templateGeneration(oldDS)
			if !apiequality.Semantic.DeepEqual(ds.Spec.Template, oldDS.Spec.Template) {
				gen++
			}
			setTemplateGeneration(ds, gen)
			return nil
		},
	}
}

func templateGeneration(ds *appsv1.DaemonSet) (int64, error) {
	v, ok := ds.Annotations[appsv1.DeprecatedTemplateGeneration]
	if !ok {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		// Upstream's conversion fails the same way (a 400, not a 422).
		return 0, apierrors.NewBadRequest(field.Invalid(field.NewPath("metadata", "annotations").Key(appsv1.DeprecatedTemplateGeneration), v, err.Error()).Error())
	}
	return n, nil
}

func setTemplateGeneration(ds *appsv1.DaemonSet, gen int64) {
	if ds.Annotations == nil {
		ds.Annotations = map[string]string{}
	}
	ds.Annotations[appsv1.DeprecatedTemplateGeneration] = strconv.FormatInt(gen, 10)
}

// nodeHooks: a node may bring its status on create (the kubelet registers
// with one), and TaintNodesByCondition admission marks a new node
// not-ready for scheduling until the node lifecycle controller sees it
// Ready.
func (s *Server) nodeHooks() *hooks {
	return &hooks{
		keepStatusOnCreate: true,
		prepareCreate: func(_ context.Context, obj runtime.Object) error {
			if s.cfg.admissionEnabled("TaintNodesByCondition") {
				addNotReadyTaint(obj.(*corev1.Node))
			}
			return nil
		},
	}
}

func addNotReadyTaint(node *corev1.Node) {
	for _, t := range node.Spec.Taints {
		if t.Key == corev1.TaintNodeNotReady && t.Effect == corev1.TaintEffectNoSchedule {
			return
		}
	}
	node.Spec.Taints = append(node.Spec.Taints, corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule})
}
