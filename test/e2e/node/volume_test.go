//go:build e2e

package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podLog returns what a container of pod wrote so far (restart 0).
func (n *node) podLog(pod *v1.Pod, container string) string {
	b, _ := os.ReadFile(filepath.Join(n.cfg.PodLogsDir, fmt.Sprintf("%s_%s_%s", testNamespace, pod.Name, pod.UID), container, "0.log"))
	return string(b)
}

// waitLog waits until the container's log contains want.
func (n *node) waitLog(pod *v1.Pod, container, want string, timeout time.Duration) {
	n.t.Helper()
	n.eventually(timeout, fmt.Sprintf("log of %s/%s contains %q", pod.Name, container, want), func() (bool, string) {
		l := n.podLog(pod, container)
		return strings.Contains(l, want), l
	})
}

func TestVolume_ConfigMapAndSecretContentsAndUpdates(t *testing.T) {
	n := startNode(t)
	ctx := context.Background()
	cm, err := n.admin.CoreV1().ConfigMaps(testNamespace).Create(ctx, &v1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "cfg"},
		Data:       map[string]string{"greeting": "hello-v1", "other": "x"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sec, err := n.admin.CoreV1().Secrets(testNamespace).Create(ctx, &v1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "sec"},
		Data:       map[string][]byte{"password": []byte("s3cret-v1")},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mode := int32(0o400)
	pod := n.createPod(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "vols"},
		Spec: v1.PodSpec{
			Volumes: []v1.Volume{
				{Name: "cfg", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{
					LocalObjectReference: v1.LocalObjectReference{Name: "cfg"},
					Items:                []v1.KeyToPath{{Key: "greeting", Path: "sub/greeting.txt"}},
				}}},
				{Name: "sec", VolumeSource: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "sec", DefaultMode: &mode}}},
				{Name: "missing", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{
					LocalObjectReference: v1.LocalObjectReference{Name: "nope"}, Optional: ptrBool(true),
				}}},
			},
			Containers: []v1.Container{{
				Name: "reader", Image: busyboxImage,
				Command: []string{"sh", "-c", `ls /cfg; stat -c 'mode=%a' /sec/..data/password; ls /missing | wc -l | sed 's/^/missing-entries=/'
echo ro-test > /cfg/x 2>/dev/null || echo cfg-is-read-only
while true; do echo "cm=$(cat /cfg/sub/greeting.txt) secret=$(cat /sec/password) sub=$(cat /one)"; sleep 0.5; done`},
				VolumeMounts: []v1.VolumeMount{
					{Name: "cfg", MountPath: "/cfg", ReadOnly: true},
					{Name: "sec", MountPath: "/sec"},
					{Name: "missing", MountPath: "/missing"},
					{Name: "cfg", MountPath: "/one", SubPath: "sub/greeting.txt"},
				},
			}},
		},
	})
	n.waitPod("vols", 60*time.Second, "Running", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
	n.waitLog(pod, "reader", "cm=hello-v1 secret=s3cret-v1 sub=hello-v1", 20*time.Second)
	log := n.podLog(pod, "reader")
	for _, want := range []string{"stdout F sub\n", "mode=400", "missing-entries=0", "cfg-is-read-only"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "stdout F other") {
		t.Errorf("items should project only greeting:\n%s", log)
	}

	cm.Data["greeting"] = "hello-v2"
	if _, err := n.admin.CoreV1().ConfigMaps(testNamespace).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	sec.Data["password"] = []byte("s3cret-v2")
	if _, err := n.admin.CoreV1().Secrets(testNamespace).Update(ctx, sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The subPath mount keeps the old file (as upstream); the volumes follow.
	n.waitLog(pod, "reader", "cm=hello-v2 secret=s3cret-v2 sub=hello-v1", 60*time.Second)

	// The secret volume is a tmpfs while the pod runs, and gone after.
	secDir := filepath.Join(n.cfg.RootDir, "pods", string(pod.UID), "volumes", "kubernetes.io~secret", "sec")
	if !mountedAt(secDir) {
		t.Errorf("secret volume %s is not a mount point", secDir)
	}
	n.deleteAllPodsAndCheckClean()
	if mountedAt(secDir) {
		t.Errorf("secret volume %s still mounted after the pod was deleted", secDir)
	}
	if _, err := os.Stat(filepath.Join(n.cfg.RootDir, "pods", string(pod.UID))); !os.IsNotExist(err) {
		t.Errorf("pod dir left: %v", err)
	}
}

func TestVolume_EmptyDirSharedBetweenContainersAndMemoryMedium(t *testing.T) {
	n := startNode(t)
	size := resource.MustParse("8Mi")
	pod := n.createPod(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "shared", Labels: map[string]string{"app": "shared"}},
		Spec: v1.PodSpec{
			Volumes: []v1.Volume{
				{Name: "data", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}},
				{Name: "mem", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{Medium: v1.StorageMediumMemory, SizeLimit: &size}}},
				{Name: "info", VolumeSource: v1.VolumeSource{DownwardAPI: &v1.DownwardAPIVolumeSource{Items: []v1.DownwardAPIVolumeFile{
					{Path: "labels", FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
					{Path: "name", FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.name"}},
				}}}},
			},
			Containers: []v1.Container{
				{
					Name: "writer", Image: busyboxImage,
					Command:      []string{"sh", "-c", "echo written-by-writer > /data/msg; df -k /mem | tail -1 | awk '{print \"memsize=\" $2}'; exec sleep 3600"},
					VolumeMounts: []v1.VolumeMount{{Name: "data", MountPath: "/data"}, {Name: "mem", MountPath: "/mem"}},
				},
				{
					Name: "reader", Image: busyboxImage,
					Command:      []string{"sh", "-c", `until [ -f /shared/msg ]; do sleep 0.2; done; echo "got=$(cat /shared/msg)"; echo "info=$(cat /info/name) $(cat /info/labels)"; exec sleep 3600`},
					VolumeMounts: []v1.VolumeMount{{Name: "data", MountPath: "/shared"}, {Name: "info", MountPath: "/info"}},
				},
			},
		},
	})
	n.waitPod("shared", 60*time.Second, "Running", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
	n.waitLog(pod, "reader", "got=written-by-writer", 20*time.Second)
	n.waitLog(pod, "reader", `info=shared app="shared"`, 5*time.Second)
	n.waitLog(pod, "writer", "memsize=8192", 5*time.Second)
	memDir := filepath.Join(n.cfg.RootDir, "pods", string(pod.UID), "volumes", "kubernetes.io~empty-dir", "mem")
	n.deleteAllPodsAndCheckClean()
	if mountedAt(memDir) {
		t.Errorf("memory emptyDir %s still mounted after the pod was deleted", memDir)
	}
}

