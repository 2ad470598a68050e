package printers

import (
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// expectedColumns are upstream's column names per kind; "*" marks the
// priority-1 columns kubectl shows only with -o wide.
var expectedColumns = map[string][]string{
	"Pod":                     {"Name", "Ready", "Status", "Restarts", "Age", "*IP", "*Node", "*Nominated Node", "*Readiness Gates"},
	"Node":                    {"Name", "Status", "Roles", "Age", "Version", "*Internal-IP", "*External-IP", "*OS-Image", "*Kernel-Version", "*Container-Runtime"},
	"Namespace":               {"Name", "Status", "Age"},
	"Service":                 {"Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "*Selector"},
	"Endpoints":               {"Name", "Endpoints", "Age"},
	"EndpointSlice":           {"Name", "AddressType", "Ports", "Endpoints", "Age"},
	"ConfigMap":               {"Name", "Data", "Age"},
	"Secret":                  {"Name", "Type", "Data", "Age"},
	"ServiceAccount":          {"Name", "Age"},
	"Event":                   {"Last Seen", "Type", "Reason", "Object", "*Subobject", "*Source", "Message", "*First Seen", "*Count", "*Name"},
	"Deployment":              {"Name", "Ready", "Up-to-date", "Available", "Age", "*Containers", "*Images", "*Selector"},
	"ReplicaSet":              {"Name", "Desired", "Current", "Ready", "Age", "*Containers", "*Images", "*Selector"},
	"StatefulSet":             {"Name", "Ready", "Age", "*Containers", "*Images"},
	"DaemonSet":               {"Name", "Desired", "Current", "Ready", "Up-to-date", "Available", "Node Selector", "Age", "*Containers", "*Images", "*Selector"},
	"Job":                     {"Name", "Status", "Completions", "Duration", "Age", "*Containers", "*Images", "*Selector"},
	"CronJob":                 {"Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age", "*Containers", "*Images", "*Selector"},
	"ReplicationController":   {"Name", "Desired", "Current", "Ready", "Age", "*Containers", "*Images", "*Selector"},
	"Lease":                   {"Name", "Holder", "Age"},
	"PriorityClass":           {"Name", "Value", "Global-Default", "Age", "PreemptionPolicy"},
	"LimitRange":              {"Name", "Created At"},
	"ResourceQuota":           {"Name", "Request", "Limit", "Age"},
	"PersistentVolume":        {"Name", "Capacity", "Access Modes", "Reclaim Policy", "Status", "Claim", "StorageClass", "VolumeAttributesClass", "Reason", "Age", "*VolumeMode"},
	"PersistentVolumeClaim":   {"Name", "Status", "Volume", "Capacity", "Access Modes", "StorageClass", "VolumeAttributesClass", "Age", "*VolumeMode"},
	"StorageClass":            {"Name", "Provisioner", "ReclaimPolicy", "VolumeBindingMode", "AllowVolumeExpansion", "Age"},
	"Ingress":                 {"Name", "Class", "Hosts", "Address", "Ports", "Age"},
	"IngressClass":            {"Name", "Controller", "Parameters", "Age"},
	"NetworkPolicy":           {"Name", "Pod-Selector", "Age"},
	"Role":                    {"Name", "Created At"},
	"ClusterRole":             {"Name", "Created At"},
	"RoleBinding":             {"Name", "Role", "Age", "*Users", "*Groups", "*ServiceAccounts"},
	"ClusterRoleBinding":      {"Name", "Role", "Age", "*Users", "*Groups", "*ServiceAccounts"},
	"PodDisruptionBudget":     {"Name", "Min Available", "Max Unavailable", "Allowed Disruptions", "Age"},
	"HorizontalPodAutoscaler": {"Name", "Reference", "Targets", "MinPods", "MaxPods", "Replicas", "Age"},
	"RuntimeClass":            {"Name", "Handler", "Age"},
	"ControllerRevision":      {"Name", "Controller", "Revision", "Age"},
	"PodTemplate":             {"Name", "Containers", "Images", "Pod Labels"},
	"CSIDriver":               {"Name", "AttachRequired", "PodInfoOnMount", "StorageCapacity", "TokenRequests", "RequiresRepublish", "Modes", "Age"},
	"CSINode":                 {"Name", "Drivers", "Age"},
	"CSIStorageCapacity":      {"Name", "StorageClassName", "Capacity"},
	"VolumeAttachment":        {"Name", "Attacher", "PV", "Node", "Attached", "Age"},
	"VolumeAttributesClass":   {"Name", "DriverName", "Age"},
	"IPAddress":               {"Name", "ParentRef"},
	"ServiceCIDR":             {"Name", "CIDRs", "Age"},
	"Scale":                   {"Name", "Desired", "Available", "Age"},
}

type kindCase struct {
	name  string
	kind  string
	obj   runtime.Object
	cells []any
	// conditions of the row, checked when set.
	conditions []metav1.TableRowCondition
}

// runKindCases converts each object alone and checks columns and cells.
func runKindCases(t *testing.T, cases []kindCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gvk := tc.obj.GetObjectKind().GroupVersionKind()
			gvk.Kind = tc.kind
			table, err := ToTable(gvk, tc.obj, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var cols []string
			for _, c := range table.ColumnDefinitions {
				name := c.Name
				if c.Priority == 1 {
					name = "*" + name
				}
				cols = append(cols, name)
			}
			want, ok := expectedColumns[tc.kind]
			if !ok {
				t.Fatalf("no expected columns for %s", tc.kind)
			}
			if !reflect.DeepEqual(cols, want) {
				t.Errorf("columns\n got %q\nwant %q", cols, want)
			}
			if len(table.Rows) != 1 {
				t.Fatalf("%d rows", len(table.Rows))
			}
			row := table.Rows[0]
			if !reflect.DeepEqual(row.Cells, tc.cells) {
				t.Errorf("cells\n got %#v\nwant %#v", row.Cells, tc.cells)
			}
			if tc.conditions != nil && !reflect.DeepEqual(row.Conditions, tc.conditions) {
				t.Errorf("conditions = %+v", row.Conditions)
			}
			if tc.kind != "IPAddress" && len(row.Cells) != len(table.ColumnDefinitions) {
				t.Errorf("%d cells for %d columns", len(row.Cells), len(table.ColumnDefinitions))
			}
		})
	}
}

