package kubectlgolden

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// troubleCase is a golden case for the describe, rollout and
// troubleshooting verbs. Commands that change the cluster get a reset run
// before each kubectl, and state reads what they changed afterwards (its
// text joins stdout), so both kubectls start from, and are judged on, the
// same cluster.
type troubleCase struct {
	goldenCase
	reset func(t *testing.T, cs kubernetes.Interface)
	state func(t *testing.T, cs kubernetes.Interface) string
}

// rfc1123Times masks the times describe prints (RFC 1123 with zone).
var rfc1123Times = regexp.MustCompile(`()[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}`)

func troubleCorpus() []troubleCase {
	d := func(args ...string) troubleCase {
		return troubleCase{goldenCase: goldenCase{args: args, maskLines: rfc1123Times}}
	}
	return []troubleCase{
		// describe: one describer per kind, prefixes, selectors, errors.
		d("describe", "pod", "rich"),
		d("describe", "pods", "web-1"),
		d("describe", "pods", "web"),
		d("describe", "pods", "-l", "app=db"),
		d("describe", "pod", "rich", "--show-events=false"),
		d("describe", "node", "node-1"),
		d("describe", "nodes", "bare"),
		d("describe", "deployment", "web"),
		d("describe", "replicaset", "web-5d4f"),
		d("describe", "svc", "web"),
		d("describe", "endpoints", "web"),
		d("describe", "ns", "golden"),
		d("describe", "ns", "empty"),
		d("describe", "cm", "cm-a"),
		d("describe", "secret", "creds"),
		d("describe", "sa", "robot"),
		d("describe", "job", "once"),
		d("describe", "ds", "agent"),
		d("describe", "sts", "store"),
		d("describe", "lease", "-n", "golden", "lock"),
		d("describe", "pod", "missing"),
		d("describe", "pods", "-n", "empty"),
		d("describe"),
		d("describe", "nosuchtype"),
		// cordon, uncordon, taint: each run starts from the same node.
		m(resetNode, nodeState, "cordon", "node-1"),
		m(resetNode, nodeState, "cordon", "node-1", "--dry-run=client"),
		m(resetNode, nodeState, "uncordon", "node-1"),
		m(resetNode, nodeState, "cordon", "-l", "kubernetes.io/hostname=node-1"),
		m(resetNode, nodeState, "cordon"),
		m(resetNode, nodeState, "cordon", "nope"),
		m(resetNode, nodeState, "taint", "nodes", "node-1", "gpu=true:NoSchedule"),
		m(resetNode, nodeState, "taint", "nodes", "node-1", "dedicated=web:PreferNoSchedule"),
		m(resetNode, nodeState, "taint", "nodes", "node-1", "dedicated=web:PreferNoSchedule", "--overwrite"),
		m(resetNode, nodeState, "taint", "nodes", "node-1", "dedicated-"),
		m(resetNode, nodeState, "taint", "nodes", "node-1", "missing:NoSchedule-"),
		m(resetNode, nodeState, "taint", "nodes", "--all", "maint=now:NoExecute"),
		m(resetNode, nodeState, "taint", "nodes", "node-1", "bad:Sometimes"),
		m(resetNode, nodeState, "taint", "pods", "web-1", "a=b:NoSchedule"),
		m(resetNode, nodeState, "taint", "nodes", "node-1"),
		// top without a metrics API.
		d("top", "node"),
		d("top", "pod"),
		d("top", "pod", "--sort-by", "disk"),
		// rollout: pause, resume, restart, status on a deployment whose
		// status the test sets.
		m(resetDeployment(false), deploymentState, "rollout", "pause", "deployment/web"),
		m(resetDeployment(true), deploymentState, "rollout", "pause", "deployment/web"),
		m(resetDeployment(true), deploymentState, "rollout", "resume", "deployment/web"),
		m(resetDeployment(false), deploymentState, "rollout", "resume", "deployment/web"),
		m(resetDeployment(true), deploymentState, "rollout", "restart", "deployment/web"),
		m(resetDeployment(false), nil, "rollout", "restart", "deployment/web"),
		m(resetDeployment(false), nil, "rollout", "pause", "ds/agent"),
		m(deploymentProgress(2, 2, 2, 2), nil, "rollout", "status", "deployment/web"),
		m(deploymentProgress(2, 1, 2, 1), nil, "rollout", "status", "deployment/web", "--watch=false"),
		m(deploymentProgress(2, 2, 3, 1), nil, "rollout", "status", "deployment/web", "--watch=false"),
		m(deploymentProgress(2, 2, 2, 1), nil, "rollout", "status", "deployment/web", "--timeout=1s"),
		d("rollout", "status", "svc/web"),
		d("rollout", "status"),
	}
}

