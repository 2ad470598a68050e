//go:build e2e

package cluster

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// TestCluster_CutNodeIsolatesIt checks the framework's partition helper:
// with node-3's link down, node-1 cannot reach node-3's kubelet; healed, it
// can again.
func TestCluster_CutNodeIsolatesIt(t *testing.T) {
	n := c.Nodes
	addr := net.JoinHostPort(c.NodeIP(n), "10250")
	dial := func(timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		conn, err := DialIn(ctx, c.NodeNetns(1), "tcp", addr)
		if err == nil {
			conn.Close()
		}
		return err
	}
	if err := dial(3 * time.Second); err != nil {
		t.Fatalf("node-1 -> node-%d kubelet before the cut: %v", n, err)
	}
	if err := c.CutNode(n); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.HealNode(n) })
	err := dial(time.Second)
	if err == nil {
		t.Fatalf("node-1 reached node-%d's kubelet with node-%d cut off", n, n)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Logf("dial with the node cut off: %v", err)
	}
	if err := c.HealNode(n); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "node-1 reaches the healed node", func() error { return dial(time.Second) })
}