// Pod fixtures: every pod is 5h old and named "web".

func pod(mutate func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: objMeta("web", 5*time.Hour),
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodPending},
	}
	mutate(p)
	return p
}

func runningPod() *corev1.Pod {
	return pod(func(p *corev1.Pod) {
		p.Spec.NodeName = "node-1"
		p.Status.Phase = corev1.PodRunning
		p.Status.PodIP = "10.244.0.5"
		p.Status.PodIPs = []corev1.PodIP{{IP: "10.244.0.5"}}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{
			Name: "app", Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: ago(time.Hour)}},
		}}
	})
}

func waiting(reason string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}
}

func terminated(reason string, code int32) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: code}}
}

func TestToTable_Pods(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	runKindCases(t, []kindCase{
		{
			name:  "pending unscheduled",
			kind:  "Pod",
			obj:   pod(func(*corev1.Pod) {}),
			cells: []any{"web", "0/1", "Pending", "0", "5h", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "container creating",
			kind: "Pod",
			obj: pod(func(p *corev1.Pod) {
				p.Spec.NodeName = "node-1"
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: waiting("ContainerCreating")}}
			}),
			cells: []any{"web", "0/1", "ContainerCreating", "0", "5h", "<none>", "node-1", "<none>", "<none>"},
		},
		{
			name:  "running",
			kind:  "Pod",
			obj:   runningPod(),
			cells: []any{"web", "1/1", "Running", "0", "5h", "10.244.0.5", "node-1", "<none>", "<none>"},
		},
		{
			name: "crash looping with last restart 5m ago",
			kind: "Pod",
			obj: pod(func(p *corev1.Pod) {
				p.Spec.NodeName = "node-1"
				p.Status.Phase = corev1.PodRunning
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{
					Name: "app", RestartCount: 5, State: waiting("CrashLoopBackOff"),
					LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
						Reason: "Error", ExitCode: 1, FinishedAt: ago(5 * time.Minute),
					}},
				}}
			}),
			cells: []any{"web", "0/1", "CrashLoopBackOff", "5 (5m ago)", "5h", "<none>", "node-1", "<none>", "<none>"},
		},
		{
			name: "image pull error",
			kind: "Pod",
			obj: pod(func(p *corev1.Pod) {
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: waiting("ErrImagePull")}}
			}),
			cells: []any{"web", "0/1", "ErrImagePull", "0", "5h", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "init container running",
			kind: "Pod",
			obj: pod(func(p *corev1.Pod) {
				p.Spec.InitContainers = []corev1.Container{{Name: "init"}}
				p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "init", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: waiting("PodInitializing")}}
			}),
			cells: []any{"web", "0/1", "Init:0/1", "0", "5h", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "init container failed and restarted",
			kind: "Pod",
			obj: pod(func(p *corev1.Pod) {
				p.Spec.InitContainers = []corev1.Container{{Name: "init"}}
				p.Status.InitContainerStatuses = []corev1.ContainerStatus{{
					Name: "init", RestartCount: 2, State: terminated("Error", 1),
					LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: ago(90 * time.Second)}},
				}}
			}),
			cells: []any{"web", "0/1", "Init:Error", "2 (90s ago)", "5h", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "init container killed by a signal",
			kind: "Pod",
			obj: pod(func(p *corev1.Pod) {
				p.Spec.InitContainers = []corev1.Container{{Name: "init"}}
				p.Status.InitContainerStatuses = []corev1.ContainerStatus{{
					Name: "init", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Signal: 9}},
				}}
			}),
			cells: []any{"web", "0/1", "Init:Signal:9", "0", "5h", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "completed",
			kind: "Pod",
			obj: pod(func(p *corev1.Pod) {
				p.Status.Phase = corev1.PodSucceeded
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: terminated("Completed", 0)}}
			}),
			cells:      []any{"web", "0/1", "Completed", "0", "5h", "<none>", "<none>", "<none>", "<none>"},
			conditions: podSucceededConditions,
		},
		{
			name: "evicted",
			kind: "Pod",
			obj: pod(func(p *corev1.Pod) {
				p.Status.Phase = corev1.PodFailed
				p.Status.Reason = "Evicted"
			}),
			cells:      []any{"web", "0/1", "Evicted", "0", "5h", "<none>", "<none>", "<none>", "<none>"},
			conditions: podFailedConditions,
		},
		{
			name: "exited without a reason",
			kind: "Pod",
			obj: pod(func(p *corev1.Pod) {
				p.Status.Phase = corev1.PodFailed
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: terminated("", 3)}}
			}),
			cells: []any{"web", "0/1", "ExitCode:3", "0", "5h", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "terminating",
			kind: "Pod",
			obj: func() *corev1.Pod {
				p := runningPod()
				p.DeletionTimestamp = agoPtr(time.Second)
				return p
			}(),
			cells: []any{"web", "1/1", "Terminating", "0", "5h", "10.244.0.5", "node-1", "<none>", "<none>"},
		},
		{
			name: "terminating on a lost node",
			kind: "Pod",
			obj: func() *corev1.Pod {
				p := runningPod()
				p.DeletionTimestamp = agoPtr(time.Second)
				p.Status.Reason = "NodeLost"
				return p
			}(),
			cells: []any{"web", "1/1", "Unknown", "0", "5h", "10.244.0.5", "node-1", "<none>", "<none>"},
		},
		{
			name: "sidecar counts as a container",
			kind: "Pod",
			obj: func() *corev1.Pod {
				p := runningPod()
				p.Spec.InitContainers = []corev1.Container{{Name: "proxy", RestartPolicy: &always}}
				p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue})
				p.Status.InitContainerStatuses = []corev1.ContainerStatus{{
					Name: "proxy", Ready: true, Started: ptr.To(true), RestartCount: 1,
					State:                corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
					LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{FinishedAt: ago(3 * time.Hour)}},
				}}
				return p
			}(),
			cells: []any{"web", "2/2", "Running", "1 (3h ago)", "5h", "10.244.0.5", "node-1", "<none>", "<none>"},
		},
		{
			name: "one container completed, another running, pod not ready",
			kind: "Pod",
			obj: func() *corev1.Pod {
				p := runningPod()
				p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "job"})
				p.Status.Conditions[0].Status = corev1.ConditionFalse
				p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: "job", State: terminated("Completed", 0)})
				return p
			}(),
			cells: []any{"web", "1/2", "NotReady", "0", "5h", "10.244.0.5", "node-1", "<none>", "<none>"},
		},
		{
			name: "scheduling gated",
			kind: "Pod",
			obj: pod(func(p *corev1.Pod) {
				p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated}}
			}),
			cells: []any{"web", "0/1", "SchedulingGated", "0", "5h", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "nominated with readiness gates",
			kind: "Pod",
			obj: func() *corev1.Pod {
				p := runningPod()
				p.Status.NominatedNodeName = "node-2"
				p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}, {ConditionType: "example.com/dns"}}
				p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: "example.com/lb", Status: corev1.ConditionTrue})
				return p
			}(),
			cells: []any{"web", "1/1", "Running", "0", "5h", "10.244.0.5", "node-1", "node-2", "1/2"},
		},
	})
}

