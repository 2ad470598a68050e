package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kstack/kstack/pkg/kubelet/runtime"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/httpstream/spdy"
	"k8s.io/apimachinery/pkg/util/httpstream/wsstream"
	remotecommandconsts "k8s.io/apimachinery/pkg/util/remotecommand"
)

// streamCreationTimeout bounds the wait for a client's SPDY streams.
const streamCreationTimeout = 30 * time.Second

// spdyRemoteCommandProtocols are the SPDY subprotocols served, best first.
var spdyRemoteCommandProtocols = []string{
	remotecommandconsts.StreamProtocolV4Name,
	remotecommandconsts.StreamProtocolV3Name,
	remotecommandconsts.StreamProtocolV2Name,
	remotecommandconsts.StreamProtocolV1Name,
}

// remoteCommandOptions are an exec/attach request's stream choices.
type remoteCommandOptions struct {
	stdin, stdout, stderr, tty bool
	command                    []string
}

func parseRemoteCommandOptions(r *http.Request) (remoteCommandOptions, error) {
	q := r.URL.Query()
	flag := func(name string) bool {
		b, _ := strconv.ParseBool(q.Get(name))
		return b
	}
	o := remoteCommandOptions{stdin: flag("stdin"), stdout: flag("stdout"), stderr: flag("stderr"), tty: flag("tty"), command: q["command"]}
	if o.tty && o.stderr {
		// With a terminal stderr is part of stdout, as upstream.
		o.stderr = false
	}
	if !o.stdin && !o.stdout && !o.stderr {
		return o, errors.New("you must specify at least 1 of stdin, stdout, stderr")
	}
	return o, nil
}

// streams are one exec/attach session's connected streams.
type streams struct {
	stdin          io.ReadCloser
	stdout, stderr io.WriteCloser
	resize         chan runtime.TermSize
	// writeStatus reports the result on the error stream and ends the
	// session.
	writeStatus func(err error) error
	close       func()
}

// serveExec is /exec/{ns}/{pod}/{container}?command=...&stdin=...
func (s *Server) serveExec(w http.ResponseWriter, r *http.Request) {
	pod, container, ok := s.podAndContainer(w, r, true)
	if !ok {
		return
	}
	opts, err := parseRemoteCommandOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if len(opts.command) == 0 {
		http.Error(w, "you must specify at least one command for the container", http.StatusBadRequest)
		return
	}
	inst, ok := s.runningInstance(w, r, pod, container)
	if !ok {
		return
	}
	st, ok := s.openStreams(w, r, opts)
	if !ok {
		return
	}
	defer st.close()
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	eio := runtime.ExecIO{TTY: opts.tty}
	if st.stdin != nil {
		eio.Stdin = st.stdin
	}
	if st.stdout != nil {
		eio.Stdout = st.stdout
	}
	if st.stderr != nil {
		eio.Stderr = st.stderr
	}
	if st.resize != nil {
		eio.Resize = st.resize
	}
	code, err := s.cfg.Runtime.ExecStream(ctx, inst.ID, opts.command, eio)
	switch {
	case err != nil:
		_ = st.writeStatus(err)
	case code != 0:
		_ = st.writeStatus(exitCodeError(code))
	default:
		_ = st.writeStatus(nil)
	}
}

// serveAttach is /attach/{ns}/{pod}/{container}: the container's output
// from now on and, for a container with stdin: true, the client's input
// to its stdin (closed when the client's input ends with stdinOnce and no
// tty, as upstream's containerd); with tty, terminal resizes.
func (s *Server) serveAttach(w http.ResponseWriter, r *http.Request) {
	pod, container, ok := s.podAndContainer(w, r, true)
	if !ok {
		return
	}
	opts, err := parseRemoteCommandOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	inst, ok := s.runningInstance(w, r, pod, container)
	if !ok {
		return
	}
	st, ok := s.openStreams(w, r, opts)
	if !ok {
		return
	}
	defer st.close()
	li := &runtime.OutputListener{Done: make(chan struct{})}
	if st.stdout != nil {
		li.Stdout = st.stdout
	}
	if st.stderr != nil {
		li.Stderr = st.stderr
	} else if opts.tty && st.stdout != nil {
		li.Stderr = st.stdout
	}
	stop, err := s.cfg.Runtime.AttachOutput(inst.ID, li)
	if err != nil {
		_ = st.writeStatus(err)
		return
	}
	defer stop()
	clientGone := make(chan struct{})
	if st.stdin != nil {
		var in io.WriteCloser = nopWriteCloser{io.Discard}
		if inst.Labels[runtime.LabelStdin] != "" {
			if in, err = s.cfg.Runtime.Stdin(inst.ID); err != nil {
				_ = st.writeStatus(err)
				return
			}
		}
		// containerd's CRI rule: the end of an attach's input ends the
		// container's only for stdinOnce without a tty; otherwise it ends
		// this session and the stdin stays open for the next attach.
		once := inst.Labels[runtime.LabelStdin] == "once" && inst.Labels[runtime.LabelTTY] != "true"
		go func() {
			_, _ = io.Copy(in, st.stdin)
			if once {
				// The container sees the end of its input; the session
				// lasts until its output ends, so the client gets what it
				// answered.
				if err := s.cfg.Runtime.CloseStdin(context.WithoutCancel(r.Context()), inst.ID); err != nil {
					slog.Warn("attach: close stdin", "container", inst.ID, "err", err)
				}
				return
			}
			close(clientGone)
		}()
	}
	if st.resize != nil && inst.Labels[runtime.LabelTTY] == "true" {
		go func() {
			for sz := range st.resize {
				if err := s.cfg.Runtime.ResizeTTY(context.WithoutCancel(r.Context()), inst.ID, sz); err != nil {
					slog.Debug("attach: resize", "container", inst.ID, "err", err)
				}
			}
		}()
	}
	select {
	case <-li.Done:
	case <-clientGone:
	case <-r.Context().Done():
	}
	_ = st.writeStatus(nil)
}

