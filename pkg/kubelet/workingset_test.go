package kubelet

import (
	"os"
	"path/filepath"
	"testing"
)

// workingSet reads the first cgroup layout present: v1's memory controller,
// then v2 mounted at the root, then v2 under unified (hybrid).
func TestWorkingSet(t *testing.T) {
	write := func(t *testing.T, path, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rel := "/kstack/c1"
	t.Run("v1", func(t *testing.T) {
		root := t.TempDir()
		write(t, filepath.Join(root, "memory", rel, "memory.usage_in_bytes"), "10000\n")
		// v1's memory.stat has both; the hierarchical total counts.
		write(t, filepath.Join(root, "memory", rel, "memory.stat"), "inactive_file 100\ntotal_inactive_file 3000\n")
		if got := workingSet(root, rel); got != 7000 {
			t.Errorf("workingSet = %d, want 7000", got)
		}
	})
	t.Run("v2 unified", func(t *testing.T) {
		root := t.TempDir()
		write(t, filepath.Join(root, "unified", rel, "memory.current"), "5000\n")
		write(t, filepath.Join(root, "unified", rel, "memory.stat"), "anon 1000\ninactive_file 1500\n")
		if got := workingSet(root, rel); got != 3500 {
			t.Errorf("workingSet = %d, want 3500", got)
		}
	})
	t.Run("inactive above usage", func(t *testing.T) {
		root := t.TempDir()
		write(t, filepath.Join(root, rel, "memory.current"), "100\n")
		write(t, filepath.Join(root, rel, "memory.stat"), "inactive_file 400\n")
		if got := workingSet(root, rel); got != 0 {
			t.Errorf("workingSet = %d, want 0", got)
		}
	})
	t.Run("no stat file", func(t *testing.T) {
		root := t.TempDir()
		write(t, filepath.Join(root, rel, "memory.current"), "2048\n")
		if got := workingSet(root, rel); got != 2048 {
			t.Errorf("workingSet = %d, want 2048", got)
		}
	})
	t.Run("no cgroup", func(t *testing.T) {
		if got := workingSet(t.TempDir(), rel); got != 0 {
			t.Errorf("workingSet = %d, want 0", got)
		}
	})
}
