package kubectlgolden

// Manifests the mutating scenarios apply.
const (
	cmWeb = `apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  labels:
    app: web
data:
  color: blue
  size: large
`
	cmWebChanged = `apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  labels:
    app: web
data:
  color: green
`
	deployWeb = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: main
        image: kstack.local/busybox:1.0
        command: ["sleep", "3600"]
        env:
        - name: A
          value: "1"
`
	deployWebChanged = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
    tier: front
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: main
        image: kstack.local/busybox:1.1
        command: ["sleep", "3600"]
        env:
        - name: B
          value: "2"
`
	svcAndCM = `apiVersion: v1
kind: Service
metadata:
  name: api
  labels:
    app: api
spec:
  selector:
    app: api
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: api-config
  labels:
    app: api
data:
  k: v
`
	list = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: list-a
  data: {x: "1"}
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: list-b
  data: {y: "2"}
`
	podP = `apiVersion: v1
kind: Pod
metadata:
  name: p
  labels:
    app: p
spec:
  containers:
  - name: main
    image: kstack.local/busybox:1.0
`
)

const (
	cms  = "configmaps.v1."
	deps = "deployments.v1.apps"
	svcs = "services.v1."
	pods = "pods.v1."
)

func mutateScenarios() []scenario {
	return []scenario{
		{
			name:  "create-f",
			files: map[string]string{"cm.yaml": cmWeb, "multi.yaml": svcAndCM, "list.yaml": list},
			steps: []step{
				s("create", "-f", "cm.yaml"),
				s("create", "-f", "cm.yaml"),
				s("create", "-f", "multi.yaml", "-o", "name"),
				s("create", "-f", "list.yaml", "--dry-run=client"),
				s("create", "-f", "list.yaml", "--dry-run=server", "-o", "yaml"),
				s("create", "-f", "list.yaml"),
				s("create", "-f", "missing.yaml"),
				{args: []string{"create", "-f", "-"}, stdin: podP},
			},
			objects: []string{cms, svcs, pods},
		},
		{
			name: "apply-client-side",
			files: map[string]string{"cm.yaml": cmWeb, "cm2.yaml": cmWebChanged, "d.yaml": deployWeb,
				"d2.yaml": deployWebChanged, "dir/a.yaml": svcAndCM, "dir/sub/b.yaml": list},
			steps: []step{
				s("apply", "-f", "cm.yaml"),
				s("apply", "-f", "cm.yaml"),
				s("apply", "-f", "cm2.yaml"),
				s("apply", "-f", "d.yaml"),
				s("apply", "-f", "d2.yaml", "--dry-run=client"),
				s("apply", "-f", "d2.yaml", "--dry-run=server"),
				s("apply", "-f", "d2.yaml"),
				s("apply", "-f", "d2.yaml", "-o", "yaml"),
				s("apply", "-f", "dir"),
				s("apply", "-f", "dir", "-R"),
				s("apply", "-f", "dir", "-R", "-o", "name"),
			},
			objects: []string{cms, deps, svcs},
		},
		{
			name:  "apply-prune-and-server-side",
			files: map[string]string{"all.yaml": svcAndCM, "cm.yaml": cmWeb, "cm2.yaml": cmWebChanged, "d.yaml": deployWeb},
			steps: []step{
				s("apply", "-f", "all.yaml"),
				s("apply", "-f", "cm.yaml", "--prune", "-l", "app=api"),
				s("apply", "-f", "cm.yaml", "--prune"),
				s("apply", "-f", "all.yaml"),
				s("apply", "-f", "cm.yaml", "--prune", "-l", "app=api", "--cascade=orphan", "--grace-period=0", "--wait=false", "--dry-run=client"),
				s("apply", "-f", "cm.yaml", "--prune", "-l", "app=api", "--cascade=foreground", "--timeout=30s", "--wait", "--prune-allowlist=core/v1/ConfigMap"),
				s("apply", "-f", "cm.yaml", "--prune", "-l", "app=api", "--cascade=sideways"),
				s("apply", "-f", "cm.yaml", "--prune", "-l", "app=api", "--force"),
				s("apply", "-f", "cm.yaml", "--server-side", "--force"),
				s("apply", "-f", "cm.yaml", "--dry-run=server", "--force"),
				s("apply", "-f", "cm.yaml", "--prune", "--all", "--prune-allowlist=core/v1/Service", "--grace-period=1"),
				s("apply", "-f", "d.yaml", "--server-side"),
				s("apply", "-f", "d.yaml", "--server-side"),
				s("apply", "-f", "cm2.yaml", "--server-side", "--field-manager", "other"),
				s("apply", "-f", "cm.yaml", "--server-side", "--field-manager", "other", "--dry-run=server"),
				s("apply", "-f", "cm.yaml", "--server-side", "--force-conflicts"),
				s("apply", "-f", "cm.yaml", "--force-conflicts"),
			},
			objects: []string{cms, deps, svcs},
		},
		{
			name:  "delete",
			files: map[string]string{"all.yaml": svcAndCM, "list.yaml": list, "cm.yaml": cmWeb},
			steps: []step{
				s("create", "-f", "all.yaml"),
				s("create", "-f", "list.yaml"),
				s("create", "-f", "cm.yaml"),
				s("delete", "-f", "all.yaml"),
				s("delete", "-f", "all.yaml"),
				s("delete", "-f", "all.yaml", "--ignore-not-found"),
				s("delete", "configmap", "list-a", "--dry-run=client"),
				s("delete", "configmap", "list-a", "--dry-run=server"),
				s("delete", "cm", "list-a", "-o", "name"),
				s("delete", "cm", "-l", "app=nothing"),
				{args: []string{"delete", "cm", "web-config", "-i"}, stdin: "n\n"},
				{args: []string{"delete", "cm", "web-config", "--interactive"}, stdin: "y\n"},
				{args: []string{"delete", "cm", "web-config", "-i"}, stdin: "y\n"},
				{args: []string{"delete", "cm", "--all", "-i", "--dry-run=server"}, stdin: "y\n"},
				{args: []string{"delete", "cm", "--all", "-i", "--force"}, stdin: "n\n"},
				s("delete", "cm", "--all", "--cascade=orphan", "--wait=false"),
				s("delete", "cm", "missing"),
				s("delete"),
				s("delete", "cm"),
				s("delete", "pod", "x", "--force", "--ignore-not-found"),
				s("delete", "pod", "x", "--force", "--grace-period=5"),
				s("delete", "pod", "x", "-o", "yaml"),
			},
			objects: []string{cms, svcs},
		},
		{
			name:  "label-annotate",
			files: map[string]string{"cm.yaml": cmWeb, "list.yaml": list},
			steps: []step{
				s("create", "-f", "cm.yaml"),
				s("create", "-f", "list.yaml"),
				s("label", "cm", "web-config", "tier=front"),
				s("label", "cm", "web-config", "tier=back"),
				s("label", "cm", "web-config", "tier=back", "--overwrite"),
				s("label", "cm", "web-config", "tier=back", "--overwrite"),
				s("label", "cm", "web-config", "tier-", "app=other", "--overwrite"),
				s("label", "cm", "web-config", "nothere-"),
				s("label", "cm", "--all", "team=a", "-o", "name"),
				s("label", "cm", "list-a", "x=y", "--dry-run=client"),
				s("label", "cm", "list-a", "--list"),
				s("label", "cm", "list-a"),
				s("label", "cm", "list-a", "bad=a=b"),
				s("annotate", "cm", "web-config", "note=hello"),
				s("annotate", "cm", "web-config", "note=again"),
				s("annotate", "cm", "web-config", "note=again", "--overwrite"),
				s("annotate", "cm", "-l", "team=a", "owner=me"),
				s("annotate", "cm", "list-b", "note-", "--list"),
				s("annotate", "cm/list-b", "owner-"),
				s("annotate", "cm", "missing", "a=b"),
			},
			objects: []string{cms},
		},
		{
			name:  "patch-scale",
			files: map[string]string{"d.yaml": deployWeb, "cm.yaml": cmWeb},
			steps: []step{
				s("create", "-f", "d.yaml"),
				s("create", "-f", "cm.yaml"),
				s("patch", "deployment", "web", "-p", `{"spec":{"template":{"spec":{"containers":[{"name":"main","image":"kstack.local/busybox:2.0"}]}}}}`),
				s("patch", "deployment", "web", "-p", `{"spec":{"template":{"spec":{"containers":[{"name":"main","image":"kstack.local/busybox:2.0"}]}}}}`),
				s("patch", "cm", "web-config", "--type", "merge", "-p", `{"data":{"color":null,"shape":"round"}}`),
				s("patch", "cm", "web-config", "--type", "json", "-p", `[{"op":"replace","path":"/data/size","value":"small"}]`),
				s("patch", "cm", "web-config", "--type", "json", "-p", `[{"op":"remove","path":"/data/nope"}]`),
				s("patch", "cm", "web-config", "--type", "xml", "-p", `{}`),
				s("patch", "cm", "web-config"),
				s("patch", "cm", "web-config", "-p", "data:\n  yaml: works\n", "-o", "name"),
				s("patch", "cm", "web-config", "-p", `{"data":{"k":"v"}}`, "--dry-run=server"),
				s("patch", "cm", "web-config", "-p", `{"data":{"k":"v"}}`, "--dry-run=client", "-o", "jsonpath={.data}"),
				s("scale", "deployment", "web", "--replicas=3"),
				s("scale", "deployment/web", "--replicas=5", "--current-replicas=2"),
				s("scale", "deployment/web", "--replicas=1", "--current-replicas=3"),
				s("scale", "deployment/web", "--replicas=4", "--dry-run=client", "-o", "jsonpath={.spec.replicas}"),
				s("scale", "deployment/web", "--replicas=4", "--dry-run=server"),
				s("scale", "deployment/web"),
				s("scale", "deployment/nope", "--replicas=1"),
			},
			objects: []string{cms, deps},
		},
		{
			name: "create-generators",
			steps: []step{
				s("create", "namespace", "$NS-extra"),
				s("create", "namespace", "$NS-extra"),
				s("create", "configmap", "c1", "--from-literal=a=1", "--from-literal=b=two"),
				s("create", "configmap", "c2", "--from-literal=a=1", "--dry-run=client", "-o", "yaml"),
				s("create", "secret", "generic", "s1", "--from-literal=user=admin", "--type=Opaque"),
				s("create", "secret", "generic", "s2", "--from-literal=x=y", "-o", "json", "--dry-run=client"),
				s("create", "deployment", "d1", "--image=kstack.local/busybox:1.0", "--replicas=2", "--port=8080"),
				s("create", "deployment", "d2", "--image=kstack.local/busybox:1.0", "--dry-run=client", "-o", "yaml", "--", "sleep", "10"),
				s("create", "deployment", "d1", "--image=x"),
				s("create", "deployment", "d3"),
				s("create", "service", "clusterip", "svc1", "--tcp=80:8080"),
				s("create", "service", "nodeport", "svc2", "--tcp=80:8080", "--dry-run=client", "-o", "yaml"),
				s("create", "serviceaccount", "sa1"),
				s("create", "sa", "sa2", "-o", "name"),
				s("create", "role", "r1", "--verb=get,list", "--resource=pods,deployments.apps"),
				s("create", "rolebinding", "rb1", "--role=r1", "--user=alice", "--serviceaccount=$NS:sa1"),
				s("create", "clusterrole", "$NS-cr", "--verb=get", "--resource=nodes", "--dry-run=client", "-o", "yaml"),
				s("create", "clusterrolebinding", "$NS-crb", "--clusterrole=view", "--group=devs", "--dry-run=server"),
				s("create", "job", "j1", "--image=kstack.local/busybox:1.0", "--dry-run=client", "-o", "yaml", "--", "echo", "hi"),
				s("create", "cronjob", "cj1", "--image=kstack.local/busybox:1.0", "--schedule=*/5 * * * *", "--dry-run=client", "-o", "yaml"),
				s("create", "configmap"),
			},
			objects: []string{cms, deps, svcs, "secrets.v1.", "serviceaccounts.v1.", "roles.v1.rbac.authorization.k8s.io", "rolebindings.v1.rbac.authorization.k8s.io"},
		},
		{
			name:  "run-replace",
			files: map[string]string{"cm.yaml": cmWeb, "cm2.yaml": cmWebChanged},
			steps: []step{
				s("run", "r1", "--image=kstack.local/busybox:1.0", "--env=A=1", "--port=80", "--restart=Never", "--", "sleep", "60"),
				s("run", "r2", "--image=kstack.local/busybox:1.0", "--labels=app=x,tier=y", "--command", "--dry-run=client", "-o", "yaml", "--", "sh", "-c", "echo"),
				s("run", "r3", "--image=kstack.local/busybox:1.0", "--dry-run=server", "-o", "name"),
				s("run", "r4", "--image=kstack.local/busybox:1.0", "--restart=Sometimes"),
				s("run", "r5"),
				s("run", "r1", "--image=kstack.local/busybox:1.0"),
				s("replace", "-f", "cm.yaml"),
				s("create", "-f", "cm.yaml"),
				s("replace", "-f", "cm2.yaml"),
				s("replace", "-f", "cm.yaml", "--dry-run=server"),
				s("replace", "-f", "cm.yaml", "--force"),
				s("replace"),
			},
			objects: []string{cms, pods},
		},
	}
}
