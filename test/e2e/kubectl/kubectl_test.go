package kubectl

import (
	"encoding/json"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// testNamespace is where the test's objects live; it is the kubeconfig's default.
const testNamespace = "kubectl-e2e"

// manifest returns a Deployment, a Service and a ConfigMap named web, web and web-config.
func manifest(replicas, greeting string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: ` + replicas + `
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: kstack.local/testserver:v1
        ports:
        - containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  greeting: ` + greeting + `
`
}

// TestKubectl drives the apiserver with the upstream kubectl, one user-facing command per
// subtest, in order (later steps build on earlier ones).
func TestKubectl(t *testing.T) {
	c := startCluster(t)

	t.Run("version", func(t *testing.T) {
		var v struct {
			ClientVersion struct{ GitVersion string } `json:"clientVersion"`
			ServerVersion *struct {
				Major, Minor, GitVersion string
			} `json:"serverVersion"`
		}
		mustJSON(t, c.kubectl(t, "version", "-o", "json"), &v)
		if v.ClientVersion.GitVersion != "v1.37.2" {
			t.Errorf("client gitVersion = %q, want v1.37.2", v.ClientVersion.GitVersion)
		}
		if v.ServerVersion == nil || v.ServerVersion.GitVersion == "" || v.ServerVersion.Major == "" {
			t.Errorf("serverVersion missing or incomplete: %+v", v.ServerVersion)
		}
	})

	t.Run("create namespace", func(t *testing.T) {
		expectLines(t, c.kubectl(t, "create", "namespace", testNamespace), "namespace/"+testNamespace+" created")
		if got := c.kubectl(t, "get", "namespace", testNamespace, "-o", "jsonpath={.status.phase}"); got != "Active" {
			t.Errorf("namespace phase = %q, want Active", got)
		}
	})

	t.Run("apply", func(t *testing.T) {
		out := c.kubectlStdin(t, manifest("2", "hello"), "apply", "-f", "-")
		expectLines(t, out, "deployment.apps/web created", "service/web created", "configmap/web-config created")
		d := getDeployment(t, c)
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
			t.Errorf("spec.replicas = %v, want 2", d.Spec.Replicas)
		}
		lastApplied := d.Annotations["kubectl.kubernetes.io/last-applied-configuration"]
		if !strings.Contains(lastApplied, `"replicas":2`) {
			t.Errorf("last-applied-configuration does not record replicas 2: %q", lastApplied)
		}

		// Apply a changed manifest: only the changed objects are configured.
		out = c.kubectlStdin(t, manifest("3", "hola"), "apply", "-f", "-")
		expectLines(t, out, "deployment.apps/web configured", "service/web unchanged", "configmap/web-config configured")
		d = getDeployment(t, c)
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
			t.Errorf("after re-apply spec.replicas = %v, want 3", d.Spec.Replicas)
		}
		if la := d.Annotations["kubectl.kubernetes.io/last-applied-configuration"]; !strings.Contains(la, `"replicas":3`) {
			t.Errorf("last-applied-configuration not updated to replicas 3: %q", la)
		}
		var cm corev1.ConfigMap
		mustJSON(t, c.kubectl(t, "get", "configmap", "web-config", "-o", "json"), &cm)
		if cm.Data["greeting"] != "hola" {
			t.Errorf("configmap greeting = %q, want hola", cm.Data["greeting"])
		}
		if la := cm.Annotations["kubectl.kubernetes.io/last-applied-configuration"]; !strings.Contains(la, `"greeting":"hola"`) {
			t.Errorf("configmap last-applied-configuration not updated: %q", la)
		}
	})

	t.Run("run pod", func(t *testing.T) {
		out := c.kubectl(t, "run", "solo", "--image=kstack.local/testserver:v1", "--restart=Never")
		expectLines(t, out, "pod/solo created")
	})

	t.Run("get tables", func(t *testing.T) {
		// Server-side printing: the columns come from the apiserver's Table responses.
		rows := table(t, c.kubectl(t, "get", "deployments"), "NAME READY UP-TO-DATE AVAILABLE AGE")
		if r := row(t, rows, "web"); len(r) != 5 || r[1] != "0/3" {
			t.Errorf("deployment row = %q, want web 0/3 ...", r)
		}
		rows = table(t, c.kubectl(t, "get", "pods"), "NAME READY STATUS RESTARTS AGE")
		if r := row(t, rows, "solo"); len(r) != 5 || r[1] != "0/1" || r[2] != "Pending" || r[3] != "0" {
			t.Errorf("pod row = %q, want solo 0/1 Pending 0 <age>", r)
		}
		rows = table(t, c.kubectl(t, "get", "svc"), "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE")
		if r := row(t, rows, "web"); len(r) != 6 || r[1] != "ClusterIP" || !inServiceCIDR(r[2]) || r[3] != "<none>" || r[4] != "80/TCP" {
			t.Errorf("service row = %q, want web ClusterIP <ip in %s> <none> 80/TCP <age>", r, serviceCIDR)
		}
		rows = table(t, c.kubectl(t, "get", "configmaps"), "NAME DATA AGE")
		if r := row(t, rows, "web-config"); len(r) != 3 || r[1] != "1" {
			t.Errorf("configmap row = %q, want web-config 1 <age>", r)
		}
		rows = table(t, c.kubectl(t, "get", "namespaces"), "NAME STATUS AGE")
		if r := row(t, rows, testNamespace); len(r) != 3 || r[1] != "Active" {
			t.Errorf("namespace row = %q, want %s Active <age>", r, testNamespace)
		}
	})

	t.Run("get service output formats", func(t *testing.T) {
		var svc corev1.Service
		mustJSON(t, c.kubectl(t, "get", "svc", "web", "-o", "json"), &svc)
		checkService(t, "json", &svc)

		y := c.kubectl(t, "get", "svc", "web", "-o", "yaml")
		if !strings.Contains(y, "kind: Service\n") || !strings.Contains(y, "apiVersion: v1\n") {
			t.Errorf("-o yaml does not look like a Service:\n%s", y)
		}
		j, err := utilyaml.ToJSON([]byte(y))
		if err != nil {
			t.Fatalf("-o yaml is not YAML: %v\n%s", err, y)
		}
		var fromYAML corev1.Service
		mustJSON(t, string(j), &fromYAML)
		checkService(t, "yaml", &fromYAML)
		if fromYAML.Spec.ClusterIP != svc.Spec.ClusterIP {
			t.Errorf("yaml clusterIP %q != json clusterIP %q", fromYAML.Spec.ClusterIP, svc.Spec.ClusterIP)
		}

		rows := table(t, c.kubectl(t, "get", "svc", "web", "-o", "wide"), "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE SELECTOR")
		if r := row(t, rows, "web"); len(r) != 7 || r[6] != "app=web" {
			t.Errorf("wide service row = %q, want SELECTOR app=web", r)
		}
	})

	t.Run("describe deployment", func(t *testing.T) {
		out := c.kubectl(t, "describe", "deployment", "web")
		for _, want := range []string{"Name:", "Namespace:", testNamespace, "Replicas:", "3 desired", "Selector:", "app=web", "Pod Template:", "kstack.local/testserver:v1", "8080/TCP"} {
			if !strings.Contains(out, want) {
				t.Errorf("describe output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("label and annotate", func(t *testing.T) {
		expectLines(t, c.kubectl(t, "label", "deployment", "web", "tier=frontend"), "deployment.apps/web labeled")
		if got := c.kubectl(t, "get", "deployment", "web", "-o", "jsonpath={.metadata.labels.tier}"); got != "frontend" {
			t.Errorf("label tier = %q, want frontend", got)
		}
		expectLines(t, c.kubectl(t, "annotate", "deployment", "web", "owner=team-a"), "deployment.apps/web annotated")
		if got := c.kubectl(t, "get", "deployment", "web", "-o", "jsonpath={.metadata.annotations.owner}"); got != "team-a" {
			t.Errorf("annotation owner = %q, want team-a", got)
		}
		// Label selectors on list go through the server.
		rows := table(t, c.kubectl(t, "get", "deployments", "-l", "tier=frontend"), "NAME READY UP-TO-DATE AVAILABLE AGE")
		row(t, rows, "web")
		if out := c.kubectl(t, "get", "deployments", "-l", "tier=backend", "-o", "name"); out != "" {
			t.Errorf("selector tier=backend matched %q, want nothing", out)
		}
	})

	t.Run("patch", func(t *testing.T) {
		// Strategic merge: containers merge by name, so the port survives an image change.
		out := c.kubectl(t, "patch", "deployment", "web", "--type=strategic",
			"-p", `{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"kstack.local/testserver:v2"}]}}}}`)
		expectLines(t, out, "deployment.apps/web patched")
		d := getDeployment(t, c)
		cs := d.Spec.Template.Spec.Containers
		if len(cs) != 1 || cs[0].Image != "kstack.local/testserver:v2" || len(cs[0].Ports) != 1 || cs[0].Ports[0].ContainerPort != 8080 {
			t.Errorf("after strategic patch containers = %+v, want one web container, image v2, port 8080", cs)
		}

		expectLines(t, c.kubectl(t, "patch", "deployment", "web", "--type=merge", "-p", `{"spec":{"minReadySeconds":7}}`), "deployment.apps/web patched")
		if got := c.kubectl(t, "get", "deployment", "web", "-o", "jsonpath={.spec.minReadySeconds}"); got != "7" {
			t.Errorf("after merge patch minReadySeconds = %q, want 7", got)
		}

		expectLines(t, c.kubectl(t, "patch", "deployment", "web", "--type=json",
			"-p", `[{"op":"replace","path":"/spec/replicas","value":4},{"op":"add","path":"/metadata/labels/patched","value":"json"}]`),
			"deployment.apps/web patched")
		if got := c.kubectl(t, "get", "deployment", "web", "-o", "jsonpath={.spec.replicas} {.metadata.labels.patched}"); got != "4 json" {
			t.Errorf("after json patch replicas and label = %q, want \"4 json\"", got)
		}
	})

	t.Run("scale", func(t *testing.T) {
		expectLines(t, c.kubectl(t, "scale", "deployment", "web", "--replicas=5"), "deployment.apps/web scaled")
		if got := c.kubectl(t, "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"); got != "5" {
			t.Errorf("after scale spec.replicas = %q, want 5", got)
		}
	})

	t.Run("delete configmap", func(t *testing.T) {
		expectLines(t, c.kubectl(t, "delete", "configmap", "web-config"), `configmap "web-config" deleted from `+testNamespace+` namespace`)
		stderr := c.kubectlFails(t, "get", "configmap", "web-config")
		if !strings.Contains(stderr, `configmaps "web-config" not found`) {
			t.Errorf("get after delete: stderr = %q, want NotFound", stderr)
		}
	})

	t.Run("get watch", func(t *testing.T) {
		expectLines(t, c.kubectl(t, "create", "configmap", "before", "--from-literal=a=1"), "configmap/before created")
		w := c.startWatch(t, "get", "configmaps", "-w")
		w.waitLine(t, 30*time.Second, "table header", func(f []string) bool { return strings.Join(f, " ") == "NAME DATA AGE" })
		w.waitLine(t, 30*time.Second, "initial row for configmap before", func(f []string) bool { return len(f) == 3 && f[0] == "before" })
		// Everything from here on arrives through the watch.
		expectLines(t, c.kubectl(t, "create", "configmap", "watched", "--from-literal=a=1", "--from-literal=b=2"), "configmap/watched created")
		w.waitLine(t, 30*time.Second, "watch event for configmap watched", func(f []string) bool {
			return len(f) == 3 && f[0] == "watched" && f[1] == "2"
		})
		w.stop()
	})

	t.Run("api-resources", func(t *testing.T) {
		out := c.kubectl(t, "api-resources")
		header, rows := splitTable(out)
		if strings.Join(header, " ") != "NAME SHORTNAMES APIVERSION NAMESPACED KIND" {
			t.Errorf("api-resources header = %q", header)
		}
		for _, want := range [][]string{
			{"pods", "po", "v1", "true", "Pod"},
			{"services", "svc", "v1", "true", "Service"},
			{"configmaps", "cm", "v1", "true", "ConfigMap"},
			{"namespaces", "ns", "v1", "false", "Namespace"},
			{"deployments", "deploy", "apps/v1", "true", "Deployment"},
		} {
			if !slices.ContainsFunc(rows, func(r []string) bool { return slices.Equal(r, want) }) {
				t.Errorf("api-resources lacks the row %q:\n%s", want, out)
			}
		}
	})

	t.Run("explain", func(t *testing.T) {
		out := c.kubectl(t, "explain", "pod.spec.containers")
		for _, want := range []string{"KIND:", "Pod", "VERSION:", "v1", "FIELD: containers", "FIELDS:", "image\t<string>", "name\t<string> -required-"} {
			if !strings.Contains(out, want) {
				t.Errorf("explain output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("namespace lifecycle", func(t *testing.T) {
		const ns = "kubectl-e2e-scratch"
		expectLines(t, c.kubectl(t, "create", "namespace", ns), "namespace/"+ns+" created")
		// --wait=false: there is no namespace controller yet to finish the deletion.
		expectLines(t, c.kubectl(t, "delete", "namespace", ns, "--wait=false"), `namespace "`+ns+`" deleted`)
		stdout, stderr, err := c.run([]string{"get", "namespace", ns, "-o", "jsonpath={.status.phase}"}, "")
		switch {
		case err == nil && stdout == "Terminating":
		case err != nil && strings.Contains(stderr, `namespaces "`+ns+`" not found`):
		default:
			t.Errorf("after delete: phase %q, err %v, stderr %q; want Terminating or NotFound", stdout, err, stderr)
		}
	})
}

// getDeployment reads deployment web as JSON.
func getDeployment(t *testing.T, c *cluster) *appsv1.Deployment {
	t.Helper()
	var d appsv1.Deployment
	mustJSON(t, c.kubectl(t, "get", "deployment", "web", "-o", "json"), &d)
	if d.Name != "web" || d.Namespace != testNamespace {
		t.Fatalf("got deployment %s/%s, want %s/web", d.Namespace, d.Name, testNamespace)
	}
	return &d
}

// checkService checks the fields of service web as the manifest and the allocator set them.
func checkService(t *testing.T, format string, svc *corev1.Service) {
	t.Helper()
	if svc.Kind != "Service" || svc.APIVersion != "v1" {
		t.Errorf("%s: kind/apiVersion = %q/%q, want Service/v1", format, svc.Kind, svc.APIVersion)
	}
	if svc.Name != "web" || svc.Namespace != testNamespace || svc.UID == "" || svc.ResourceVersion == "" || svc.CreationTimestamp.IsZero() {
		t.Errorf("%s: metadata incomplete: %+v", format, svc.ObjectMeta)
	}
	if svc.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Errorf("%s: type = %q, want ClusterIP (defaulted)", format, svc.Spec.Type)
	}
	if !inServiceCIDR(svc.Spec.ClusterIP) {
		t.Errorf("%s: clusterIP %q not in %s", format, svc.Spec.ClusterIP, serviceCIDR)
	}
	if svc.Spec.Selector["app"] != "web" {
		t.Errorf("%s: selector = %v, want app=web", format, svc.Spec.Selector)
	}
	if len(svc.Spec.Ports) != 1 {
		t.Fatalf("%s: ports = %+v, want one", format, svc.Spec.Ports)
	}
	p := svc.Spec.Ports[0]
	if p.Port != 80 || p.TargetPort.IntValue() != 8080 || p.Protocol != corev1.ProtocolTCP {
		t.Errorf("%s: port = %+v, want 80 -> 8080/TCP", format, p)
	}
}

func inServiceCIDR(ip string) bool {
	_, cidr, _ := net.ParseCIDR(serviceCIDR)
	parsed := net.ParseIP(ip)
	return parsed != nil && cidr.Contains(parsed)
}

func mustJSON(t *testing.T, data string, into any) {
	t.Helper()
	if err := json.Unmarshal([]byte(data), into); err != nil {
		t.Fatalf("decode JSON: %v\n%s", err, data)
	}
}

// expectLines fails unless every want is one of the output's lines.
func expectLines(t *testing.T, out string, want ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, w := range want {
		if !slices.Contains(lines, w) {
			t.Errorf("output lacks the line %q:\n%s", w, out)
		}
	}
}

// splitTable splits kubectl's column output into the header's fields and each row's.
func splitTable(out string) (header []string, rows [][]string) {
	for i, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		f := strings.Fields(line)
		if i == 0 {
			header = f
			continue
		}
		rows = append(rows, f)
	}
	return header, rows
}

// table checks the header of kubectl's column output and returns its rows.
func table(t *testing.T, out, wantHeader string) [][]string {
	t.Helper()
	header, rows := splitTable(out)
	if got := strings.Join(header, " "); got != wantHeader {
		t.Fatalf("table header = %q, want %q; output:\n%s", got, wantHeader, out)
	}
	return rows
}

// row returns the row whose first column is name.
func row(t *testing.T, rows [][]string, name string) []string {
	t.Helper()
	for _, r := range rows {
		if len(r) > 0 && r[0] == name {
			return r
		}
	}
	t.Fatalf("no row for %q in %q", name, rows)
	return nil
}