func TestToTable_Nodes(t *testing.T) {
	node := func(mutate func(*corev1.Node)) *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1", CreationTimestamp: ago(10 * 24 * time.Hour)}}
		mutate(n)
		return n
	}
	runKindCases(t, []kindCase{
		{
			name: "ready cordoned control plane",
			kind: "Node",
			obj: node(func(n *corev1.Node) {
				n.Labels = map[string]string{"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "master", "node-role.kubernetes.io/": "x"}
				n.Spec.Unschedulable = true
				n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse}, {Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
				n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "node-1"}, {Type: corev1.NodeInternalIP, Address: "192.168.1.10"}}
				n.Status.NodeInfo = corev1.NodeSystemInfo{KubeletVersion: "v1.37.2", OSImage: "Debian GNU/Linux 12 (bookworm)", KernelVersion: "6.1.0-28-amd64", ContainerRuntimeVersion: "containerd://1.6.20"}
			}),
			cells: []any{"node-1", "Ready,SchedulingDisabled", "control-plane,master", "10d", "v1.37.2", "192.168.1.10", "<none>", "Debian GNU/Linux 12 (bookworm)", "6.1.0-28-amd64", "containerd://1.6.20"},
		},
		{
			name: "not ready worker",
			kind: "Node",
			obj: node(func(n *corev1.Node) {
				n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown}}
				n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeExternalIP, Address: "203.0.113.4"}}
			}),
			cells: []any{"node-1", "NotReady", "<none>", "10d", "", "<none>", "203.0.113.4", "<unknown>", "<unknown>", "<unknown>"},
		},
		{
			name:  "new node without conditions",
			kind:  "Node",
			obj:   node(func(*corev1.Node) {}),
			cells: []any{"node-1", "Unknown", "<none>", "10d", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"},
		},
	})
}

func TestToTable_Services(t *testing.T) {
	svc := func(mutate func(*corev1.Service)) *corev1.Service {
		s := &corev1.Service{ObjectMeta: objMeta("web", 45*time.Second)}
		mutate(s)
		return s
	}
	runKindCases(t, []kindCase{
		{
			name: "cluster IP with selector",
			kind: "Service",
			obj: svc(func(s *corev1.Service) {
				s.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10", "fd00::a"},
					Ports:    []corev1.ServicePort{{Port: 53, Protocol: corev1.ProtocolUDP}, {Port: 53, Protocol: corev1.ProtocolTCP}},
					Selector: map[string]string{"k8s-app": "kube-dns", "tier": "dns"}}
			}),
			cells: []any{"web", "ClusterIP", "10.96.0.10", "<none>", "53/UDP,53/TCP", "45s", "k8s-app=kube-dns,tier=dns"},
		},
		{
			name: "node port",
			kind: "Service",
			obj: svc(func(s *corev1.Service) {
				s.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, ClusterIPs: []string{"10.96.4.2"},
					Ports: []corev1.ServicePort{{Port: 80, NodePort: 30080, Protocol: corev1.ProtocolTCP}}}
			}),
			cells: []any{"web", "NodePort", "10.96.4.2", "<none>", "80:30080/TCP", "45s", "<none>"},
		},
		{
			name: "load balancer pending",
			kind: "Service",
			obj: svc(func(s *corev1.Service) {
				s.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"10.96.4.3"},
					Ports: []corev1.ServicePort{{Port: 443, NodePort: 31443, Protocol: corev1.ProtocolTCP}}}
			}),
			cells: []any{"web", "LoadBalancer", "10.96.4.3", "<pending>", "443:31443/TCP", "45s", "<none>"},
		},
		{
			name: "load balancer with ingress and external IPs, not clipped",
			kind: "Service",
			obj: svc(func(s *corev1.Service) {
				s.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"10.96.4.3"}, ExternalIPs: []string{"198.51.100.1"}}
				s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: "lb.example.com"}, {IP: "203.0.113.9"}, {IP: "203.0.113.9"}}
			}),
			cells: []any{"web", "LoadBalancer", "10.96.4.3", "203.0.113.9,lb.example.com,198.51.100.1", "<none>", "45s", "<none>"},
		},
		{
			name: "external name",
			kind: "Service",
			obj: svc(func(s *corev1.Service) {
				s.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"}
			}),
			cells: []any{"web", "ExternalName", "<none>", "db.example.com", "<none>", "45s", "<none>"},
		},
		{
			name: "headless",
			kind: "Service",
			obj: svc(func(s *corev1.Service) {
				s.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "None", ClusterIPs: []string{"None"},
					Ports: []corev1.ServicePort{{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}}}
			}),
			cells: []any{"web", "ClusterIP", "None", "<none>", "8080/TCP", "45s", "<none>"},
		},
	})
}

