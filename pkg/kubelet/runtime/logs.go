package runtime

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/pkg/cio"
)

// maxLogLine is the longest line written as one CRI log entry; longer
// lines are split into partial ("P") entries.
const maxLogLine = 16 * 1024

// attachLog opens the container's FIFOs and copies both streams into the
// CRI-format log file at logPath (appending, so a reattach continues it).
func (r *Runtime) attachLog(id string, fifos *cio.FIFOSet, logPath string) (cio.IO, error) {
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, fmt.Errorf("log dir: %w", err)
	}
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	dio, err := cio.NewDirectIO(context.Background(), fifos)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open FIFOs of %s: %w", id, err)
	}
	w := &criLog{w: f, now: time.Now}
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
	go func() {
		wg.Wait()
		f.Close()
	}()
	r.mu.Lock()
	r.ios[id] = dio
	r.mu.Unlock()
	return dio, nil
}

// criLog writes CRI log lines: "<RFC3339Nano> <stream> <F|P> <text>\n".
type criLog struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
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
	_, _ = l.w.Write(buf)
}
