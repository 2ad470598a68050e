package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	"github.com/containerd/typeurl/v2"
)

// WatchExits calls fn with the container ID of every task exit in the
// namespace until ctx ends, resubscribing after errors.
func (r *Runtime) WatchExits(ctx context.Context, fn func(containerID string)) {
	filter := fmt.Sprintf(`topic=="/tasks/exit",namespace==%q`, r.namespace)
	for ctx.Err() == nil {
		ch, errs := r.client.Subscribe(ctx, filter)
	loop:
		for {
			select {
			case <-ctx.Done():
				return
			case err := <-errs:
				if ctx.Err() == nil {
					slog.Warn("containerd event stream broke; resubscribing", "err", err)
				}
				break loop
			case env := <-ch:
				if env == nil || env.Event == nil {
					continue
				}
				ev, err := typeurl.UnmarshalAny(env.Event)
				if err != nil {
					continue
				}
				if exit, ok := ev.(*apievents.TaskExit); ok {
					fn(exit.ContainerID)
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