func TestToTable_CoreKinds(t *testing.T) {
	age := 3 * time.Hour // "3h"
	runKindCases(t, []kindCase{
		{
			name: "endpoints with more than three",
			kind: "Endpoints",
			obj: &corev1.Endpoints{ObjectMeta: objMeta("web", age), Subsets: []corev1.EndpointSubset{{
				Addresses: []corev1.EndpointAddress{{IP: "10.0.0.1"}, {IP: "10.0.0.2"}},
				Ports:     []corev1.EndpointPort{{Port: 80}, {Port: 443}},
			}}},
			cells: []any{"web", "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...", "3h"},
		},
		{
			name: "endpoints of a headless service without ports",
			kind: "Endpoints",
			obj: &corev1.Endpoints{ObjectMeta: objMeta("web", age), Subsets: []corev1.EndpointSubset{{
				Addresses: []corev1.EndpointAddress{{IP: "fd00::1"}},
			}}},
			cells: []any{"web", "fd00::1", "3h"},
		},
		{
			name:  "endpoints empty",
			kind:  "Endpoints",
			obj:   &corev1.Endpoints{ObjectMeta: objMeta("web", age)},
			cells: []any{"web", "<none>", "3h"},
		},
		{
			name:  "namespace",
			kind:  "Namespace",
			obj:   &corev1.Namespace{ObjectMeta: objMeta("kube-system", age), Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}},
			cells: []any{"kube-system", "Terminating", "3h"},
		},
		{
			name:  "config map counts data and binary data",
			kind:  "ConfigMap",
			obj:   &corev1.ConfigMap{ObjectMeta: objMeta("cfg", age), Data: map[string]string{"a": "1", "b": "2"}, BinaryData: map[string][]byte{"c": {1}}},
			cells: []any{"cfg", int64(3), "3h"},
		},
		{
			name:  "secret",
			kind:  "Secret",
			obj:   &corev1.Secret{ObjectMeta: objMeta("tls", age), Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": nil, "tls.key": nil}},
			cells: []any{"tls", "kubernetes.io/tls", int64(2), "3h"},
		},
		{
			name:  "service account",
			kind:  "ServiceAccount",
			obj:   &corev1.ServiceAccount{ObjectMeta: objMeta("default", age), Secrets: []corev1.ObjectReference{{Name: "old-token"}}},
			cells: []any{"default", "3h"},
		},
		{
			name:  "limit range gets the default table",
			kind:  "LimitRange",
			obj:   &corev1.LimitRange{ObjectMeta: objMeta("limits", age)},
			cells: []any{"limits", "2026-11-28T09:00:00Z"},
		},
		{
			name: "resource quota splits requests and limits",
			kind: "ResourceQuota",
			obj: &corev1.ResourceQuota{ObjectMeta: objMeta("quota", age), Status: corev1.ResourceQuotaStatus{
				Hard: corev1.ResourceList{"pods": resource.MustParse("10"), "requests.cpu": resource.MustParse("1"), "limits.memory": resource.MustParse("2Gi")},
				Used: corev1.ResourceList{"pods": resource.MustParse("3"), "requests.cpu": resource.MustParse("500m")},
			}},
			cells: []any{"quota", "pods: 3/10, requests.cpu: 500m/1", "limits.memory: 0/2Gi", "3h"},
		},
		{
			name: "persistent volume bound",
			kind: "PersistentVolume",
			obj: &corev1.PersistentVolume{ObjectMeta: objMeta("pv-1", age),
				Spec: corev1.PersistentVolumeSpec{
					Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")},
					AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany, corev1.ReadWriteOnce, corev1.ReadWriteOnce},
					PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
					ClaimRef:                      &corev1.ObjectReference{Namespace: "default", Name: "data"},
					StorageClassName:              "standard",
					VolumeMode:                    ptr.To(corev1.PersistentVolumeFilesystem),
				},
				Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound}},
			cells: []any{"pv-1", "10Gi", "RWO,RWX", "Retain", "Bound", "default/data", "standard", "<unset>", "", "3h", "Filesystem"},
		},
		{
			name: "persistent volume claim bound",
			kind: "PersistentVolumeClaim",
			obj: &corev1.PersistentVolumeClaim{ObjectMeta: objMeta("data", age),
				Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-1", StorageClassName: ptr.To("standard")},
				Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod},
					Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}}},
			cells: []any{"data", "Bound", "pv-1", "10Gi", "RWOP", "standard", "<unset>", "3h", "<unset>"},
		},
		{
			name: "persistent volume claim pending with beta class annotation, terminating",
			kind: "PersistentVolumeClaim",
			obj: func() *corev1.PersistentVolumeClaim {
				c := &corev1.PersistentVolumeClaim{ObjectMeta: objMeta("data", age),
					Spec:   corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To("standard")},
					Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}}
				c.Annotations = map[string]string{"volume.beta.kubernetes.io/storage-class": "slow"}
				c.DeletionTimestamp = agoPtr(time.Second)
				return c
			}(),
			cells: []any{"data", "Terminating", "", "", "", "slow", "<unset>", "3h", "<unset>"},
		},
		{
			name: "replication controller",
			kind: "ReplicationController",
			obj: &corev1.ReplicationController{ObjectMeta: objMeta("legacy", age),
				Spec: corev1.ReplicationControllerSpec{Replicas: ptr.To[int32](2), Selector: map[string]string{"app": "legacy"},
					Template: &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Image: "busybox"}, {Name: "b", Image: "nginx"}}}}},
				Status: corev1.ReplicationControllerStatus{Replicas: 2, ReadyReplicas: 1}},
			cells: []any{"legacy", int64(2), int64(2), int64(1), "3h", "a,b", "busybox,nginx", "app=legacy"},
		},
		{
			name: "pod template",
			kind: "PodTemplate",
			obj: &corev1.PodTemplate{ObjectMeta: objMeta("tmpl", age), Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}}}},
			cells: []any{"tmpl", "app", "nginx", "app=web"},
		},
	})
}

