package runtime

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
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

// Rotated logs are named as upstream's container log manager names them:
// <path>.<local time in rotatedTimeFormat>, gzip-compressed to <name>.gz
// (through <name>.tmp) once a newer rotation exists.
const (
	rotatedTimeFormat = "20060102-150405"
	compressSuffix    = ".gz"
	tmpSuffix         = ".tmp"
)

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

	lastRotated  string // time suffix of this writer's latest rotation
	compacting   bool   // a compactRotatedLogs goroutine runs
	compactAgain bool   // run it once more: a rotation happened meanwhile
	compactions  sync.WaitGroup

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
	l := &criLog{path: path, f: f, w: f, size: st.Size(), maxSize: maxSize, maxFiles: maxFiles, now: time.Now}
	if maxSize > 0 {
		// A reattach after a kubelet restart: finish what a rotation
		// interrupted by the restart left (a temporary file, an
		// uncompressed older file).
		if rotated, _ := filepath.Glob(globEscape(path) + ".*"); len(rotated) > 0 {
			l.mu.Lock()
			l.compactInBackground()
			l.mu.Unlock()
		}
	}
	return l, nil
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
		if err := l.rotate(); err != nil && !errors.Is(err, errRotateTooSoon) {
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

// errRotateTooSoon defers a rotation: a rotated file of this second
// already exists (names have a resolution of one second, as upstream's).
var errRotateTooSoon = errors.New("log rotated less than a second ago")

// rotate renames the current file to <path>.<time> and starts a new one,
// as upstream's container log manager does before the runtime reopens the
// log; l.mu is held. Compressing the older rotated files and removing
// those beyond maxFiles happen in the background (compactRotatedLogs), off
// the container's write path.
func (l *criLog) rotate() error {
	stamp := l.now().Format(rotatedTimeFormat)
	if stamp == l.lastRotated {
		return errRotateTooSoon
	}
	rotated := l.path + "." + stamp
	for _, p := range []string{rotated, rotated + compressSuffix} {
		if _, err := os.Lstat(p); err == nil {
			l.lastRotated = stamp
			return errRotateTooSoon
		}
	}
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
	l.f, l.w, l.size, l.lastRotated = f, f, 0, stamp
	l.compactInBackground()
	return nil
}

// compactInBackground runs compactRotatedLogs in a goroutine, once more
// if it is already running (it may have listed the files before the
// latest rotation); l.mu is held.
func (l *criLog) compactInBackground() {
	if l.compacting {
		l.compactAgain = true
		return
	}
	l.compacting = true
	l.compactions.Add(1)
	go func() {
		defer l.compactions.Done()
		for {
			_ = compactRotatedLogs(l.path, l.maxFiles)
			l.mu.Lock()
			again := l.compactAgain
			l.compactAgain = false
			l.compacting = again
			l.mu.Unlock()
			if !again {
				return
			}
		}
	}()
}

// compactRotatedLogs brings the rotated files of the log at path to the
// shape upstream's container log manager leaves them in: temporary files
// of an interrupted compression and uncompressed files whose .gz exists
// are removed, the oldest rotated files are removed so that at most
// maxFiles files remain counting the current one, and every rotated file
// but the most recent is gzip-compressed to <file>.gz. Running it twice
// changes nothing.
func compactRotatedLogs(path string, maxFiles int) error {
	all, err := filepath.Glob(globEscape(path) + ".*")
	if err != nil {
		return err
	}
	inUse, unused := splitUnusedLogs(all)
	var errs []error
	for _, p := range unused {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	sort.Strings(inUse) // the time suffix sorts oldest first
	keep := max(maxFiles-1, 1)
	for len(inUse) > keep {
		if err := os.Remove(inUse[0]); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
		inUse = inUse[1:]
	}
	for _, p := range inUse[:max(len(inUse)-1, 0)] {
		if strings.HasSuffix(p, compressSuffix) {
			continue
		}
		if err := compressLog(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// splitUnusedLogs separates the rotated files still holding the log from
// the leftovers of a compression: temporary files, and uncompressed files
// whose compressed copy was written (the removal did not happen).
func splitUnusedLogs(files []string) (inUse, unused []string) {
	have := make(map[string]bool, len(files))
	for _, f := range files {
		have[f] = true
	}
	for _, f := range files {
		switch {
		case strings.HasSuffix(f, tmpSuffix):
			unused = append(unused, f)
		case strings.HasSuffix(f, compressSuffix):
			inUse = append(inUse, f)
		case have[f+compressSuffix]:
			unused = append(unused, f)
		default:
			inUse = append(inUse, f)
		}
	}
	return inUse, unused
}

// compressLog gzips the rotated log p into the temporary file p.tmp,
// renames that to p.gz and removes p. A crash on the way leaves p (still
// the log) and maybe p.tmp, or p next to a complete p.gz: the next
// compaction removes the leftover and compresses p again if needed.
func compressLog(p string) (err error) {
	src, err := os.Open(p)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	tmp := p + tmpSuffix
	dst, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	defer func() {
		if err != nil {
			_ = dst.Close()
			_ = os.Remove(tmp)
		}
	}()
	zw := gzip.NewWriter(dst)
	if _, err := io.Copy(zw, src); err != nil {
		return fmt.Errorf("compress %s: %w", p, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("compress %s: %w", p, err)
	}
	if err := dst.Close(); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, p+compressSuffix); err != nil {
		return err
	}
	return os.Remove(p)
}

// RotatedLogs lists the rotated files of the log at path, compressed
// (.gz) or not, oldest first, leaving out a compression's leftovers, as
// upstream's GetAllLogs without the current file.
func RotatedLogs(path string) []string {
	all, _ := filepath.Glob(globEscape(path) + ".*")
	inUse, _ := splitUnusedLogs(all)
	sort.Strings(inUse)
	return inUse
}

// RemoveLogs deletes the log at path and all its rotated and temporary
// files.
func RemoveLogs(path string) {
	if path == "" {
		return
	}
	all, _ := filepath.Glob(globEscape(path) + ".*")
	for _, p := range all {
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
