package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPauseELF runs the hand-written pause program as the init of a new
// PID namespace (as in a pod sandbox): an orphan of the namespace is
// reparented to it and reaped when it exits (no zombie left), and SIGTERM
// and SIGINT end it with status 0.
func TestPauseELF(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("pauseELF is linux/amd64 machine code")
	}
	skip := t.Skip
	if os.Getenv("KSTACK_REQUIRE_E2E") != "" {
		skip = t.Fatal // CI: root and util-linux are there
	}
	if os.Geteuid() != 0 {
		skip("a new PID namespace needs root")
	}
	if _, err := exec.LookPath("nsenter"); err != nil {
		skip("needs nsenter (util-linux)")
	}
	bin := filepath.Join(t.TempDir(), "pause")
	if err := os.WriteFile(bin, pauseELF(), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(bin)
			cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID, Pdeathsig: syscall.SIGKILL}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pid := cmd.Process.Pid
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			t.Cleanup(func() { _ = cmd.Process.Kill() })

			// A child of the namespace whose parent (the shell) exits at
			// once: the sleep becomes pause's child (its output is not the pipe
			// CombinedOutput waits on).
			out, err := exec.Command("nsenter", "--target", strconv.Itoa(pid), "--pid", "--",
				"/bin/sh", "-c", "sleep 1 </dev/null >/dev/null 2>&1 & exit 0").CombinedOutput()
			if err != nil {
				t.Fatalf("nsenter: %v: %s", err, out)
			}
			if kids := children(pid); len(kids) != 1 || kids[0].state == "Z" {
				t.Fatalf("pause's children right after the orphaning: %+v, want one running sleep", kids)
			}
			deadline := time.Now().Add(10 * time.Second)
			for len(children(pid)) > 0 {
				if time.Now().After(deadline) {
					t.Fatalf("the orphan was not reaped: %+v", children(pid))
				}
				time.Sleep(50 * time.Millisecond)
			}

			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("pause after %v: %v, want exit status 0", sig, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("pause still runs 10s after %v", sig)
			}
		})
	}
}

type proc struct {
	pid   int
	state string
}

// children lists the processes whose parent is pid, with their state
// (Z for a zombie).
func children(pid int) []proc {
	var out []proc
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces; split after ')'.
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid == pid {
			out = append(out, proc{pid: n, state: fields[0]})
		}
	}
	return out
}
