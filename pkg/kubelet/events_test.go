package kubelet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kstack/kstack/pkg/kubelet/network"
	"github.com/kstack/kstack/pkg/kubelet/runtime"
	"github.com/kstack/kstack/pkg/kubelet/runtime/fake"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

// recordedEvent is one event a testRecorder saw.
type recordedEvent struct {
	ref                  v1.ObjectReference
	typ, reason, message string
}

func (e recordedEvent) String() string {
	return fmt.Sprintf("%s %s %s [%s %s]", e.typ, e.reason, e.message, e.ref.Kind, e.ref.FieldPath)
}

// testRecorder keeps the events with their object references (which
// record.FakeRecorder leaves out).
type testRecorder struct {
	mu     sync.Mutex
	events []recordedEvent
}

var _ record.EventRecorder = (*testRecorder)(nil)

func (r *testRecorder) Event(obj k8sruntime.Object, typ, reason, message string) {
	ref, ok := obj.(*v1.ObjectReference)
	if !ok {
		panic(fmt.Sprintf("event object %T: the kubelet records references", obj))
	}
	r.mu.Lock()
	r.events = append(r.events, recordedEvent{ref: *ref, typ: typ, reason: reason, message: message})
	r.mu.Unlock()
}

func (r *testRecorder) Eventf(obj k8sruntime.Object, typ, reason, format string, args ...any) {
	r.Event(obj, typ, reason, fmt.Sprintf(format, args...))
}

func (r *testRecorder) AnnotatedEventf(obj k8sruntime.Object, _ map[string]string, typ, reason, format string, args ...any) {
	r.Eventf(obj, typ, reason, format, args...)
}

// take returns the events recorded since the last take.
func (r *testRecorder) take() []recordedEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

// exitProber answers every exec probe with code.
type exitProber struct{ code int }

func (p *exitProber) Exec(context.Context, string, []string, time.Duration) (int, []byte, error) {
	return p.code, nil, nil
}

// eventNode is a kubelet on the fake runtime and network with a fake
// clientset, whose events a testRecorder keeps; its pods are in pods.
type eventNode struct {
	k      *Kubelet
	rt     *fake.Runtime
	rec    *testRecorder
	pods   cache.Indexer
	prober *exitProber
}

func newEventNode(t *testing.T, pods ...*v1.Pod) *eventNode {
	t.Helper()
	objs := make([]k8sruntime.Object, len(pods))
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for i, p := range pods {
		objs[i] = p
		if err := indexer.Add(p); err != nil {
			t.Fatal(err)
		}
	}
	cfg := Config{NodeName: "node-1", RootDir: t.TempDir(), PodLogsDir: t.TempDir(), Runtime: RuntimeFake}
	cfg.Default()
	k := newHollow(cfg, kubefake.NewClientset(objs...), nil)
	// Not hollow: probes and hooks run (through the test's prober).
	k.hollow = false
	n := &eventNode{k: k, rt: k.runtime.(*fake.Runtime), rec: &testRecorder{}, pods: indexer, prober: &exitProber{}}
	k.recorder = n.rec
	k.prober = n.prober
	k.pods = corelisters.NewPodLister(indexer)
	k.static = newStaticPods("", cfg.NodeName)
	if err := k.network.SetPodCIDR("10.0.0.0/24"); err != nil {
		t.Fatal(err)
	}
	return n
}

// sync runs one sync of pod and returns the events it recorded.
func (n *eventNode) sync(t *testing.T, pod *v1.Pod) []recordedEvent {
	t.Helper()
	w := &podWorker{uid: pod.UID, namespace: pod.Namespace, name: pod.Name}
	if _, err := n.k.syncPod(t.Context(), w); err != nil {
		t.Fatalf("sync: %v", err)
	}
	return n.rec.take()
}

// running is the running instance of container name of pod uid.
func (n *eventNode) running(t *testing.T, uid, name string) runtime.Container {
	t.Helper()
	cs, _ := n.rt.List(t.Context(), uid)
	for _, c := range cs {
		if c.Labels[runtime.LabelContainerName] == name && c.State == runtime.StateRunning {
			return c
		}
	}
	t.Fatalf("container %s is not running", name)
	return runtime.Container{}
}

