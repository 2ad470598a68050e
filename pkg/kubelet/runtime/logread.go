package runtime

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// LogOptions select and format the lines of a container's CRI log, as
// upstream's kubelet applies a PodLogOptions.
type LogOptions struct {
	// Follow keeps streaming new lines until the container stops.
	Follow bool
	// TailLines, when set, starts that many lines before the end.
	TailLines *int64
	// LimitBytes, when set, stops after that many bytes of output.
	LimitBytes *int64
	// SinceTime, when set, skips lines logged before it.
	SinceTime time.Time
	// Timestamps prefixes each line with its RFC3339Nano time.
	Timestamps bool
}

// followPoll is how often a followed log is checked for new lines.
const followPoll = 200 * time.Millisecond

// errLimitReached ends a read at LimitBytes.
var errLimitReached = errors.New("log byte limit reached")

// ReadLogs writes the container log at path (CRI format) to w according
// to opts: both streams interleaved as logged, partial entries joined.
// With opts.Follow it waits for new lines, continuing in the new file
// after a rotation, until ctx ends or running reports false and the file
// is drained. A missing file is an error.
func ReadLogs(ctx context.Context, path string, opts LogOptions, w io.Writer, running func() bool) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer func() { f.Close() }()
	if opts.TailLines != nil {
		start, err := tailStart(f, *opts.TailLines)
		if err != nil {
			return err
		}
		if _, err := f.Seek(start, io.SeekStart); err != nil {
			return err
		}
	}
	out := &logWriter{w: w, timestamps: opts.Timestamps, remaining: -1, lineStart: true}
	if opts.LimitBytes != nil {
		out.remaining = *opts.LimitBytes
	}
	flush := func() {
		if fl, ok := w.(interface{ Flush() }); ok {
			fl.Flush()
		}
	}
	br := bufio.NewReaderSize(f, 64*1024)
	var pending []byte // a record without its newline yet
	for {
		chunk, err := br.ReadBytes('\n')
		if len(chunk) > 0 {
			pending = append(pending, chunk...)
			if pending[len(pending)-1] == '\n' {
				rec, ok := parseCRILine(pending[:len(pending)-1])
				pending = pending[:0]
				if ok && (opts.SinceTime.IsZero() || !rec.ts.Before(opts.SinceTime)) {
					if werr := out.write(rec); werr != nil {
						if errors.Is(werr, errLimitReached) {
							flush()
							return nil
						}
						return werr
					}
				}
			}
		}
		if err == nil {
			continue
		}
		if !errors.Is(err, io.EOF) {
			return fmt.Errorf("read log: %w", err)
		}
		// At the end of the file.
		flush()
		if !opts.Follow {
			return nil
		}
		// A rotation renamed our file away: drain it, go on in the new one.
		if st, serr := os.Stat(path); serr == nil {
			if cur, ferr := f.Stat(); ferr == nil && !os.SameFile(st, cur) {
				if rest, _ := io.ReadAll(br); len(rest) > 0 {
					br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(rest), f), 64*1024)
					continue
				}
				nf, oerr := os.Open(path)
				if oerr == nil {
					f.Close()
					f = nf
					br.Reset(f)
					pending = pending[:0]
					continue
				}
			}
		}
		if running != nil && !running() {
			// One more read: lines written just before the exit.
			if rest, _ := io.ReadAll(br); len(rest) > 0 {
				br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(rest), f), 64*1024)
				continue
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(followPoll):
		}
	}
}

// criRecord is one parsed CRI log line.
type criRecord struct {
	ts      time.Time
	stream  string
	partial bool
	content []byte
}

// parseCRILine parses "<RFC3339Nano> <stream> <tag> <content>"; the tag
// is P (partial) or F (full), possibly followed by ":"-separated flags.
func parseCRILine(line []byte) (criRecord, bool) {
	var rec criRecord
	i := bytes.IndexByte(line, ' ')
	if i < 0 {
		return rec, false
	}
	ts, err := time.Parse(time.RFC3339Nano, string(line[:i]))
	if err != nil {
		return rec, false
	}
	rec.ts = ts
	line = line[i+1:]
	i = bytes.IndexByte(line, ' ')
	if i < 0 {
		return rec, false
	}
	rec.stream = string(line[:i])
	if rec.stream != "stdout" && rec.stream != "stderr" {
		return rec, false
	}
	line = line[i+1:]
	i = bytes.IndexByte(line, ' ')
	var tag []byte
	if i < 0 {
		tag, line = line, nil
	} else {
		tag, line = line[:i], line[i+1:]
	}
	if t, _, _ := bytes.Cut(tag, []byte{':'}); len(t) == 1 && t[0] == 'P' {
		rec.partial = true
	} else if len(t) != 1 || t[0] != 'F' {
		return rec, false
	}
	rec.content = line
	return rec, true
}

// logWriter formats records for the client.
type logWriter struct {
	w          io.Writer
	timestamps bool
	remaining  int64 // -1: unlimited
	lineStart  bool  // the next record starts a new line
}

func (lw *logWriter) write(rec criRecord) error {
	buf := make([]byte, 0, len(rec.content)+40)
	if lw.timestamps && lw.lineStart {
		buf = rec.ts.AppendFormat(buf, time.RFC3339Nano)
		buf = append(buf, ' ')
	}
	buf = append(buf, rec.content...)
	if !rec.partial {
		buf = append(buf, '\n')
	}
	lw.lineStart = !rec.partial
	if lw.remaining >= 0 {
		if int64(len(buf)) >= lw.remaining {
			_, err := lw.w.Write(buf[:lw.remaining])
			lw.remaining = 0
			if err != nil {
				return err
			}
			return errLimitReached
		}
		lw.remaining -= int64(len(buf))
	}
	_, err := lw.w.Write(buf)
	return err
}

// tailStart is the offset where the last n lines of a CRI log begin: a
// line is a run of partial records ended by a full one. It reads the file
// backwards, a chunk at a time.
func tailStart(f *os.File, n int64) (int64, error) {
	if n < 0 {
		return 0, nil
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	const chunk = 32 * 1024
	pos := st.Size() // buf holds the file's bytes from pos on, not yet examined
	var buf []byte
	var full int64
	for {
		for len(buf) > 0 {
			body := buf
			if body[len(body)-1] == '\n' {
				body = body[:len(body)-1]
			}
			idx := bytes.LastIndexByte(body, '\n')
			if idx < 0 && pos > 0 {
				break // the record starts before buf: read more
			}
			rec := buf[idx+1:]
			if rec[len(rec)-1] == '\n' {
				if r, ok := parseCRILine(rec[:len(rec)-1]); ok && !r.partial {
					full++
					if full > n {
						return pos + int64(idx+1) + int64(len(rec)), nil
					}
				}
			}
			buf = buf[:idx+1]
		}
		if pos == 0 {
			return 0, nil
		}
		read := min(int64(chunk), pos)
		more := make([]byte, read, read+int64(len(buf)))
		if _, err := f.ReadAt(more, pos-read); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		pos -= read
		buf = append(more, buf...)
	}
}
