package authz

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
)

// RefKind names the kind of object a pod can reference.
type RefKind string

// The kinds the Node authorizer guards by pod reference.
const (
	RefPod                   RefKind = "pod"
	RefSecret                RefKind = "secret"
	RefConfigMap             RefKind = "configmap"
	RefPersistentVolumeClaim RefKind = "persistentvolumeclaim"
	RefPersistentVolume      RefKind = "persistentvolume"
	RefServiceAccount        RefKind = "serviceaccount"
	RefResourceClaim         RefKind = "resourceclaim"
	RefVolumeAttachment      RefKind = "volumeattachment"
)

// NodeGraph answers the Node authorizer's one question: is this object
// related to a pod bound to that node? Cluster-scoped kinds
// (persistentvolume, volumeattachment) have an empty namespace.
type NodeGraph interface {
	Related(node string, kind RefKind, namespace, name string) bool
}

type ref struct {
	kind      RefKind
	namespace string
	name      string
}

type podKey struct{ namespace, name string }

type podEntry struct {
	node string
	refs []ref
}

// Graph is the in-memory NodeGraph. The apiserver feeds it every pod from
// its pod watch cache (UpsertPod on add and update, DeletePod on delete);
// it indexes, per node, what the node's pods reference: the pod itself, its
// service account, image pull secrets, secrets and config maps of volumes
// (projected sources and volume plugin secret refs included), env and
// envFrom, persistent volume claims (ephemeral volumes' generated claims
// included) and resource claims. Persistent volumes and volume attachments
// are answered through the lookups given to NewGraph. Lookups are O(1)
// except persistent volumes, which scan the node's claims.
type Graph struct {
	mu     sync.RWMutex
	pods   map[podKey]podEntry
	counts map[string]map[ref]int

	pvOfClaim func(namespace, claim string) (pv string, ok bool)
	nodeOfVA  func(name string) (node string, ok bool)
}

var _ NodeGraph = (*Graph)(nil)

// GraphOption configures a Graph.
type GraphOption func(*Graph)

// WithClaimVolumes tells the graph which persistent volume a claim is bound
// to (from the PVC cache), so a node may get the volumes of its pods'
// claims.
func WithClaimVolumes(f func(namespace, claim string) (pv string, ok bool)) GraphOption {
	return func(g *Graph) { g.pvOfClaim = f }
}

// WithVolumeAttachments tells the graph the node of a VolumeAttachment
// (spec.nodeName, from its cache), so a node may get its attachments.
func WithVolumeAttachments(f func(name string) (node string, ok bool)) GraphOption {
	return func(g *Graph) { g.nodeOfVA = f }
}

// NewGraph returns an empty Graph.
func NewGraph(opts ...GraphOption) *Graph {
	g := &Graph{pods: map[podKey]podEntry{}, counts: map[string]map[ref]int{}}
	for _, o := range opts {
		o(g)
	}
	return g
}

// UpsertPod records pod's references under its node, replacing what an
// earlier version of the pod recorded. Unbound pods reference nothing.
func (g *Graph) UpsertPod(pod *corev1.Pod) {
	k := podKey{pod.Namespace, pod.Name}
	var e podEntry
	if pod.Spec.NodeName != "" {
		e = podEntry{node: pod.Spec.NodeName, refs: podRefs(pod)}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.removeLocked(k)
	if e.node == "" {
		return
	}
	g.pods[k] = e
	m := g.counts[e.node]
	if m == nil {
		m = map[ref]int{}
		g.counts[e.node] = m
	}
	for _, r := range e.refs {
		m[r]++
	}
}

// DeletePod forgets pod's references.
func (g *Graph) DeletePod(pod *corev1.Pod) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.removeLocked(podKey{pod.Namespace, pod.Name})
}

func (g *Graph) removeLocked(k podKey) {
	e, ok := g.pods[k]
	if !ok {
		return
	}
	delete(g.pods, k)
	m := g.counts[e.node]
	for _, r := range e.refs {
		if m[r]--; m[r] <= 0 {
			delete(m, r)
		}
	}
	if len(m) == 0 {
		delete(g.counts, e.node)
	}
}

