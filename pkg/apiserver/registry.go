package apiserver

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/kstack/kstack/api/defaulting"
	"github.com/kstack/kstack/pkg/storage"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// installHooks attaches each resource's own rules.
func (s *Server) installHooks() {
	s.setHooks("", "namespaces", s.namespaceHooks())
	s.setHooks("", "pods", s.podHooks())
	s.setHooks("", "services", s.serviceHooks())
	s.setHooks("", "nodes", s.nodeHooks())
	s.setHooks("", "secrets", secretHooks())
	s.setHooks("apps", "daemonsets", daemonSetHooks())
	for _, r := range []string{"roles", "clusterroles", "rolebindings", "clusterrolebindings"} {
		s.setHooks("rbac.authorization.k8s.io", r, s.rbacHooks(r))
	}
	s.setHooks("batch", "jobs", &hooks{prepareCreate: func(_ context.Context, obj runtime.Object) error {
		generateJobSelector(obj.(*batchv1.Job))
		return nil
	}})
	s.setHooks("", "endpoints", &hooks{allowCreateOnUpdate: true})
	s.setHooks("", "events", &hooks{allowCreateOnUpdate: true})
	s.setHooks("events.k8s.io", "events", &hooks{allowCreateOnUpdate: true})
	s.setHooks("", "limitranges", &hooks{allowCreateOnUpdate: true})
	s.setHooks("coordination.k8s.io", "leases", &hooks{allowCreateOnUpdate: false})
	s.setHooks("", "persistentvolumes", &hooks{prepareCreate: func(_ context.Context, obj runtime.Object) error {
		obj.(*corev1.PersistentVolume).Status = corev1.PersistentVolumeStatus{Phase: corev1.VolumePending}
		return nil
	}})
	s.setHooks("", "persistentvolumeclaims", &hooks{prepareCreate: func(_ context.Context, obj runtime.Object) error {
		obj.(*corev1.PersistentVolumeClaim).Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}
		return nil
	}})
}

func (s *Server) setHooks(group, resource string, h *hooks) {
	for k, rs := range s.stores {
		if k.group == group && k.resource == resource {
			rs.hooks = h
		}
	}
}

// getNamespace reads a namespace from the cache, falling back to a
// consistent read when the cache has not seen it yet (a namespace created
// a moment ago).
func (s *Server) getNamespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	rs, _ := s.lookup("", "v1", "namespaces")
	ns := &corev1.Namespace{}
	key := rs.key("", name)
	err := rs.storage.Get(ctx, key, storage.GetOptions{ResourceVersion: "0"}, ns)
	if err == nil && ns.Status.Phase == corev1.NamespaceActive && s.deletedNamespaces.has(name) {
		// Deleted a moment ago: the cache may not show it terminating yet.
		ns = &corev1.Namespace{}
		err = rs.storage.Get(ctx, key, storage.GetOptions{}, ns)
	}
	if apierrors.IsNotFound(err) {
		err = rs.storage.Get(ctx, key, storage.GetOptions{}, ns)
	}
	return ns, err
}

// recentSet remembers names for a while (upstream's NamespaceLifecycle
// "force live lookup" cache). The zero value is ready to use.
type recentSet struct {
	mu    sync.Mutex
	names map[string]time.Time
}

// recentTTL is how long a deleted namespace is read live.
const recentTTL = 30 * time.Second

func (r *recentSet) add(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.names == nil {
		r.names = map[string]time.Time{}
	}
	now := time.Now()
	for n, at := range r.names {
		if now.Sub(at) > recentTTL {
			delete(r.names, n)
		}
	}
	r.names[name] = now
}

func (r *recentSet) has(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.names[name]
	return ok && time.Since(at) <= recentTTL
}

// immortalNamespaces may not be deleted, as upstream's NamespaceLifecycle
// admission says.
var immortalNamespaces = map[string]bool{"default": true, "kube-system": true, "kube-public": true}

