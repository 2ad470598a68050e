package runtime

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// writeLog writes a CRI log with one entry a second from t0.
func writeLog(t *testing.T, entries ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "0.log")
	var b strings.Builder
	for i, e := range entries {
		fmt.Fprintf(&b, "%s %s\n", t0.Add(time.Duration(i)*time.Second).Format(time.RFC3339Nano), e)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func i64(n int64) *int64 { return &n }

func TestReadLogs_OptionsSelectAndFormatLines(t *testing.T) {
	path := writeLog(t,
		"stdout F one",
		"stderr F two",
		"stdout P thr",
		"stdout P e",
		"stdout F e",
		"garbage-without-fields",
		"stdout F four",
	)
	tests := []struct {
		name string
		opts LogOptions
		want string
	}{
		{"all, partial entries joined", LogOptions{}, "one\ntwo\nthree\nfour\n"},
		{"tail 2 counts whole lines", LogOptions{TailLines: i64(2)}, "three\nfour\n"},
		{"tail 1", LogOptions{TailLines: i64(1)}, "four\n"},
		{"tail 0", LogOptions{TailLines: i64(0)}, ""},
		{"tail more than there are", LogOptions{TailLines: i64(100)}, "one\ntwo\nthree\nfour\n"},
		{"limit bytes cuts mid-line", LogOptions{LimitBytes: i64(6)}, "one\ntw"},
		{"since skips older lines", LogOptions{SinceTime: t0.Add(time.Second)}, "two\nthree\nfour\n"},
		{"since in the future", LogOptions{SinceTime: t0.Add(time.Hour)}, ""},
		{"timestamps once per line", LogOptions{Timestamps: true, TailLines: i64(2)},
			t0.Add(2*time.Second).Format(time.RFC3339Nano) + " three\n" + t0.Add(6*time.Second).Format(time.RFC3339Nano) + " four\n"},
		{"tail with limit", LogOptions{TailLines: i64(2), LimitBytes: i64(3)}, "thr"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := ReadLogs(context.Background(), path, tc.opts, &out, nil); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("got %q, want %q", out.String(), tc.want)
			}
		})
	}
}

func TestReadLogs_TailAcrossChunks(t *testing.T) {
	var entries []string
	for i := range 5000 {
		entries = append(entries, fmt.Sprintf("stdout F line-%04d %s", i, strings.Repeat("x", 30)))
	}
	path := writeLog(t, entries...)
	var out bytes.Buffer
	if err := ReadLogs(context.Background(), path, LogOptions{TailLines: i64(3000)}, &out, nil); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 3000 || !strings.HasPrefix(lines[0], "line-2000 ") || !strings.HasPrefix(lines[2999], "line-4999 ") {
		t.Errorf("got %d lines, first %q", len(lines), lines[0])
	}
}

func TestReadLogs_MissingFile(t *testing.T) {
	if err := ReadLogs(context.Background(), filepath.Join(t.TempDir(), "nope.log"), LogOptions{}, &bytes.Buffer{}, nil); err == nil {
		t.Fatal("want an error for a missing log")
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestReadLogs_FollowSeesNewLinesAcrossRotationAndStopsWithTheContainer(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	// Rotate after every ~2 lines; keep 2 files.
	w, err := openCRILog(path, 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	w.now = secondTicks()
	w.writeLine("stdout", "F", []byte("before"))
	var mu sync.Mutex
	running := true
	isRunning := func() bool { mu.Lock(); defer mu.Unlock(); return running }
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- ReadLogs(context.Background(), path, LogOptions{Follow: true}, out, isRunning)
	}()
	waitFor(t, func() bool { return out.String() == "before\n" })
	for i := range 10 {
		w.writeLine("stdout", "F", []byte(fmt.Sprintf("after-%d", i)))
		want := fmt.Sprintf("after-%d\n", i)
		waitFor(t, func() bool { return strings.HasSuffix(out.String(), want) })
	}
	w.compactions.Wait()
	if rotated := RotatedLogs(path); len(rotated) != 1 {
		t.Errorf("rotated files = %v, want exactly 1 (max files 2)", rotated)
	}
	mu.Lock()
	running = false
	mu.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	want.WriteString("before\n")
	for i := range 10 {
		fmt.Fprintf(&want, "after-%d\n", i)
	}
	if out.String() != want.String() {
		t.Errorf("followed output = %q, want %q", out.String(), want.String())
	}
	w.close()
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met after 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
