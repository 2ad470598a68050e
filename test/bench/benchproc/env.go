package benchproc

import (
	"context"
	"path/filepath"

	"k8s.io/client-go/kubernetes"
)

// EnvConfig says what StartEnv sets up for a benchmark of one component
// (controller-manager, scheduler, kubelet) run as its own process.
type EnvConfig struct {
	// TempPrefix names the temp dir (TempDir); Keep keeps it.
	TempPrefix string
	Keep       bool
	// EtcdBin is the etcd binary to start.
	EtcdBin string
	// Component is the command under test, built from ./cmd/<Component>
	// into the temp dir unless ComponentBin names a binary; its
	// kubeconfig is <Component>.kubeconfig there.
	Component    string
	ComponentBin string
	// APIServerBin is the apiserver binary; "" builds ./cmd/apiserver.
	APIServerBin string
	// APIServerArgs are extra apiserver flags (StartControlPlane).
	APIServerArgs []string
	// Protobuf makes the benchmark's client speak protobuf.
	Protobuf bool
}

// Env is a component benchmark's temp dir, binaries and control plane
// (etcd and the apiserver), with a client for the benchmark and a
// kubeconfig for the component, both with the apiserver's master token.
type Env struct {
	*ControlPlane
	Dir          string
	ComponentBin string
	Client       *kubernetes.Clientset
	Kubeconfig   string
	removeDir    func()
}

// StartEnv makes the temp dir, builds what cfg does not name, starts etcd
// and the apiserver and writes the component's kubeconfig. On an error it
// leaves nothing running; else the caller Stops the Env.
func StartEnv(ctx context.Context, cfg EnvConfig) (env *Env, err error) {
	dir, removeDir, err := TempDir(cfg.TempPrefix, cfg.Keep)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			removeDir()
		}
	}()
	apiBin, compBin := cfg.APIServerBin, cfg.ComponentBin
	for pkg, bin := range map[string]*string{"./cmd/apiserver": &apiBin, "./cmd/" + cfg.Component: &compBin} {
		if *bin != "" {
			continue
		}
		*bin = filepath.Join(dir, filepath.Base(pkg))
		if err := GoBuild(ctx, pkg, *bin); err != nil {
			return nil, err
		}
	}
	cp, err := StartControlPlane(ctx, cfg.EtcdBin, apiBin, dir, cfg.APIServerArgs...)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			cp.Stop()
		}
	}()
	clientCfg := ClientConfig(cp.URL, cp.CAFile, cp.Token)
	if cfg.Protobuf {
		clientCfg = Protobuf(clientCfg)
	}
	cs, err := kubernetes.NewForConfig(clientCfg)
	if err != nil {
		return nil, err
	}
	kubeconfig := filepath.Join(dir, cfg.Component+".kubeconfig")
	if err := WriteKubeconfig(kubeconfig, cp.URL, cp.CAFile, cp.Token); err != nil {
		return nil, err
	}
	return &Env{ControlPlane: cp, Dir: dir, ComponentBin: compBin, Client: cs, Kubeconfig: kubeconfig, removeDir: removeDir}, nil
}

// Stop stops the apiserver and etcd, then removes the temp dir (unless
// kept).
func (e *Env) Stop() {
	e.ControlPlane.Stop()
	e.removeDir()
}