// want is an expected event: type, reason, message and fieldPath.
type want struct{ typ, reason, message, fieldPath string }

func assertEvents(t *testing.T, step string, pod *v1.Pod, got []recordedEvent, wants ...want) {
	t.Helper()
	if len(got) != len(wants) {
		t.Fatalf("%s: %d events, want %d:\n%v", step, len(got), len(wants), got)
	}
	for i, w := range wants {
		e := got[i]
		if e.typ != w.typ || e.reason != w.reason || e.message != w.message || e.ref.FieldPath != w.fieldPath {
			t.Errorf("%s: event %d:\n got %s %s %q %s\nwant %s %s %q %s", step, i, e.typ, e.reason, e.message, e.ref.FieldPath, w.typ, w.reason, w.message, w.fieldPath)
		}
		r := e.ref
		if r.Kind != "Pod" || r.APIVersion != "v1" || r.Namespace != pod.Namespace || r.Name != pod.Name || r.UID != pod.UID || r.ResourceVersion != pod.ResourceVersion {
			t.Errorf("%s: event %d involves %+v, want the pod %s/%s uid %s rv %s", step, i, r, pod.Namespace, pod.Name, pod.UID, pod.ResourceVersion)
		}
	}
}

func started(image, fieldPath string) []want {
	return []want{
		{v1.EventTypeNormal, "Pulled", fmt.Sprintf("Container image %q already present on machine and can be accessed by the pod", image), fieldPath},
		{v1.EventTypeNormal, "Created", "Container created", fieldPath},
		{v1.EventTypeNormal, "Started", "Container started", fieldPath},
	}
}

func TestEvents_PodThroughTheFakeRuntimeRecordsUpstreamsEvents(t *testing.T) {
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "uid-1", ResourceVersion: "42"},
		Spec: v1.PodSpec{
			NodeName:      "node-1",
			RestartPolicy: v1.RestartPolicyAlways,
			InitContainers: []v1.Container{{
				Name: "proxy", Image: "kstack.local/busybox:1.0", RestartPolicy: ptr.To(v1.ContainerRestartPolicyAlways),
			}},
			Containers: []v1.Container{{
				Name: "app", Image: "kstack.local/testserver:1.0",
				LivenessProbe: &v1.Probe{
					ProbeHandler:     v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"check"}}},
					FailureThreshold: 1, PeriodSeconds: 1,
				},
			}},
		},
	}
	n := newEventNode(t, pod)

	// The sidecar first (an init container), then the app container.
	assertEvents(t, "sidecar start", pod, n.sync(t, pod), started("kstack.local/busybox:1.0", "spec.initContainers{proxy}")...)
	assertEvents(t, "app start", pod, n.sync(t, pod), started("kstack.local/testserver:1.0", "spec.containers{app}")...)

	// A failing liveness probe: Unhealthy, then the kill that restarts.
	n.prober.code = 1
	assertEvents(t, "liveness failure", pod, n.sync(t, pod),
		want{v1.EventTypeWarning, "Unhealthy", "Liveness probe failed: ", "spec.containers{app}"},
		want{v1.EventTypeNormal, "Killing", "Container app failed liveness probe, will be restarted", "spec.containers{app}"},
	)
	n.prober.code = 0
	assertEvents(t, "restart", pod, n.sync(t, pod), started("kstack.local/testserver:1.0", "spec.containers{app}")...)

	// It crashes again at once: CrashLoopBackOff.
	if err := n.rt.Stop(t.Context(), n.running(t, "uid-1", "app").ID, 0); err != nil {
		t.Fatal(err)
	}
	assertEvents(t, "crash loop", pod, n.sync(t, pod),
		want{v1.EventTypeWarning, "BackOff", "Back-off restarting failed container app in pod web_default(uid-1)", "spec.containers{app}"})

	// Deleted: what runs is stopped.
	deleting := pod.DeepCopy()
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	deleting.DeletionGracePeriodSeconds = ptr.To[int64](0)
	if err := n.pods.Update(deleting); err != nil {
		t.Fatal(err)
	}
	assertEvents(t, "deletion", pod, n.sync(t, pod),
		want{v1.EventTypeNormal, "Killing", "Stopping container proxy", "spec.initContainers{proxy}"})
}

