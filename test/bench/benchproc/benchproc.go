// Package benchproc starts and measures the processes the benchmark programs
// run (etcd, the apiserver) and reads their RSS and CPU time from /proc.
package benchproc

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is a child program the benchmark started: etcd or the apiserver.
type Process struct {
	name string
	cmd  *exec.Cmd
	log  string // path of the file with its stdout and stderr
	done chan struct{}
	err  error // the exit error, set before done closes
}

// StartProcess runs bin with args, its output in dir/<name>.log. The child
// dies with the benchmark (Pdeathsig) even if the benchmark is killed
// before it can clean up.
func StartProcess(name, dir, bin string, args ...string) (*Process, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// Stop sends SIGTERM, waits up to 10 s, then SIGKILLs, and always waits
// for the Process to be reaped.
func (p *Process) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Exited reports an error when the Process has already ended.
func (p *Process) Exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited early (%v); last lines of %s:\n%s", p.name, p.err, p.log, Tail(p.log, 20))
	default:
		return nil
	}
}

// Tail returns the last n lines of a file.
func Tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// FreePort asks the kernel for an unused loopback port.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// StartEtcd runs the etcd binary on loopback ports with its data in dir
// and waits until it answers /health.
func StartEtcd(ctx context.Context, bin, dir string) (*Process, string, error) {
	clientPort, err := FreePort()
	if err != nil {
		return nil, "", err
	}
	peerPort, err := FreePort()
	if err != nil {
		return nil, "", err
	}
	client := "http://127.0.0.1:" + strconv.Itoa(clientPort)
	peer := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	p, err := StartProcess("etcd", dir, bin,
		"--name=bench",
		"--data-dir="+filepath.Join(dir, "etcd-data"),
		"--listen-client-urls="+client,
		"--advertise-client-urls="+client,
		"--listen-peer-urls="+peer,
		"--initial-advertise-peer-urls="+peer,
		"--initial-cluster=bench="+peer,
		"--quota-backend-bytes="+strconv.Itoa(8<<30),
		"--log-level=warn",
	)
	if err != nil {
		return nil, "", err
	}
	err = WaitHTTP(ctx, p, http.DefaultClient, client+"/health", "", 30*time.Second)
	if err != nil {
		p.Stop()
		return nil, "", fmt.Errorf("etcd not healthy: %w", err)
	}
	return p, client, nil
}

// StartAPIServer runs the apiserver binary against etcd, with a
// self-signed certificate in dir/certs and a static token for a
// system:masters user (authentication and authorization run as in
// production), and waits for /readyz. It returns the Process, the server
// URL, the CA file and the token. extraArgs come last (a flag given again
// overrides the default above, e.g. --service-cluster-ip-range).
func StartAPIServer(ctx context.Context, bin, dir, etcdURL string, extraArgs ...string) (p *Process, url, caFile, token string, err error) {
	port, err := FreePort()
	if err != nil {
		return nil, "", "", "", err
	}
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	token = hex.EncodeToString(key)
	tokenFile := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokenFile, []byte(token+",kstack-bench,kstack-bench,\"system:masters\"\n"), 0o600); err != nil {
		return nil, "", "", "", err
	}
	certDir := filepath.Join(dir, "certs")
	p, err = StartProcess("apiserver", dir, bin, append([]string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + certDir,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--profiling=true",
		"--token-auth-file=" + tokenFile,
	}, extraArgs...)...)
	if err != nil {
		return nil, "", "", "", err
	}
	url = "https://127.0.0.1:" + strconv.Itoa(port)
	caFile = filepath.Join(certDir, "apiserver.crt")
	// The certificate appears when the server starts; until then poll
	// without verification, then verify against it.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := p.Exited(); err != nil {
			return nil, "", "", "", err
		}
		if _, err := os.Stat(caFile); err == nil {
			break
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, "", "", "", fmt.Errorf("apiserver wrote no certificate to %s within 60s", caFile)
		}
		time.Sleep(50 * time.Millisecond)
	}
	hc, err := CAClient(caFile)
	if err != nil {
		p.Stop()
		return nil, "", "", "", err
	}
	if err := WaitHTTP(ctx, p, hc, url+"/readyz", token, time.Until(deadline)); err != nil {
		p.Stop()
		return nil, "", "", "", fmt.Errorf("apiserver not ready: %w", err)
	}
	return p, url, caFile, token, nil
}