// runningInstance is the container's running instance, or writes the
// upstream-shaped error.
func (s *Server) runningInstance(w http.ResponseWriter, r *http.Request, pod *v1.Pod, container string) (runtime.Container, bool) {
	insts, err := s.instances(r.Context(), pod, container)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return runtime.Container{}, false
	}
	if len(insts) == 0 || insts[0].State != runtime.StateRunning {
		http.Error(w, fmt.Sprintf("container %s is not running in pod %s", container, pod.Name), http.StatusBadRequest)
		return runtime.Container{}, false
	}
	return insts[0], true
}

// exitCodeError is a non-zero exit, reported as upstream's
// NonZeroExitCode status.
type exitCodeError int

func (e exitCodeError) Error() string {
	return fmt.Sprintf("command terminated with non-zero exit code: error executing command, exit status %d", int(e))
}

func statusFor(err error) *metav1.Status {
	st := &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}}
	var ec exitCodeError
	switch {
	case err == nil:
		st.Status = metav1.StatusSuccess
	case errors.As(err, &ec):
		st.Status = metav1.StatusFailure
		st.Reason = remotecommandconsts.NonZeroExitCodeReason
		st.Message = ec.Error()
		st.Details = &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: remotecommandconsts.ExitCodeCauseType, Message: strconv.Itoa(int(ec))}}}
	default:
		st.Status = metav1.StatusFailure
		st.Reason = metav1.StatusReasonInternalError
		st.Code = http.StatusInternalServerError
		st.Message = err.Error()
	}
	return st
}

// openStreams upgrades the request (WebSocket channel protocol or SPDY)
// and returns the session's streams; on failure it has written the error.
func (s *Server) openStreams(w http.ResponseWriter, r *http.Request, opts remoteCommandOptions) (*streams, bool) {
	if wsstream.IsWebSocketRequest(r) {
		return s.openWebSocketStreams(w, r, opts)
	}
	return s.openSPDYStreams(w, r, opts)
}

func (s *Server) openWebSocketStreams(w http.ResponseWriter, r *http.Request, opts remoteCommandOptions) (*streams, bool) {
	channels := make([]wsstream.ChannelType, 5)
	channels[remotecommandconsts.StreamStdIn] = wsstream.IgnoreChannel
	if opts.stdin {
		channels[remotecommandconsts.StreamStdIn] = wsstream.ReadChannel
	}
	channels[remotecommandconsts.StreamStdOut] = wsstream.WriteChannel
	channels[remotecommandconsts.StreamStdErr] = wsstream.WriteChannel
	channels[remotecommandconsts.StreamErr] = wsstream.WriteChannel
	channels[remotecommandconsts.StreamResize] = wsstream.IgnoreChannel
	if opts.tty {
		channels[remotecommandconsts.StreamResize] = wsstream.ReadChannel
	}
	conn := wsstream.NewConn(map[string]wsstream.ChannelProtocolConfig{
		"":                                                   {Binary: true, Channels: channels},
		wsstream.ChannelWebSocketProtocol:                    {Binary: true, Channels: channels},
		wsstream.Base64ChannelWebSocketProtocol:              {Binary: false, Channels: channels},
		remotecommandconsts.StreamProtocolV4Name:             {Binary: true, Channels: channels},
		remotecommandconsts.StreamProtocolV5Name:             {Binary: true, Channels: channels},
		"base64." + remotecommandconsts.StreamProtocolV4Name: {Binary: false, Channels: channels},
		"base64." + remotecommandconsts.StreamProtocolV5Name: {Binary: false, Channels: channels},
	})
	conn.SetIdleTimeout(s.cfg.StreamingConnectionIdleTimeout)
	protocol, chans, err := conn.Open(w, r)
	if err != nil {
		slog.Debug("websocket upgrade", "err", err)
		return nil, false
	}
	v4 := strings.Contains(protocol, remotecommandconsts.StreamProtocolV4Name) || strings.Contains(protocol, remotecommandconsts.StreamProtocolV5Name)
	st := &streams{close: func() { _ = conn.Close() }}
	if opts.stdin {
		st.stdin = chans[remotecommandconsts.StreamStdIn]
	}
	if opts.stdout {
		st.stdout = chans[remotecommandconsts.StreamStdOut]
	}
	if opts.stderr {
		st.stderr = chans[remotecommandconsts.StreamStdErr]
	}
	if opts.tty {
		st.resize = make(chan runtime.TermSize, 1)
		go decodeResizes(chans[remotecommandconsts.StreamResize], st.resize)
	}
	errStream := chans[remotecommandconsts.StreamErr]
	st.writeStatus = func(err error) error { return writeStatus(errStream, err, v4) }
	return st, true
}

