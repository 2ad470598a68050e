package kubectlgolden

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestKubectl_SetExposeEditDiffTokenAct checks what our kubectl's set,
// expose, edit, diff and create token do to the cluster, without an
// upstream kubectl to compare with.
func TestKubectl_SetExposeEditDiffTokenAct(t *testing.T) {
	e, srv := startEnv(t)
	ctx := context.Background()
	if _, err := srv.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "golden"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(e.dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func(c goldenCase, wantCode int) result {
		t.Helper()
		r := e.run(t, ourKubectl, home, c)
		if r.code != wantCode {
			t.Fatalf("kubectl %v: exit %d, want %d\nstdout: %s\nstderr: %s", c.args, r.code, wantCode, r.stdout, r.stderr)
		}
		return r
	}
	write("d.yaml", deployWeb, 0o644)
	write("cm.yaml", cmWeb, 0o644)
	write("cm2.yaml", cmWebChanged, 0o644)
	run(goldenCase{args: []string{"create", "-f", "d.yaml", "-f", "cm.yaml"}}, 0)

	run(goldenCase{args: []string{"set", "image", "deploy/web", "main=kstack.local/busybox:7.0"}}, 0)
	run(goldenCase{args: []string{"set", "env", "deploy/web", "Z=26"}}, 0)
	d, err := srv.Client.AppsV1().Deployments("golden").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if c.Image != "kstack.local/busybox:7.0" {
		t.Errorf("image after set image = %q", c.Image)
	}
	if last := c.Env[len(c.Env)-1]; last.Name != "Z" || last.Value != "26" {
		t.Errorf("env after set env = %v", c.Env)
	}

	run(goldenCase{args: []string{"expose", "deploy/web", "--port=80", "--target-port=8080"}}, 0)
	svc, err := srv.Client.CoreV1().Services("golden").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p := svc.Spec.Ports[0]; p.Port != 80 || p.TargetPort.IntValue() != 8080 || svc.Spec.Selector["app"] != "web" {
		t.Errorf("exposed service = %+v, selector %v", p, svc.Spec.Selector)
	}

	// diff: 0 when the file matches, 1 and a unified diff when not.
	run(goldenCase{args: []string{"diff", "-f", "cm.yaml"}}, 0)
	r := run(goldenCase{args: []string{"diff", "-f", "cm2.yaml"}}, 1)
	if !strings.Contains(r.stdout, "-  color: blue\n") || !strings.Contains(r.stdout, "+  color: green\n") {
		t.Errorf("diff output lacks the change:\n%s", r.stdout)
	}
	run(goldenCase{args: []string{"diff"}}, 2)

	editor := write("edit.sh", "#!/bin/sh\nsed -i 's/color: blue/color: red/' \"$1\"\n", 0o755)
	r = run(goldenCase{args: []string{"edit", "cm", "web-config"}, env: []string{"KUBE_EDITOR=" + editor}}, 0)
	if r.stdout != "configmap/web-config edited\n" {
		t.Errorf("edit printed %q", r.stdout)
	}
	cm, err := srv.Client.CoreV1().ConfigMaps("golden").Get(ctx, "web-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.Data["color"] != "red" {
		t.Errorf("color after edit = %q", cm.Data["color"])
	}

	run(goldenCase{args: []string{"create", "serviceaccount", "robot"}}, 0)
	r = run(goldenCase{args: []string{"create", "token", "robot", "--audience=aud1"}}, 0)
	if parts := strings.Split(r.stdout, "."); len(parts) != 3 || !strings.HasPrefix(r.stdout, "eyJ") {
		t.Errorf("create token printed %q, want a JWT", r.stdout)
	}
}