func m(reset func(*testing.T, kubernetes.Interface), state func(*testing.T, kubernetes.Interface) string, args ...string) troubleCase {
	return troubleCase{goldenCase: goldenCase{args: args, maskLines: rfc1123Times}, reset: reset, state: state}
}

// resetNode puts node-1 back: schedulable, one PreferNoSchedule taint.
func resetNode(t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	ctx := context.Background()
	for _, name := range []string{"node-1", "bare"} {
		n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n.Spec.Unschedulable = false
		n.Spec.Taints = nil
		if name == "node-1" {
			n.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectPreferNoSchedule}}
		}
		if _, err := cs.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

func nodeState(t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	var b strings.Builder
	for _, name := range []string{"node-1", "bare"} {
		n, err := cs.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s unschedulable=%v taints=%v\n", name, n.Spec.Unschedulable, n.Spec.Taints)
	}
	return b.String()
}

func resetDeployment(paused bool) func(*testing.T, kubernetes.Interface) {
	return func(t *testing.T, cs kubernetes.Interface) {
		t.Helper()
		d, err := cs.AppsV1().Deployments("golden").Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d.Spec.Paused = paused
		delete(d.Spec.Template.Annotations, "kubectl.kubernetes.io/restartedAt")
		if _, err := cs.AppsV1().Deployments("golden").Update(context.Background(), d, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

func deploymentState(t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	d, err := cs.AppsV1().Deployments("golden").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, restarted := d.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"]
	return fmt.Sprintf("paused=%v restarted=%v\n", d.Spec.Paused, restarted)
}

// deploymentProgress sets the deployment's status as a controller would
// (observed generation current): desired replicas, updated, total and
// available.
func deploymentProgress(desired, updated, total, available int32) func(*testing.T, kubernetes.Interface) {
	return func(t *testing.T, cs kubernetes.Interface) {
		t.Helper()
		resetDeployment(false)(t, cs)
		ctx := context.Background()
		d, err := cs.AppsV1().Deployments("golden").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d.Spec.Replicas = ptr.To(desired)
		if d, err = cs.AppsV1().Deployments("golden").Update(ctx, d, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		d.Status = appsv1.DeploymentStatus{
			ObservedGeneration: d.Generation, Replicas: total, UpdatedReplicas: updated,
			AvailableReplicas: available, ReadyReplicas: available, UnavailableReplicas: total - available,
		}
		if _, err := cs.AppsV1().Deployments("golden").UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// createTroubleFixtures adds what the troubleshooting corpus reads to the
// shared fixtures.
func createTroubleFixtures(t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	ctx := context.Background()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("create %s: %v", what, err)
		}
	}
	q := resource.MustParse
	node, err := cs.CoreV1().Nodes().Get(ctx, "node-1", metav1.GetOptions{})
	must("get node", err)
	node.Spec.PodCIDR = "10.244.1.0/24"
	node.Spec.PodCIDRs = []string{"10.244.1.0/24"}
	node.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectPreferNoSchedule}}
	node.Labels["node-role.kubernetes.io/worker"] = ""
	node, err = cs.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{})
	must("node spec", err)
	now := metav1.Now()
	node.Status = corev1.NodeStatus{
		Capacity:    corev1.ResourceList{"cpu": q("4"), "memory": q("8Gi"), "pods": q("110"), "ephemeral-storage": q("100Gi")},
		Allocatable: corev1.ResourceList{"cpu": q("3800m"), "memory": q("7Gi"), "pods": q("110"), "ephemeral-storage": q("90Gi")},
		Conditions: []corev1.NodeCondition{{
			Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status",
			LastHeartbeatTime: now, LastTransitionTime: now,
		}},
		Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.11"}, {Type: corev1.NodeHostName, Address: "node-1"}},
		NodeInfo: corev1.NodeSystemInfo{
			MachineID: "m1", SystemUUID: "s1", BootID: "b1", KernelVersion: "6.1.0", OSImage: "Debian GNU/Linux 12",
			OperatingSystem: "linux", Architecture: "amd64", ContainerRuntimeVersion: "containerd://1.6.20", KubeletVersion: "v1.37.2",
		},
	}
	_, err = cs.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
	must("node status", err)
	_, err = cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "bare"}}, metav1.CreateOptions{})
	must("node bare", err)
	_, err = cs.CoordinationV1().Leases(corev1.NamespaceNodeLease).Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "node-1"},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To("node-1"), LeaseDurationSeconds: ptr.To[int32](40), RenewTime: &metav1.MicroTime{Time: now.Time}},
	}, metav1.CreateOptions{})
	must("node lease", err)
	_, err = cs.CoordinationV1().Leases("golden").Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "lock", Labels: map[string]string{"owner": "me"}},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To("someone"), LeaseDurationSeconds: ptr.To[int32](15)},
	}, metav1.CreateOptions{})
	must("lease", err)

	rich := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "rich", Namespace: "golden",
			Labels:      map[string]string{"app": "rich"},
			Annotations: map[string]string{"note": "hello", "long": string(make([]byte, 0)) + "a very long annotation value that goes on and on and on and on and on and on and on and on and on and on and on and on and on"},
		},
		Spec: corev1.PodSpec{
			NodeName:           "node-1",
			ServiceAccountName: "default",
			NodeSelector:       map[string]string{"disk": "ssd"},
			Tolerations: []corev1.Toleration{
				{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "db", Effect: corev1.TaintEffectNoSchedule},
				{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
			},
			InitContainers: []corev1.Container{{Name: "init", Image: "kstack.local/busybox:1.0", Command: []string{"true"}}},
			Containers: []corev1.Container{{
				Name: "main", Image: "kstack.local/busybox:1.0",
				Command: []string{"sh", "-c"}, Args: []string{"httpd -f"},
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}, {ContainerPort: 9090, HostPort: 19090, Protocol: corev1.ProtocolUDP}},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{"cpu": q("100m"), "memory": q("64Mi")},
					Limits:   corev1.ResourceList{"cpu": q("500m"), "memory": q("128Mi")},
				},
				Env: []corev1.EnvVar{
					{Name: "PLAIN", Value: "x"},
					{Name: "MY_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
					{Name: "PASS", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "password"}}},
					{Name: "CFG", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm-a"}, Key: "key"}}},
					{Name: "MEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory"}}},
				},
				EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm-b"}}, Prefix: "B_"}},
				LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}},
					PeriodSeconds: 10, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"cat", "/tmp/ready"}}},
					PeriodSeconds: 5, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}, {Name: "cfg", MountPath: "/etc/cfg", ReadOnly: true, SubPath: "key"}},
			}},
			Volumes: []corev1.Volume{
				{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm-a"}}}},
				{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds"}}},
				{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}},
			},
		},
	}
	rich, err = cs.CoreV1().Pods("golden").Create(ctx, rich, metav1.CreateOptions{})
	must("pod rich", err)
	rich.Status = corev1.PodStatus{
		Phase: corev1.PodRunning, HostIP: "10.0.0.11", PodIP: "10.244.1.5", PodIPs: []corev1.PodIP{{IP: "10.244.1.5"}},
		StartTime: &now,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: now},
		},
		InitContainerStatuses: []corev1.ContainerStatus{{Name: "init", Image: "kstack.local/busybox:1.0", ImageID: "sha256:abc", ContainerID: "containerd://i1",
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: now, FinishedAt: now}}}},
		ContainerStatuses: []corev1.ContainerStatus{{Name: "main", Image: "kstack.local/busybox:1.0", ImageID: "sha256:abc", ContainerID: "containerd://c1",
			State:                corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled", StartedAt: now, FinishedAt: now}},
			RestartCount:         2}},
	}
	_, err = cs.CoreV1().Pods("golden").UpdateStatus(ctx, rich, metav1.UpdateOptions{})
	must("pod rich status", err)
	for i, reason := range []string{"Scheduled", "Pulled", "BackOff"} {
		typ := corev1.EventTypeNormal
		if reason == "BackOff" {
			typ = corev1.EventTypeWarning
		}
		ts := metav1.NewTime(now.Add(time.Duration(i-10) * time.Second))
		_, err = cs.CoreV1().Events("golden").Create(ctx, &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: "rich." + strings.ToLower(reason)},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "golden", Name: "rich", UID: rich.UID, APIVersion: "v1"},
			Reason:         reason, Message: "event " + reason, Type: typ, Count: int32(i + 1),
			FirstTimestamp: ts, LastTimestamp: ts, Source: corev1.EventSource{Component: "kubelet"},
		}, metav1.CreateOptions{})
		must("event", err)
	}
	_, err = cs.CoreV1().Secrets("golden").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "creds"},
		Data:       map[string][]byte{"password": []byte("hunter2"), "user": []byte("admin")},
	}, metav1.CreateOptions{})
	must("secret", err)
	_, err = cs.CoreV1().ServiceAccounts("golden").Create(ctx, &corev1.ServiceAccount{
		ObjectMeta:       metav1.ObjectMeta{Name: "robot"},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "pull-a"}, {Name: "pull-b"}},
	}, metav1.CreateOptions{})
	must("serviceaccount", err)
	_, err = cs.CoreV1().Endpoints("golden").Create(ctx, &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Subsets: []corev1.EndpointSubset{{
			Addresses:         []corev1.EndpointAddress{{IP: "10.244.1.7"}},
			NotReadyAddresses: []corev1.EndpointAddress{{IP: "10.244.1.8"}},
			Ports:             []corev1.EndpointPort{{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}},
		}},
	}, metav1.CreateOptions{})
	if err != nil && !isAlreadyExists(err) {
		must("endpoints", err)
	}
	_, err = cs.CoreV1().ResourceQuotas("golden").Create(ctx, &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "quota"},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"pods": q("10")}},
	}, metav1.CreateOptions{})
	must("quota", err)
	_, err = cs.CoreV1().LimitRanges("golden").Create(ctx, &corev1.LimitRange{
		ObjectMeta: metav1.ObjectMeta{Name: "limits"},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type: corev1.LimitTypeContainer, Default: corev1.ResourceList{"cpu": q("200m")}, DefaultRequest: corev1.ResourceList{"cpu": q("100m")},
		}}},
	}, metav1.CreateOptions{})
	must("limitrange", err)

	dep, err := cs.AppsV1().Deployments("golden").Get(ctx, "web", metav1.GetOptions{})
	must("get deployment", err)
	rsLabels := map[string]string{"app": "web", "pod-template-hash": "5d4f"}
	tmpl := dep.Spec.Template.DeepCopy()
	tmpl.Labels = rsLabels
	_, err = cs.AppsV1().ReplicaSets("golden").Create(ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web-5d4f", Labels: rsLabels,
			Annotations:     map[string]string{"deployment.kubernetes.io/revision": "1"},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(dep, appsv1.SchemeGroupVersion.WithKind("Deployment"))}},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: rsLabels}, Template: *tmpl},
	}, metav1.CreateOptions{})
	must("replicaset", err)

	simple := func(labels map[string]string) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "main", Image: "kstack.local/busybox:1.0", Command: []string{"sleep", "3600"},
			}}},
		}
	}
	jobTmpl := simple(nil)
	jobTmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
	_, err = cs.BatchV1().Jobs("golden").Create(ctx, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "once"},
		Spec:       batchv1.JobSpec{Completions: ptr.To[int32](1), Template: jobTmpl},
	}, metav1.CreateOptions{})
	must("job", err)
	agent := map[string]string{"app": "agent"}
	_, err = cs.AppsV1().DaemonSets("golden").Create(ctx, &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent"},
		Spec:       appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: agent}, Template: simple(agent)},
	}, metav1.CreateOptions{})
	must("daemonset", err)
	store := map[string]string{"app": "store"}
	_, err = cs.AppsV1().StatefulSets("golden").Create(ctx, &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "store"},
		Spec: appsv1.StatefulSetSpec{
			Replicas: ptr.To[int32](1), ServiceName: "store",
			Selector: &metav1.LabelSelector{MatchLabels: store}, Template: simple(store),
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{"storage": q("1Gi")}},
				},
			}},
		},
	}, metav1.CreateOptions{})
	must("statefulset", err)
}

