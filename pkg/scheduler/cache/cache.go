// Package cache is the scheduler's view of the cluster: nodes with the pods
// bound to them, plus pods the scheduler has assumed onto a node but whose
// binding the informer has not yet confirmed. The scheduling cycle reads a
// Snapshot that UpdateSnapshot refreshes incrementally (only nodes whose
// generation moved are copied).
//
//	informer (assigned pods, nodes) --Add/Update/Remove--> Cache
//	scheduling cycle --AssumePod--> Cache --(bind ok) FinishBinding
//	                                      --(bind failed) ForgetPod
//	informer confirms the pod --AddPod--> assumed becomes bound
//	assumed pods whose binding finished but never showed up expire after TTL
package cache

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	"github.com/kstack/kstack/pkg/scheduler/framework"
)

type nodeItem struct {
	info *framework.NodeInfo
	name string
	// prev and next link the items most recently changed first, so a
	// snapshot update visits only the nodes that changed since (as
	// upstream's cache does), not all of them.
	prev, next *nodeItem
}

type podState struct {
	pod *corev1.Pod
	// deadline is set when binding finished for an assumed pod.
	deadline *time.Time
	assumed  bool
}

type imageState struct {
	size  int64
	nodes map[string]struct{}
}

// Cache holds nodes and pods; safe for concurrent use.
type Cache struct {
	clock clock.Clock
	ttl   time.Duration

	mu         sync.Mutex
	generation int64
	nodes      map[string]*nodeItem
	head       *nodeItem // most recently changed
	pods       map[types.UID]*podState
	// treeGeneration moves when the node set (or a node's zone) changes.
	treeGeneration int64
	images         map[string]*imageState
	imageGen       int64
}

// New returns a cache whose assumed pods expire ttl after their binding
// finished without the informer confirming them (0: never).
func New(clk clock.Clock, ttl time.Duration) *Cache {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Cache{clock: clk, ttl: ttl, nodes: map[string]*nodeItem{}, pods: map[types.UID]*podState{}, images: map[string]*imageState{}}
}

func (c *Cache) node(name string) *nodeItem {
	n, ok := c.nodes[name]
	if !ok {
		n = &nodeItem{info: framework.NewNodeInfo(), name: name}
		c.nodes[name] = n
	}
	return n
}

func (c *Cache) touch(n *nodeItem) {
	c.generation++
	n.info.Generation = c.generation
	if c.head == n {
		return
	}
	c.unlink(n)
	n.next = c.head
	if c.head != nil {
		c.head.prev = n
	}
	c.head = n
}

// unlink takes n out of the recency list.
func (c *Cache) unlink(n *nodeItem) {
	if n.prev != nil {
		n.prev.next = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	}
	if c.head == n {
		c.head = n.next
	}
	n.prev, n.next = nil, nil
}

// deleteNode drops the item of name.
func (c *Cache) deleteNode(name string) {
	if n, ok := c.nodes[name]; ok {
		c.unlink(n)
		delete(c.nodes, name)
	}
}

func (c *Cache) addPodLocked(pod *corev1.Pod, assumed bool) {
	n := c.node(pod.Spec.NodeName)
	n.info.AddPod(framework.NewPodInfo(pod))
	c.touch(n)
	c.pods[pod.UID] = &podState{pod: pod, assumed: assumed}
}

func (c *Cache) removePodLocked(pod *corev1.Pod) {
	if n, ok := c.nodes[pod.Spec.NodeName]; ok {
		n.info.RemovePod(pod)
		c.touch(n)
		if n.info.Node == nil && len(n.info.Pods) == 0 {
			c.deleteNode(pod.Spec.NodeName)
		}
	}
	delete(c.pods, pod.UID)
}

// AssumePod records pod (with spec.nodeName set to the chosen node) as
// placed, before its binding is confirmed.
func (c *Cache) AssumePod(pod *corev1.Pod) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.pods[pod.UID]; ok {
		return fmt.Errorf("pod %s/%s (%s) is already in the cache, so can't be assumed", pod.Namespace, pod.Name, pod.UID)
	}
	c.addPodLocked(pod, true)
	return nil
}

// FinishBinding starts the expiry clock of an assumed pod whose binding
// call returned.
func (c *Cache) FinishBinding(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pod.UID]; ok && ps.assumed {
		d := c.clock.Now().Add(c.ttl)
		ps.deadline = &d
	}
}

// ForgetPod drops an assumed pod (its binding failed).
func (c *Cache) ForgetPod(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pod.UID]; ok && ps.assumed {
		c.removePodLocked(ps.pod)
	}
}