func (s *Server) openSPDYStreams(w http.ResponseWriter, r *http.Request, opts remoteCommandOptions) (*streams, bool) {
	protocol, err := httpstream.Handshake(r, w, spdyRemoteCommandProtocols)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil, false
	}
	streamCh := make(chan httpstream.Stream, 8)
	upgrader := spdy.NewResponseUpgrader()
	conn := upgrader.UpgradeResponse(w, r, func(stream httpstream.Stream, replySent <-chan struct{}) error {
		streamCh <- stream
		return nil
	})
	if conn == nil {
		return nil, false // the upgrader wrote the error
	}
	conn.SetIdleTimeout(s.cfg.StreamingConnectionIdleTimeout)
	expected := 1
	for _, b := range []bool{opts.stdin, opts.stdout, opts.stderr} {
		if b {
			expected++
		}
	}
	resizable := protocol == remotecommandconsts.StreamProtocolV3Name || protocol == remotecommandconsts.StreamProtocolV4Name
	if opts.tty && resizable {
		expected++
	}
	st := &streams{close: func() { _ = conn.Close() }}
	var errStream httpstream.Stream
	timeout := time.NewTimer(streamCreationTimeout)
	defer timeout.Stop()
	for received := 0; received < expected; received++ {
		select {
		case stream := <-streamCh:
			switch stream.Headers().Get(v1.StreamType) {
			case v1.StreamTypeError:
				errStream = stream
			case v1.StreamTypeStdin:
				st.stdin = stream
			case v1.StreamTypeStdout:
				st.stdout = stream
			case v1.StreamTypeStderr:
				st.stderr = stream
			case v1.StreamTypeResize:
				st.resize = make(chan runtime.TermSize, 1)
				go decodeResizes(stream, st.resize)
			default:
				slog.Debug("exec: unexpected stream type", "type", stream.Headers().Get(v1.StreamType))
			}
		case <-timeout.C:
			_ = conn.Close()
			return nil, false
		case <-r.Context().Done():
			_ = conn.Close()
			return nil, false
		}
	}
	if errStream == nil {
		_ = conn.Close()
		return nil, false
	}
	v4 := protocol == remotecommandconsts.StreamProtocolV4Name
	st.writeStatus = func(err error) error { return writeStatus(errStream, err, v4) }
	base := st.close
	st.close = func() {
		for _, c := range []io.Closer{st.stdout, st.stderr, errStream} {
			if c != nil {
				_ = c.Close()
			}
		}
		base()
	}
	return st, true
}

// writeStatus reports the command's result on the error stream: a
// metav1.Status in v4 and later, the error text before.
func writeStatus(stream io.WriteCloser, err error, v4 bool) error {
	if v4 {
		b, merr := json.Marshal(statusFor(err))
		if merr != nil {
			return merr
		}
		_, werr := stream.Write(b)
		return werr
	}
	if err == nil {
		return nil
	}
	_, werr := stream.Write([]byte(err.Error()))
	return werr
}

// decodeResizes reads the JSON TerminalSize messages of a resize stream.
func decodeResizes(r io.Reader, out chan runtime.TermSize) {
	defer close(out)
	dec := json.NewDecoder(r)
	for {
		var size struct{ Width, Height uint16 }
		if err := dec.Decode(&size); err != nil {
			return
		}
		// Keep only the latest size when the consumer lags.
		select {
		case out <- runtime.TermSize{Width: size.Width, Height: size.Height}:
		default:
			select {
			case <-out:
			default:
			}
			out <- runtime.TermSize{Width: size.Width, Height: size.Height}
		}
	}
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
