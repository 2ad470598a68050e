package runtime

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/pkg/cio"
)

// maxLogLine is the longest line written as one CRI log entry; longer
// lines are split into partial ("P") entries.
const maxLogLine = 16 * 1024

// rotatedSuffixFormat names a rotated log file: <path>.<UTC time>.
const rotatedSuffixFormat = "20060102-150405.000000000"

// logState is the runtime's bookkeeping of container logs.
type logState struct {
	maxSize  int64 // rotate the current file once it reaches this; 0: never
	maxFiles int   // the current file plus rotated ones kept
	writers  map[string]*criLog
}

// SetLogRotation makes container logs rotate once a file reaches maxSize
// bytes, keeping maxFiles files per container (the current one included),
// as upstream's --container-log-max-size and --container-log-max-files.
// It applies to containers attached afterwards.
func (r *Runtime) SetLogRotation(maxSize int64, maxFiles int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs.maxSize, r.logs.maxFiles = maxSize, maxFiles
}

// attachLog opens the container's FIFOs and copies both streams into the
// CRI-format log file at logPath (appending, so a reattach continues it).
func (r *Runtime) attachLog(id string, fifos *cio.FIFOSet, logPath string) (cio.IO, error) {
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, fmt.Errorf("log dir: %w", err)
	}
	r.mu.Lock()
	maxSize, maxFiles := r.logs.maxSize, r.logs.maxFiles
	r.mu.Unlock()
	w, err := openCRILog(logPath, maxSize, maxFiles)
	if err != nil {
		return nil, err
	}
	dio, err := cio.NewDirectIO(context.Background(), fifos)
	if err != nil {
		w.close()
		return nil, fmt.Errorf("open FIFOs of %s: %w", id, err)
	}
	var wg sync.WaitGroup
	for stream, rd := range map[string]io.Reader{"stdout": dio.Stdout, "stderr": dio.Stderr} {
		if rd == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.copyStream(rd, stream)
		}()
	}
	r.mu.Lock()
	r.ios[id] = dio
	if r.logs.writers == nil {
		r.logs.writers = map[string]*criLog{}
	}
	r.logs.writers[id] = w
	r.mu.Unlock()
	go func() {
		wg.Wait()
		w.close()
		r.mu.Lock()
		if r.logs.writers[id] == w {
			delete(r.logs.writers, id)
		}
		r.mu.Unlock()
	}()
	return dio, nil
}

// criLog writes CRI log lines: "<RFC3339Nano> <stream> <F|P> <text>\n",
// rotating the file at path when it reaches maxSize, and copies the
// output to attached listeners (kubectl attach).
type criLog struct {
	mu       sync.Mutex
	path     string
	f        *os.File
	w        io.Writer // f, or a test's buffer
	size     int64
	maxSize  int64
	maxFiles int
	now      func() time.Time
	closed   bool

	listeners map[*OutputListener]struct{}
}

// OutputListener receives a container's output as it is written
// (attach); Stdout and Stderr must not block for long.
type OutputListener struct {
	Stdout, Stderr io.Writer
	// Done is closed when the container's output ends.
	Done chan struct{}
}

func openCRILog(path string, maxSize int64, maxFiles int) (*criLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat log: %w", err)
	}
	return &criLog{path: path, f: f, w: f, size: st.Size(), maxSize: maxSize, maxFiles: maxFiles, now: time.Now}, nil
}

// copyStream copies rd line by line until it ends.
func (l *criLog) copyStream(rd io.Reader, stream string) {
	br := bufio.NewReaderSize(rd, maxLogLine)
	for {
		line, isPrefix, err := br.ReadLine()
		if err != nil {
			return
		}
		tag := "F"
		if isPrefix {
			tag = "P"
		}
		l.writeLine(stream, tag, line)
	}
}