func (s *Server) namespaceHooks() *hooks {
	return &hooks{
		prepareCreate: func(_ context.Context, obj runtime.Object) error {
			ns := obj.(*corev1.Namespace)
			ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
			if len(ns.Spec.Finalizers) == 0 {
				ns.Spec.Finalizers = []corev1.FinalizerName{corev1.FinalizerKubernetes}
			}
			return nil
		},
		prepareUpdate: func(_ context.Context, obj, old runtime.Object, sub string) error {
			ns, oldNS := obj.(*corev1.Namespace), old.(*corev1.Namespace)
			switch sub {
			case "":
				ns.Spec.Finalizers = oldNS.Spec.Finalizers
				ns.Status = oldNS.Status
			case "finalize":
				// Only spec.finalizers may change through finalize.
				fins := ns.Spec.Finalizers
				*ns = *oldNS.DeepCopy()
				ns.Spec.Finalizers = fins
			case "status":
				ns.Spec = oldNS.Spec
			}
			return nil
		},
		validateDelete: func(obj runtime.Object) error {
			if !s.cfg.admissionEnabled("NamespaceLifecycle") {
				return nil
			}
			return deleteNamespaceAllowed(obj.(*corev1.Namespace).Name)
		},
		deferDelete: func(obj runtime.Object) bool {
			return len(obj.(*corev1.Namespace).Spec.Finalizers) > 0
		},
		beginDelete: func(obj runtime.Object) {
			ns := obj.(*corev1.Namespace)
			ns.Status.Phase = corev1.NamespaceTerminating
			s.deletedNamespaces.add(ns.Name)
		},
		readyToDelete: func(obj runtime.Object) bool {
			return len(obj.(*corev1.Namespace).Spec.Finalizers) == 0
		},
	}
}

// generateJobSelector gives a Job without manualSelector upstream's
// generated selector on its UID and the matching template labels.
func generateJobSelector(job *batchv1.Job) {
	if job.Spec.ManualSelector != nil && *job.Spec.ManualSelector {
		return
	}
	uid := string(job.UID)
	labels := map[string]string{
		batchv1.ControllerUidLabel: uid,
		"controller-uid":           uid, // the legacy unprefixed label
		batchv1.JobNameLabel:       job.Name,
		"job-name":                 job.Name,
	}
	if job.Spec.Template.Labels == nil {
		job.Spec.Template.Labels = map[string]string{}
	}
	for k, v := range labels {
		if _, ok := job.Spec.Template.Labels[k]; !ok {
			job.Spec.Template.Labels[k] = v
		}
	}
	if job.Spec.Selector == nil {
		job.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{batchv1.ControllerUidLabel: uid}}
	}
}

// deleteNamespaceAllowed refuses deleting the system namespaces.
func deleteNamespaceAllowed(name string) error {
	if immortalNamespaces[name] {
		return apierrors.NewForbidden(schemaGR("", "namespaces"), name, fmt.Errorf("this namespace may not be deleted"))
	}
	return nil
}

func (s *Server) podHooks() *hooks {
	return &hooks{
		returnDeletedObject: true,
		prepareCreate: func(ctx context.Context, obj runtime.Object) error {
			pod := obj.(*corev1.Pod)
			pod.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: qosClass(pod)}
			if s.cfg.admissionEnabled("Priority") {
				if err := s.admitPriority(ctx, pod); err != nil {
					return err
				}
			}
			if s.cfg.admissionEnabled("DefaultTolerationSeconds") {
				addDefaultTolerations(pod)
			}
			return nil
		},
		gracePeriod: func(obj runtime.Object, opts *metav1.DeleteOptions) (int64, bool) {
			pod := obj.(*corev1.Pod)
			grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
			if pod.Spec.TerminationGracePeriodSeconds != nil {
				grace = *pod.Spec.TerminationGracePeriodSeconds
			}
			if opts.GracePeriodSeconds != nil {
				grace = *opts.GracePeriodSeconds
			}
			// Unscheduled and finished pods have no kubelet to confirm: go now.
			if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
				return 0, false
			}
			if grace == 0 {
				return 0, false
			}
			// A shorter grace period than one already running wins.
			if pod.DeletionGracePeriodSeconds != nil && *pod.DeletionGracePeriodSeconds < grace {
				grace = *pod.DeletionGracePeriodSeconds
			}
			return grace, true
		},
	}
}

