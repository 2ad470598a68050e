// Package embedded runs an etcd server inside the calling process, for an
// apiserver started without --etcd-servers and for tests. It listens on
// 127.0.0.1 only.
package embedded

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Option adjusts the embedded server's configuration before it starts.
type Option func(*embed.Config)

// WithFastTicks sets a 10 ms heartbeat and 100 ms election timeout, so a
// single member becomes leader in about 100 ms (for tests).
func WithFastTicks() Option {
	return func(c *embed.Config) { c.TickMs, c.ElectionMs = 10, 100 }
}

// WithLogger makes etcd log through lg instead of staying quiet.
func WithLogger(lg *zap.Logger) Option {
	return func(c *embed.Config) { c.ZapLoggerBuilder = embed.NewZapLoggerBuilder(lg) }
}

// WithClientPort listens for clients on 127.0.0.1:port instead of a free
// port chosen at start.
func WithClientPort(port int) Option {
	return func(c *embed.Config) {
		u := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", port)}
		c.ListenClientUrls, c.AdvertiseClientUrls = []url.URL{u}, []url.URL{u}
	}
}

// Start runs a single-member etcd with its data in dataDir and waits until it
// serves (or ctx ends, or 60 s pass). The caller must Close the returned
// server; endpoints are the client URLs to dial.
func Start(ctx context.Context, dataDir string, opts ...Option) (*embed.Etcd, []string, error) {
	clientPort, err := FreePort()
	if err != nil {
		return nil, nil, err
	}
	peerPort, err := FreePort()
	if err != nil {
		return nil, nil, err
	}
	cfg := embed.NewConfig()
	cfg.Name = "kstack"
	cfg.Dir = dataDir
	cu := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", clientPort)}
	pu := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", peerPort)}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.LogLevel = "error"
	for _, o := range opts {
		o(cfg)
	}

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("start embedded etcd in %s: %w", dataDir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, nil, fmt.Errorf("embedded etcd failed: %w", err)
	case <-ctx.Done():
		e.Close()
		return nil, nil, fmt.Errorf("embedded etcd not ready: %w", ctx.Err())
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, nil, fmt.Errorf("embedded etcd not ready after 60s")
	}
	var endpoints []string
	for _, u := range cfg.AdvertiseClientUrls {
		endpoints = append(endpoints, u.String())
	}
	return e, endpoints, nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
