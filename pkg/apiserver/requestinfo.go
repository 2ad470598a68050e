package apiserver

import (
	"net/http"
	"strings"
)

// RequestInfo is what a resource request's path and method say: the verb in
// RBAC's vocabulary and the object it addresses.
type RequestInfo struct {
	IsResourceRequest bool
	Path              string
	// Verb is get, list, watch, create, update, patch, delete or
	// deletecollection for resource requests; the lower-cased HTTP method
	// otherwise.
	Verb        string
	APIPrefix   string // "api" or "apis"
	APIGroup    string
	APIVersion  string
	Namespace   string
	Resource    string
	Subresource string
	Name        string
	Parts       []string
}

// parseRequestInfo splits /api/v1/namespaces/ns/pods/name/status and
// /apis/apps/v1/... into their parts, following upstream's rules: a
// "namespaces/<ns>" prefix names the namespace unless the resource is
// namespaces itself; the legacy /watch/ prefix makes the verb watch; GET
// without a name is list (watch with ?watch=true); DELETE without a name is
// deletecollection.
func parseRequestInfo(r *http.Request) *RequestInfo {
	info := &RequestInfo{Path: r.URL.Path, Verb: strings.ToLower(r.Method)}
	parts := splitPath(r.URL.Path)
	if len(parts) < 2 || (parts[0] != "api" && parts[0] != "apis") {
		return info
	}
	info.APIPrefix = parts[0]
	parts = parts[1:]
	if info.APIPrefix == "apis" {
		if len(parts) < 2 {
			return info // /apis or /apis/<group>: discovery
		}
		info.APIGroup = parts[0]
		parts = parts[1:]
	}
	info.APIVersion = parts[0]
	parts = parts[1:]
	if len(parts) == 0 {
		return info // /api/v1: discovery
	}
	info.IsResourceRequest = true

	watchPrefix := false
	if parts[0] == "watch" {
		watchPrefix = true
		parts = parts[1:]
	}
	switch r.Method {
	case http.MethodPost:
		info.Verb = "create"
	case http.MethodGet, http.MethodHead:
		info.Verb = "get"
	case http.MethodPut:
		info.Verb = "update"
	case http.MethodPatch:
		info.Verb = "patch"
	case http.MethodDelete:
		info.Verb = "delete"
	default:
		info.Verb = ""
	}

	if len(parts) >= 1 && parts[0] == "namespaces" {
		if len(parts) > 1 {
			info.Namespace = parts[1]
			// /namespaces/<ns>/<resource>... unless the request is about the
			// namespace itself (/namespaces/<ns> or /namespaces/<ns>/status).
			if len(parts) > 2 && !isNamespaceSubresource(parts[2]) {
				parts = parts[2:]
			}
		}
	}
	info.Parts = parts
	switch {
	case len(parts) >= 3:
		info.Resource, info.Name, info.Subresource = parts[0], parts[1], parts[2]
	case len(parts) == 2:
		info.Resource, info.Name = parts[0], parts[1]
	case len(parts) == 1:
		info.Resource = parts[0]
	}
	if info.Resource == "namespaces" {
		// /api/v1/namespaces/<ns>[/status|finalize] addresses the namespace.
		info.Namespace = ""
		if len(parts) >= 2 {
			info.Name = parts[1]
		}
	}

	if watchPrefix {
		info.Verb = "watch"
		return info
	}
	if info.Name == "" {
		switch info.Verb {
		case "get":
			info.Verb = "list"
			if w := r.URL.Query().Get("watch"); w == "true" || w == "1" {
				info.Verb = "watch"
			}
		case "delete":
			info.Verb = "deletecollection"
		}
	}
	return info
}

// isNamespaceSubresource reports the subresources of a namespace object
// itself, which must not be mistaken for a namespaced resource name.
func isNamespaceSubresource(s string) bool {
	return s == "status" || s == "finalize"
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}
