package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// ClientOptions are the flags every daemon uses to reach the apiserver.
type ClientOptions struct {
	Kubeconfig  string
	Master      string // --master overrides the kubeconfig's server
	QPS         float32
	Burst       int
	ContentType string // default application/vnd.kubernetes.protobuf
	UserAgent   string
}

// RESTConfig loads the kubeconfig (or the in-cluster config when none is
// given) with the daemon's rate limits and protobuf.
func RESTConfig(o ClientOptions) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if o.Kubeconfig == "" && o.Master == "" {
		cfg, err = rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("no --kubeconfig given and not running in a cluster: %w", err)
		}
	} else {
		cfg, err = clientcmd.BuildConfigFromFlags(o.Master, o.Kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("load kubeconfig %s: %w", o.Kubeconfig, err)
		}
	}
	if o.QPS != 0 {
		cfg.QPS = o.QPS
	}
	if o.Burst != 0 {
		cfg.Burst = o.Burst
	}
	cfg.ContentType = o.ContentType
	if cfg.ContentType == "" {
		cfg.ContentType = "application/vnd.kubernetes.protobuf"
	}
	cfg.AcceptContentTypes = cfg.ContentType + ",application/json"
	if o.UserAgent != "" {
		cfg.UserAgent = o.UserAgent
	}
	return cfg, nil
}

// LeaderElection are upstream's --leader-elect-* flags.
type LeaderElection struct {
	Enabled           bool
	LeaseDuration     time.Duration // 15s
	RenewDeadline     time.Duration // 10s
	RetryPeriod       time.Duration // 2s
	ResourceNamespace string        // kube-system
	ResourceName      string        // the component's name
}

// RunOrLead runs run directly, or, with leader election, only while this
// process holds the Lease; losing it ends the process's work (run's
// context is cancelled and RunOrLead returns), as upstream components exit
// on lost leadership.
func RunOrLead(ctx context.Context, client kubernetes.Interface, le LeaderElection, run func(ctx context.Context)) error {
	if !le.Enabled {
		run(ctx)
		return nil
	}
	id, _ := os.Hostname()
	id = fmt.Sprintf("%s_%d", id, os.Getpid())
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, le.ResourceNamespace, le.ResourceName,
		client.CoreV1(), client.CoordinationV1(), resourcelock.ResourceLockConfig{Identity: id})
	if err != nil {
		return err
	}
	lost := make(chan struct{})
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
				slog.Info("leadership lost or released", "lease", le.ResourceNamespace+"/"+le.ResourceName, "identity", id)
				close(lost)
			},
		},
	})
	select {
	case <-lost:
	default:
	}
	if ctx.Err() == nil {
		return fmt.Errorf("lost the leader election lease %s/%s", le.ResourceNamespace, le.ResourceName)
	}
	return nil
}