// pullImages is an image service that has the images in present and
// fails every pull.
type pullImages struct {
	present map[string]bool
	pulls   int
}

func (p *pullImages) EnsureImage(_ context.Context, image string, always, never bool) (runtime.Image, error) {
	if p.present[image] && !always {
		return runtime.Image{Ref: image, ID: "sha256:" + image}, nil
	}
	if never {
		return runtime.Image{}, fmt.Errorf("%w: container image %q is not present with pull policy of Never", runtime.ErrImageNeverPull, image)
	}
	p.pulls++
	return runtime.Image{}, fmt.Errorf("%w: failed to pull and unpack image %q: no registry", runtime.ErrImagePull, image)
}

func TestEvents_MissingImageIsPullingFailedThenBackOff(t *testing.T) {
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "noimage", Namespace: "default", UID: "uid-2", ResourceVersion: "7"},
		Spec: v1.PodSpec{NodeName: "node-1", Containers: []v1.Container{
			{Name: "c", Image: "kstack.invalid/missing:1", ImagePullPolicy: v1.PullIfNotPresent},
			{Name: "never", Image: "kstack.invalid/never:1", ImagePullPolicy: v1.PullNever},
		}},
	}
	n := newEventNode(t, pod)
	images := &pullImages{}
	n.k.images = images
	const path = "spec.containers{c}"
	assertEvents(t, "first attempt", pod, n.sync(t, pod),
		want{v1.EventTypeNormal, "Pulling", `Pulling image "kstack.invalid/missing:1"`, path},
		want{v1.EventTypeWarning, "Failed", `Failed to pull image "kstack.invalid/missing:1": failed to pull and unpack image "kstack.invalid/missing:1": no registry`, path},
		want{v1.EventTypeWarning, "Failed", "Error: ErrImagePull", path},
		want{v1.EventTypeWarning, "ErrImageNeverPull", `Container image "kstack.invalid/never:1" is not present with pull policy of Never`, "spec.containers{never}"},
		want{v1.EventTypeWarning, "Failed", "Error: ErrImageNeverPull", "spec.containers{never}"},
	)
	assertEvents(t, "in back-off", pod, n.sync(t, pod),
		want{v1.EventTypeNormal, "BackOff", `Back-off pulling image "kstack.invalid/missing:1"`, path},
		want{v1.EventTypeWarning, "Failed", "Error: ImagePullBackOff", path},
		want{v1.EventTypeWarning, "ErrImageNeverPull", `Container image "kstack.invalid/never:1" is not present with pull policy of Never`, "spec.containers{never}"},
		want{v1.EventTypeWarning, "Failed", "Error: ErrImageNeverPull", "spec.containers{never}"},
	)
	if images.pulls != 1 {
		t.Errorf("%d pulls, want 1: the back-off holds the second", images.pulls)
	}
}

func TestEvents_StaticPodEventsGoToItsMirrorPod(t *testing.T) {
	static := &v1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: "etcd-node-1", Namespace: "kube-system", UID: "static-uid",
		Annotations: map[string]string{ConfigSourceAnnotation: ConfigSourceFile},
	}, Spec: v1.PodSpec{NodeName: "node-1", Containers: []v1.Container{{Name: "etcd"}}}}
	n := newEventNode(t)

	n.k.containerEvent(static, "etcd", v1.EventTypeNormal, "Started", "Container started")
	if got := n.rec.take(); len(got) != 0 {
		t.Errorf("events of a static pod without a mirror pod: %v", got)
	}

	mirror := static.DeepCopy()
	mirror.UID, mirror.ResourceVersion = "mirror-uid", "3"
	mirror.Annotations = map[string]string{ConfigSourceAnnotation: ConfigSourceFile, ConfigMirrorAnnotation: "static-uid"}
	if err := n.pods.Add(mirror); err != nil {
		t.Fatal(err)
	}
	n.k.containerEvent(static, "etcd", v1.EventTypeNormal, "Started", "Container started")
	got := n.rec.take()
	if len(got) != 1 || got[0].ref.UID != "mirror-uid" || got[0].ref.ResourceVersion != "3" || got[0].ref.FieldPath != "spec.containers{etcd}" {
		t.Errorf("static pod event: %+v, want one on the mirror pod (uid mirror-uid, rv 3)", got)
	}
}

