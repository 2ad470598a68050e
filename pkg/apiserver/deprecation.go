package apiserver

import (
	"fmt"
	"strconv"

	"github.com/kstack/kstack/api"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The lifecycle methods k8s.io/api generates on its types
// (zz_generated.prerelease-lifecycle.go and lifecycle.go): the release an
// API version of a kind was deprecated in, removed in, and its successor.
type (
	lifecycleDeprecated  interface{ APILifecycleDeprecated() (major, minor int) }
	lifecycleRemoved     interface{ APILifecycleRemoved() (major, minor int) }
	lifecycleReplacement interface {
		APILifecycleReplacement() schema.GroupVersionKind
	}
)

// deprecationWarnings holds, per served group/version/resource, the
// warning upstream sends with every request to a deprecated API ("v1
// Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1
// EndpointSlice"), computed once from k8s.io/api's lifecycle data and our
// served version.
var deprecationWarnings = func() map[schema.GroupVersionResource]string {
	major, _ := strconv.Atoi(Version.Major)
	minor, _ := strconv.Atoi(Version.Minor)
	out := map[schema.GroupVersionResource]string{}
	for _, r := range api.Resources() {
		if msg := deprecationWarning(r.Resource, r.GroupVersionKind(), major, minor); msg != "" {
			out[r.GroupVersion().WithResource(r.Resource)] = msg
		}
	}
	return out
}()

// deprecationWarning is the warning for kind gvk at release major.minor,
// or "" when it is not deprecated by then.
func deprecationWarning(resource string, gvk schema.GroupVersionKind, major, minor int) string {
	obj, err := api.Scheme.New(gvk)
	if err != nil {
		return ""
	}
	dep, ok := obj.(lifecycleDeprecated)
	if !ok {
		return ""
	}
	dMajor, dMinor := dep.APILifecycleDeprecated()
	if dMajor == 0 && dMinor == 0 {
		return ""
	}
	if dMajor > major || (dMajor == major && dMinor > minor) {
		return ""
	}
	msg := fmt.Sprintf("%s %s is deprecated in v%d.%d+", gvk.GroupVersion(), gvk.Kind, dMajor, dMinor)
	if rem, ok := obj.(lifecycleRemoved); ok {
		if rMajor, rMinor := rem.APILifecycleRemoved(); rMajor != 0 || rMinor != 0 {
			msg += fmt.Sprintf(", unavailable in v%d.%d+", rMajor, rMinor)
		}
	}
	if rep, ok := obj.(lifecycleReplacement); ok {
		if g := rep.APILifecycleReplacement(); !g.Empty() {
			msg += fmt.Sprintf("; use %s %s", g.GroupVersion(), g.Kind)
		}
	}
	return msg
}
