package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/kstack/kstack/pkg/kubelet/runtime"
	"golang.org/x/net/websocket"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/httpstream/spdy"
	"k8s.io/apimachinery/pkg/util/httpstream/wsstream"
)

// Port-forward subprotocols: SPDY, and SPDY tunneled through a WebSocket
// (what kubectl tries first since 1.31).
const (
	portForwardProtocolV1 = "portforward.k8s.io"
	portForwardTunneled   = "SPDY/3.1+portforward.k8s.io"
)

// servePortForward is /portForward/{ns}/{pod}: each pair of SPDY streams
// (error and data, one requestID) is a TCP connection to the port inside
// the pod's network namespace.
func (s *Server) servePortForward(w http.ResponseWriter, r *http.Request) {
	pod, _, ok := s.podAndContainer(w, r, false)
	if !ok {
		return
	}
	sb, ok, err := s.sandbox(r.Context(), pod)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if !ok {
		http.Error(w, fmt.Sprintf("pod %s/%s has no running sandbox", pod.Namespace, pod.Name), http.StatusBadRequest)
		return
	}
	netns := sb.Labels[runtime.LabelNetNS]
	if s.cfg.NetNSPath != nil {
		if p := s.cfg.NetNSPath(sb); p != "" {
			netns = p
		}
	}
	pf := &portForwarder{pod: pod, netns: netns, streams: map[string]*streamPair{}}
	if wsstream.IsWebSocketRequest(r) {
		s.servePortForwardTunnel(w, r, pf)
		return
	}
	if _, err := httpstream.Handshake(r, w, []string{portForwardProtocolV1}); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, pf.newStream)
	if conn == nil {
		return
	}
	defer conn.Close()
	conn.SetIdleTimeout(s.cfg.StreamingConnectionIdleTimeout)
	pf.conn = conn
	select {
	case <-conn.CloseChan():
	case <-r.Context().Done():
	}
}

// servePortForwardTunnel accepts the WebSocket and runs the SPDY
// connection inside its binary messages.
func (s *Server) servePortForwardTunnel(w http.ResponseWriter, r *http.Request, pf *portForwarder) {
	srv := websocket.Server{
		Handshake: func(cfg *websocket.Config, req *http.Request) error {
			for _, p := range cfg.Protocol {
				if p == portForwardTunneled {
					cfg.Protocol = []string{p}
					return nil
				}
			}
			return fmt.Errorf("requested protocols %v not supported; want %s", cfg.Protocol, portForwardTunneled)
		},
		Handler: func(ws *websocket.Conn) {
			ws.PayloadType = websocket.BinaryFrame
			conn, err := spdy.NewServerConnection(ws, pf.newStream)
			if err != nil {
				slog.Debug("port-forward tunnel", "err", err)
				return
			}
			defer conn.Close()
			conn.SetIdleTimeout(s.cfg.StreamingConnectionIdleTimeout)
			pf.mu.Lock()
			pf.conn = conn
			pf.mu.Unlock()
			select {
			case <-conn.CloseChan():
			case <-r.Context().Done():
			}
		},
	}
	srv.ServeHTTP(w, r)
}

// portForwarder pairs a connection's streams by requestID.
type portForwarder struct {
	pod   *v1.Pod
	netns string

	mu      sync.Mutex
	conn    httpstream.Connection
	streams map[string]*streamPair
}

type streamPair struct {
	data, err httpstream.Stream
}

func (pf *portForwarder) newStream(stream httpstream.Stream, replySent <-chan struct{}) error {
	h := stream.Headers()
	if h.Get(v1.PortHeader) == "" {
		return fmt.Errorf("%q header is required", v1.PortHeader)
	}
	if _, err := strconv.ParseUint(h.Get(v1.PortHeader), 10, 16); err != nil {
		return fmt.Errorf("invalid port %q", h.Get(v1.PortHeader))
	}
	id := h.Get(v1.PortForwardRequestIDHeader)
	pf.mu.Lock()
	p := pf.streams[id]
	if p == nil {
		p = &streamPair{}
		pf.streams[id] = p
	}
	switch h.Get(v1.StreamType) {
	case v1.StreamTypeError:
		p.err = stream
	case v1.StreamTypeData:
		p.data = stream
	default:
		pf.mu.Unlock()
		return fmt.Errorf("invalid stream type %q", h.Get(v1.StreamType))
	}
	complete := p.data != nil && p.err != nil
	if complete {
		delete(pf.streams, id)
	}
	pf.mu.Unlock()
	if complete {
		go func() {
			<-replySent
			pf.forward(p)
		}()
	}
	return nil
}

// forward copies between the data stream and a connection to the port
// in the pod's network namespace; failures go to the error stream.
func (pf *portForwarder) forward(p *streamPair) {
	defer func() {
		pf.mu.Lock()
		conn := pf.conn
		pf.mu.Unlock()
		if conn != nil {
			conn.RemoveStreams(p.data, p.err)
		}
	}()
	defer p.err.Close()
	port, _ := strconv.Atoi(p.data.Headers().Get(v1.PortHeader))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	c, err := runtime.DialInNetNS(ctx, pf.netns, port)
	cancel()
	if err != nil {
		msg := fmt.Sprintf("error forwarding port %d to pod %s, uid %v: %v", port, pf.pod.Name, pf.pod.UID, err)
		_, _ = p.err.Write([]byte(msg))
		_ = p.data.Reset()
		return
	}
	defer c.Close()
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(c, p.data)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}()
	go func() {
		_, _ = io.Copy(p.data, c)
		_ = p.data.Close()
		done <- struct{}{}
	}()
	<-done
	<-done
}
