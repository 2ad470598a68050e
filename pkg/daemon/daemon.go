// Package daemon holds the process plumbing every kstack daemon shares:
// structured logging and a signal-cancelled context.
package daemon

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// SetupLogging routes log/slog to stderr as text (or JSON with
// format "json"), at debug level when verbosity > 2 (klog's -v habit).
func SetupLogging(format string, verbosity int) {
	level := slog.LevelInfo
	if verbosity > 2 {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if format == "json" {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	slog.SetDefault(slog.New(h))
}

// SignalContext is cancelled on SIGINT or SIGTERM; a second signal exits
// at once.
func SignalContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-ch
		slog.Info("shutting down")
		cancel()
		<-ch
		os.Exit(1)
	}()
	return ctx
}
