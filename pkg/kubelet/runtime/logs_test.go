package runtime

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// secondTicks is a clock that moves one second each time it is read, so
// that every rotation gets its own one-second name.
func secondTicks() func() time.Time {
	var mu sync.Mutex
	tick := t0
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		tick = tick.Add(time.Second)
		return tick
	}
}

// readLogFile returns the content of a log file, decompressed if its name
// ends in .gz.
func readLogFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(p, ".gz") {
		return string(b)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return string(plain)
}

// messages parses CRI log content into its messages, failing on a line
// that is not a CRI entry.
func messages(t *testing.T, name, content string) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(strings.NewReader(content))
	for sc.Scan() {
		rec, ok := parseCRILine(sc.Bytes())
		if !ok {
			t.Fatalf("%s: not a CRI log line: %q", name, sc.Text())
		}
		out = append(out, string(rec.content))
	}
	return out
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

var rotatedName = regexp.MustCompile(`^0\.log\.\d{8}-\d{6}(\.gz)?$`)

func TestCRILog_RotationNamesCompressesOlderFilesAndKeepsMaxFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	w, err := openCRILog(path, 200, 4)
	if err != nil {
		t.Fatal(err)
	}
	w.now = secondTicks()
	for i := range 50 {
		w.writeLine("stdout", "F", []byte(fmt.Sprintf("line %d", i)))
	}
	w.close()
	w.compactions.Wait()

	rotated := RotatedLogs(path)
	if len(rotated) != 3 {
		t.Fatalf("rotated = %v, want 3 (max files 4 counting the current one); dir: %v", rotated, dirNames(t, dir))
	}
	if names := dirNames(t, dir); len(names) != 4 {
		t.Errorf("files = %v, want the current one and 3 rotated, no leftovers", names)
	}
	for i, p := range rotated {
		base := filepath.Base(p)
		if !rotatedName.MatchString(base) {
			t.Errorf("rotated file %s is not named <log>.YYYYMMDD-hhmmss[.gz]", base)
		}
		// Every rotated file but the newest is compressed.
		if gz, wantGz := strings.HasSuffix(p, ".gz"), i < len(rotated)-1; gz != wantGz {
			t.Errorf("%s: compressed = %v, want %v", base, gz, wantGz)
		}
	}
	// Oldest first, and together with the current file they hold the last
	// lines written, in order, each within the max size.
	var got []string
	for _, p := range append(rotated, path) {
		content := readLogFile(t, p)
		if len(content) > 200 {
			t.Errorf("%s holds %d bytes, above the max size", filepath.Base(p), len(content))
		}
		got = append(got, messages(t, filepath.Base(p), content)...)
	}
	if len(got) == 0 || got[len(got)-1] != "line 49" {
		t.Fatalf("messages = %q, want them to end with line 49", got)
	}
	first := 50 - len(got)
	for i, m := range got {
		if want := fmt.Sprintf("line %d", first+i); m != want {
			t.Fatalf("message %d = %q, want %q (all: %q)", i, m, want, got)
		}
	}
	var out bytes.Buffer
	if err := ReadLogs(context.Background(), path, LogOptions{TailLines: i64(1)}, &out, nil); err != nil {
		t.Fatal(err)
	}
	if out.String() != "line 49\n" {
		t.Errorf("kubectl logs --tail=1 = %q", out.String())
	}
	RemoveLogs(path)
	if left := dirNames(t, dir); len(left) != 0 {
		t.Errorf("RemoveLogs left %v", left)
	}
}

func TestCRILog_RotationNamesUseUpstreamsTimeFormat(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	w, err := openCRILog(path, 10, 5)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 4, 5, 6, 7, 890, time.Local)
	w.now = func() time.Time { return at }
	w.writeLine("stdout", "F", []byte("one"))
	w.writeLine("stdout", "F", []byte("two"))
	w.close()
	w.compactions.Wait()
	if got, want := RotatedLogs(path), []string{path + ".20260304-050607"}; !slices.Equal(got, want) {
		t.Errorf("rotated = %v, want %v", got, want)
	}
}

func TestCRILog_SecondRotationWithinASecondWaits(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	w, err := openCRILog(path, 100, 5)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := t0
	w.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	for i := range 20 {
		w.writeLine("stdout", "F", []byte(fmt.Sprintf("line %d", i)))
	}
	w.compactions.Wait()
	// One rotation in this second: a second one would reuse its name.
	if rotated := RotatedLogs(path); len(rotated) != 1 {
		t.Fatalf("rotated = %v, want 1", rotated)
	}
	if st, err := os.Stat(path); err != nil || st.Size() <= 100 {
		t.Fatalf("current file: %v, %v; want it past the max size until the next second", st, err)
	}
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	w.writeLine("stdout", "F", []byte("next second"))
	w.close()
	w.compactions.Wait()
	rotated := RotatedLogs(path)
	if len(rotated) != 2 || !strings.HasSuffix(rotated[0], ".gz") || strings.HasSuffix(rotated[1], ".gz") {
		t.Fatalf("rotated = %v, want an older .gz and a newer plain file", rotated)
	}
	var got []string
	for _, p := range append(rotated, path) {
		got = append(got, messages(t, p, readLogFile(t, p))...)
	}
	if len(got) != 21 || got[0] != "line 0" || got[19] != "line 19" || got[20] != "next second" {
		t.Errorf("messages = %q, want all 21 in order", got)
	}
}

