package util

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
)

// Executor streams pods/exec or pods/attach: the WebSocket (v5) protocol
// first, SPDY when the server cannot upgrade to it, as upstream; with
// KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false only SPDY.
func Executor(config *rest.Config, u *url.URL) (remotecommand.Executor, error) {
	spdy, err := remotecommand.NewSPDYExecutor(config, "POST", u)
	if err != nil {
		return nil, err
	}
	if os.Getenv("KUBECTL_REMOTE_COMMAND_WEBSOCKETS") == "false" {
		return spdy, nil
	}
	ws, err := remotecommand.NewWebSocketExecutor(config, "GET", u.String())
	if err != nil {
		return nil, err
	}
	return remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
}

// PodForArg resolves POD or TYPE/NAME to a pod (a workload's first pod).
func (f *Factory) PodForArg(ctx context.Context, arg string) (*corev1.Pod, error) {
	ns, _, err := f.Namespace()
	if err != nil {
		return nil, err
	}
	infos, err := f.NewBuilder().WithScheme(scheme.Scheme, scheme.Scheme.PrioritizedVersionsAllGroups()...).
		NamespaceParam(ns).DefaultNamespace().ResourceNames("pods", arg).Do().Infos()
	if err != nil {
		return nil, err
	}
	if len(infos) != 1 {
		return nil, errors.New("expected a resource")
	}
	return f.podOf(ctx, infos[0])
}

func (f *Factory) podOf(ctx context.Context, info *resource.Info) (*corev1.Pod, error) {
	if pod, ok := info.Object.(*corev1.Pod); ok {
		return pod, nil
	}
	cs, err := f.Clientset()
	if err != nil {
		return nil, err
	}
	pods, err := PodsForObject(ctx, cs, info.Object)
	if err != nil {
		return nil, err
	}
	if len(pods) == 0 {
		return nil, fmt.Errorf("timed out waiting for the condition")
	}
	return pods[0], nil
}

// StreamOptions are the streams of an exec or attach session.
type StreamOptions struct {
	Stdin     bool
	TTY       bool
	Quiet     bool
	Container string
}

// TerminalSetup decides whether a TTY can be used (stdin must be a
// terminal) and puts it in raw mode; restore undoes that.
func TerminalSetup(in io.Reader, errOut io.Writer, o *StreamOptions) (restore func(), sizes remotecommand.TerminalSizeQueue) {
	restore = func() {}
	if !o.TTY {
		return restore, nil
	}
	if !o.Stdin {
		// Without stdin there is no terminal to use, silently (upstream).
		o.TTY = false
		return restore, nil
	}
	file, ok := in.(*os.File)
	if !ok || !term.IsTerminal(int(file.Fd())) {
		if !o.Quiet && errOut != nil {
			fmt.Fprintln(errOut, "Unable to use a TTY - input is not a terminal or the right kind of file")
		}
		o.TTY = false
		return restore, nil
	}
	state, err := term.MakeRaw(int(file.Fd()))
	if err == nil {
		restore = func() { term.Restore(int(file.Fd()), state) }
	}
	return restore, &sizeQueue{fd: int(file.Fd())}
}

type sizeQueue struct {
	fd   int
	sent int
	// first, when set, is sent before the terminal's real size (attach
	// sends a size one larger first so the screen is redrawn).
	first   *remotecommand.TerminalSize
	winches chan os.Signal
}

// Next reports the terminal's size (after first, if set), then blocks
// until the terminal is resized (SIGWINCH) and reports the new size.
func (s *sizeQueue) Next() *remotecommand.TerminalSize {
	defer func() { s.sent++ }()
	if s.first != nil && s.sent == 0 {
		return s.first
	}
	if s.sent == 0 || (s.sent == 1 && s.first != nil) {
		return s.size()
	}
	if s.winches == nil {
		s.winches = make(chan os.Signal, 1)
		signal.Notify(s.winches, syscall.SIGWINCH)
	}
	for range s.winches {
		if sz := s.size(); sz != nil {
			return sz
		}
	}
	return nil
}

func (s *sizeQueue) size() *remotecommand.TerminalSize {
	w, h, err := term.GetSize(s.fd)
	if err != nil {
		return nil
	}
	return &remotecommand.TerminalSize{Width: uint16(w), Height: uint16(h)}
}

// RedrawFirst makes sizes (from TerminalSetup) send the terminal's size
// plus one before the real one, as upstream's attach does so that the
// program attached to redraws its screen.
func RedrawFirst(sizes remotecommand.TerminalSizeQueue) {
	q, ok := sizes.(*sizeQueue)
	if !ok {
		return
	}
	if sz := q.size(); sz != nil {
		q.first = &remotecommand.TerminalSize{Width: sz.Width + 1, Height: sz.Height + 1}
	}
}

// StreamError turns a remote command's failure into kubectl's exit: a
// non-zero exit of the command is "command terminated with exit code N"
// and exit N.
func StreamError(err error, errOut io.Writer) error {
	if err == nil {
		return nil
	}
	var exitErr utilexec.ExitError
	if errors.As(err, &exitErr) && exitErr.Exited() {
		fmt.Fprintf(errOut, "command terminated with exit code %d\n", exitErr.ExitStatus())
		return &ExitCodeError{Code: exitErr.ExitStatus()}
	}
	return err
}