// admitPriority is the Priority admission plugin: priority and preemption
// policy from the pod's PriorityClass (or the global default).
func (s *Server) admitPriority(ctx context.Context, pod *corev1.Pod) error {
	rs, _ := s.lookup("scheduling.k8s.io", "v1", "priorityclasses")
	var class *schedulingv1.PriorityClass
	switch name := pod.Spec.PriorityClassName; {
	case name == "system-node-critical" || name == "system-cluster-critical":
		class = systemPriorityClass(name)
	case name != "":
		pc := &schedulingv1.PriorityClass{}
		err := rs.storage.Get(ctx, rs.key("", name), storage.GetOptions{ResourceVersion: "0"}, pc)
		if apierrors.IsNotFound(err) {
			// Created a moment ago, perhaps: the cache may lag; read live.
			err = rs.storage.Get(ctx, rs.key("", name), storage.GetOptions{}, pc)
		}
		if err != nil {
			if apierrors.IsNotFound(err) {
				return apierrors.NewForbidden(schemaGR("", "pods"), pod.Name, fmt.Errorf("no PriorityClass with name %s was found", name))
			}
			return err
		}
		class = pc
	default:
		list := &schedulingv1.PriorityClassList{}
		if err := rs.storage.GetList(ctx, rs.cfg.ListKey(""), storage.ListOptions{ResourceVersion: "0"}, list); err != nil {
			return err
		}
		for i := range list.Items {
			if list.Items[i].GlobalDefault {
				class = &list.Items[i]
				break
			}
		}
	}
	if err := defaulting.PodPriority(pod, class); err != nil {
		return apierrors.NewForbidden(schemaGR("", "pods"), pod.Name, err)
	}
	return nil
}

func systemPriorityClass(name string) *schedulingv1.PriorityClass {
	v := int32(2000000000)
	if name == "system-node-critical" {
		v = 2000001000
	}
	return &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: v}
}

// addDefaultTolerations is upstream's DefaultTolerationSeconds admission:
// tolerate not-ready and unreachable nodes for 300 s unless the pod says
// otherwise.
func addDefaultTolerations(pod *corev1.Pod) {
	seconds := int64(300)
	for _, key := range []string{corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable} {
		found := false
		for _, t := range pod.Spec.Tolerations {
			if (t.Key == key || (t.Key == "" && t.Operator == corev1.TolerationOpExists)) &&
				(t.Effect == corev1.TaintEffectNoExecute || t.Effect == "") {
				found = true
				break
			}
		}
		if !found {
			s := seconds
			pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{
				Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &s,
			})
		}
	}
}

// qosClass computes the pod's QoS class as upstream: Guaranteed when every
// container has equal cpu and memory requests and limits, BestEffort when
// none sets any, Burstable otherwise.
func qosClass(pod *corev1.Pod) corev1.PodQOSClass {
	requests, limits := corev1.ResourceList{}, corev1.ResourceList{}
	zero := true
	guaranteed := true
	containers := append(append([]corev1.Container(nil), pod.Spec.Containers...), pod.Spec.InitContainers...)
	for _, c := range containers {
		for name, q := range c.Resources.Requests {
			if name != corev1.ResourceCPU && name != corev1.ResourceMemory {
				continue
			}
			if !q.IsZero() {
				zero = false
			}
			cur := requests[name]
			cur.Add(q)
			requests[name] = cur
		}
		seen := map[corev1.ResourceName]bool{}
		for name, q := range c.Resources.Limits {
			if name != corev1.ResourceCPU && name != corev1.ResourceMemory {
				continue
			}
			if !q.IsZero() {
				zero = false
				seen[name] = true
			}
			cur := limits[name]
			cur.Add(q)
			limits[name] = cur
		}
		if !seen[corev1.ResourceCPU] || !seen[corev1.ResourceMemory] {
			guaranteed = false
		}
	}
	if zero {
		return corev1.PodQOSBestEffort
	}
	if guaranteed {
		for name, req := range requests {
			if lim, ok := limits[name]; !ok || lim.Cmp(req) != 0 {
				guaranteed = false
				break
			}
		}
	}
	if guaranteed && len(limits) == 2 {
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}