// IsAssumed reports whether pod is assumed and not yet confirmed.
func (c *Cache) IsAssumed(pod *corev1.Pod) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.pods[pod.UID]
	return ok && ps.assumed
}

// AddPod records a pod the informer reports bound; it confirms an assumed
// pod (moving it if the informer says another node).
func (c *Cache) AddPod(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pod.UID]; ok {
		c.removePodLocked(ps.pod)
	}
	c.addPodLocked(pod, false)
}

// UpdatePod replaces a bound pod.
func (c *Cache) UpdatePod(pod *corev1.Pod) {
	c.AddPod(pod)
}

// RemovePod forgets a pod.
func (c *Cache) RemovePod(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pod.UID]; ok {
		c.removePodLocked(ps.pod)
	}
}

// AddNode adds or updates a node.
func (c *Cache) AddNode(node *corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.node(node.Name)
	if old := n.info.Node; old == nil || zoneOf(old) != zoneOf(node) {
		c.treeGeneration++
	}
	if old := n.info.Node; old != nil {
		c.removeImages(old)
	}
	c.addImages(node)
	n.info.SetNode(node)
	c.touch(n)
}

// UpdateNode updates a node.
func (c *Cache) UpdateNode(node *corev1.Node) { c.AddNode(node) }

// RemoveNode removes a node; pods still bound to it stay until deleted.
func (c *Cache) RemoveNode(node *corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.nodes[node.Name]
	if !ok {
		return
	}
	if n.info.Node != nil {
		c.removeImages(n.info.Node)
	}
	c.treeGeneration++
	if len(n.info.Pods) == 0 {
		c.deleteNode(node.Name)
		return
	}
	n.info.Node = nil
	c.touch(n)
}

func (c *Cache) addImages(node *corev1.Node) {
	for _, img := range node.Status.Images {
		for _, name := range img.Names {
			name = NormalizedImageName(name)
			s, ok := c.images[name]
			if !ok {
				s = &imageState{size: img.SizeBytes, nodes: map[string]struct{}{}}
				c.images[name] = s
			}
			s.nodes[node.Name] = struct{}{}
		}
	}
	if len(node.Status.Images) > 0 {
		c.imageGen++
	}
}

func (c *Cache) removeImages(node *corev1.Node) {
	for _, img := range node.Status.Images {
		for _, name := range img.Names {
			name = NormalizedImageName(name)
			if s, ok := c.images[name]; ok {
				delete(s.nodes, node.Name)
				if len(s.nodes) == 0 {
					delete(c.images, name)
				}
			}
		}
	}
	if len(node.Status.Images) > 0 {
		c.imageGen++
	}
}

// NormalizedImageName adds ":latest" to an image without tag or digest.
func NormalizedImageName(name string) string {
	if strings.LastIndex(name, ":") <= strings.LastIndex(name, "/") && !strings.Contains(name, "@") {
		name += ":latest"
	}
	return name
}

// CleanupExpired drops assumed pods whose binding finished more than the
// TTL ago and never showed up from the informer.
func (c *Cache) CleanupExpired() {
	if c.ttl == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	for _, ps := range c.pods {
		if ps.assumed && ps.deadline != nil && now.After(*ps.deadline) {
			c.removePodLocked(ps.pod)
		}
	}
}

// Counts returns the number of nodes and pods (assumed included).
func (c *Cache) Counts() (nodes, pods int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.nodes {
		if n.info.Node != nil {
			nodes++
		}
	}
	return nodes, len(c.pods)
}

func zoneOf(n *corev1.Node) string {
	l := n.Labels
	region, zone := l[corev1.LabelTopologyRegion], l[corev1.LabelTopologyZone]
	if region == "" && zone == "" {
		return ""
	}
	return region + ":\x00:" + zone
}

// Snapshot is the cycle's immutable copy of the cache.
type Snapshot struct {
	nodes            map[string]*framework.NodeInfo
	list             []*framework.NodeInfo
	withAffinity     []*framework.NodeInfo
	withRequiredAnti []*framework.NodeInfo
	generation       int64
	treeGeneration   int64
	imageGen         int64
	imageCounts      map[string]int
	listDirty        bool
}

var _ framework.SharedLister = (*Snapshot)(nil)

// NewSnapshot returns an empty snapshot.
func NewSnapshot() *Snapshot {
	return &Snapshot{nodes: map[string]*framework.NodeInfo{}, imageCounts: map[string]int{}, treeGeneration: -1, imageGen: -1}
}

// NewSnapshotFrom builds a snapshot of nodes with pods (for tests).
func NewSnapshotFrom(pods []*corev1.Pod, nodes []*corev1.Node) *Snapshot {
	c := New(nil, 0)
	for _, n := range nodes {
		c.AddNode(n)
	}
	for _, p := range pods {
		c.AddPod(p)
	}
	s := NewSnapshot()
	c.UpdateSnapshot(s)
	return s
}