func isAlreadyExists(err error) bool {
	return err != nil && regexp.MustCompile(`already exists`).MatchString(err.Error())
}

// TestGolden_TroubleshootingVerbs runs the describe, rollout and
// troubleshooting corpus with both kubectls on a cluster of its own.
func TestGolden_TroubleshootingVerbs(t *testing.T) {
	upstream := upstreamKubectl(t)
	e, s := startEnv(t)
	createFixtures(t, s.Client)
	createTroubleFixtures(t, s.Client)
	runStatefulCorpus(t, e, s.Client, upstream, troubleCorpus(), caseName)
}

// flatCaseName is caseName without slashes (which t.Run would take for
// subtest levels).
func flatCaseName(args []string) string { return strings.ReplaceAll(caseName(args), "/", "_") }

// runStatefulCorpus runs each case with our kubectl and upstream's in
// homes of their own on one cluster (cs): reset before each kubectl, the
// state afterwards joined to its stdout, then compares them.
func runStatefulCorpus(t *testing.T, e *env, cs kubernetes.Interface, upstream string, cases []troubleCase, name func([]string) string) {
	t.Helper()
	ourHome, upHome := filepath.Join(e.dir, "home-ours"), filepath.Join(e.dir, "home-upstream")
	for _, h := range []string{ourHome, upHome} {
		if err := os.MkdirAll(h, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range cases {
		t.Run(name(tc.args), func(t *testing.T) {
			runOne := func(bin, home string) result {
				if tc.reset != nil {
					tc.reset(t, cs)
				}
				r := e.runCase(t, bin, home, tc.goldenCase)
				if tc.state != nil {
					r.stdout += "\n--- state after ---\n" + tc.state(t, cs)
				}
				return r
			}
			ours := runOne(ourKubectl, ourHome)
			theirs := runOne(upstream, upHome)
			t.Logf("ours: exit %d\n%s%s", ours.code, ours.stdout, ours.stderr)
			compare(t, tc.goldenCase, ours, theirs)
		})
	}
}