// CAClient is an HTTPS client that trusts only caFile.
func CAClient(caFile string) (*http.Client, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", caFile)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}, nil
}

// WaitHTTP polls url until it answers 200, p exits or the timeout passes.
func WaitHTTP(ctx context.Context, p *Process, hc *http.Client, url, token string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if p != nil {
			if err := p.Exited(); err != nil {
				return err
			}
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s: %s", url, resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.Join(fmt.Errorf("timed out after %v", timeout), last)
}

// RSSMiB reads VmRSS of a Process from /proc, in MiB.
func RSSMiB(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v) // "123456 kB"
			if len(f) < 1 {
				break
			}
			kb, err := strconv.ParseFloat(f[0], 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmRSS %q: %w", v, err)
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// CPUSeconds returns the user+system CPU time a Process has used so far,
// from /proc/<pid>/stat (0 for self means this Process).
func CPUSeconds(pid int) (float64, error) {
	path := "/proc/self/stat"
	if pid > 0 {
		path = fmt.Sprintf("/proc/%d/stat", pid)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields after its
	// closing parenthesis start at field 3 (state).
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short %s", path)
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("parse %s: %w", path, err)
	}
	const clockTicks = 100 // USER_HZ on Linux
	return (utime + stime) / clockTicks, nil
}

// CPUMeter reports the CPU time the benchmark's processes use in a phase,
// to tell whether the server, etcd or the client limits it.
type CPUMeter struct {
	pids  map[string]int // name -> pid; 0 is this Process
	start map[string]float64
	wall  time.Time
	// busy and total jiffies of the machine at begin.
	busy, total float64
}

func NewCPUMeter(pids map[string]int) *CPUMeter {
	return &CPUMeter{pids: pids}
}

// Begin records the start of a phase.
func (m *CPUMeter) Begin() {
	m.start = map[string]float64{}
	for name, pid := range m.pids {
		m.start[name], _ = CPUSeconds(pid)
	}
	m.busy, m.total = MachineCPU()
	m.wall = time.Now()
}

// End describes the CPU use since begin, each Process as a share of one
// core, and how busy the whole machine was (other work included).
// ops > 0 adds the apiserver's CPU time per operation, a figure that other
// load on the machine disturbs less than latencies.
func (m *CPUMeter) End(ops int) string {
	wall := time.Since(m.wall).Seconds()
	var parts []string
	perOp := ""
	for _, name := range []string{"apiserver", "etcd", "bench"} {
		pid, ok := m.pids[name]
		if !ok {
			continue
		}
		now, err := CPUSeconds(pid)
		if err != nil {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.0f%%", name, 100*(now-m.start[name])/wall))
		if name == "apiserver" && ops > 0 {
			perOp = fmt.Sprintf("; apiserver %.2f ms CPU per op", 1000*(now-m.start[name])/float64(ops))
		}
	}
	busy, total := MachineCPU()
	machine := ""
	if total > m.total {
		machine = fmt.Sprintf("; machine %.0f%% busy", 100*(busy-m.busy)/(total-m.total))
	}
	return fmt.Sprintf("%s of a core over %.1fs%s%s", strings.Join(parts, ", "), wall, machine, perOp)
}

// MachineCPU returns the busy and total jiffies of all CPUs (/proc/stat).
func MachineCPU() (busy, total float64) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	for i, v := range f[1:] {
		n, _ := strconv.ParseFloat(v, 64)
		if i >= 7 { // guest time is already counted in user
			break
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Tail returns the last n lines of the process's log.
func (p *Process) Tail(n int) string { return Tail(p.log, n) }