func TestEvents_NodeConditionTransitions(t *testing.T) {
	cond := func(typ v1.NodeConditionType, s v1.ConditionStatus) v1.NodeCondition {
		return v1.NodeCondition{Type: typ, Status: s}
	}
	healthy := []v1.NodeCondition{
		cond(v1.NodeMemoryPressure, v1.ConditionFalse), cond(v1.NodeDiskPressure, v1.ConditionFalse),
		cond(v1.NodePIDPressure, v1.ConditionFalse), cond(v1.NodeReady, v1.ConditionTrue),
	}
	pressured := []v1.NodeCondition{
		cond(v1.NodeMemoryPressure, v1.ConditionTrue), cond(v1.NodeDiskPressure, v1.ConditionTrue),
		cond(v1.NodePIDPressure, v1.ConditionFalse), cond(v1.NodeReady, v1.ConditionFalse),
	}
	for _, tc := range []struct {
		name     string
		old, cur []v1.NodeCondition
		want     string
	}{
		// A new Ready condition records nothing, as upstream's setter.
		{"registration", nil, healthy, "NodeHasSufficientMemory NodeHasNoDiskPressure NodeHasSufficientPID"},
		{"no change", healthy, healthy, ""},
		{"pressure and not ready", healthy, pressured, "NodeHasInsufficientMemory NodeHasDiskPressure NodeNotReady"},
		{"recovered", pressured, healthy, "NodeHasSufficientMemory NodeHasNoDiskPressure NodeReady"},
	} {
		if got := strings.Join(nodeConditionEvents(tc.old, tc.cur), " "); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}

	n := newEventNode(t)
	n.k.setNodeUID("node-uid")
	n.k.recordNodeConditionEvents(healthy, pressured[:1])
	got := n.rec.take()
	if len(got) != 1 || got[0].message != "Node node-1 status is now: NodeHasInsufficientMemory" ||
		got[0].ref.Kind != "Node" || got[0].ref.Name != "node-1" || got[0].ref.UID != "node-uid" {
		t.Errorf("node event: %+v", got)
	}
}

func TestEvents_BroadcasterNeverBlocksTheCaller(t *testing.T) {
	// A sink that never answers: recording must still return at once,
	// with the broadcaster's queue taking (or dropping) the events.
	b := record.NewBroadcaster(record.WithContext(t.Context()))
	defer b.Shutdown()
	block := make(chan struct{})
	defer close(block)
	b.StartEventWatcher(func(*v1.Event) { <-block })
	n := newEventNode(t)
	n.k.recorder = newEventRecorder(b, "node-1")
	// client-go logs every dropped event.
	klog.LogToStderr(false)
	klog.SetOutput(io.Discard)
	defer klog.LogToStderr(true)
	// Far more than the queues hold: a blocking recorder would hang here.
	for range 5000 {
		n.k.nodeEvent(v1.EventTypeNormal, eventStarting, "Starting kubelet.")
	}
}

// brokenNetwork is a pod network whose ADD fails.
type brokenNetwork struct{ *fake.Network }

func (brokenNetwork) SetUp(context.Context, string, string, network.PodRef) (net.IP, error) {
	return nil, errors.New("plugin bridge: no IP addresses available")
}