func TestVolume_HostPathTypeCheck(t *testing.T) {
	n := startNode(t)
	hostDir := filepath.Join(n.dir, "hostpath")
	dirOrCreate := v1.HostPathDirectoryOrCreate
	file := v1.HostPathFile
	pod := n.createPod(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "hp"},
		Spec: v1.PodSpec{
			Volumes: []v1.Volume{{Name: "h", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: hostDir, Type: &dirOrCreate}}}},
			Containers: []v1.Container{{
				Name: "w", Image: busyboxImage, Command: []string{"sh", "-c", "echo from-pod > /h/out; exec sleep 3600"},
				VolumeMounts: []v1.VolumeMount{{Name: "h", MountPath: "/h"}},
			}},
		},
	})
	_ = pod
	n.eventually(60*time.Second, "pod wrote into the hostPath", func() (bool, string) {
		b, err := os.ReadFile(filepath.Join(hostDir, "out"))
		return strings.TrimSpace(string(b)) == "from-pod", fmt.Sprint(err)
	})
	n.createPod(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "hp-bad"},
		Spec: v1.PodSpec{
			Volumes:    []v1.Volume{{Name: "h", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: filepath.Join(n.dir, "absent"), Type: &file}}}},
			Containers: []v1.Container{{Name: "w", Image: busyboxImage, Command: []string{"sleep", "3600"}, VolumeMounts: []v1.VolumeMount{{Name: "h", MountPath: "/h"}}}},
		},
	})
	n.waitPod("hp-bad", 30*time.Second, "waiting with a hostPath type error", func(p *v1.Pod) bool {
		cs := containerStatus(p, "w")
		return cs != nil && cs.State.Waiting != nil && cs.State.Waiting.Reason == "ContainerCreating" &&
			strings.Contains(cs.State.Waiting.Message, "hostPath type check failed")
	})
}

