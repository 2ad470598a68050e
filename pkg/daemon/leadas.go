package daemon

import (
	"context"
	"fmt"
	"log/slog"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// RunOrLeadAs is RunOrLead with an explicit holder identity (RunOrLead
// uses hostname_pid, which two instances in one process, as in tests,
// would share). An empty identity means hostname_pid.
func RunOrLeadAs(ctx context.Context, client kubernetes.Interface, le LeaderElection, identity string, run func(ctx context.Context)) error {
	if !le.Enabled || identity == "" {
		return RunOrLead(ctx, client, le, run)
	}
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, le.ResourceNamespace, le.ResourceName,
		client.CoreV1(), client.CoordinationV1(), resourcelock.ResourceLockConfig{Identity: identity})
	if err != nil {
		return fmt.Errorf("leader election lock %s/%s: %w", le.ResourceNamespace, le.ResourceName, err)
	}
	leaderelection.RunOrDie(ctx, leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   le.LeaseDuration,
		RenewDeadline:   le.RenewDeadline,
		RetryPeriod:     le.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            le.ResourceName,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: run,
			OnStoppedLeading: func() {
				slog.Info("leadership lost or released", "lease", le.ResourceNamespace+"/"+le.ResourceName, "identity", identity)
			},
		},
	})
	if ctx.Err() == nil {
		return fmt.Errorf("lost the leader election lease %s/%s", le.ResourceNamespace, le.ResourceName)
	}
	return nil
}
