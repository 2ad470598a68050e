package volume

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestWriteAtomic_SwapsDataAndRemovesStaleNames(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vol")
	changed, err := writeAtomic(dir, map[string]File{"a": {Data: []byte("1"), Mode: 0o644}, "sub/b": {Data: []byte("2"), Mode: 0o400}}, -1)
	if err != nil || !changed {
		t.Fatalf("first write: changed=%v err=%v", changed, err)
	}
	first, _ := os.Readlink(filepath.Join(dir, "..data"))
	if b, _ := os.ReadFile(filepath.Join(dir, "sub", "b")); string(b) != "2" {
		t.Errorf("sub/b = %q", b)
	}
	if info, _ := os.Stat(filepath.Join(dir, "sub", "b")); info.Mode().Perm() != 0o400 {
		t.Errorf("sub/b mode = %v", info.Mode())
	}
	changed, err = writeAtomic(dir, map[string]File{"a": {Data: []byte("1"), Mode: 0o644}, "sub/b": {Data: []byte("2"), Mode: 0o400}}, -1)
	if err != nil || changed {
		t.Fatalf("same content rewritten: changed=%v err=%v", changed, err)
	}
	changed, err = writeAtomic(dir, map[string]File{"a": {Data: []byte("new"), Mode: 0o644}}, -1)
	if err != nil || !changed {
		t.Fatalf("update: changed=%v err=%v", changed, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a")); string(b) != "new" {
		t.Errorf("a = %q after update", b)
	}
	if _, err := os.Lstat(filepath.Join(dir, "sub")); !os.IsNotExist(err) {
		t.Errorf("stale name sub not removed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, first)); !os.IsNotExist(err) {
		t.Errorf("old data dir %s not removed: %v", first, err)
	}
	if _, err := writeAtomic(dir, map[string]File{"../x": {Data: nil, Mode: 0o644}}, -1); err == nil {
		t.Error("a path with .. was accepted")
	}
}

func TestContainerMounts_SubPathMayNotEscape(t *testing.T) {
	vol := t.TempDir()
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(vol, "link")); err != nil {
		t.Fatal(err)
	}
	pod := &v1.Pod{}
	c := &v1.Container{VolumeMounts: []v1.VolumeMount{{Name: "v", MountPath: "/m", SubPath: "link"}}}
	if _, err := ContainerMounts(pod, c, map[string]string{"v": vol}, nil); err == nil || !strings.Contains(err.Error(), "outside") {
		t.Errorf("symlink escape: err = %v", err)
	}
	c.VolumeMounts[0].SubPath = "../x"
	if _, err := ContainerMounts(pod, c, map[string]string{"v": vol}, nil); err == nil {
		t.Error("subPath with .. accepted")
	}
	c.VolumeMounts[0] = v1.VolumeMount{Name: "v", MountPath: "/m", SubPathExpr: "$(POD)/d", ReadOnly: true}
	ms, err := ContainerMounts(pod, c, map[string]string{"v": vol}, map[string]string{"POD": "p1"})
	if err != nil {
		t.Fatal(err)
	}
	if ms[0].Source != filepath.Join(vol, "p1", "d") || ms[0].Options[1] != "ro" {
		t.Errorf("mount = %+v", ms[0])
	}
}

func TestNeedsRefresh_At80PercentOfLifetime(t *testing.T) {
	issued := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tr := &authenticationv1.TokenRequest{
		ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(issued)},
		Status:     authenticationv1.TokenRequestStatus{ExpirationTimestamp: metav1.NewTime(issued.Add(100 * time.Minute))},
	}
	if needsRefresh(tr, issued.Add(79*time.Minute)) {
		t.Error("refresh before 80%")
	}
	if !needsRefresh(tr, issued.Add(81*time.Minute)) {
		t.Error("no refresh after 80%")
	}
}

func TestFormatMap(t *testing.T) {
	got := formatMap(map[string]string{"b": `x"y`, "a": "1"})
	if want := "a=\"1\"\nb=\"x\\\"y\""; got != want {
		t.Errorf("formatMap = %q, want %q", got, want)
	}
}
