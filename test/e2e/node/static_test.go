//go:build e2e

package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const staticManifest = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    app: static-web
spec:
  containers:
  - name: server
    image: kstack.local/testserver:1.0
    imagePullPolicy: IfNotPresent
    ports:
    - containerPort: 8080
`

func TestStaticPod_RunsFromFileWithAMirrorPod(t *testing.T) {
	n := startNode(t)
	ctx := context.Background()
	manifests := filepath.Join(n.dir, "manifests")
	if err := os.MkdirAll(manifests, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(manifests, "web.yaml")
	if err := os.WriteFile(file, []byte(staticManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	// A file whose name starts with a dot is ignored, as upstream.
	if err := os.WriteFile(filepath.Join(manifests, ".web.yaml.swp"), []byte("not a pod"), 0o644); err != nil {
		t.Fatal(err)
	}
	n.stopKubelet()
	n.cfg.StaticPodPath = manifests
	n.cfg.FileCheckFrequency = time.Second
	n.startKubelet()

	name := "web-" + n.cfg.NodeName
	mirror := n.waitPod(name, 60*time.Second, "mirror pod Running", func(p *v1.Pod) bool {
		return p.Status.Phase == v1.PodRunning && podReady(p)
	})
	hash := mirror.Annotations["kubernetes.io/config.hash"]
	if hash == "" || mirror.Annotations["kubernetes.io/config.mirror"] != hash || mirror.Annotations["kubernetes.io/config.source"] != "file" {
		t.Errorf("mirror pod annotations: %v", mirror.Annotations)
	}
	if string(mirror.UID) == hash {
		t.Errorf("the mirror pod has the static pod's UID %s; the apiserver should have given it its own", hash)
	}
	node, err := n.admin.CoreV1().Nodes().Get(ctx, n.cfg.NodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if or := mirror.OwnerReferences; len(or) != 1 || or[0].Kind != "Node" || or[0].APIVersion != "v1" || or[0].Name != node.Name ||
		or[0].UID != node.UID || or[0].Controller == nil || !*or[0].Controller {
		t.Errorf("mirror pod ownerReferences: %+v", mirror.OwnerReferences)
	}
	if mirror.Labels["app"] != "static-web" || mirror.Spec.NodeName != n.cfg.NodeName {
		t.Errorf("mirror pod labels %v nodeName %q", mirror.Labels, mirror.Spec.NodeName)
	}
	// The containers are labelled with the static pod's UID (the hash),
	// and the pod is reachable.
	cs, err := n.rt.List(ctx, hash)
	if err != nil || len(cs) != 2 {
		t.Fatalf("containers of static pod %s: %d (%v)", hash, len(cs), err)
	}
	n.eventually(20*time.Second, "static pod answers", func() (bool, string) {
		body, err := httpGet(fmt.Sprintf("http://%s:8080/hostname", mirror.Status.PodIP))
		return err == nil && body == name, fmt.Sprint(body, err)
	})
	containerID := containerStatus(mirror, "server").ContainerID
	// pods/log of the mirror pod reaches the static pod's container.
	if _, err := n.admin.CoreV1().Pods(testNamespace).GetLogs(name, &v1.PodLogOptions{Container: "server"}).DoRaw(ctx); err != nil {
		t.Errorf("logs of the static pod through its mirror: %v", err)
	}

	// A deleted mirror pod is recreated; the static pod keeps running.
	if err := n.admin.CoreV1().Pods(testNamespace).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	again := n.waitPod(name, 30*time.Second, "mirror pod recreated", func(p *v1.Pod) bool {
		return p.UID != mirror.UID && p.DeletionTimestamp == nil && p.Status.Phase == v1.PodRunning
	})
	if cs := containerStatus(again, "server"); cs == nil || cs.ContainerID != containerID || cs.RestartCount != 0 {
		t.Errorf("after the mirror pod's deletion: container %+v, want %s still running", cs, containerID)
	}

	// Removing the file stops the pod and deletes its mirror.
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	n.eventually(30*time.Second, "mirror pod deleted", func() (bool, string) {
		_, err := n.admin.CoreV1().Pods(testNamespace).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
	n.eventually(30*time.Second, "static pod's containers removed", func() (bool, string) {
		cs, err := n.rt.List(ctx, hash)
		return err == nil && len(cs) == 0, fmt.Sprintf("%d containers (%v)", len(cs), err)
	})
	if _, err := os.Stat(filepath.Join(n.cfg.RootDir, "pods", hash)); !os.IsNotExist(err) {
		t.Errorf("pod dir of the static pod is left: %v", err)
	}
}