func (l *criLog) writeLine(stream, tag string, line []byte) {
	buf := make([]byte, 0, len(line)+64)
	buf = l.now().UTC().AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, ' ')
	buf = append(buf, stream...)
	buf = append(buf, ' ')
	buf = append(buf, tag...)
	buf = append(buf, ' ')
	buf = append(buf, line...)
	buf = append(buf, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	// Rotate before a line that would pass the max size, so the current
	// file is never left empty after a write.
	if l.maxSize > 0 && l.size > 0 && l.size+int64(len(buf)) > l.maxSize && l.f != nil {
		if err := l.rotate(); err != nil {
			// Keep appending to the current file rather than lose output.
			l.maxSize = 0
		}
	}
	n, _ := l.w.Write(buf)
	l.size += int64(n)
	for li := range l.listeners {
		out := li.Stdout
		if stream == "stderr" {
			out = li.Stderr
		}
		if out != nil {
			_, _ = out.Write(line)
			if tag == "F" {
				_, _ = out.Write([]byte{'\n'})
			}
		}
	}
}

// rotate renames the current file to <path>.<time>, removes the oldest
// rotated files beyond maxFiles and starts a new file; l.mu is held.
func (l *criLog) rotate() error {
	if err := l.f.Sync(); err != nil {
		return err
	}
	rotated := l.path + "." + l.now().UTC().Format(rotatedSuffixFormat)
	if err := os.Rename(l.path, rotated); err != nil {
		return err
	}
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		// Put the file back so the writer keeps one.
		_ = os.Rename(rotated, l.path)
		return err
	}
	_ = l.f.Close()
	l.f, l.w, l.size = f, f, 0
	RemoveOldRotatedLogs(l.path, l.maxFiles)
	return nil
}

// RotatedLogs lists the rotated files of the log at path, oldest first.
func RotatedLogs(path string) []string {
	matches, _ := filepath.Glob(globEscape(path) + ".*")
	var out []string
	for _, m := range matches {
		suffix := strings.TrimPrefix(m, path+".")
		if _, err := time.Parse(rotatedSuffixFormat, suffix); err == nil {
			out = append(out, m)
		}
	}
	sort.Strings(out) // the suffix sorts by time
	return out
}

// RemoveOldRotatedLogs deletes the oldest rotated files of path so that
// at most maxFiles files remain counting the current one.
func RemoveOldRotatedLogs(path string, maxFiles int) {
	if maxFiles < 1 {
		maxFiles = 1
	}
	rotated := RotatedLogs(path)
	for len(rotated)+1 > maxFiles {
		_ = os.Remove(rotated[0])
		rotated = rotated[1:]
	}
}

// RemoveLogs deletes the log at path and its rotated files.
func RemoveLogs(path string) {
	if path == "" {
		return
	}
	for _, p := range RotatedLogs(path) {
		_ = os.Remove(p)
	}
	_ = os.Remove(path)
}

func globEscape(p string) string {
	r := strings.NewReplacer(`*`, `\*`, `?`, `\?`, `[`, `\[`, `\`, `\\`)
	return r.Replace(p)
}

func (l *criLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	if l.f != nil {
		_ = l.f.Close()
	}
	for li := range l.listeners {
		close(li.Done)
	}
	l.listeners = nil
}

// AttachOutput registers li for the running container id's output; the
// returned function unregisters it. It fails when the container's output
// is not attached (not running, or started without a log).
func (r *Runtime) AttachOutput(id string, li *OutputListener) (func(), error) {
	r.mu.Lock()
	w := r.logs.writers[id]
	r.mu.Unlock()
	if w == nil {
		return nil, fmt.Errorf("container %s has no attached output", id)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, fmt.Errorf("container %s has exited", id)
	}
	if w.listeners == nil {
		w.listeners = map[*OutputListener]struct{}{}
	}
	if li.Done == nil {
		li.Done = make(chan struct{})
	}
	w.listeners[li] = struct{}{}
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(w.listeners, li)
	}, nil
}