func TestToTable_Events(t *testing.T) {
	pod := corev1.ObjectReference{Kind: "Pod", Name: "web-1", FieldPath: "spec.containers{app}"}
	runKindCases(t, []kindCase{
		{
			name: "repeated warning",
			kind: "Event",
			obj: &corev1.Event{ObjectMeta: objMeta("web-1.17f", time.Hour), InvolvedObject: pod, Type: "Warning", Reason: "BackOff",
				Message: " Back-off restarting failed container app\n", Source: corev1.EventSource{Component: "kubelet", Host: "node-1"},
				FirstTimestamp: ago(10 * time.Minute), LastTimestamp: ago(5 * time.Minute), Count: 2},
			cells: []any{"5m", "Warning", "BackOff", "pod/web-1", "spec.containers{app}", "kubelet, node-1", "Back-off restarting failed container app", "10m", int64(2), "web-1.17f"},
		},
		{
			name: "new-style singleton with only an event time",
			kind: "Event",
			obj: &corev1.Event{ObjectMeta: objMeta("web-1.180", time.Hour), InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-1"},
				Type: "Normal", Reason: "Scheduled", Message: "Successfully assigned default/web-1 to node-1",
				EventTime: metav1.NewMicroTime(now.Add(-30 * time.Second)), ReportingController: "default-scheduler"},
			cells: []any{"30s", "Normal", "Scheduled", "pod/web-1", "", "default-scheduler", "Successfully assigned default/web-1 to node-1", "30s", int64(1), "web-1.180"},
		},
		{
			name: "series",
			kind: "Event",
			obj: &corev1.Event{ObjectMeta: objMeta("web-1.181", time.Hour), InvolvedObject: pod, Type: "Warning", Reason: "Unhealthy",
				EventTime: metav1.NewMicroTime(now.Add(-time.Hour)), Count: 1,
				Series: &corev1.EventSeries{Count: 7, LastObservedTime: metav1.NewMicroTime(now.Add(-20 * time.Second))}},
			cells: []any{"20s", "Warning", "Unhealthy", "pod/web-1", "spec.containers{app}", "", "", "60m", int64(7), "web-1.181"},
		},
		{
			name:  "no timestamps, no object name",
			kind:  "Event",
			obj:   &corev1.Event{ObjectMeta: objMeta("x", time.Hour), InvolvedObject: corev1.ObjectReference{Kind: "Cluster"}},
			cells: []any{"<unknown>", "", "", "cluster", "", "", "", "<unknown>", int64(1), "x"},
		},
		{
			name: "events.k8s.io",
			kind: "Event",
			obj: &eventsv1.Event{ObjectMeta: objMeta("node-1.1", time.Hour), Regarding: corev1.ObjectReference{Kind: "Node", Name: "node-1"},
				Type: "Normal", Reason: "NodeReady", Note: "Node node-1 status is now: NodeReady",
				EventTime: metav1.NewMicroTime(now.Add(-2 * time.Minute)), ReportingController: "kubelet", ReportingInstance: "node-1"},
			cells: []any{"2m", "Normal", "NodeReady", "node/node-1", "", "kubelet, node-1", "Node node-1 status is now: NodeReady", "2m", int64(1), "node-1.1"},
		},
	})
}

