//go:build e2e

package proxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// sh runs a command on the host and fails the test on error.
func sh(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// inNS runs a command inside the network namespace ns.
func inNS(t testing.TB, ns string, name string, args ...string) string {
	t.Helper()
	return sh(t, "nsenter", append([]string{"--net=/run/netns/" + ns, "--", name}, args...)...)
}

func randSuffix() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newNetns creates a network namespace with lo up, deleted when the test
// ends.
func newNetns(t testing.TB, name string) string {
	t.Helper()
	sh(t, "ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	inNS(t, name, "ip", "link", "set", "lo", "up")
	return name
}

// withNetns runs f on a locked OS thread switched into the namespace; the
// sockets f creates belong to it. If switching back fails the thread is
// left locked, so it dies with the goroutine instead of being reused.
func withNetns(ns string, f func() error) error {
	runtime.LockOSThread()
	orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", ns, err)
	}
	ferr := f()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("setns back: %w", err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// listenIn listens on addr inside ns.
func listenIn(ns, addr string) (net.Listener, error) {
	var ln net.Listener
	err := withNetns(ns, func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	})
	return ln, err
}

// clientIn is an HTTP client whose connections start inside ns, one new
// connection per request (so each is a new conntrack flow).
func clientIn(ns string) *http.Client {
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				var c net.Conn
				err := withNetns(ns, func() (err error) {
					d := net.Dialer{Timeout: 3 * time.Second}
					c, err = d.DialContext(ctx, network, addr)
					return err
				})
				return c, err
			},
		},
	}
}

// get returns the body of GET url from inside ns.
func get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), err
}

// forward accepts connections inside ns on addr and relays each to target
// on the host, so a process in ns reaches the host's loopback apiserver.
func forward(t testing.TB, ns, addr, target string) {
	t.Helper()
	ln, err := listenIn(ns, addr)
	if err != nil {
		t.Fatalf("forwarder listen: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				u, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer u.Close()
				go func() { _, _ = io.Copy(u, c); u.(*net.TCPConn).CloseWrite() }()
				_, _ = io.Copy(c, u)
			}()
		}
	}()
}

// backend is an HTTP server in its own netns, joined to the node's
// bridge by a veth pair; it answers every request with its name.
type backend struct {
	name, ip, ns string
}

// node is a node network namespace: a bridge br0 with the pod network
// (10.244.0.1/24), the node IP and a default route.
type node struct {
	ns, ip string
	id     string
	n      int
}

func newNode(t testing.TB) *node {
	id := randSuffix()
	n := &node{id: id, ns: newNetns(t, "kpe2e-"+id), ip: "192.168.77.1"}
	inNS(t, n.ns, "ip", "link", "add", "br0", "type", "bridge")
	inNS(t, n.ns, "ip", "addr", "add", "10.244.0.1/24", "dev", "br0")
	inNS(t, n.ns, "ip", "link", "set", "br0", "up")
	// The node IP and a default route (for cluster IPs) sit on the
	// bridge too: this machine's kernel has no dummy links.
	inNS(t, n.ns, "ip", "addr", "add", n.ip+"/24", "dev", "br0")
	inNS(t, n.ns, "ip", "route", "add", "default", "via", "192.168.77.254", "dev", "br0", "onlink")
	inNS(t, n.ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	return n
}

// addBackend starts an HTTP server at 10.244.0.<10+k>:8080 in a new netns
// attached to the node's bridge.
func (n *node) addBackend(t testing.TB, name string) *backend {
	t.Helper()
	n.n++
	b := &backend{name: name, ip: fmt.Sprintf("10.244.0.%d", 10+n.n), ns: newNetns(t, fmt.Sprintf("kpe2e-%s-b%d", n.id, n.n))}
	host, peer := fmt.Sprintf("kv%s%d", n.id, n.n), fmt.Sprintf("kp%s%d", n.id, n.n)
	inNS(t, n.ns, "ip", "link", "add", host, "type", "veth", "peer", "name", peer, "netns", "/run/netns/"+b.ns)
	inNS(t, n.ns, "ip", "link", "set", host, "master", "br0", "up")
	// As the CNI bridge plugin's hairpinMode: a pod reaching itself
	// through its Service is bridged back out of its own port.
	inNS(t, n.ns, "ip", "link", "set", host, "type", "bridge_slave", "hairpin", "on")
	inNS(t, b.ns, "ip", "addr", "add", b.ip+"/24", "dev", peer)
	inNS(t, b.ns, "ip", "link", "set", peer, "up")
	inNS(t, b.ns, "ip", "route", "add", "default", "via", "10.244.0.1")
	ln, err := listenIn(b.ns, b.ip+":8080")
	if err != nil {
		t.Fatalf("backend %s listen: %v", name, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, name)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return b
}

// serveUDP answers every datagram to the backend's ip:port with its name.
func (b *backend) serveUDP(t testing.TB, port int) {
	t.Helper()
	var pc net.PacketConn
	if err := withNetns(b.ns, func() (err error) {
		pc, err = net.ListenPacket("udp", fmt.Sprintf("%s:%d", b.ip, port))
		return err
	}); err != nil {
		t.Fatalf("backend %s udp listen: %v", b.name, err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			_, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo([]byte(b.name), addr)
		}
	}()
}

// udpConn is a connected UDP socket inside ns from a fixed local port, so
// every datagram belongs to one conntrack flow.
func udpConn(t testing.TB, ns, raddr string) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	if err := withNetns(ns, func() error {
		r, err := net.ResolveUDPAddr("udp", raddr)
		if err != nil {
			return err
		}
		c, err = net.DialUDP("udp", &net.UDPAddr{Port: 40123}, r)
		return err
	}); err != nil {
		t.Fatalf("udp dial %s: %v", raddr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ask sends one datagram and returns the answer.
func ask(c *net.UDPConn) (string, error) {
	if _, err := c.Write([]byte("who")); err != nil {
		return "", err
	}
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 100)
	n, err := c.Read(buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}