func TestVolume_ProjectedServiceAccountTokenReadsTheAPI(t *testing.T) {
	n := startNode(t)
	ctx := context.Background()
	// What the root CA publisher does (the test apiserver may have it).
	if _, err := n.admin.CoreV1().ConfigMaps(testNamespace).Create(ctx, &v1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-root-ca.crt"},
		Data:       map[string]string{"ca.crt": string(n.api.PKI.CAData)},
	}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	// Pods reach the apiserver through a relay on the bridge gateway.
	port := relay(t, n)
	gw := gatewayIP(t, n.cfg.PodCIDR)
	script := `D=/var/run/secrets/kubernetes.io/serviceaccount
echo "ns=$(cat $D/namespace)"
grep -q 'BEGIN CERTIFICATE' $D/ca.crt && echo has-ca
until wget -qO- --header "Authorization: Bearer $(cat $D/token)" --header 'Content-Type: application/json' \
  --post-data '{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}' \
  http://$API/apis/authentication.k8s.io/v1/selfsubjectreviews; do sleep 1; done
echo; exec sleep 3600`
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "sa", Namespace: testNamespace},
		Spec: v1.PodSpec{
			NodeName:                      n.cfg.NodeName,
			TerminationGracePeriodSeconds: ptrInt64(1),
			Containers: []v1.Container{{
				Name: "c", Image: busyboxImage, Command: []string{"sh", "-c", script},
				Env: []v1.EnvVar{{Name: "API", Value: fmt.Sprintf("%s:%d", gw, port)}},
			}},
		},
	}
	pod, err := n.admin.CoreV1().Pods(testNamespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pod.Spec.Volumes) == 0 || pod.Spec.Volumes[0].Projected == nil {
		t.Fatalf("admission did not add the projected token volume: %+v", pod.Spec.Volumes)
	}
	n.waitPod("sa", 60*time.Second, "Running", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
	n.waitLog(pod, "c", `"username":"system:serviceaccount:default:default"`, 30*time.Second)
	log := n.podLog(pod, "c")
	if !strings.Contains(log, "ns=default") || !strings.Contains(log, "has-ca") {
		t.Errorf("token volume lacks namespace or ca.crt:\n%s", log)
	}
}

// relay serves plain HTTP on every host address and forwards each
// request, with its Authorization header, to the apiserver over HTTPS
// (trusting the cluster CA, with no credentials of its own). busybox's wget
// speaks too little TLS for the apiserver's cipher suites, and the apiserver
// listens on 127.0.0.1 only; what authenticates is the pod's token. It
// returns the port and stops when the test ends.
func relay(t *testing.T, n *node) int {
	t.Helper()
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(n.api.PKI.CAData)
	target, _ := url.Parse("https://" + n.api.Running.Addr)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	srv := &http.Server{Handler: proxy}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// gatewayIP is the first address of the pod CIDR (the bridge's).
func gatewayIP(t *testing.T, cidr string) string {
	_, ipn, err := net.ParseCIDR(cidr)
	if err != nil {
		t.Fatal(err)
	}
	ip := ipn.IP.To4()
	return net.IPv4(ip[0], ip[1], ip[2], ip[3]+1).String()
}

// mountedAt says whether something is mounted at dir (per mountinfo).
func mountedAt(dir string) bool {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == dir {
			return true
		}
	}
	return false
}

func ptrBool(v bool) *bool { return &v }