func TestToTable_Workloads(t *testing.T) {
	age := 5 * time.Hour
	tmpl := corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.27"}}}}
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	runKindCases(t, []kindCase{
		{
			name: "deployment",
			kind: "Deployment",
			obj: &appsv1.Deployment{ObjectMeta: objMeta("web", age),
				Spec:   appsv1.DeploymentSpec{Replicas: ptr.To[int32](3), Selector: selector, Template: tmpl},
				Status: appsv1.DeploymentStatus{ReadyReplicas: 2, UpdatedReplicas: 3, AvailableReplicas: 2}},
			cells: []any{"web", "2/3", int64(3), int64(2), "5h", "nginx", "nginx:1.27", "app=web"},
		},
		{
			name: "replica set",
			kind: "ReplicaSet",
			obj: &appsv1.ReplicaSet{ObjectMeta: objMeta("web-abc", age),
				Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](3), Template: tmpl, Selector: &metav1.LabelSelector{
					MatchLabels: map[string]string{"app": "web", "pod-template-hash": "abc"}}},
				Status: appsv1.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 1}},
			cells: []any{"web-abc", int64(3), int64(3), int64(1), "5h", "nginx", "nginx:1.27", "app=web,pod-template-hash=abc"},
		},
		{
			name: "stateful set",
			kind: "StatefulSet",
			obj: &appsv1.StatefulSet{ObjectMeta: objMeta("db", age),
				Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](3), Template: tmpl}, Status: appsv1.StatefulSetStatus{ReadyReplicas: 1}},
			cells: []any{"db", "1/3", "5h", "nginx", "nginx:1.27"},
		},
		{
			name: "daemon set",
			kind: "DaemonSet",
			obj: func() *appsv1.DaemonSet {
				ds := &appsv1.DaemonSet{ObjectMeta: objMeta("proxy", age), Spec: appsv1.DaemonSetSpec{Selector: selector, Template: *tmpl.DeepCopy()},
					Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 2, CurrentNumberScheduled: 2, NumberReady: 1, UpdatedNumberScheduled: 2, NumberAvailable: 1}}
				ds.Spec.Template.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "linux"}
				return ds
			}(),
			cells: []any{"proxy", int64(2), int64(2), int64(1), int64(2), int64(1), "kubernetes.io/os=linux", "5h", "nginx", "nginx:1.27", "app=web"},
		},
		{
			name: "controller revision",
			kind: "ControllerRevision",
			obj: func() *appsv1.ControllerRevision {
				cr := &appsv1.ControllerRevision{ObjectMeta: objMeta("db-5d8f", age), Revision: 2}
				cr.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db", Controller: ptr.To(true)}}
				return cr
			}(),
			cells: []any{"db-5d8f", "statefulset.apps/db", int64(2), "5h"},
		},
		{
			name: "completed job",
			kind: "Job",
			obj: &batchv1.Job{ObjectMeta: objMeta("pi", age),
				Spec: batchv1.JobSpec{Completions: ptr.To[int32](1), Template: tmpl, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": "u1"}}},
				Status: batchv1.JobStatus{Succeeded: 1, StartTime: agoPtr(10 * time.Minute), CompletionTime: agoPtr(9 * time.Minute),
					Conditions: []batchv1.JobCondition{{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue}, {Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}}},
			cells: []any{"pi", "Complete", "1/1", "60s", "5h", "nginx", "nginx:1.27", "batch.kubernetes.io/controller-uid=u1"},
		},
		{
			name: "running work queue job",
			kind: "Job",
			obj: &batchv1.Job{ObjectMeta: objMeta("queue", age),
				Spec:   batchv1.JobSpec{Parallelism: ptr.To[int32](3), Template: tmpl},
				Status: batchv1.JobStatus{StartTime: agoPtr(150 * time.Second)}},
			cells: []any{"queue", "Running", "0/1 of 3", "2m30s", "5h", "nginx", "nginx:1.27", "<none>"},
		},
		{
			name: "failed job never started",
			kind: "Job",
			obj: &batchv1.Job{ObjectMeta: objMeta("bad", age), Spec: batchv1.JobSpec{Completions: ptr.To[int32](5), Template: tmpl},
				Status: batchv1.JobStatus{Succeeded: 2, Conditions: []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue}}}},
			cells: []any{"bad", "Failed", "2/5", "", "5h", "nginx", "nginx:1.27", "<none>"},
		},
		{
			name: "suspended job being deleted",
			kind: "Job",
			obj: func() *batchv1.Job {
				j := &batchv1.Job{ObjectMeta: objMeta("held", age), Spec: batchv1.JobSpec{Template: tmpl},
					Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: batchv1.JobSuspended, Status: corev1.ConditionTrue}}}}
				j.DeletionTimestamp = agoPtr(time.Second)
				return j
			}(),
			cells: []any{"held", "Terminating", "0/1", "", "5h", "nginx", "nginx:1.27", "<none>"},
		},
		{
			name: "cron job",
			kind: "CronJob",
			obj: &batchv1.CronJob{ObjectMeta: objMeta("report", age),
				Spec: batchv1.CronJobSpec{Schedule: "*/5 * * * *", Suspend: ptr.To(false),
					JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tmpl}}},
				Status: batchv1.CronJobStatus{Active: []corev1.ObjectReference{{Name: "report-1"}}, LastScheduleTime: agoPtr(3 * time.Minute)}},
			cells: []any{"report", "*/5 * * * *", "<none>", "False", int64(1), "3m", "5h", "nginx", "nginx:1.27", "<none>"},
		},
		{
			name: "cron job never scheduled, time zone",
			kind: "CronJob",
			obj: &batchv1.CronJob{ObjectMeta: objMeta("nightly", age),
				Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", TimeZone: ptr.To("Europe/Berlin")}},
			cells: []any{"nightly", "0 3 * * *", "Europe/Berlin", "<unset>", int64(0), "<none>", "5h", "", "", "<none>"},
		},
		{
			name: "autoscaling/v2 HPA with three metrics",
			kind: "HorizontalPodAutoscaler",
			obj: &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: objMeta("web", age),
				Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
					ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web"},
					MinReplicas:    ptr.To[int32](1), MaxReplicas: 10,
					Metrics: []autoscalingv2.MetricSpec{
						{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
							Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](80)}}},
						{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceMemory,
							Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("500Mi"))}}},
						{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
							Target: autoscalingv2.MetricTarget{AverageValue: ptr.To(resource.MustParse("1k"))}}},
					},
				},
				Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 3, CurrentMetrics: []autoscalingv2.MetricStatus{
					{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU,
						Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr.To[int32](45)}}},
				}}},
			cells: []any{"web", "Deployment/web", "cpu: 45%/80%, memory: <unknown>/500Mi + 1 more...", "1", int64(10), int64(3), "5h"},
		},
		{
			name: "autoscaling/v1 HPA",
			kind: "HorizontalPodAutoscaler",
			obj: &autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: objMeta("web", age),
				Spec: autoscalingv1.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{Kind: "Deployment", Name: "web"},
					MaxReplicas: 4, TargetCPUUtilizationPercentage: ptr.To[int32](50)}},
			cells: []any{"web", "Deployment/web", "cpu: <unknown>/50%", "<unset>", int64(4), int64(0), "5h"},
		},
		{
			name: "scale subresource",
			kind: "Scale",
			obj: &autoscalingv1.Scale{ObjectMeta: objMeta("web", age), Spec: autoscalingv1.ScaleSpec{Replicas: 3},
				Status: autoscalingv1.ScaleStatus{Replicas: 2}},
			cells: []any{"web", int64(3), int64(2), "5h"},
		},
	})
}

