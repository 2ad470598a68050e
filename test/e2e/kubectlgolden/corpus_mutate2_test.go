package kubectlgolden

import "regexp"

// Scenarios for set, expose, autoscale, the remaining create generators
// (secret tls|docker-registry, token), diff and edit.

const (
	deployTwo = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: two
  labels:
    app: two
spec:
  replicas: 1
  selector:
    matchLabels:
      app: two
  template:
    metadata:
      labels:
        app: two
    spec:
      initContainers:
      - name: init
        image: kstack.local/busybox:1.0
      containers:
      - name: main
        image: kstack.local/busybox:1.0
        ports:
        - containerPort: 8080
          protocol: TCP
        env:
        - name: A
          value: "1"
      - name: side
        image: kstack.local/busybox:1.0
`
	cmEnv = `apiVersion: v1
kind: ConfigMap
metadata:
  name: env-src
data:
  db-host: db.local
`
)

// A self-signed certificate with its key, and a key of another pair.
const (
	tlsCert = `-----BEGIN CERTIFICATE-----
MIIBfTCCASOgAwIBAgIUVS5D58HEtDD09Pbn0fwqc/YN4CowCgYIKoZIzj0EAwIw
EzERMA8GA1UEAwwIZ29sZGVuLWEwIBcNMjYxMTI4MDU1NTQ5WhgPMjEyNjExMDQw
NTU1NDlaMBMxETAPBgNVBAMMCGdvbGRlbi1hMFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAEj/qDPsA/3bu4VsGOruO5mCm5UifQ5OSzFlwMFfVPtcGd6ussSBfpDjLi
idXKAmwsK1me4LjkQLpeImp8LDJ8X6NTMFEwHQYDVR0OBBYEFAE07+tg7ht/anI6
WPouw2we+L+GMB8GA1UdIwQYMBaAFAE07+tg7ht/anI6WPouw2we+L+GMA8GA1Ud
EwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgQ599wIXBx9PkcFt0Nr6E/HKj
q98SIm31ZdpEEuzk2jICIQCkCFcy1Y9LZB1/Lld3wv7snNnHXH3QiXh7zkLK5GFi
iw==
-----END CERTIFICATE-----
`
	tlsKey = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg1h6ghFhE2s2XpYft
dofo+Y+oSZS4NKA6xB0baSsXCE6hRANCAASP+oM+wD/du7hWwY6u47mYKblSJ9Dk
5LMWXAwV9U+1wZ3q6yxIF+kOMuKJ1coCbCwrWZ7guORAul4ianwsMnxf
-----END PRIVATE KEY-----
`
	tlsOtherKey = `-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIO0vserf/l9/IIIga7hYwClH84U47LDFQWYGPlFEeVuvoAoGCCqGSM49
AwEHoUQDQgAEnfBWgQvLwGjyMVzsd1WEZdKn9knIJquUHE4QMydVHBIbmlsjZetR
9fSBi/Y/DCABOwNE0Wl4X0B/L/iVCFKR+g==
-----END EC PRIVATE KEY-----
`
)

// tokenRE masks issued tokens (JWTs) and their expiry.
var tokenRE = regexp.MustCompile(`()eyJ[A-Za-z0-9_.-]+`)

// diffMaskRE masks diff's temporary directories and file times.
var diffMaskRE = regexp.MustCompile(`(/tmp/(?:LIVE|MERGED)-)\d+|()\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ [+-]\d{4}`)

const secretS = `apiVersion: v1
kind: Secret
metadata:
  name: s
stringData:
  user: admin
  pass: one
`

const secretS2 = `apiVersion: v1
kind: Secret
metadata:
  name: s
stringData:
  user: admin
  pass: two
  extra: x
`

func d(args ...string) step { return step{args: args, maskLines: diffMaskRE} }

// editMaskRE masks the edit command's temporary file names (kept in the
// run's directory: TMPDIR=$DIR).
var editMaskRE = regexp.MustCompile(`()/[^"\s]*kubectl-edit-\d+`)

