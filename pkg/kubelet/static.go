package kubelet

// Static pods: pods the kubelet runs from manifest files in
// --pod-manifest-path, without the apiserver having them. Each file holds
// one Pod (YAML or JSON); files starting with "." are ignored, as upstream.
// The kubelet names the pod <name>-<node>, gives it a UID hashed from the
// manifest, the node and the file (also its kubernetes.io/config.hash
// annotation) and runs it like any other pod. For each static pod it keeps
// a mirror pod in the apiserver (annotation kubernetes.io/config.mirror,
// owned by the Node) that carries the static pod's status; a deleted or
// outdated mirror pod is replaced. Removing the file stops the pod and
// deletes its mirror.

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kstack/kstack/api/defaulting"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// Upstream's annotations of static and mirror pods.
const (
	ConfigSourceAnnotation = "kubernetes.io/config.source"
	ConfigHashAnnotation   = "kubernetes.io/config.hash"
	ConfigMirrorAnnotation = "kubernetes.io/config.mirror"
	ConfigSeenAnnotation   = "kubernetes.io/config.seen"
	// ConfigSourceFile is the config.source of pods from manifest files.
	ConfigSourceFile = "file"
)

// staticPods is the set of pods read from the manifest files, with the
// status the kubelet last computed for each (the mirror pod carries it in
// the API, but the static pod runs without one).
type staticPods struct {
	dir, nodeName string
	// kick asks the static pod loop for a rescan and mirror check now.
	kick chan struct{}

	mu     sync.Mutex
	byUID  map[types.UID]*v1.Pod
	status map[types.UID]v1.PodStatus
	seen   map[types.UID]string // config.seen per pod: when it was first read
}

func newStaticPods(dir, nodeName string) *staticPods {
	return &staticPods{dir: dir, nodeName: nodeName, kick: make(chan struct{}, 1),
		byUID: map[types.UID]*v1.Pod{}, status: map[types.UID]v1.PodStatus{}, seen: map[types.UID]string{}}
}

// get returns a copy of static pod uid with its last status, or nil.
func (s *staticPods) get(uid types.UID) *v1.Pod {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.byUID[uid]
	if p == nil {
		return nil
	}
	p = p.DeepCopy()
	st := s.status[uid]
	p.Status = *st.DeepCopy()
	return p
}

func (s *staticPods) list() []*v1.Pod {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*v1.Pod, 0, len(s.byUID))
	for _, p := range s.byUID {
		out = append(out, p.DeepCopy())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (s *staticPods) setStatus(uid types.UID, st v1.PodStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byUID[uid]; ok {
		s.status[uid] = st
	}
}

// replace makes pods the static pod set and returns the UIDs that were
// added and removed.
func (s *staticPods) replace(pods []*v1.Pod, now time.Time) (added, removed []*v1.Pod) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := map[types.UID]*v1.Pod{}
	for _, p := range pods {
		next[p.UID] = p
		if _, ok := s.byUID[p.UID]; !ok {
			added = append(added, p)
			s.seen[p.UID] = now.UTC().Format(time.RFC3339Nano)
			s.status[p.UID] = v1.PodStatus{Phase: v1.PodPending}
		}
		p.Annotations[ConfigSeenAnnotation] = s.seen[p.UID]
	}
	for uid, p := range s.byUID {
		if _, ok := next[uid]; !ok {
			removed = append(removed, p)
			delete(s.status, uid)
			delete(s.seen, uid)
		}
	}
	s.byUID = next
	return added, removed
}

// readStaticPods reads the manifests in path (a directory, or one file).
// A file that does not parse is reported and skipped; the others still
// count.
func readStaticPods(path, nodeName string) ([]*v1.Pod, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("static pod path: %w", err)
	}
	files := []string{path}
	if fi.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, fmt.Errorf("static pod path: %w", err)
		}
		files = files[:0]
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") || e.IsDir() {
				continue
			}
			files = append(files, filepath.Join(path, e.Name()))
		}
	}
	var pods []*v1.Pod
	var errs []error
	names := map[string]string{}
	for _, f := range files {
		pod, err := readStaticPod(f, nodeName)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		key := pod.Namespace + "/" + pod.Name
		if other, dup := names[key]; dup {
			errs = append(errs, fmt.Errorf("static pod %s in %s: %s already defines it", key, f, other))
			continue
		}
		names[key] = f
		pods = append(pods, pod)
	}
	return pods, errors.Join(errs...)
}