func TestToTable_ClusterKinds(t *testing.T) {
	age := 2 * 24 * time.Hour // "2d"
	runKindCases(t, []kindCase{
		{
			name: "endpoint slice",
			kind: "EndpointSlice",
			obj: &discoveryv1.EndpointSlice{ObjectMeta: objMeta("web-x1", age), AddressType: discoveryv1.AddressTypeIPv4,
				Ports: []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](80)}, {Name: ptr.To("metrics")}, {}},
				Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.244.1.2"}}, {Addresses: []string{"10.244.2.3", "10.244.2.4"}},
					{Addresses: []string{"10.244.3.5"}}}},
			cells: []any{"web-x1", "IPv4", "80,metrics,*", "10.244.1.2,10.244.2.3,10.244.2.4 + 1 more...", "2d"},
		},
		{
			name:  "endpoint slice empty",
			kind:  "EndpointSlice",
			obj:   &discoveryv1.EndpointSlice{ObjectMeta: objMeta("web-x2", age), AddressType: discoveryv1.AddressTypeIPv6},
			cells: []any{"web-x2", "IPv6", "<unset>", "<unset>", "2d"},
		},
		{
			name:  "lease",
			kind:  "Lease",
			obj:   &coordinationv1.Lease{ObjectMeta: objMeta("kube-scheduler", age), Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("master-1_abc")}},
			cells: []any{"kube-scheduler", "master-1_abc", "2d"},
		},
		{
			name: "priority class",
			kind: "PriorityClass",
			obj: &schedulingv1.PriorityClass{ObjectMeta: objMeta("system-node-critical", age), Value: 2000001000,
				PreemptionPolicy: ptr.To(corev1.PreemptLowerPriority)},
			cells: []any{"system-node-critical", int64(2000001000), false, "2d", "PreemptLowerPriority"},
		},
		{
			name:  "runtime class",
			kind:  "RuntimeClass",
			obj:   &nodev1.RuntimeClass{ObjectMeta: objMeta("runc", age), Handler: "runc"},
			cells: []any{"runc", "runc", "2d"},
		},
		{
			name: "pod disruption budget",
			kind: "PodDisruptionBudget",
			obj: &policyv1.PodDisruptionBudget{ObjectMeta: objMeta("web", age),
				Spec:   policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromString("50%"))},
				Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 1}},
			cells: []any{"web", "50%", "N/A", int64(1), "2d"},
		},
		{
			name: "ingress",
			kind: "Ingress",
			obj: &networkingv1.Ingress{ObjectMeta: objMeta("web", age),
				Spec: networkingv1.IngressSpec{IngressClassName: ptr.To("nginx"), TLS: []networkingv1.IngressTLS{{Hosts: []string{"a.example.com"}}},
					Rules: []networkingv1.IngressRule{{Host: "a.example.com"}, {}, {Host: "b.example.com"}, {Host: "c.example.com"}, {Host: "d.example.com"}}},
				Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{Ingress: []networkingv1.IngressLoadBalancerIngress{{IP: "192.168.1.240"}}}}},
			cells: []any{"web", "nginx", "a.example.com,b.example.com,c.example.com + 2 more...", "192.168.1.240", "80, 443", "2d"},
		},
		{
			name:  "ingress without class or rules",
			kind:  "Ingress",
			obj:   &networkingv1.Ingress{ObjectMeta: objMeta("default", age)},
			cells: []any{"default", "<none>", "*", "", "80", "2d"},
		},
		{
			name: "ingress class",
			kind: "IngressClass",
			obj: &networkingv1.IngressClass{ObjectMeta: objMeta("nginx", age), Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx",
				Parameters: &networkingv1.IngressClassParametersReference{APIGroup: ptr.To("k8s.example.com"), Kind: "IngressParameters", Name: "ext"}}},
			cells: []any{"nginx", "k8s.io/ingress-nginx", "IngressParameters.k8s.example.com/ext", "2d"},
		},
		{
			name:  "network policy selecting all pods",
			kind:  "NetworkPolicy",
			obj:   &networkingv1.NetworkPolicy{ObjectMeta: objMeta("deny-all", age)},
			cells: []any{"deny-all", "<none>", "2d"},
		},
		{
			name:  "service CIDR",
			kind:  "ServiceCIDR",
			obj:   &networkingv1.ServiceCIDR{ObjectMeta: objMeta("kubernetes", age), Spec: networkingv1.ServiceCIDRSpec{CIDRs: []string{"10.96.0.0/16", "fd00:10:96::/112"}}},
			cells: []any{"kubernetes", "10.96.0.0/16,fd00:10:96::/112", "2d"},
		},
		{
			name: "IP address carries an extra age cell, as upstream",
			kind: "IPAddress",
			obj: &networkingv1.IPAddress{ObjectMeta: objMeta("10.96.0.1", age), Spec: networkingv1.IPAddressSpec{
				ParentRef: &networkingv1.ParentReference{Resource: "services", Namespace: "default", Name: "kubernetes"}}},
			cells: []any{"10.96.0.1", "services/default/kubernetes", "2d"},
		},
		{
			name: "default storage class",
			kind: "StorageClass",
			obj: func() *storagev1.StorageClass {
				sc := &storagev1.StorageClass{ObjectMeta: objMeta("local-path", age), Provisioner: "rancher.io/local-path",
					VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer)}
				sc.Annotations = map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}
				return sc
			}(),
			cells: []any{"local-path (default)", "rancher.io/local-path", "Delete", "WaitForFirstConsumer", false, "2d"},
		},
		{
			name:  "volume attributes class",
			kind:  "VolumeAttributesClass",
			obj:   &storagev1.VolumeAttributesClass{ObjectMeta: objMeta("gold", age), DriverName: "pd.csi.storage.gke.io"},
			cells: []any{"gold", "pd.csi.storage.gke.io", "2d"},
		},
		{
			name: "volume attachment",
			kind: "VolumeAttachment",
			obj: &storagev1.VolumeAttachment{ObjectMeta: objMeta("csi-123", age), Spec: storagev1.VolumeAttachmentSpec{Attacher: "ebs.csi.aws.com",
				NodeName: "node-1", Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr.To("pv-1")}},
				Status: storagev1.VolumeAttachmentStatus{Attached: true}},
			cells: []any{"csi-123", "ebs.csi.aws.com", "pv-1", "node-1", true, "2d"},
		},
		{
			name:  "CSI driver defaults",
			kind:  "CSIDriver",
			obj:   &storagev1.CSIDriver{ObjectMeta: objMeta("hostpath.csi.k8s.io", age)},
			cells: []any{"hostpath.csi.k8s.io", true, false, false, "<unset>", false, "<none>", "2d"},
		},
		{
			name: "CSI driver set",
			kind: "CSIDriver",
			obj: &storagev1.CSIDriver{ObjectMeta: objMeta("secrets-store.csi.k8s.io", age), Spec: storagev1.CSIDriverSpec{
				AttachRequired: ptr.To(false), PodInfoOnMount: ptr.To(true), RequiresRepublish: ptr.To(true),
				TokenRequests:        []storagev1.TokenRequest{{Audience: "vault"}, {Audience: "aws"}},
				VolumeLifecycleModes: []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecycleEphemeral, storagev1.VolumeLifecyclePersistent}}},
			cells: []any{"secrets-store.csi.k8s.io", false, true, false, "vault,aws", true, "Ephemeral,Persistent", "2d"},
		},
		{
			name:  "CSI node",
			kind:  "CSINode",
			obj:   &storagev1.CSINode{ObjectMeta: objMeta("node-1", age), Spec: storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{{Name: "a"}}}},
			cells: []any{"node-1", int64(1), "2d"},
		},
		{
			name:  "CSI storage capacity unknown",
			kind:  "CSIStorageCapacity",
			obj:   &storagev1.CSIStorageCapacity{ObjectMeta: objMeta("csisc-1", age), StorageClassName: "fast"},
			cells: []any{"csisc-1", "fast", "<unset>"},
		},
		{
			name:  "role gets the default table",
			kind:  "Role",
			obj:   &rbacv1.Role{ObjectMeta: objMeta("pod-reader", age)},
			cells: []any{"pod-reader", "2026-11-26T12:00:00Z"},
		},
		{
			name:  "cluster role gets the default table",
			kind:  "ClusterRole",
			obj:   &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "admin"}},
			cells: []any{"admin", "0001-01-01T00:00:00Z"},
		},
		{
			name: "role binding",
			kind: "RoleBinding",
			obj: &rbacv1.RoleBinding{ObjectMeta: objMeta("read-pods", age), RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "pod-reader"},
				Subjects: []rbacv1.Subject{{Kind: "User", Name: "jane"}, {Kind: "Group", Name: "devs"}, {Kind: "User", Name: "joe"},
					{Kind: "ServiceAccount", Namespace: "kube-system", Name: "default"}}},
			cells: []any{"read-pods", "Role/pod-reader", "2d", "jane, joe", "devs", "kube-system/default"},
		},
		{
			name:  "cluster role binding",
			kind:  "ClusterRoleBinding",
			obj:   &rbacv1.ClusterRoleBinding{ObjectMeta: objMeta("cluster-admin", age), RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "cluster-admin"}, Subjects: []rbacv1.Subject{{Kind: "Group", Name: "system:masters"}}},
			cells: []any{"cluster-admin", "ClusterRole/cluster-admin", "2d", "", "system:masters", ""},
		},
	})
}