// Editors for the edit scenario: each shows the file it was given, then
// changes it.
const (
	editRed = `#!/bin/sh
cat "$1"
sed -i 's/color: blue/color: red/' "$1"
`
	editNegative = `#!/bin/sh
cat "$1"
sed -i 's/replicas: 2/replicas: -1/' "$1"
`
	editEmpty = `#!/bin/sh
: > "$1"
`
	editRename = `#!/bin/sh
sed -i 's/name: web-config/name: other/' "$1"
`
	editBroken = `#!/bin/sh
cat "$1"
sed -i 's/^data:$/data: [/' "$1"
`
)

func e(editor string, args ...string) step {
	return step{args: args, env: []string{"KUBE_EDITOR=$DIR/" + editor, "TMPDIR=$DIR"}, maskLines: editMaskRE}
}

func mutateScenarios2() []scenario {
	return []scenario{
		{
			name:  "set",
			files: map[string]string{"d.yaml": deployWeb, "two.yaml": deployTwo, "cm.yaml": cmEnv, "p.yaml": podP},
			steps: []step{
				s("create", "-f", "d.yaml"),
				s("create", "-f", "two.yaml"),
				s("create", "-f", "cm.yaml"),
				s("set", "image", "deployment/web", "main=kstack.local/busybox:2.0"),
				s("set", "image", "deployment/web", "main=kstack.local/busybox:2.0"),
				s("set", "image", "deployment/two", "*=kstack.local/busybox:3.0", "-o", "name"),
				s("set", "image", "deployment/two", "nope=x"),
				s("set", "image", "deployments", "--all", "main=kstack.local/busybox:4.0", "--dry-run=server"),
				s("set", "image", "deploy", "-l", "app=web", "main=kstack.local/busybox:5.0"),
				s("set", "image", "-f", "p.yaml", "main=kstack.local/busybox:9.9", "--local", "-o", "yaml"),
				s("set", "image", "deployment/web", "main=x", "--local"),
				s("set", "image", "deployment/web"),
				s("set", "image", "deployment/web", "*=a", "main=b"),
				s("set", "image", "cm/env-src", "main=b"),
				s("set", "env", "deployment/web", "B=2", "C=3"),
				s("set", "env", "deployment/web", "A-"),
				s("set", "env", "deployment/web", "--list"),
				s("set", "env", "deployment/two", "-c", "side", "X=y"),
				s("set", "env", "deployment/two", "-c", "nothing", "X=y"),
				s("set", "env", "deployment/two", "--from=configmap/env-src", "--prefix=CFG_"),
				s("set", "env", "deployment/two", "--list"),
				s("set", "env", "deployment/two", "A=9", "--overwrite=false"),
				s("set", "env", "deployment/web", "1BAD=x"),
				s("set", "env", "deployment/web", "D=4", "--dry-run=client", "-o", "jsonpath={.spec.template.spec.containers[0].env}"),
				s("set", "env", "--keys=x", "deployment/web"),
				s("set", "resources", "deployment/web", "--limits=cpu=200m,memory=512Mi"),
				s("set", "resources", "deployment/two", "-c", "main", "--requests=cpu=100m", "--limits=memory=64Mi"),
				s("set", "resources", "deployment/two", "-c", "zzz", "--requests=cpu=100m"),
				s("set", "resources", "deployment/web"),
				s("set", "resources", "deployment/web", "--limits=cpu"),
				s("set", "resources", "deployment/web", "--limits=cpu=200m"),
			},
			objects: []string{deps},
		},
		{
			name:  "expose-autoscale",
			files: map[string]string{"d.yaml": deployWeb, "two.yaml": deployTwo, "p.yaml": podP, "svc.yaml": svcAndCM},
			steps: []step{
				s("create", "-f", "d.yaml"),
				s("create", "-f", "two.yaml"),
				s("create", "-f", "p.yaml"),
				s("create", "-f", "svc.yaml"),
				s("expose", "deployment", "web"),
				s("expose", "deployment", "web", "--port=80", "--target-port=8080"),
				s("expose", "deployment", "two"),
				s("expose", "deployment", "two", "--name=two-np", "--type=NodePort", "--port=90", "--protocol=UDP", "-o", "name"),
				s("expose", "deploy/two", "--name=two-lb", "--type=LoadBalancer", "--load-balancer-ip=10.1.2.3", "--external-ip=1.2.3.4", "--dry-run=client", "-o", "yaml"),
				s("expose", "pod", "p", "--port=8000", "--name=pod-svc", "--labels=x=y", "--session-affinity=ClientIP"),
				{args: []string{"expose", "svc", "api", "--name=api2", "--dry-run=server", "-o", "yaml"}, maskLines: clusterIPRE},
				s("expose", "svc", "api", "--name=api3", "--cluster-ip=None", "--selector=app=other,tier=x"),
				s("expose", "cm", "api-config", "--port=80"),
				s("expose", "pod", "p", "--port=80", "--name=bad", "--session-affinity=Sticky"),
				s("expose", "deployment", "missing", "--port=80"),
				s("expose", "deployment", "web", "--port=80", "--name=web-ov", "--overrides", `{"spec":{"type":"NodePort"}}`),
				s("expose"),
				s("autoscale", "deployment", "web", "--max=5"),
				s("autoscale", "deployment", "web", "--max=5"),
				s("autoscale", "deployment", "two", "--min=2", "--max=4", "--cpu-percent=70", "--name=two-hpa"),
				s("autoscale", "deployment/two", "--max=3", "--cpu=60%", "--memory=200Mi", "--name=m", "--dry-run=client", "-o", "yaml"),
				s("autoscale", "deployment/two", "--max=3", "--cpu-percent=0", "--cpu=500m", "--name=m2", "--dry-run=server"),
				s("autoscale", "deployment/two", "--max=3", "--cpu=50%", "--name=m3"),
				s("autoscale", "deployment/two", "--min=5", "--max=3"),
				s("autoscale", "deployment/two"),
				s("autoscale", "cm/api-config", "--max=2"),
				s("autoscale", "deployment/two", "--max=0"),
			},
			objects: []string{svcs, "horizontalpodautoscalers.v2.autoscaling"},
		},
		{
			name:  "create-secrets-token",
			files: map[string]string{"tls.crt": tlsCert, "tls.key": tlsKey, "other.key": tlsOtherKey, "cfg.json": `{"auths":{}}`},
			steps: []step{
				s("create", "secret", "tls", "t1", "--cert=tls.crt", "--key=tls.key"),
				s("create", "secret", "tls", "t1", "--cert=tls.crt", "--key=tls.key"),
				s("create", "secret", "tls", "t2", "--cert=tls.crt", "--key=tls.key", "--dry-run=client", "-o", "yaml"),
				s("create", "secret", "tls", "t3", "--cert=tls.crt", "--key=other.key"),
				s("create", "secret", "tls", "t4", "--cert=tls.crt"),
				s("create", "secret", "tls", "t5", "--cert=missing.crt", "--key=tls.key"),
				s("create", "secret", "tls", "--cert=tls.crt", "--key=tls.key"),
				s("create", "secret", "docker-registry", "r1", "--docker-username=u", "--docker-password=p", "--docker-email=u@x.io"),
				s("create", "secret", "docker-registry", "r2", "--docker-username=u", "--docker-password=p", "--docker-server=reg.local:5000", "-o", "json", "--dry-run=client"),
				s("create", "secret", "docker-registry", "r3", "--docker-username=u"),
				s("create", "secret", "docker-registry", "r4", "--from-file=.dockerconfigjson=cfg.json", "-o", "name"),
				s("create", "serviceaccount", "robot"),
				{args: []string{"create", "token", "robot"}, maskLines: tokenRE},
				{args: []string{"create", "token", "robot", "--audience=a", "--audience=b", "--duration=1h", "-o", "jsonpath={.spec}"}},
				s("create", "token", "nobody"),
				s("create", "token", "robot", "--duration=1500ms"),
				s("create", "token", "robot", "--duration=-1s"),
				s("create", "token", "robot", "--audience="),
				s("create", "token", "robot", "--bound-object-name=x"),
				s("create", "token", "robot", "--bound-object-kind=Deployment", "--bound-object-name=x"),
				s("create", "token", "robot", "--bound-object-kind=Pod"),
				s("create", "token"),
			},
			objects: []string{"secrets.v1."},
		},
		{
			name: "diff",
			files: map[string]string{"cm.yaml": cmWeb, "cm2.yaml": cmWebChanged, "d.yaml": deployWeb, "d2.yaml": deployWebChanged,
				"list.yaml": list, "s.yaml": secretS, "s2.yaml": secretS2},
			steps: []step{
				s("create", "-f", "cm.yaml"),
				d("diff", "-f", "cm.yaml"),
				d("diff", "-f", "cm2.yaml"),
				d("diff", "-f", "list.yaml"),
				s("apply", "-f", "d.yaml"),
				d("diff", "-f", "d.yaml"),
				d("diff", "-f", "d2.yaml"),
				d("diff", "-f", "d2.yaml", "--server-side"),
				d("diff", "-f", "d2.yaml", "--server-side", "--force-conflicts"),
				d("diff", "-f", "cm.yaml", "--force-conflicts"),
				s("apply", "-f", "s.yaml"),
				d("diff", "-f", "s.yaml"),
				d("diff", "-f", "s2.yaml"),
				{args: []string{"diff", "-f", "cm2.yaml"}, env: []string{"KUBECTL_EXTERNAL_DIFF=diff -q"}, maskLines: diffMaskRE},
				{args: []string{"diff", "-f", "cm2.yaml"}, env: []string{"KUBECTL_EXTERNAL_DIFF=false"}, maskLines: diffMaskRE},
				d("diff", "-f", "missing.yaml"),
				d("diff"),
				d("diff", "-f", "cm.yaml", "extra"),
				d("diff", "--nope"),
			},
			objects: []string{cms, deps, "secrets.v1."},
		},
		{
			name: "edit",
			files: map[string]string{"cm.yaml": cmWeb, "d.yaml": deployWeb, "list.yaml": list,
				"red.sh": editRed, "negative.sh": editNegative, "empty.sh": editEmpty, "rename.sh": editRename, "broken.sh": editBroken},
			steps: []step{
				s("create", "-f", "cm.yaml"),
				s("create", "-f", "d.yaml"),
				s("create", "-f", "list.yaml"),
				e("red.sh", "edit", "cm", "web-config"),
				e("red.sh", "edit", "cm/web-config"),
				e("red.sh", "edit", "cm", "list-a", "list-b"),
				{args: []string{"edit", "configmap", "web-config"}, env: []string{"KUBE_EDITOR=sed -i 's/size: large/size: small/'", "TMPDIR=$DIR"}, maskLines: editMaskRE},
				{args: []string{"edit", "configmap", "web-config"}, env: []string{"EDITOR=sed -i s/red/green/", "TMPDIR=$DIR"}, maskLines: editMaskRE},
				e("red.sh", "edit", "cm", "web-config", "-o", "json"),
				e("negative.sh", "edit", "deployment", "web"),
				e("empty.sh", "edit", "cm", "web-config"),
				e("rename.sh", "edit", "cm", "web-config"),
				e("broken.sh", "edit", "cm", "list-a"),
				e("red.sh", "edit", "cm", "missing"),
				e("red.sh", "edit"),
				{args: []string{"edit", "cm", "web-config"}, env: []string{"KUBE_EDITOR=/nonexistent/editor", "TMPDIR=$DIR"}, maskLines: editMaskRE},
			},
			objects: []string{cms, deps},
		},
		{
			// run's flags short of a running pod (no kubelet here): the
			// attach path up to --pod-running-timeout, then --rm's cleanup.
			name: "run-flags",
			steps: []step{
				s("run", "e1", "--image=kstack.local/busybox:1.0", "--expose", "--port=80"),
				s("run", "e2", "--image=kstack.local/busybox:1.0", "--expose"),
				s("run", "e3", "--image=kstack.local/busybox:1.0", "--expose", "--port=8080", "--labels=app=e3", "--dry-run=client", "-o", "yaml"),
				s("run", "e4", "--image=kstack.local/busybox:1.0", "--overrides={\"spec\":{\"hostname\":\"h\"}}", "--dry-run=client", "-o", "yaml"),
				s("run", "e5", "--image=kstack.local/busybox:1.0", "--overrides={\"apiVersion\":\"v1\",\"metadata\":{\"labels\":{\"x\":\"y\"}}}", "-o", "name"),
				s("run", "e5b", "--image=kstack.local/busybox:1.0", "--override-type=json", "--overrides=[{\"op\":\"add\",\"path\":\"/spec/hostname\",\"value\":\"j\"}]", "--dry-run=client", "-o", "yaml"),
				s("run", "e6", "--image=kstack.local/busybox:1.0", "--rm"),
				s("run", "e7", "--image=kstack.local/busybox:1.0", "-t"),
				s("run", "e8", "--image=kstack.local/busybox:1.0", "-i", "--dry-run=client"),
				s("run", "e9", "--image=Bad:Image::"),
				s("run", "e10", "--image=kstack.local/busybox:1.0", "--env=1BAD=x"),
				s("run", "e11", "--image=kstack.local/busybox:1.0", "-i", "--restart=Never", "--pod-running-timeout=1s", "--rm"),
				s("run", "e12", "--image=kstack.local/busybox:1.0", "--pod-running-timeout=0s"),
				s("run", "e13", "--image=kstack.local/busybox:1.0", "-i", "--attach=false", "--leave-stdin-open", "--dry-run=client", "-o", "yaml"),
				s("run", "e14", "--image=kstack.local/busybox:1.0", "--save-config", "--restart=OnFailure", "-o", "name"),
				s("run", "e15", "--image=kstack.local/busybox:1.0", "--annotations=bad", "--annotations==x"),
				s("run", "e16", "--image=kstack.local/busybox:1.0", "--attach", "--pod-running-timeout=1s", "--quiet", "--rm"),
				s("run", "--", "e17", "--image=kstack.local/busybox:1.0"),
			},
			objects: []string{pods, svcs},
		},
		{
			// apply --force replaces an object the patch cannot change.
			name:  "apply-force",
			files: map[string]string{"imm1.yaml": immutableCM("1"), "imm2.yaml": immutableCM("2")},
			steps: []step{
				s("apply", "-f", "imm1.yaml"),
				s("apply", "-f", "imm2.yaml"),
				s("apply", "-f", "imm2.yaml", "--force"),
				s("apply", "-f", "imm2.yaml", "--force"),
				s("apply", "-f", "imm1.yaml", "--force", "-o", "name"),
				s("apply", "-f", "imm2.yaml", "--force", "--dry-run=server"),
				s("apply", "-f", "imm2.yaml", "--force", "--prune", "-l", "x=y"),
				s("apply", "-f", "imm2.yaml", "--force", "--server-side"),
			},
			objects: []string{cms},
		},
	}
}

// immutableCM is an immutable ConfigMap whose one value is v.
func immutableCM(v string) string {
	return `apiVersion: v1
kind: ConfigMap
metadata:
  name: imm
immutable: true
data:
  a: "` + v + `"
`
}

// clusterIPRE masks allocated cluster IPs.
var clusterIPRE = regexp.MustCompile(`()10\.96\.\d+\.\d+`)
