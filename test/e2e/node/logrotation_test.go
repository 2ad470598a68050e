//go:build e2e

package node

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var (
	// rotatedLogName is upstream's name of a rotated container log.
	rotatedLogName = regexp.MustCompile(`^0\.log\.\d{8}-\d{6}(\.gz)?$`)
	// criLogLine is one CRI log entry of the burst the test's container writes.
	criLogLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z stdout F line \d+-\d+ 0+$`)
)

// The kubelet rotates a container's log once it passes
// --container-log-max-size, gzips every rotated file but the newest, keeps
// --container-log-max-files files in all, and kubectl logs (current and
// --previous) still read the current files.
func TestLogs_RotationCompressesOlderFilesAndKeepsMaxFiles(t *testing.T) {
	n := startNode(t)
	n.stopKubelet()
	n.cfg.ContainerLogMaxSize = 4096
	n.cfg.ContainerLogMaxFiles = 3
	n.startKubelet()

	// The first run writes ~6 KiB a second for 6 seconds (a rotation a
	// second at most, as upstream's names have a resolution of a second),
	// then exits; the restart writes one line and waits.
	script := `
if [ -e /data/ran ]; then echo second-run; exec sleep 3600; fi
touch /data/ran
pad=$(printf '%0140d' 0)
for s in 1 2 3 4 5 6; do
  i=0
  while [ $i -lt 40 ]; do echo "line $s-$i $pad"; i=$((i+1)); done
  sleep 1
done
echo burst-done
`
	pod := n.createPod(&v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "chatty"},
		Spec: v1.PodSpec{
			Containers: []v1.Container{{
				Name: "c", Image: busyboxImage, Command: []string{"sh", "-c", script},
				VolumeMounts: []v1.VolumeMount{{Name: "data", MountPath: "/data"}},
			}},
			Volumes: []v1.Volume{{Name: "data", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}}},
		},
	})
	n.waitPod("chatty", 90*time.Second, "restarted and running", func(p *v1.Pod) bool {
		cs := containerStatus(p, "c")
		return cs != nil && cs.RestartCount >= 1 && cs.State.Running != nil
	})

	dir := filepath.Join(n.cfg.PodLogsDir, fmt.Sprintf("%s_%s_%s", testNamespace, pod.Name, pod.UID), "c")
	var rotated []string
	n.eventually(30*time.Second, "the first run's log rotated into a .gz and a plain file", func() (bool, string) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return false, err.Error()
		}
		rotated = rotated[:0]
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
			if strings.HasPrefix(e.Name(), "0.log.") {
				rotated = append(rotated, e.Name())
			}
		}
		// Compression runs in the background: wait for its final shape.
		ok := len(rotated) == 2 && strings.HasSuffix(rotated[0], ".gz") && !strings.HasSuffix(rotated[1], ".gz")
		return ok, fmt.Sprintf("files: %v", names)
	})
	for _, name := range rotated {
		if !rotatedLogName.MatchString(name) {
			t.Errorf("rotated file %s is not named <log>.YYYYMMDD-hhmmss[.gz]", name)
		}
	}

	gz, err := os.ReadFile(filepath.Join(dir, rotated[0]))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatalf("%s is not gzip: %v", rotated[0], err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("decompress %s: %v", rotated[0], err)
	}
	lines := strings.Split(strings.TrimSuffix(string(plain), "\n"), "\n")
	if len(lines) < 10 {
		t.Errorf("%s holds %d lines, want a rotated file's worth", rotated[0], len(lines))
	}
	for _, l := range lines {
		if !criLogLine.MatchString(l) {
			t.Fatalf("%s: not a CRI log line of the burst: %q", rotated[0], l)
		}
	}
	// Older files were removed: the oldest kept is not the first second's.
	if strings.HasPrefix(lines[0], "line 1-0 ") {
		t.Errorf("the first rotated file was kept beyond --container-log-max-files=3")
	}

	ctx := context.Background()
	previous, err := n.admin.CoreV1().Pods(testNamespace).GetLogs("chatty", &v1.PodLogOptions{Container: "c", Previous: true}).DoRaw(ctx)
	if err != nil {
		t.Fatalf("logs --previous: %v", err)
	}
	// The previous run's current file: the end of the burst, or only its
	// last line when a rotation came right before it (a file holds at most
	// --container-log-max-size).
	prevLines := strings.Split(strings.TrimSuffix(string(previous), "\n"), "\n")
	if prevLines[len(prevLines)-1] != "burst-done" || len(previous) > 4096 {
		t.Errorf("logs --previous = %q, want the end of the previous run's output (burst-done last, at most 4096 bytes)", previous)
	}
	for _, l := range prevLines[:len(prevLines)-1] {
		if !strings.HasPrefix(l, "line ") || !strings.HasSuffix(l, " "+strings.Repeat("0", 140)) {
			t.Errorf("logs --previous has %q, not a line of the burst", l)
		}
	}
	current, err := n.admin.CoreV1().Pods(testNamespace).GetLogs("chatty", &v1.PodLogOptions{Container: "c"}).DoRaw(ctx)
	if err != nil {
		t.Fatalf("logs: %v", err)
	}
	if string(current) != "second-run\n" {
		t.Errorf("logs = %q, want the restarted container's line", current)
	}
}