// TestToTable_UnknownAgeForZeroTimestamp checks the AGE placeholder.
func TestToTable_UnknownAgeForZeroTimestamp(t *testing.T) {
	table, err := ToTable(podGVK, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := table.Rows[0].Cells[2]; got != "<unknown>" {
		t.Errorf("age = %v", got)
	}
}

func TestToTable_StorageClassListMarksOnlyTheEffectiveDefault(t *testing.T) {
	class := func(name string, age time.Duration, isDefault bool) storagev1.StorageClass {
		sc := storagev1.StorageClass{ObjectMeta: objMeta(name, age), Provisioner: "p"}
		if isDefault {
			sc.Annotations = map[string]string{"storageclass.beta.kubernetes.io/is-default-class": "true"}
		}
		return sc
	}
	list := &storagev1.StorageClassList{Items: []storagev1.StorageClass{
		class("old", 48*time.Hour, true),
		class("plain", time.Hour, false),
		class("new-b", time.Hour, true),
		class("new-a", time.Hour, true),
	}}
	table, err := ToTable(storagev1.SchemeGroupVersion.WithKind("StorageClass"), list, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var names []any
	for _, r := range table.Rows {
		names = append(names, r.Cells[0])
	}
	want := []any{"old", "plain", "new-b", "new-a (default)"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("names = %v, want %v", names, want)
	}
}
