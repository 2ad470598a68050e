// Package e2eutil holds the small helpers every e2e harness needs: finding
// the repository, picking a free port, reading the end of a log.
package e2eutil

import (
	"fmt"
	"github.com/kstack/kstack/test/integration/framework"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// RepoRoot walks up from the test's working directory to the main module's
// go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(data), "module github.com/kstack/kstack\n") {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("cannot find the kstack go.mod above the working directory")
		}
		dir = parent
	}
}

// EnvOr is $key, or def when it is empty.
func EnvOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// FreePort returns a loopback TCP port nobody listens on right now, below
// the kernel's ephemeral range (see framework.FreePort).
func FreePort(t testing.TB) int {
	t.Helper()
	return framework.FreePort(t)
}

// Tail returns the last n lines of the file at path.
func Tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
