// Package util is the plumbing every kubectl command shares: the factory
// that turns the global kubeconfig flags into clients, and the error
// handling that turns an error into upstream's message and exit code.
package util

import (
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Factory hands commands their clients. It is built once by the root
// command from the global flags; every client is created lazily, so a
// command that never talks to the server (version --client, completion,
// config) never loads more than it needs.
type Factory struct {
	// Flags are the kubeconfig flags (--kubeconfig, --context, -n, ...).
	Flags *genericclioptions.ConfigFlags
	// IOStreams are where commands read and write.
	genericiooptions.IOStreams

	mu        sync.Mutex
	config    *rest.Config
	clientset kubernetes.Interface
	dynamic   dynamic.Interface
}

// NewFactory returns a factory over flags writing to streams.
func NewFactory(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *Factory {
	return &Factory{Flags: flags, IOStreams: streams}
}

// ClientConfig is the merged kubeconfig with the flag overrides applied
// (KUBECONFIG list merge or --kubeconfig, then --context, --cluster, ...).
func (f *Factory) ClientConfig() clientcmd.ClientConfig {
	return f.Flags.ToRawKubeConfigLoader()
}

// RESTConfig is the client configuration for the selected context.
func (f *Factory) RESTConfig() (*rest.Config, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.config != nil {
		return rest.CopyConfig(f.config), nil
	}
	c, err := f.Flags.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	c.UserAgent = UserAgent()
	f.config = c
	return rest.CopyConfig(c), nil
}

// Namespace is the namespace commands act in, and whether it was set
// explicitly (-n or the context's namespace).
func (f *Factory) Namespace() (string, bool, error) {
	return f.ClientConfig().Namespace()
}

// Discovery is a discovery client that caches under ~/.kube/cache, as
// upstream's.
func (f *Factory) Discovery() (discovery.CachedDiscoveryInterface, error) {
	return f.Flags.ToDiscoveryClient()
}

// RESTMapper maps kinds and resource names (including short names) to
// resources, from discovery.
func (f *Factory) RESTMapper() (meta.RESTMapper, error) {
	return f.Flags.ToRESTMapper()
}

// Clientset is a typed client.
func (f *Factory) Clientset() (kubernetes.Interface, error) {
	c, err := f.RESTConfig()
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.clientset == nil {
		cs, err := kubernetes.NewForConfig(c)
		if err != nil {
			return nil, err
		}
		f.clientset = cs
	}
	return f.clientset, nil
}

// Dynamic is a dynamic client.
func (f *Factory) Dynamic() (dynamic.Interface, error) {
	c, err := f.RESTConfig()
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dynamic == nil {
		d, err := dynamic.NewForConfig(c)
		if err != nil {
			return nil, err
		}
		f.dynamic = d
	}
	return f.dynamic, nil
}

// NewBuilder starts a resource builder (type/name arguments, files,
// selectors) on this factory's configuration.
func (f *Factory) NewBuilder() *resource.Builder {
	return resource.NewBuilder(f.Flags)
}
