package runtime

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestProcessArgs(t *testing.T) {
	ep, cmd := []string{"/entry"}, []string{"default", "args"}
	tests := []struct {
		name          string
		command, args []string
		want          []string
	}{
		{"image defaults", nil, nil, []string{"/entry", "default", "args"}},
		{"args replace cmd", nil, []string{"a"}, []string{"/entry", "a"}},
		{"command replaces entrypoint and drops cmd", []string{"/bin/sh"}, nil, []string{"/bin/sh"}},
		{"command and args", []string{"/bin/sh", "-c"}, []string{"echo hi"}, []string{"/bin/sh", "-c", "echo hi"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ProcessArgs(ep, cmd, tt.command, tt.args); !slices.Equal(got, tt.want) {
				t.Errorf("ProcessArgs = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNormalizeImage(t *testing.T) {
	tests := map[string]string{
		"busybox":                    "docker.io/library/busybox:latest",
		"foo/bar:1":                  "docker.io/foo/bar:1",
		"kstack.local/pause:1.0":     "kstack.local/pause:1.0",
		"registry.k8s.io/pause:3.10": "registry.k8s.io/pause:3.10",
	}
	for in, want := range tests {
		got, err := NormalizeImage(in)
		if err != nil || got != want {
			t.Errorf("NormalizeImage(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := NormalizeImage("bad name:tag"); err == nil {
		t.Error("NormalizeImage accepted an invalid reference")
	}
}

func TestCRILog_LinesAndPartials(t *testing.T) {
	var out bytes.Buffer
	ts := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	l := &criLog{w: &out, now: func() time.Time { return ts }}
	long := strings.Repeat("x", maxLogLine+10)
	l.copyStream(strings.NewReader("hello\n\nworld\n"+long+"\nlast-no-newline"), "stdout")
	l.copyStream(strings.NewReader("oops\n"), "stderr")
	prefix := "2026-01-02T03:04:05.0000006Z "
	want := []string{
		prefix + "stdout F hello",
		prefix + "stdout F ",
		prefix + "stdout F world",
		prefix + "stdout P " + long[:maxLogLine],
		prefix + "stdout F " + long[maxLogLine:],
		prefix + "stdout F last-no-newline",
		prefix + "stderr F oops",
	}
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if !slices.Equal(got, want) {
		t.Errorf("log lines:\n%q\nwant\n%q", got, want)
	}
}