// readStaticPod decodes one manifest and applies upstream's treatment of
// file pods: defaults, the UID hash, the name suffix, the node, the
// annotations, a toleration of every NoExecute taint.
func readStaticPod(file, nodeName string) (*v1.Pod, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read static pod manifest: %w", err)
	}
	var pod v1.Pod
	if err := yaml.UnmarshalStrict(data, &pod); err != nil {
		return nil, fmt.Errorf("static pod manifest %s: %w", file, err)
	}
	if pod.Kind != "Pod" || (pod.APIVersion != "v1" && pod.APIVersion != "") {
		return nil, fmt.Errorf("static pod manifest %s: kind %q apiVersion %q: want a v1 Pod", file, pod.Kind, pod.APIVersion)
	}
	if pod.Name == "" {
		return nil, fmt.Errorf("static pod manifest %s: metadata.name is required", file)
	}
	if len(pod.Spec.Containers) == 0 {
		return nil, fmt.Errorf("static pod manifest %s: spec.containers is required", file)
	}
	defaulting.Default(&pod)
	if pod.UID == "" {
		b, _ := json.Marshal(&pod)
		h := md5.New()
		h.Write(b)
		fmt.Fprintf(h, "host:%s", nodeName)
		fmt.Fprintf(h, "file:%s", file)
		pod.UID = types.UID(hex.EncodeToString(h.Sum(nil)))
	}
	pod.Name = pod.Name + "-" + strings.ToLower(nodeName)
	if pod.Namespace == "" {
		pod.Namespace = metav1.NamespaceDefault
	}
	pod.Spec.NodeName = nodeName
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[ConfigHashAnnotation] = string(pod.UID)
	pod.Annotations[ConfigSourceAnnotation] = ConfigSourceFile
	tolerated := false
	for _, t := range pod.Spec.Tolerations {
		if t.Key == "" && t.Operator == v1.TolerationOpExists && t.Effect == v1.TaintEffectNoExecute {
			tolerated = true
		}
	}
	if !tolerated {
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, v1.Toleration{Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute})
	}
	pod.Status = v1.PodStatus{}
	return &pod, nil
}

// isMirrorPod says whether pod is the API copy of a static pod.
func isMirrorPod(pod *v1.Pod) bool {
	_, ok := pod.Annotations[ConfigMirrorAnnotation]
	return ok
}

// isStaticPod says whether pod came from a manifest file.
func isStaticPod(pod *v1.Pod) bool {
	return pod.Annotations[ConfigSourceAnnotation] == ConfigSourceFile && !isMirrorPod(pod)
}

// podFor is the pod worker w syncs: a static pod, or the API's pod with
// w's UID; nil when it is gone. Mirror pods are never run themselves.
func (k *Kubelet) podFor(w *podWorker) *v1.Pod {
	if p := k.static.get(w.uid); p != nil {
		return p
	}
	pod, err := k.pods.Pods(w.namespace).Get(w.name)
	if err != nil || pod.UID != w.uid || isMirrorPod(pod) {
		return nil
	}
	return pod
}

// mirrorPodChanged takes the informer's events of mirror pods: they make
// the static pod loop check its mirrors and the static pod's worker write
// its status. It says whether pod was one.
func (k *Kubelet) mirrorPodChanged(ctx context.Context, pod *v1.Pod) bool {
	if !isMirrorPod(pod) {
		return false
	}
	select {
	case k.static.kick <- struct{}{}:
	default:
	}
	uid := types.UID(pod.Annotations[ConfigMirrorAnnotation])
	if k.static.get(uid) != nil {
		k.wake(ctx, uid, pod.Namespace, pod.Name)
	}
	return true
}

// writeStaticStatus keeps a static pod's status and copies it to the
// mirror pod when that differs.
func (k *Kubelet) writeStaticStatus(ctx context.Context, pod *v1.Pod, status v1.PodStatus) error {
	k.static.setStatus(pod.UID, status)
	mirror := k.mirrorOf(pod)
	if mirror == nil || mirror.DeletionTimestamp != nil || statusEqual(mirror.Status, status) {
		return nil
	}
	p := mirror.DeepCopy()
	p.Status = status
	if _, err := k.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("update mirror pod status: %w", err)
	}
	return nil
}

// mirrorOf is the informer's mirror pod of static pod, or nil.
func (k *Kubelet) mirrorOf(pod *v1.Pod) *v1.Pod {
	m, err := k.pods.Pods(pod.Namespace).Get(pod.Name)
	if err != nil || !isMirrorPod(m) || m.Spec.NodeName != k.cfg.NodeName {
		return nil
	}
	return m
}

// loadStaticPods rescans the manifests and wakes the workers of the pods
// that came or went.
func (k *Kubelet) loadStaticPods(ctx context.Context) {
	pods, err := readStaticPods(k.static.dir, k.cfg.NodeName)
	if err != nil {
		// The pods of good files still run; broken ones are skipped,
		// and a pod whose file broke is kept rather than killed.
		slog.Warn("static pods", "path", k.static.dir, "err", err)
		if len(pods) == 0 {
			return
		}
		keep := map[types.UID]bool{}
		for _, p := range pods {
			keep[p.UID] = true
		}
		names := map[string]bool{}
		for _, p := range pods {
			names[p.Namespace+"/"+p.Name] = true
		}
		for _, old := range k.static.list() {
			if !keep[old.UID] && !names[old.Namespace+"/"+old.Name] {
				pods = append(pods, old)
			}
		}
	}
	added, removed := k.static.replace(pods, k.clock.Now())
	for _, p := range append(added, removed...) {
		k.wake(ctx, p.UID, p.Namespace, p.Name)
	}
}

