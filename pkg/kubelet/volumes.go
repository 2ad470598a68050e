package kubelet

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/kstack/kstack/pkg/kubelet/volume"
	authenticationv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
)

// Token creates a service-account token (serviceaccounts/<sa>/token),
// which the Node authorizer allows for this node's pods.
func (g apiGetter) Token(ctx context.Context, namespace, sa string, req *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error) {
	return g.k.client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
}

// volumeManager is the kubelet's volume manager, made on first use.
func (k *Kubelet) volumeManager() *volume.Manager {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.volumes == nil {
		k.volumes = volume.NewManager(apiGetter{k}, k.cfg.SyncFrequency)
	}
	return k.volumes
}

// setUpVolumes makes the pod's volumes present and current; on failure
// the containers not yet running wait in ContainerCreating with the error
// as message (upstream's FailedMount) and the sync retries soon.
func (s *podSync) setUpVolumes(ctx context.Context, podIP string) bool {
	if s.k.hollow {
		// Fake containers read no files: a hollow node mounts nothing
		// (it may run without root) and asks the API for no tokens,
		// ConfigMaps or Secrets; every volume is a placeholder path.
		s.volumePaths = map[string]string{}
		for _, v := range s.pod.Spec.Volumes {
			s.volumePaths[v.Name] = s.k.podDir(string(s.pod.UID))
		}
		return true
	}
	s.k.mu.Lock()
	alloc := s.k.nodeAlloc
	s.k.mu.Unlock()
	ec := envContext{PodIP: podIP, HostIP: s.k.hostIP, NodeAllocatable: alloc}
	fields := volume.Fields{
		Field: func(path string) (string, error) { return podField(s.pod, path, ec) },
		Resource: func(name string, ref *v1.ResourceFieldSelector) (string, error) {
			c := findContainer(s.pod, name)
			if c == nil {
				return "", fmt.Errorf("container %q not found", name)
			}
			return resourceField(c, ref, ec)
		},
	}
	paths, err := s.k.volumeManager().SetUp(ctx, s.pod, s.k.podDir(string(s.pod.UID)), fields)
	if err != nil {
		slog.Warn("volumes", "pod", klog.KObj(s.pod), "err", err)
		s.k.podEvent(s.pod, v1.EventTypeWarning, eventFailedMount, "%v", err)
		for _, c := range append(append([]v1.Container{}, s.pod.Spec.InitContainers...), s.pod.Spec.Containers...) {
			s.waiting[c.Name] = waitingReason{Reason: "ContainerCreating", Message: err.Error()}
		}
		s.requeueIn(2 * time.Second)
		return false
	}
	s.volumePaths = paths
	return true
}

// tearDownVolumes unmounts and removes the pod's volumes and forgets its
// tokens.
func (k *Kubelet) tearDownVolumes(uid string) error {
	k.volumeManager().ForgetPod(uid)
	return volume.TearDown(k.podDir(uid))
}

func findContainer(pod *v1.Pod, name string) *v1.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	return nil
}
