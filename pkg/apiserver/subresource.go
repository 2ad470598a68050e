package apiserver

import (
	"fmt"
	"net/http"

	"github.com/kstack/kstack/pkg/storage"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
)

func newUID() types.UID { return types.UID(uuid.NewUUID()) }

// serveSubresource handles <resource>/<name>/<subresource>.
func (s *Server) serveSubresource(w http.ResponseWriter, r *http.Request, rs *resourceStore, info *RequestInfo) {
	sub := info.Subresource
	if !rs.res.HasSubresource(sub) {
		writeError(w, r, apierrors.NewNotFound(rs.res.GroupResource(), info.Name))
		return
	}
	switch sub {
	case "status":
		switch info.Verb {
		case "get":
			s.get(w, r, rs, info)
		case "update":
			s.update(w, r, rs, info, "status")
		case "patch":
			s.patch(w, r, rs, info, "status")
		default:
			writeError(w, r, methodNotSupported(rs.res.GroupResource(), info.Verb))
		}
	case "finalize":
		if info.Verb != "update" {
			writeError(w, r, methodNotSupported(rs.res.GroupResource(), info.Verb))
			return
		}
		s.update(w, r, rs, info, "finalize")
	case "scale":
		s.serveScale(w, r, rs, info)
	case "binding":
		if info.Verb != "create" {
			writeError(w, r, methodNotSupported(rs.res.GroupResource(), info.Verb))
			return
		}
		s.serveBinding(w, r, rs, info.Namespace, info.Name)
	case "proxy":
		if rs.res.Group == "" && rs.res.Resource == "nodes" {
			s.serveNodeProxy(w, r, rs, info)
			return
		}
		writeError(w, r, apierrors.NewNotFound(rs.res.GroupResource(), info.Name))
	case "log", "exec", "attach", "portforward":
		if rs.res.Group == "" && rs.res.Resource == "pods" {
			s.servePodProxy(w, r, rs, info)
			return
		}
		writeError(w, r, apierrors.NewNotFound(rs.res.GroupResource(), info.Name))
	case "token":
		if info.Verb != "create" {
			writeError(w, r, methodNotSupported(rs.res.GroupResource(), info.Verb))
			return
		}
		s.serveTokenRequest(w, r, rs, info)
	case "eviction":
		if info.Verb != "create" {
			writeError(w, r, methodNotSupported(rs.res.GroupResource(), info.Verb))
			return
		}
		s.serveEviction(w, r, rs, info)
	default:
		writeError(w, r, apierrors.NewNotFound(rs.res.GroupResource(), info.Name))
	}
}

// serveVirtual handles the storage-less resources: bindings (create),
// componentstatuses (get, list) and the reviews.
func (s *Server) serveVirtual(w http.ResponseWriter, r *http.Request, rs *resourceStore, info *RequestInfo) {
	if info.Verb == "create" && s.serveReview(w, r, rs, info) {
		return
	}
	switch {
	case rs.res.Group == "" && rs.res.Resource == "componentstatuses" && (info.Verb == "get" || info.Verb == "list"):
		s.serveComponentStatuses(w, r, rs, info)
	case rs.res.Group == "" && rs.res.Resource == "bindings" && info.Verb == "create":
		pods, _ := s.lookup("", "v1", "pods")
		s.serveBinding(w, r, pods, info.Namespace, "")
	default:
		writeError(w, r, methodNotSupported(rs.res.GroupResource(), info.Verb))
	}
}

