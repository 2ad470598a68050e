package integration

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/kstack/kstack/test/integration/framework"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestPodLog_ErrorsAndProxyToTheKubelet: pods/log checks the pod and
// container as upstream (several containers need a choice, an unknown one
// is a 400 naming the choices, an unscheduled pod has an empty log, exec
// on it is a 400), forwards the log options to the node's kubelet and
// turns a kubelet error into a Status with its message.
func TestPodLog_ErrorsAndProxyToTheKubelet(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	kubelet := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path+"?"+r.URL.RawQuery)
		mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "/sidecar") {
			http.Error(w, `container "sidecar" in pod "two" is waiting to start: ContainerCreating`, http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "line from %s\n", r.URL.Path)
	}))
	kubelet.TLS = &tls.Config{}
	kubelet.StartTLS()
	t.Cleanup(kubelet.Close)
	_, portStr, _ := net.SplitHostPort(strings.TrimPrefix(kubelet.URL, "https://"))
	port, _ := strconv.Atoi(portStr)

	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	node, err := s.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
	if _, err := s.Client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	mkPod := func(name, nodeName string, containers ...string) {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}, Spec: corev1.PodSpec{NodeName: nodeName,
			InitContainers: []corev1.Container{{Name: "init", Image: "busybox"}}}}
		for _, c := range containers {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c, Image: "busybox"})
		}
		if _, err := s.Client.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mkPod("pending", "", "app")
	mkPod("one", "n1", "app")
	mkPod("two", "n1", "app", "sidecar")

	logs := func(pod string, opts *corev1.PodLogOptions) (string, error) {
		// Stream decodes an error Status as kubectl logs does.
		rc, err := s.Client.CoreV1().Pods("default").GetLogs(pod, opts).Stream(ctx)
		if err != nil {
			return "", err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		return string(b), err
	}
	wantBadRequest := func(what string, err error, contains ...string) {
		t.Helper()
		if !apierrors.IsBadRequest(err) {
			t.Errorf("%s: err = %v, want 400 BadRequest", what, err)
			return
		}
		for _, c := range contains {
			if !strings.Contains(err.Error(), c) {
				t.Errorf("%s: %q does not mention %q", what, err.Error(), c)
			}
		}
	}

	_, err = logs("two", &corev1.PodLogOptions{})
	wantBadRequest("no container of two", err, "a container name must be specified for pod two, choose one of: [app sidecar] or one of the init containers: [init]")
	_, err = logs("one", &corev1.PodLogOptions{Container: "nope"})
	wantBadRequest("unknown container", err, "container nope is not valid for pod one", "[app]")
	_, err = logs("one", &corev1.PodLogOptions{TailLines: podLogInt64(-1)})
	wantBadRequest("negative tailLines", err, "tailLines")
	if _, err = logs("missing", &corev1.PodLogOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("missing pod: err = %v, want NotFound", err)
	}
	// Upstream: an unscheduled pod's log is empty, exec on it a 400.
	if out, err := logs("pending", &corev1.PodLogOptions{}); err != nil || out != "" {
		t.Errorf("log of an unscheduled pod = %q, %v; want empty", out, err)
	}
	err = s.Client.CoreV1().RESTClient().Post().Namespace("default").Resource("pods").Name("pending").SubResource("exec").
		Param("command", "true").Param("stdout", "true").Do(ctx).Error()
	wantBadRequest("exec on an unscheduled pod", err, "pod pending does not have a host assigned")

	out, err := logs("one", &corev1.PodLogOptions{TailLines: podLogInt64(3), Timestamps: true, Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	if out != "line from /containerLogs/default/one/app\n" {
		t.Errorf("log = %q", out)
	}
	mu.Lock()
	got := append([]string(nil), seen...)
	mu.Unlock()
	if len(got) != 1 || got[0] != "/containerLogs/default/one/app?follow=true&tailLines=3&timestamps=true" {
		t.Errorf("kubelet saw %q", got)
	}
	_, err = logs("two", &corev1.PodLogOptions{Container: "sidecar"})
	wantBadRequest("kubelet's answer", err, `container "sidecar" in pod "two" is waiting to start: ContainerCreating`)
}

func podLogInt64(n int64) *int64 { return &n }
