package kubectlgolden

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// rawConfigMap is the object the --raw writes of the corpus send.
const rawConfigMap = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"raw-cm"},"data":{"k":"v1"}}`

// managedFieldsJSON is the managedFields of an object in compact JSON.
var managedFieldsJSON = regexp.MustCompile(`("managedFields":)\[[^\n]*\]`)

// rawConfigMapV2 replaces it.
const rawConfigMapV2 = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"raw-cm"},"data":{"k":"v2"}}`

func rawCorpus() []troubleCase {
	c := func(args ...string) troubleCase { return troubleCase{goldenCase: goldenCase{args: args}} }
	const cms = "/api/v1/namespaces/golden/configmaps"
	ensureCM := func(present bool) func(t *testing.T, cs kubernetes.Interface) {
		return func(t *testing.T, cs kubernetes.Interface) {
			t.Helper()
			ctx := context.Background()
			err := cs.CoreV1().ConfigMaps("golden").Delete(ctx, "raw-cm", metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				t.Fatalf("delete raw-cm: %v", err)
			}
			if !present {
				return
			}
			var cm corev1.ConfigMap
			if err := json.Unmarshal([]byte(rawConfigMap), &cm); err != nil {
				t.Fatal(err)
			}
			if _, err := cs.CoreV1().ConfigMaps("golden").Create(ctx, &cm, metav1.CreateOptions{}); err != nil {
				t.Fatalf("create raw-cm: %v", err)
			}
		}
	}
	cmState := func(t *testing.T, cs kubernetes.Interface) string {
		t.Helper()
		cm, err := cs.CoreV1().ConfigMaps("golden").Get(context.Background(), "raw-cm", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return "raw-cm: absent"
		}
		if err != nil {
			t.Fatalf("get raw-cm: %v", err)
		}
		return "raw-cm: " + cm.Data["k"]
	}
	write := func(present bool, args ...string) troubleCase {
		return troubleCase{goldenCase: goldenCase{args: args}, reset: ensureCM(present), state: cmState}
	}
	return []troubleCase{
		// get --raw: the body as the server sends it, objects, lists with
		// a query, non-resource paths.
		c("get", "--raw", "/api/v1/namespaces/default"),
		c("get", "--raw", cms+"/cm-a"),
		c("get", "--raw", cms+"?fieldSelector=metadata.name%3Dcm-b"),
		c("get", "--raw", "/healthz"),
		c("get", "--raw", "/livez/ping"),
		c("get", "--raw", "/api"),
		c("get", "--raw", "/apis/apps/v1"),
		c("get", "--raw", "/version"),
		c("get", "--raw", "/healthz", "-n", "other"),
		// get --raw: errors from the server.
		c("get", "--raw", "/api/v1/namespaces/nope"),
		c("get", "--raw", cms+"/nope"),
		c("get", "--raw", "/api/v9"),
		// get --raw: what it cannot be combined with.
		c("get", "--raw", "/healthz", "pods"),
		c("get", "--raw", "/healthz", "-w"),
		c("get", "--raw", "/healthz", "--watch-only"),
		c("get", "--raw", "/healthz", "-l", "app=web"),
		c("get", "--raw", "/healthz", "-o", "json"),
		c("get", "--raw", "healthz"),
		c("get", "--raw", "/healthz", "--show-labels", "-o", "wide"),
		c("get", "--help"),
		// create, replace and delete --raw: POST, PUT and DELETE a file's
		// content (or stdin) to the path.
		write(false, "create", "--raw", cms, "-f", "raw-cm.json"),
		{goldenCase: goldenCase{args: []string{"create", "--raw", cms, "-f", "-"}, stdin: rawConfigMap}, reset: ensureCM(false), state: cmState},
		write(true, "create", "--raw", cms, "-f", "raw-cm.json"),
		write(false, "create", "--raw", cms),
		write(false, "create", "--raw", cms, "-f", "raw-cm.json", "-f", "raw-cm-v2.json"),
		write(false, "create", "--raw", cms, "-f", "https://example.com/cm.json"),
		write(false, "create", "--raw", cms, "-f", "raw-cm.json", "-o", "json"),
		write(false, "create", "--raw", cms, "-f", "raw-cm.json", "-l", "a=b"),
		write(false, "create", "--raw", cms, "-f", "raw-cm.json", "-R"),
		write(false, "create", "--raw", cms, "-f", "raw-cm.json", "--edit"),
		write(false, "create", "--raw", "api/v1", "-f", "raw-cm.json"),
		write(false, "create", "--raw", cms, "-f", "missing.json"),
		// The server orders managedFields by time: the fixture's entry and
		// the replace's share a second in one run but not in the other.
		{goldenCase: goldenCase{args: []string{"replace", "--raw", cms + "/raw-cm", "-f", "raw-cm-v2.json"}, maskLines: managedFieldsJSON},
			reset: ensureCM(true), state: cmState},
		write(false, "replace", "--raw", cms+"/raw-cm", "-f", "raw-cm-v2.json"),
		write(true, "replace", "--raw", cms+"/raw-cm"),
		write(true, "replace", "--raw", cms+"/raw-cm", "-f", "raw-cm-v2.json", "-o", "name"),
		write(true, "replace", "--raw", cms+"/raw-cm", "-f", "http://example.com/x", "-f", "raw-cm-v2.json"),
		write(true, "delete", "--raw", cms+"/raw-cm"),
		write(false, "delete", "--raw", cms+"/raw-cm"),
		write(true, "delete", "--raw", cms+"/raw-cm", "-f", "delete-options.json"),
		write(true, "delete", "--raw", cms+"/raw-cm", "-i"),
		write(true, "delete", "--raw", cms+"/raw-cm", "-o", "name"),
		write(true, "delete", "--raw", cms+"/raw-cm", "-f", "https://example.com/x"),
	}
}

// TestGolden_RawURIs compares get, create, replace and delete --raw.
func TestGolden_RawURIs(t *testing.T) {
	upstream := upstreamKubectl(t)
	e, s := startEnv(t)
	createFixtures(t, s.Client)
	for name, data := range map[string]string{
		"raw-cm.json":         rawConfigMap,
		"raw-cm-v2.json":      rawConfigMapV2,
		"delete-options.json": `{"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"uid":"not-the-uid"}}`,
	} {
		if err := os.WriteFile(filepath.Join(e.dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runStatefulCorpus(t, e, s.Client, upstream, rawCorpus(), flatCaseName)
}
