package runtime

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A container's start time is kept by the kubelet, not in containerd: a
// label update after the start would be one more containerd metadata
// commit (and two requests) per container start. As containerd's CRI
// plugin keeps a container's status in its own state directory, the
// runtime writes the start time to a small file under its state directory
// (which survives a kubelet restart) and keeps it in memory. Containers
// started by an older kubelet still carry the LabelStartedAt label.

// startedDir holds one file per started container, named by its ID.
func (r *Runtime) startedDir() string { return filepath.Join(r.fifoRoot, ".started") }

// recordStarted records container id's start time.
func (r *Runtime) recordStarted(id string, t time.Time) error {
	r.mu.Lock()
	r.started[id] = t
	r.mu.Unlock()
	return os.WriteFile(filepath.Join(r.startedDir(), id), []byte(t.UTC().Format(time.RFC3339Nano)), 0o600)
}

// startedAt is container id's recorded start time (zero when unknown).
func (r *Runtime) startedAt(id string) time.Time {
	r.mu.Lock()
	t, ok := r.started[id]
	r.mu.Unlock()
	if ok {
		return t
	}
	b, err := os.ReadFile(filepath.Join(r.startedDir(), id))
	if err != nil {
		return time.Time{}
	}
	t, err = time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b)))
	if err != nil {
		return time.Time{}
	}
	r.mu.Lock()
	r.started[id] = t
	r.mu.Unlock()
	return t
}

// forgetStarted drops container id's start time.
func (r *Runtime) forgetStarted(id string) {
	r.mu.Lock()
	delete(r.started, id)
	r.mu.Unlock()
	_ = os.Remove(filepath.Join(r.startedDir(), id))
}

// pruneStarted drops the start times of containers not in present (the
// namespace's whole container list, asked for at listed): containers
// removed while the kubelet was down. Records written since listed are of
// containers started since, and stay.
func (r *Runtime) pruneStarted(present map[string]bool, listed time.Time) {
	ents, err := os.ReadDir(r.startedDir())
	if err != nil {
		return
	}
	for _, e := range ents {
		if present[e.Name()] {
			continue
		}
		if fi, err := e.Info(); err != nil || !fi.ModTime().Before(listed) {
			continue
		}
		r.forgetStarted(e.Name())
	}
}