// List implements framework.SharedLister.
func (s *Snapshot) List() []*framework.NodeInfo { return s.list }

// Get implements framework.SharedLister.
func (s *Snapshot) Get(name string) *framework.NodeInfo { return s.nodes[name] }

// HavePodsWithAffinity implements framework.SharedLister.
func (s *Snapshot) HavePodsWithAffinity() []*framework.NodeInfo { return s.withAffinity }

// HavePodsWithRequiredAntiAffinity implements framework.SharedLister.
func (s *Snapshot) HavePodsWithRequiredAntiAffinity() []*framework.NodeInfo {
	return s.withRequiredAnti
}

// ImageNumNodes implements framework.SharedLister.
func (s *Snapshot) ImageNumNodes(image string) int { return s.imageCounts[image] }

// UpdateSnapshot brings s up to date, copying only nodes that changed
// since s was last updated.
func (c *Cache) UpdateSnapshot(s *Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	affinityChanged := false
	for n := c.head; n != nil && n.info.Generation > s.generation; n = n.next {
		name := n.name
		if n.info.Node == nil {
			if _, ok := s.nodes[name]; ok {
				delete(s.nodes, name)
				s.listDirty = true
			}
			continue
		}
		clone := n.info.Clone()
		old, ok := s.nodes[name]
		if !ok {
			s.nodes[name] = clone
			s.listDirty = true
			affinityChanged = true
			s.imageGen = -1 // recompute the new node's image states
			continue
		}
		if len(old.PodsWithAffinity) > 0 || len(clone.PodsWithAffinity) > 0 ||
			len(old.PodsWithRequiredAntiAffinity) > 0 || len(clone.PodsWithRequiredAntiAffinity) > 0 {
			affinityChanged = true
		}
		clone.ImageStates = old.ImageStates
		*old = *clone // keep the pointer: the list holds it
	}
	// Nodes gone from the cache altogether.
	if len(s.nodes) > len(c.nodes) || c.treeGeneration != s.treeGeneration {
		for name := range s.nodes {
			if n, ok := c.nodes[name]; !ok || n.info.Node == nil {
				delete(s.nodes, name)
				s.listDirty = true
			}
		}
	}
	s.generation = c.generation
	if s.listDirty || c.treeGeneration != s.treeGeneration {
		s.list = zoneInterleaved(s.nodes)
		s.treeGeneration = c.treeGeneration
		s.listDirty = false
		affinityChanged = true
	}
	if affinityChanged {
		s.withAffinity, s.withRequiredAnti = s.withAffinity[:0], s.withRequiredAnti[:0]
		for _, n := range s.list {
			if len(n.PodsWithAffinity) > 0 {
				s.withAffinity = append(s.withAffinity, n)
			}
			if len(n.PodsWithRequiredAntiAffinity) > 0 {
				s.withRequiredAnti = append(s.withRequiredAnti, n)
			}
		}
	}
	if c.imageGen != s.imageGen {
		s.imageCounts = make(map[string]int, len(c.images))
		for name, st := range c.images {
			s.imageCounts[name] = len(st.nodes)
		}
		for _, n := range s.nodes {
			n.ImageStates = map[string]*framework.ImageStateSummary{}
			for _, img := range n.Node.Status.Images {
				for _, name := range img.Names {
					name = NormalizedImageName(name)
					n.ImageStates[name] = &framework.ImageStateSummary{Size: img.SizeBytes, NumNodes: s.imageCounts[name]}
				}
			}
		}
		s.imageGen = c.imageGen
	}
}

// zoneInterleaved orders nodes as upstream's node tree: one node from each
// zone in turn (zones and nodes within a zone by name), so that the first
// nodes filtering visits span the zones.
func zoneInterleaved(nodes map[string]*framework.NodeInfo) []*framework.NodeInfo {
	byZone := map[string][]*framework.NodeInfo{}
	var zones []string
	for _, n := range nodes {
		z := zoneOf(n.Node)
		if _, ok := byZone[z]; !ok {
			zones = append(zones, z)
		}
		byZone[z] = append(byZone[z], n)
	}
	sort.Strings(zones)
	for _, z := range zones {
		l := byZone[z]
		sort.Slice(l, func(i, j int) bool { return l[i].Node.Name < l[j].Node.Name })
	}
	out := make([]*framework.NodeInfo, 0, len(nodes))
	for i := 0; len(out) < len(nodes); i++ {
		for _, z := range zones {
			if i < len(byZone[z]) {
				out = append(out, byZone[z][i])
			}
		}
	}
	return out
}