// decodeInto reads the body into obj (of kind gvk).
func decodeRequest(r *http.Request, obj runtime.Object) error {
	info, err := negotiateInput(r)
	if err != nil {
		return err
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	gvks, _, err := schemeKinds(obj)
	if err != nil {
		return err
	}
	_, _, err = decodeBody(info, body, gvks, obj, validationIgnore)
	return err
}

// serveBinding assigns a pod to a node (pods/binding, or POST bindings
// with the pod's name in metadata.name): 409 when it already has one.
func (s *Server) serveBinding(w http.ResponseWriter, r *http.Request, pods *resourceStore, namespace, name string) {
	choice, err := negotiateOutput(r, false)
	if err != nil {
		writeError(w, r, err)
		return
	}
	binding := &corev1.Binding{}
	if err := decodeRequest(r, binding); err != nil {
		writeError(w, r, err)
		return
	}
	if name == "" {
		name = binding.Name
	}
	if binding.Name != "" && binding.Name != name {
		writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", binding.Name, name)))
		return
	}
	if binding.Namespace != "" && binding.Namespace != namespace {
		writeError(w, r, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request"))
		return
	}
	if binding.Target.Kind != "" && binding.Target.Kind != "Node" {
		writeError(w, r, apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Binding").GroupKind(), name, nil))
		return
	}
	if binding.Target.Name == "" {
		writeError(w, r, apierrors.NewBadRequest("target.name: Required value"))
		return
	}
	dryRun, err := parseDryRun(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if !dryRun {
		err = pods.storage.GuaranteedUpdate(r.Context(), pods.key(namespace, name), &corev1.Pod{}, false, nil, func(existing runtime.Object) (runtime.Object, error) {
			pod := existing.(*corev1.Pod)
			if binding.UID != "" && pod.UID != binding.UID {
				return nil, apierrors.NewConflict(schemaGR("", "pods/binding"), name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", binding.UID, pod.UID))
			}
			if pod.DeletionTimestamp != nil {
				return nil, apierrors.NewConflict(schemaGR("", "pods/binding"), name, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", name))
			}
			if pod.Spec.NodeName != "" {
				return nil, apierrors.NewConflict(schemaGR("", "pods/binding"), name, fmt.Errorf("pod %s is already assigned to node %q", name, pod.Spec.NodeName))
			}
			pod.Spec.NodeName = binding.Target.Name
			for k, v := range binding.Annotations {
				if pod.Annotations == nil {
					pod.Annotations = map[string]string{}
				}
				pod.Annotations[k] = v
			}
			setPodCondition(pod, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()})
			return pod, nil
		})
		if err != nil {
			if apierrors.IsNotFound(err) {
				err = apierrors.NewNotFound(schemaGR("", "pods"), name)
			}
			writeError(w, r, err)
			return
		}
	}
	writeEncoded(w, choice, http.StatusCreated, &metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}, Status: metav1.StatusSuccess, Code: http.StatusCreated})
}

func setPodCondition(pod *corev1.Pod, c corev1.PodCondition) {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == c.Type {
			if pod.Status.Conditions[i].Status == c.Status {
				return
			}
			pod.Status.Conditions[i] = c
			return
		}
	}
	pod.Status.Conditions = append(pod.Status.Conditions, c)
}

// serveScale is the scale subresource (autoscaling/v1 Scale) of
// deployments, replicasets, statefulsets and replicationcontrollers.
func (s *Server) serveScale(w http.ResponseWriter, r *http.Request, rs *resourceStore, info *RequestInfo) {
	ctx := r.Context()
	choice, err := negotiateOutput(r, false)
	if err != nil {
		writeError(w, r, err)
		return
	}
	scaleGVK := autoscalingv1.SchemeGroupVersion.WithKind("Scale")
	switch info.Verb {
	case "get":
		obj := rs.cfg.NewFunc()
		if err := rs.storage.Get(ctx, rs.key(info.Namespace, info.Name), storage.GetOptions{ResourceVersion: r.URL.Query().Get("resourceVersion")}, obj); err != nil {
			writeError(w, r, err)
			return
		}
		sc, err := scaleOf(obj)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeObject(w, choice, http.StatusOK, scaleGVK, sc)
	case "update", "patch":
		var want *autoscalingv1.Scale
		if info.Verb == "update" {
			want = &autoscalingv1.Scale{}
			if err := decodeRequest(r, want); err != nil {
				writeError(w, r, err)
				return
			}
			if want.Name != info.Name {
				writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", want.Name, info.Name)))
				return
			}
		}
		var patchBody []byte
		if info.Verb == "patch" {
			patchBody, err = readBody(r)
			if err != nil {
				writeError(w, r, err)
				return
			}
		}
		dryRun, err := parseDryRun(r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		out, err := s.updateObject(ctx, rs, info.Namespace, info.Name, "", dryRun, func(existing runtime.Object, exists bool) (runtime.Object, error) {
			cur, err := scaleOf(existing)
			if err != nil {
				return nil, err
			}
			target := want
			if patchBody != nil {
				target, err = patchScale(r, cur, patchBody)
				if err != nil {
					return nil, err
				}
			}
			if target.ResourceVersion != "" && target.ResourceVersion != cur.ResourceVersion {
				return nil, apierrors.NewConflict(rs.res.GroupResource(), info.Name, fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
			}
			if target.Spec.Replicas < 0 {
				return nil, apierrors.NewInvalid(scaleGVK.GroupKind(), info.Name, nil)
			}
			obj := existing.DeepCopyObject()
			setReplicas(obj, target.Spec.Replicas)
			return obj, nil
		})
		if err != nil {
			writeError(w, r, err)
			return
		}
		sc, err := scaleOf(out)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeObject(w, choice, http.StatusOK, scaleGVK, sc)
	default:
		writeError(w, r, methodNotSupported(rs.res.GroupResource(), info.Verb))
	}
}

// scaleOf reads the Scale view of a scalable object.
func scaleOf(obj runtime.Object) (*autoscalingv1.Scale, error) {
	sc := &autoscalingv1.Scale{}
	var sel *metav1.LabelSelector
	switch o := obj.(type) {
	case *appsv1.Deployment:
		sc.ObjectMeta = o.ObjectMeta
		sc.Spec.Replicas = deref(o.Spec.Replicas, 1)
		sc.Status.Replicas = o.Status.Replicas
		sel = o.Spec.Selector
	case *appsv1.ReplicaSet:
		sc.ObjectMeta = o.ObjectMeta
		sc.Spec.Replicas = deref(o.Spec.Replicas, 1)
		sc.Status.Replicas = o.Status.Replicas
		sel = o.Spec.Selector
	case *appsv1.StatefulSet:
		sc.ObjectMeta = o.ObjectMeta
		sc.Spec.Replicas = deref(o.Spec.Replicas, 1)
		sc.Status.Replicas = o.Status.Replicas
		sel = o.Spec.Selector
	case *corev1.ReplicationController:
		sc.ObjectMeta = o.ObjectMeta
		sc.Spec.Replicas = deref(o.Spec.Replicas, 1)
		sc.Status.Replicas = o.Status.Replicas
		sc.Status.Selector = labels.SelectorFromSet(o.Spec.Selector).String()
		return scaleMeta(sc), nil
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("%T has no scale subresource", obj))
	}
	if sel != nil {
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err == nil {
			sc.Status.Selector = s.String()
		}
	}
	return scaleMeta(sc), nil
}

// scaleMeta keeps the metadata upstream's Scale carries.
func scaleMeta(sc *autoscalingv1.Scale) *autoscalingv1.Scale {
	sc.ObjectMeta = metav1.ObjectMeta{Name: sc.Name, Namespace: sc.Namespace, UID: sc.UID, ResourceVersion: sc.ResourceVersion, CreationTimestamp: sc.CreationTimestamp}
	return sc
}

func setReplicas(obj runtime.Object, n int32) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		o.Spec.Replicas = &n
	case *appsv1.ReplicaSet:
		o.Spec.Replicas = &n
	case *appsv1.StatefulSet:
		o.Spec.Replicas = &n
	case *corev1.ReplicationController:
		o.Spec.Replicas = &n
	}
}

func deref(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}
