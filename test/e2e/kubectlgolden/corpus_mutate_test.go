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
	}
}