// Related reports whether a pod bound to node references the object.
func (g *Graph) Related(node string, kind RefKind, namespace, name string) bool {
	switch kind {
	case RefVolumeAttachment:
		if g.nodeOfVA == nil {
			return false
		}
		n, ok := g.nodeOfVA(name)
		return ok && n == node
	case RefPersistentVolume:
		if g.pvOfClaim == nil {
			return false
		}
		g.mu.RLock()
		var claims []ref
		for r := range g.counts[node] {
			if r.kind == RefPersistentVolumeClaim {
				claims = append(claims, r)
			}
		}
		g.mu.RUnlock()
		for _, c := range claims {
			if pv, ok := g.pvOfClaim(c.namespace, c.name); ok && pv == name {
				return true
			}
		}
		return false
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.counts[node][ref{kind, namespace, name}] > 0
}

// podRefs lists, without duplicates, what pod references.
func podRefs(pod *corev1.Pod) []ref {
	ns := pod.Namespace
	seen := map[ref]bool{}
	var out []ref
	add := func(kind RefKind, name string) {
		if name == "" {
			return
		}
		r := ref{kind, ns, name}
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	secretRef := func(r *corev1.LocalObjectReference) {
		if r != nil {
			add(RefSecret, r.Name)
		}
	}
	add(RefPod, pod.Name)
	add(RefServiceAccount, pod.Spec.ServiceAccountName)
	for _, s := range pod.Spec.ImagePullSecrets {
		add(RefSecret, s.Name)
	}
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.Secret != nil:
			add(RefSecret, v.Secret.SecretName)
		case v.ConfigMap != nil:
			add(RefConfigMap, v.ConfigMap.Name)
		case v.Projected != nil:
			for _, s := range v.Projected.Sources {
				if s.Secret != nil {
					add(RefSecret, s.Secret.Name)
				}
				if s.ConfigMap != nil {
					add(RefConfigMap, s.ConfigMap.Name)
				}
			}
		case v.PersistentVolumeClaim != nil:
			add(RefPersistentVolumeClaim, v.PersistentVolumeClaim.ClaimName)
		case v.Ephemeral != nil:
			add(RefPersistentVolumeClaim, pod.Name+"-"+v.Name)
		case v.CSI != nil:
			secretRef(v.CSI.NodePublishSecretRef)
		case v.AzureFile != nil:
			add(RefSecret, v.AzureFile.SecretName)
		case v.CephFS != nil:
			secretRef(v.CephFS.SecretRef)
		case v.Cinder != nil:
			secretRef(v.Cinder.SecretRef)
		case v.FlexVolume != nil:
			secretRef(v.FlexVolume.SecretRef)
		case v.ISCSI != nil:
			secretRef(v.ISCSI.SecretRef)
		case v.RBD != nil:
			secretRef(v.RBD.SecretRef)
		case v.ScaleIO != nil:
			secretRef(v.ScaleIO.SecretRef)
		case v.StorageOS != nil:
			secretRef(v.StorageOS.SecretRef)
		}
	}
	containers := func(cs []corev1.Container) {
		for _, c := range cs {
			for _, e := range c.EnvFrom {
				if e.SecretRef != nil {
					add(RefSecret, e.SecretRef.Name)
				}
				if e.ConfigMapRef != nil {
					add(RefConfigMap, e.ConfigMapRef.Name)
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom == nil {
					continue
				}
				if e.ValueFrom.SecretKeyRef != nil {
					add(RefSecret, e.ValueFrom.SecretKeyRef.Name)
				}
				if e.ValueFrom.ConfigMapKeyRef != nil {
					add(RefConfigMap, e.ValueFrom.ConfigMapKeyRef.Name)
				}
			}
		}
	}
	containers(pod.Spec.InitContainers)
	containers(pod.Spec.Containers)
	for _, ec := range pod.Spec.EphemeralContainers {
		containers([]corev1.Container{corev1.Container(ec.EphemeralContainerCommon)})
	}
	for _, c := range pod.Spec.ResourceClaims {
		if c.ResourceClaimName != nil {
			add(RefResourceClaim, *c.ResourceClaimName)
		}
	}
	for _, s := range pod.Status.ResourceClaimStatuses {
		if s.ResourceClaimName != nil {
			add(RefResourceClaim, *s.ResourceClaimName)
		}
	}
	return out
}