func TestEvents_PodNetworkFailuresArePodEvents(t *testing.T) {
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "net", Namespace: "default", UID: "uid-3", ResourceVersion: "9"},
		Spec:       v1.PodSpec{NodeName: "node-1", Containers: []v1.Container{{Name: "c", Image: "busybox"}}},
	}
	n := newEventNode(t, pod)
	n.k.network = fake.NewNetwork() // no podCIDR yet
	assertEvents(t, "network not ready", pod, n.sync(t, pod),
		want{v1.EventTypeWarning, "NetworkNotReady", "network is not ready: " + n.k.network.Status().Error(), ""})

	broken := brokenNetwork{fake.NewNetwork()}
	if err := broken.SetPodCIDR("10.0.0.0/24"); err != nil {
		t.Fatal(err)
	}
	n.k.network = broken
	w := &podWorker{uid: pod.UID, namespace: pod.Namespace, name: pod.Name}
	if _, err := n.k.syncPod(t.Context(), w); err == nil {
		t.Fatal("sync with a failing CNI ADD: no error")
	}
	assertEvents(t, "sandbox failure", pod, n.rec.take(),
		want{v1.EventTypeWarning, "FailedCreatePodSandBox", "Failed to create pod sandbox: plugin bridge: no IP addresses available", ""})
}

func TestEvents_VolumeThatCannotBeSetUpIsFailedMount(t *testing.T) {
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "vol", Namespace: "default", UID: "uid-4", ResourceVersion: "11"},
		Spec: v1.PodSpec{
			NodeName:   "node-1",
			Containers: []v1.Container{{Name: "c", Image: "busybox"}},
			Volumes: []v1.Volume{{Name: "cfg", VolumeSource: v1.VolumeSource{
				ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "missing"}},
			}}},
		},
	}
	n := newEventNode(t, pod)
	got := n.sync(t, pod)
	if len(got) != 1 || got[0].typ != v1.EventTypeWarning || got[0].reason != "FailedMount" ||
		!strings.HasPrefix(got[0].message, `MountVolume.SetUp failed for volume "cfg"`) || !strings.Contains(got[0].message, "missing") ||
		got[0].ref.UID != pod.UID || got[0].ref.FieldPath != "" {
		t.Errorf("events: %v, want one FailedMount about volume cfg on the pod", got)
	}
}

func TestEvents_HookFailuresAndActiveDeadline(t *testing.T) {
	failing := &v1.LifecycleHandler{Exec: &v1.ExecAction{Command: []string{"hook"}}}
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "hooks", Namespace: "default", UID: "uid-5", ResourceVersion: "13"},
		Spec: v1.PodSpec{NodeName: "node-1", RestartPolicy: v1.RestartPolicyAlways, Containers: []v1.Container{
			{Name: "post", Image: "busybox", Lifecycle: &v1.Lifecycle{PostStart: failing}},
			{Name: "pre", Image: "busybox", Lifecycle: &v1.Lifecycle{PreStop: failing}},
		}},
	}
	n := newEventNode(t, pod)
	n.prober.code = 1 // every hook fails
	const post, pre = "spec.containers{post}", "spec.containers{pre}"
	assertEvents(t, "start", pod, n.sync(t, pod), append(append(started("busybox", post),
		want{v1.EventTypeWarning, "FailedPostStartHook", "PostStartHook failed", post},
		want{v1.EventTypeNormal, "Killing", "FailedPostStartHook", post}),
		started("busybox", pre)...)...)

	// Past its activeDeadlineSeconds: DeadlineExceeded, then the kill,
	// whose preStop hook fails.
	late := pod.DeepCopy()
	late.Spec.ActiveDeadlineSeconds = ptr.To[int64](1)
	late.Status.StartTime = &metav1.Time{Time: time.Now().Add(-time.Hour)}
	if err := n.pods.Update(late); err != nil {
		t.Fatal(err)
	}
	assertEvents(t, "deadline", pod, n.sync(t, pod),
		want{v1.EventTypeNormal, "DeadlineExceeded", "Pod was active on the node longer than the specified deadline", ""},
		want{v1.EventTypeNormal, "Killing", "Stopping container pre", pre},
		want{v1.EventTypeWarning, "FailedPreStopHook", "PreStopHook failed", pre},
	)
}
