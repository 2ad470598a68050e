package cgroupstat

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReaders(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	current := write("memory.current", "1048576\n")
	max := write("memory.max", "max\n")
	stat := write("memory.stat", "anon 4096\nfile 8192\ninactive_file 2048\nactive_file 6144\n")

	if n, ok := ReadUint(current); !ok || n != 1048576 {
		t.Errorf("ReadUint(memory.current) = %d, %v; want 1048576, true", n, ok)
	}
	if _, ok := ReadUint(max); ok {
		t.Errorf("ReadUint(memory.max) with %q: ok, want false", "max")
	}
	if _, ok := ReadUint(filepath.Join(dir, "missing")); ok {
		t.Errorf("ReadUint(missing file): ok, want false")
	}
	if n, ok := KeyedUint(stat, "inactive_file"); !ok || n != 2048 {
		t.Errorf("KeyedUint(inactive_file) = %d, %v; want 2048, true", n, ok)
	}
	// A key that is the prefix of another's does not match it.
	if _, ok := KeyedUint(stat, "inactive"); ok {
		t.Errorf("KeyedUint(inactive): ok, want false")
	}
	if _, ok := KeyedUint(filepath.Join(dir, "missing"), "anon"); ok {
		t.Errorf("KeyedUint(missing file): ok, want false")
	}
}