func TestCompactRotatedLogs_FinishesWhatACrashLeftAndIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	gz := func(content string) string {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write([]byte(content))
		_ = zw.Close()
		return b.String()
	}
	const a, b, c, d = "a-line\n", "b-line\n", "c-line\n", "d-line\n"
	write("0.log", "current\n")
	write("0.log.20260101-000000.gz", gz("too old\n"))
	write("0.log.20260101-000001", a)          // crashed while compressing:
	write("0.log.20260101-000001.tmp", "\x1f") // a partial temporary file
	write("0.log.20260101-000002", b)          // crashed after the rename:
	write("0.log.20260101-000002.gz", gz(b))   // compressed, not removed
	write("0.log.20260101-000003.gz", gz(c))
	write("0.log.20260101-000004", d) // the newest stays uncompressed
	write("1.log", "another container's log\n")

	for range 2 {
		if err := compactRotatedLogs(path, 5); err != nil {
			t.Fatal(err)
		}
		want := []string{
			"0.log",
			"0.log.20260101-000001.gz",
			"0.log.20260101-000002.gz",
			"0.log.20260101-000003.gz",
			"0.log.20260101-000004",
			"1.log",
		}
		if got := dirNames(t, dir); !slices.Equal(got, want) {
			t.Fatalf("files = %v, want %v", got, want)
		}
		for name, content := range map[string]string{
			"0.log.20260101-000001.gz": a,
			"0.log.20260101-000002.gz": b,
			"0.log.20260101-000003.gz": c,
			"0.log.20260101-000004":    d,
			"0.log":                    "current\n",
		} {
			if got := readLogFile(t, filepath.Join(dir, name)); got != content {
				t.Errorf("%s holds %q, want %q", name, got, content)
			}
		}
	}
	// Fewer files allowed: the oldest go first.
	if err := compactRotatedLogs(path, 2); err != nil {
		t.Fatal(err)
	}
	if got, want := dirNames(t, dir), []string{"0.log", "0.log.20260101-000004", "1.log"}; !slices.Equal(got, want) {
		t.Errorf("with max files 2: files = %v, want %v", got, want)
	}
}

func TestCRILog_ReopenCleansUpAfterACrash(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	for name, content := range map[string]string{
		"0.log.20260101-000001":     "x stdout F old\n",
		"0.log.20260101-000001.tmp": "partial",
		"0.log.20260101-000002":     "x stdout F newer\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	w, err := openCRILog(path, 1000, 5)
	if err != nil {
		t.Fatal(err)
	}
	w.compactions.Wait()
	w.close()
	want := []string{"0.log", "0.log.20260101-000001.gz", "0.log.20260101-000002"}
	if got := dirNames(t, dir); !slices.Equal(got, want) {
		t.Fatalf("files = %v, want %v", got, want)
	}
	if got := readLogFile(t, filepath.Join(dir, "0.log.20260101-000001.gz")); got != "x stdout F old\n" {
		t.Errorf("compressed content = %q", got)
	}
}

// A compression that cannot proceed must not hold up the container's
// output: the oldest rotated file here is a FIFO, so compressing it blocks
// until the test writes into it.
func TestCRILog_CompressionRunsOffTheWritePath(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	fifo := path + ".20000101-000000"
	if err := syscall.Mkfifo(fifo, 0o640); err != nil {
		t.Fatal(err)
	}
	w, err := openCRILog(path, 100, 100)
	if err != nil {
		t.Fatal(err)
	}
	w.now = secondTicks()
	released := false
	release := func() {
		if released {
			return
		}
		released = true
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			return
		}
		_, _ = f.WriteString("from the fifo\n")
		f.Close()
	}
	t.Cleanup(func() { release(); w.compactions.Wait() })
	for i := range 20 {
		w.writeLine("stdout", "F", []byte(fmt.Sprintf("line %d", i)))
	}
	// All lines are written while the compaction waits on the FIFO.
	var out bytes.Buffer
	if err := ReadLogs(context.Background(), path, LogOptions{TailLines: i64(1)}, &out, nil); err != nil {
		t.Fatal(err)
	}
	if out.String() != "line 19\n" {
		t.Errorf("last line = %q", out.String())
	}
	release()
	w.close()
	w.compactions.Wait()
	if got := readLogFile(t, fifo+".gz"); got != "from the fifo\n" {
		t.Errorf("compressed FIFO content = %q", got)
	}
	if _, err := os.Lstat(fifo); !os.IsNotExist(err) {
		t.Errorf("the compressed original is still there: %v", err)
	}
}
