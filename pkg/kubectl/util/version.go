package util

import (
	"runtime"
	"runtime/debug"

	"k8s.io/apimachinery/pkg/version"
)

// ClientVersion is what `kubectl version` reports for this client: the
// Kubernetes level it implements, marked as kstack's.
func ClientVersion() version.Info {
	return version.Info{
		Major:        "1",
		Minor:        "37",
		GitVersion:   "v1.37.0-kstack",
		GitTreeState: "clean",
		BuildDate:    "1970-01-01T00:00:00Z",
		GoVersion:    runtime.Version(),
		Compiler:     runtime.Compiler,
		Platform:     runtime.GOOS + "/" + runtime.GOARCH,
	}
}

// UserAgent is the User-Agent of every request, shaped as upstream's
// ("kubectl/<version> (<os>/<arch>) kstack").
func UserAgent() string {
	return "kubectl/" + ClientVersion().GitVersion + " (" + runtime.GOOS + "/" + runtime.GOARCH + ") kstack"
}

// KustomizeVersion is the version of the kustomize library built in (it
// backs -k), or "" when the build carries no module information.
func KustomizeVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, dep := range info.Deps {
		if dep.Path == "sigs.k8s.io/kustomize/api" {
			return dep.Version
		}
	}
	return ""
}
