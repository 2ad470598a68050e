// Package routes keeps host-gw pod routes: on each node, a route to every
// other node's spec.podCIDR via that node's InternalIP, so pods reach each
// other across nodes by their own IPs. Routes are tagged with a routing
// protocol number of their own, so stale ones are found and removed
// without touching anyone else's.
package routes

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// Proto is the rtnetlink protocol number kube-proxy's routes carry.
const Proto = 66

// Runner runs ip(8); tests swap it.
type Runner interface {
	IP(args ...string) ([]byte, error)
}

// Exec runs ip, prefixed by Prefix (e.g. nsenter --net=...) when set.
type Exec struct{ Prefix []string }

// IP runs ip with args.
func (e Exec) IP(args ...string) ([]byte, error) {
	argv := append(append(append([]string{}, e.Prefix...), "ip"), args...)
	c := exec.Command(argv[0], argv[1:]...)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// Manager syncs the pod routes of one node.
type Manager struct {
	nodeName string
	ip       Runner
	// offLink: the routes of the last Sync left out because their gateway
	// is on none of this node's networks (destination -> gateway).
	offLink map[string]string
}

// New returns a manager for the node nodeName.
func New(nodeName string, ip Runner) *Manager { return &Manager{nodeName: nodeName, ip: ip} }

// Desired maps each other node's IPv4 podCIDR to its InternalIP.
func Desired(nodes []*v1.Node, self string) map[string]string {
	out := map[string]string{}
	for _, n := range nodes {
		if n.Name == self || n.Spec.PodCIDR == "" {
			continue
		}
		_, cidr, err := net.ParseCIDR(n.Spec.PodCIDR)
		if err != nil || cidr.IP.To4() == nil {
			continue
		}
		for _, a := range n.Status.Addresses {
			if a.Type == v1.NodeInternalIP {
				if ip := net.ParseIP(a.Address); ip != nil && ip.To4() != nil {
					out[cidr.String()] = ip.String()
					break
				}
			}
		}
	}
	return out
}

// Current reads the routes carrying Proto: destination -> gateway.
func (m *Manager) Current() (map[string]string, error) {
	out, err := m.ip.IP("-4", "route", "show", "proto", strconv.Itoa(Proto))
	if err != nil {
		return nil, err
	}
	routes := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		via := ""
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "via" {
				via = f[i+1]
			}
		}
		routes[f[0]] = via
	}
	return routes, nil
}

// Sync adds or replaces the routes for nodes' podCIDRs and deletes routes
// of nodes that are gone. It returns the first error after trying all.
//
// A node whose InternalIP is on none of this node's networks cannot be a
// host-gw gateway (ip(8): "Nexthop has invalid gateway"): its route is
// left out, with a warning when that set changes, instead of failing every
// sync (and kube-proxy's health) over a node that may only be stale, such
// as one left in the cluster state from another layout.
func (m *Manager) Sync(nodes []*v1.Node) error {
	want := Desired(nodes, m.nodeName)
	have, err := m.Current()
	if err != nil {
		return fmt.Errorf("list pod routes: %w", err)
	}
	if len(want) > 0 {
		nets, err := m.onLink()
		if err != nil {
			return fmt.Errorf("list the node's networks: %w", err)
		}
		off := map[string]string{}
		for d, gw := range want {
			if !contains(nets, net.ParseIP(gw)) {
				off[d] = gw
				delete(want, d)
			}
		}
		if !maps.Equal(off, m.offLink) && len(off) > 0 {
			slog.Warn("pod routes left out: their nodes' InternalIPs are on none of this node's networks", "routes", off)
		}
		m.offLink = off
	}
	var firstErr error
	keep := func(err error) {
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	dsts := make([]string, 0, len(want))
	for d := range want {
		dsts = append(dsts, d)
	}
	sort.Strings(dsts)
	for _, d := range dsts {
		if have[d] == want[d] {
			continue
		}
		_, err := m.ip.IP("route", "replace", d, "via", want[d], "proto", strconv.Itoa(Proto))
		keep(err)
	}
	for d := range have {
		if _, ok := want[d]; !ok {
			_, err := m.ip.IP("route", "del", d, "proto", strconv.Itoa(Proto))
			keep(err)
		}
	}
	return firstErr
}

// OffLink returns the routes the last Sync left out because their gateway
// is on none of this node's networks (destination -> gateway).
func (m *Manager) OffLink() map[string]string { return maps.Clone(m.offLink) }

// onLink returns the IPv4 networks of this node's addresses (scope global
// or link, as "ip -4 -o addr show" lists them).
func (m *Manager) onLink() ([]*net.IPNet, error) {
	out, err := m.ip.IP("-4", "-o", "addr", "show")
	if err != nil {
		return nil, err
	}
	var nets []*net.IPNet
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		for i := 0; i+1 < len(f); i++ {
			if f[i] != "inet" {
				continue
			}
			if j := slices.Index(f, "scope"); j >= 0 && j+1 < len(f) && f[j+1] == "host" {
				break // loopback
			}
			if _, n, err := net.ParseCIDR(f[i+1]); err == nil {
				nets = append(nets, n)
			}
			break
		}
	}
	return nets, nil
}

func contains(nets []*net.IPNet, ip net.IP) bool {
	for _, n := range nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// Cleanup deletes every route kube-proxy made.
func (m *Manager) Cleanup() error { return m.Sync(nil) }
