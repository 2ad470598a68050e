package integration

import (
	"context"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kstack/kstack/test/integration/framework"
)

// podUsing is a pod that mounts secret and configmap as volumes.
func podUsing(name, secret, configMap string) *corev1.Pod {
	p := newPod(name, nil)
	p.Spec.Volumes = []corev1.Volume{
		{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret}}},
		{Name: "c", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: configMap}}}},
	}
	return p
}

func TestSecurity_KubeletReachesOnlyItsNodeAndPods(t *testing.T) {
	s := framework.Start(t, framework.Options{EmbeddedEtcd: true})
	ctx := t.Context()
	ns := createNamespace(t, s.Client, "workloads")
	for _, n := range []string{"a", "b"} {
		if _, err := s.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "secret-" + n}, StringData: map[string]string{"k": n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "config-" + n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Client.CoreV1().Pods(ns).Create(ctx, podUsing("pod-"+n, "secret-"+n, "config-"+n), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := s.Client.CoreV1().Pods(ns).Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "pod-" + n},
			Target: corev1.ObjectReference{Kind: "Node", Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("bind pod-%s: %v", n, err)
		}
	}
	// A secret no pod uses.
	if _, err := s.Client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "unused"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubeletA := clientFor(t, s.UserConfig(t, "system:node:a", "system:nodes"))
	// The node graph learns of the bindings through a watch.
	eventually(t, "kubelet a reads its pod's secret", func(ctx context.Context) (bool, error) {
		_, err := kubeletA.CoreV1().Secrets(ns).Get(ctx, "secret-a", metav1.GetOptions{})
		return err == nil, nil
	})

	updateNode := func(name string) func(kubernetes.Interface) error {
		return func(c kubernetes.Interface) error {
			n, err := s.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			n.Labels = map[string]string{"example.com/touched": "yes"}
			_, err = c.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
			return err
		}
	}
	updateNodeStatus := func(name string) func(kubernetes.Interface) error {
		return func(c kubernetes.Interface) error {
			n, err := s.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
			_, err = c.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
			return err
		}
	}
	updatePodStatus := func(name string) func(kubernetes.Interface) error {
		return func(c kubernetes.Interface) error {
			p, err := s.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			p.Status.Phase = corev1.PodRunning
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
			_, err = c.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
			return err
		}
	}
	getSecret := func(name string) func(kubernetes.Interface) error {
		return func(c kubernetes.Interface) error {
			_, err := c.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
			return err
		}
	}
	getConfigMap := func(name string) func(kubernetes.Interface) error {
		return func(c kubernetes.Interface) error {
			_, err := c.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
			return err
		}
	}
	createLease := func(name string) func(kubernetes.Interface) error {
		return func(c kubernetes.Interface) error {
			_, err := c.CoordinationV1().Leases("kube-node-lease").Create(ctx, &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr(name), LeaseDurationSeconds: ptr(int32(40))}}, metav1.CreateOptions{})
			return err
		}
	}
	tests := []struct {
		name string
		do   func(kubernetes.Interface) error
		want int
		// authorized is what `auth can-i` answers; nil when the request is
		// authorized but NodeRestriction admission decides (can-i cannot
		// see admission, as upstream).
		canI *[5]string // verb, group, resource, subresource, name
	}{
		{"update its own node", updateNode("a"), 200, nil},
		{"update its own node status", updateNodeStatus("a"), 200, nil},
		{"update node b", updateNode("b"), 403, nil},
		{"update node b's status", updateNodeStatus("b"), 403, nil},
		{"delete node b", func(c kubernetes.Interface) error { return c.CoreV1().Nodes().Delete(ctx, "b", metav1.DeleteOptions{}) }, 403, nil},
		{"update the status of its pod", updatePodStatus("pod-a"), 200, nil},
		{"update the status of a pod bound to b", updatePodStatus("pod-b"), 403, nil},
		{"delete a pod bound to b", func(c kubernetes.Interface) error {
			return c.CoreV1().Pods(ns).Delete(ctx, "pod-b", metav1.DeleteOptions{})
		}, 403, nil},
		{"create a non-mirror pod", func(c kubernetes.Interface) error {
			p := newPod("sneaky", nil)
			p.Spec.NodeName = "a"
			_, err := c.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
			return err
		}, 403, nil},
		{"read its pod's secret", getSecret("secret-a"), 200, &[5]string{"get", "", "secrets", "", "secret-a"}},
		{"read a secret of a pod on b", getSecret("secret-b"), 403, &[5]string{"get", "", "secrets", "", "secret-b"}},
		{"read a secret no pod uses", getSecret("unused"), 403, &[5]string{"get", "", "secrets", "", "unused"}},
		{"list secrets", func(c kubernetes.Interface) error {
			_, err := c.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
			return err
		}, 403, &[5]string{"list", "", "secrets", "", ""}},
		{"read its pod's configmap", getConfigMap("config-a"), 200, &[5]string{"get", "", "configmaps", "", "config-a"}},
		{"read a configmap of a pod on b", getConfigMap("config-b"), 403, &[5]string{"get", "", "configmaps", "", "config-b"}},
		{"create its own lease", createLease("a"), 200, nil},
		{"create node b's lease", createLease("b"), 403, nil},
		{"read a cluster role", func(c kubernetes.Interface) error {
			_, err := c.RbacV1().ClusterRoles().Get(ctx, "admin", metav1.GetOptions{})
			return err
		}, 403, &[5]string{"get", "rbac.authorization.k8s.io", "clusterroles", "", "admin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do(kubeletA)
			if got := codeOf(err); got != tt.want {
				t.Fatalf("got %d (%v), want %d", got, err, tt.want)
			}
			if tt.canI == nil {
				return
			}
			c := tt.canI
			r, err := kubeletA.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, selfReview(c[0], c[1], c[2], c[3], ns, c[4]), metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Status.Allowed != (tt.want != 403) {
				t.Errorf("can-i %v = %v (%s), but the request got %d", *c, r.Status.Allowed, r.Status.Reason, tt.want)
			}
		})
	}

	// When pod-b is deleted, kubelet b loses its secret.
	kubeletB := clientFor(t, s.UserConfig(t, "system:node:b", "system:nodes"))
	if err := getSecret("secret-b")(kubeletB); err != nil {
		t.Fatalf("kubelet b reads its pod's secret: %v", err)
	}
	if err := s.Client.CoreV1().Pods(ns).Delete(ctx, "pod-b", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "kubelet b loses the secret of its deleted pod", func(context.Context) (bool, error) {
		return codeOf(getSecret("secret-b")(kubeletB)) == 403, nil
	})
}