// staticPodLoop rescans the manifests every FileCheckFrequency and keeps
// the mirror pods in step, also when a mirror pod changes.
func (k *Kubelet) staticPodLoop(ctx context.Context) {
	t := time.NewTicker(k.cfg.FileCheckFrequency)
	defer t.Stop()
	for {
		k.syncMirrorPods(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			k.loadStaticPods(ctx)
		case <-k.static.kick:
		}
	}
}

// syncMirrorPods creates the missing mirror pods, replaces the ones being
// deleted or of another version of their static pod and deletes the ones
// without a static pod, as upstream's mirror client does.
func (k *Kubelet) syncMirrorPods(ctx context.Context) {
	if k.podsSynced != nil && !k.podsSynced() {
		return // the apiserver has not answered yet: mirrors would be guesses
	}
	statics := k.static.list()
	want := map[string]*v1.Pod{}
	for _, p := range statics {
		want[p.Namespace+"/"+p.Name] = p
	}
	all, err := k.pods.List(labels.Everything())
	if err != nil {
		return
	}
	for _, m := range all {
		if !isMirrorPod(m) || m.Spec.NodeName != k.cfg.NodeName {
			continue
		}
		p := want[m.Namespace+"/"+m.Name]
		if p != nil && m.DeletionTimestamp == nil && m.Annotations[ConfigMirrorAnnotation] == p.Annotations[ConfigHashAnnotation] {
			delete(want, m.Namespace+"/"+m.Name) // up to date
			continue
		}
		if err := k.deleteMirrorPod(ctx, m); err != nil {
			slog.Warn("delete mirror pod", "pod", klog.KObj(m), "err", err)
			delete(want, m.Namespace+"/"+m.Name)
		}
	}
	for _, p := range want {
		if err := k.createMirrorPod(ctx, p); err != nil {
			slog.Warn("create mirror pod", "pod", klog.KObj(p), "err", err)
		}
	}
}

func (k *Kubelet) deleteMirrorPod(ctx context.Context, m *v1.Pod) error {
	err := k.client.CoreV1().Pods(m.Namespace).Delete(ctx, m.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		Preconditions:      &metav1.Preconditions{UID: &m.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return err
	}
	return nil
}

// createMirrorPod creates the API copy of static pod p, owned by the Node.
func (k *Kubelet) createMirrorPod(ctx context.Context, p *v1.Pod) error {
	node, err := k.client.CoreV1().Nodes().Get(ctx, k.cfg.NodeName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get node: %w", err)
	}
	m := p.DeepCopy()
	m.UID, m.ResourceVersion = "", ""
	m.Annotations[ConfigMirrorAnnotation] = p.Annotations[ConfigHashAnnotation]
	m.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID, Controller: ptr.To(true),
	}}
	if st := k.static.get(p.UID); st != nil {
		m.Status = st.Status
	}
	_, err = k.client.CoreV1().Pods(m.Namespace).Create(ctx, m, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// staticPodLister shows the kubelet's API server (logs, exec, stats) each
// mirror pod as its static pod: with the static pod's UID, which its
// containers are labelled with.
type staticPodLister struct{ corelisters.PodLister }

func asStatic(p *v1.Pod) *v1.Pod {
	if !isMirrorPod(p) {
		return p
	}
	p = p.DeepCopy()
	p.UID = types.UID(p.Annotations[ConfigMirrorAnnotation])
	return p
}

func (l staticPodLister) List(sel labels.Selector) ([]*v1.Pod, error) {
	pods, err := l.PodLister.List(sel)
	for i := range pods {
		pods[i] = asStatic(pods[i])
	}
	return pods, err
}

func (l staticPodLister) Pods(namespace string) corelisters.PodNamespaceLister {
	return staticPodNamespaceLister{l.PodLister.Pods(namespace)}
}

type staticPodNamespaceLister struct{ corelisters.PodNamespaceLister }

func (l staticPodNamespaceLister) List(sel labels.Selector) ([]*v1.Pod, error) {
	pods, err := l.PodNamespaceLister.List(sel)
	for i := range pods {
		pods[i] = asStatic(pods[i])
	}
	return pods, err
}

func (l staticPodNamespaceLister) Get(name string) (*v1.Pod, error) {
	p, err := l.PodNamespaceLister.Get(name)
	if err != nil {
		return nil, err
	}
	return asStatic(p), nil
}
