//go:build e2e

package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kstack/kstack/pkg/kubelet"
	"github.com/kstack/kstack/pkg/kubelet/runtime"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

const offlineStaticManifest = `apiVersion: v1
kind: Pod
metadata:
  name: offline
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: sleeper
    image: kstack.local/busybox:1.0
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
`

// A static pod runs when the apiserver cannot be reached at the kubelet's
// start (the Node cannot register), as upstream's: a control plane's own
// pods come from manifests. Once the apiserver answers, the same container
// (same ID, no restart) gets its mirror pod.
func TestStaticPod_RunsWhileTheAPIServerIsUnreachable(t *testing.T) {
	n := startNode(t)
	ctx := context.Background()
	manifests := filepath.Join(n.dir, "manifests")
	if err := os.MkdirAll(manifests, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(manifests, "offline.yaml")
	if err := os.WriteFile(file, []byte(offlineStaticManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	n.stopKubelet()
	n.cfg.StaticPodPath = manifests
	n.cfg.FileCheckFrequency = time.Second

	// Nothing listens on this apiserver address.
	online := n.cfg.RESTConfig
	offline := rest.CopyConfig(online)
	offline.Host = fmt.Sprintf("https://127.0.0.1:%d", freePort(t))
	cfg := n.cfg
	cfg.RESTConfig = offline
	kctx, cancel := context.WithCancel(ctx)
	k, err := kubelet.New(kctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- k.Run(kctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-done: // context.Canceled: it never got past registration
		case <-time.After(30 * time.Second):
			t.Error("offline kubelet did not stop 30s after cancel")
		}
	}
	t.Cleanup(stop)

	name := "offline-" + n.cfg.NodeName
	var sleeper runtime.Container
	n.eventually(60*time.Second, "static pod's container running without an apiserver", func() (bool, string) {
		cs, err := n.rt.List(ctx, "")
		if err != nil {
			return false, err.Error()
		}
		for _, c := range cs {
			if c.Labels[runtime.LabelPodName] == name && c.Labels[runtime.LabelContainerName] == "sleeper" && c.State == runtime.StateRunning {
				sleeper = c
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d containers, none running for %s", len(cs), name)
	})
	select {
	case <-k.Ready():
		t.Fatal("the kubelet says it is ready (registered) with no apiserver")
	default:
	}
	stop()
	// Stopping a kubelet leaves its containers running, even one it was
	// just starting (a start cut short used to be rolled back).
	if c := containerByID(t, n, sleeper.ID); c == nil || c.State != runtime.StateRunning {
		t.Errorf("after the offline kubelet stopped, its container %s is %+v, want it running", sleeper.ID, c)
	}

	// The apiserver is back: the kubelet registers, adopts the container
	// and creates the mirror pod.
	n.startKubelet()
	mirror := n.waitPod(name, 60*time.Second, "mirror pod Running", func(p *v1.Pod) bool {
		return p.Status.Phase == v1.PodRunning && podReady(p)
	})
	cs := containerStatus(mirror, "sleeper")
	if cs == nil || cs.State.Running == nil {
		t.Fatalf("mirror pod's container %+v, want it running", cs)
	}
	// The restarted kubelet adopts the container the offline one ran.
	if cs.ContainerID != "containerd://"+sleeper.ID || cs.RestartCount != 0 {
		t.Errorf("mirror pod's container %s (restarts %d), want the offline kubelet's containerd://%s with no restart", cs.ContainerID, cs.RestartCount, sleeper.ID)
	}
	if uid := sleeper.Labels[runtime.LabelPodUID]; mirror.Annotations["kubernetes.io/config.mirror"] != uid {
		t.Errorf("mirror annotation %q, want the static pod's UID %q", mirror.Annotations["kubernetes.io/config.mirror"], uid)
	}

	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	n.eventually(30*time.Second, "mirror pod deleted", func() (bool, string) {
		_, err := n.admin.CoreV1().Pods(testNamespace).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
}

// containerByID is the node's container id as containerd lists it, or nil.
func containerByID(t *testing.T, n *node, id string) *runtime.Container {
	t.Helper()
	cs, err := n.rt.List(context.Background(), "")
	if err != nil {
		t.Fatalf("list containers: %v", err)
	}
	for i := range cs {
		if cs[i].ID == id {
			return &cs[i]
		}
	}
	return nil
}
