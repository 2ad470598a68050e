package apiserver

import (
	"encoding/json"
	"mime"
	"net/http"
	"runtime"
	"strings"

	"github.com/kstack/kstack/api"
	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
)

// Version is what /version reports: the Kubernetes API level we serve.
var Version = version.Info{
	Major:      "1",
	Minor:      "37",
	GitVersion: "v1.37.0-kstack",
	GitCommit:  "",
	BuildDate:  "",
	GoVersion:  runtime.Version(),
	Compiler:   runtime.Compiler,
	Platform:   runtime.GOOS + "/" + runtime.GOARCH,
}

// discoveryDocs are built once from the resource table.
type discoveryDocs struct {
	groupVersions  []schema.GroupVersion
	resourceLists  map[schema.GroupVersion]*metav1.APIResourceList
	groups         map[string]*metav1.APIGroup
	groupList      *metav1.APIGroupList
	aggregatedAPI  *apidiscoveryv2.APIGroupDiscoveryList // /api
	aggregatedAPIs *apidiscoveryv2.APIGroupDiscoveryList // /apis
}

func subresourceVerbs(sub string) []string {
	switch sub {
	case "status", "scale":
		return []string{"get", "patch", "update"}
	case "binding", "eviction", "token":
		return []string{"create"}
	case "finalize":
		return []string{"update"}
	case "proxy":
		return []string{"create", "delete", "get", "patch", "update"}
	case "exec", "attach", "portforward":
		return []string{"create", "get"}
	}
	return []string{"get"}
}

func subresourceKind(res *api.Resource, sub string) (group, version, kind string) {
	switch sub {
	case "scale":
		return "autoscaling", "v1", "Scale"
	case "binding":
		return "", "v1", "Binding"
	case "eviction":
		return "policy", "v1", "Eviction"
	case "token":
		return "authentication.k8s.io", "v1", "TokenRequest"
	case "exec":
		return "", "v1", "PodExecOptions"
	case "attach":
		return "", "v1", "PodAttachOptions"
	case "portforward":
		return "", "v1", "PodPortForwardOptions"
	}
	return "", "", res.Kind
}

func newDiscoveryDocs() *discoveryDocs {
	d := &discoveryDocs{
		groupVersions:  api.GroupVersions(),
		resourceLists:  map[schema.GroupVersion]*metav1.APIResourceList{},
		groups:         map[string]*metav1.APIGroup{},
		groupList:      &metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}},
		aggregatedAPI:  &apidiscoveryv2.APIGroupDiscoveryList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupDiscoveryList", APIVersion: "apidiscovery.k8s.io/v2"}},
		aggregatedAPIs: &apidiscoveryv2.APIGroupDiscoveryList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupDiscoveryList", APIVersion: "apidiscovery.k8s.io/v2"}},
	}
	aggGroups := map[string]*apidiscoveryv2.APIGroupDiscovery{}
	var groupOrder []string
	for _, gv := range d.groupVersions {
		list := &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: gv.String()}
		aggVersion := apidiscoveryv2.APIVersionDiscovery{Version: gv.Version, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
		for _, r := range api.ResourcesIn(gv) {
			verbs := r.Verbs
			if verbs == nil {
				verbs = api.VerbsAll
			}
			list.APIResources = append(list.APIResources, metav1.APIResource{
				Name: r.Resource, SingularName: r.Singular, Namespaced: r.Namespaced, Kind: r.Kind,
				Verbs: verbs, ShortNames: r.ShortNames, Categories: r.Categories,
			})
			scope := apidiscoveryv2.ScopeCluster
			if r.Namespaced {
				scope = apidiscoveryv2.ScopeNamespace
			}
			ar := apidiscoveryv2.APIResourceDiscovery{
				Resource: r.Resource, SingularResource: r.Singular, Scope: scope,
				ResponseKind: &metav1.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind},
				Verbs:        verbs, ShortNames: r.ShortNames, Categories: r.Categories,
			}
			for _, sub := range r.Subresources {
				g, v, k := subresourceKind(r, sub)
				if k == r.Kind {
					g, v = r.Group, r.Version
				}
				list.APIResources = append(list.APIResources, metav1.APIResource{
					Name: r.Resource + "/" + sub, Namespaced: r.Namespaced, Kind: k,
					Group: g, Version: v, Verbs: subresourceVerbs(sub),
				})
				ar.Subresources = append(ar.Subresources, apidiscoveryv2.APISubresourceDiscovery{
					Subresource:  sub,
					ResponseKind: &metav1.GroupVersionKind{Group: g, Version: v, Kind: k},
					Verbs:        subresourceVerbs(sub),
				})
			}
			aggVersion.Resources = append(aggVersion.Resources, ar)
		}
		d.resourceLists[gv] = list
		ag, ok := aggGroups[gv.Group]
		if !ok {
			ag = &apidiscoveryv2.APIGroupDiscovery{ObjectMeta: metav1.ObjectMeta{Name: gv.Group}}
			aggGroups[gv.Group] = ag
			groupOrder = append(groupOrder, gv.Group)
		}
		ag.Versions = append(ag.Versions, aggVersion)
		if gv.Group == "" {
			continue
		}
		g, ok := d.groups[gv.Group]
		if !ok {
			g = &metav1.APIGroup{TypeMeta: metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}, Name: gv.Group,
				PreferredVersion: metav1.GroupVersionForDiscovery{GroupVersion: gv.String(), Version: gv.Version}}
			d.groups[gv.Group] = g
		}
		g.Versions = append(g.Versions, metav1.GroupVersionForDiscovery{GroupVersion: gv.String(), Version: gv.Version})
	}
	for _, name := range groupOrder {
		if name == "" {
			d.aggregatedAPI.Items = append(d.aggregatedAPI.Items, *aggGroups[name])
			continue
		}
		d.aggregatedAPIs.Items = append(d.aggregatedAPIs.Items, *aggGroups[name])
		g := d.groups[name]
		d.groupList.Groups = append(d.groupList.Groups, *g)
	}
	return d
}

// aggregatedRequested reports a client asking for the aggregated discovery
// document (apidiscovery.k8s.io/v2 APIGroupDiscoveryList) and the media
// type to answer with.
func aggregatedRequested(r *http.Request) (string, bool) {
	for _, clause := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(clause))
		if err != nil {
			continue
		}
		if params["g"] == "apidiscovery.k8s.io" && params["v"] == "v2" && params["as"] == "APIGroupDiscoveryList" {
			if mt == "application/json" || mt == "application/vnd.kubernetes.protobuf" {
				return mt, true
			}
		}
		if mt == "application/json" && params["as"] == "" {
			return "", false
		}
	}
	return "", false
}

// serveDiscovery answers /api, /apis, /apis/<group> and /apis/<group>/<version>
// (and /api/v1).
func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request, info *RequestInfo) {
	d := s.discovery
	parts := splitPath(r.URL.Path)
	switch {
	case len(parts) == 1 && parts[0] == "api":
		if mt, ok := aggregatedRequested(r); ok {
			writeAggregated(w, r, mt, d.aggregatedAPI)
			return
		}
		host := r.Host
		writeDiscovery(w, r, &metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"},
			ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: host}}})
	case len(parts) == 1 && parts[0] == "apis":
		if mt, ok := aggregatedRequested(r); ok {
			writeAggregated(w, r, mt, d.aggregatedAPIs)
			return
		}
		writeDiscovery(w, r, d.groupList)
	case len(parts) == 2 && parts[0] == "api" && parts[1] == "v1":
		writeDiscovery(w, r, d.resourceLists[schema.GroupVersion{Version: "v1"}])
	case len(parts) == 2 && parts[0] == "apis":
		g, ok := d.groups[parts[1]]
		if !ok {
			writeError(w, r, errNoSuchPath)
			return
		}
		writeDiscovery(w, r, g)
	case len(parts) == 3 && parts[0] == "apis":
		list, ok := d.resourceLists[schema.GroupVersion{Group: parts[1], Version: parts[2]}]
		if !ok {
			writeError(w, r, errNoSuchPath)
			return
		}
		writeDiscovery(w, r, list)
	default:
		writeError(w, r, errNoSuchPath)
	}
}

func writeDiscovery(w http.ResponseWriter, r *http.Request, obj kruntime.Object) {
	choice, err := negotiateOutput(r, false)
	if err != nil || choice.kind != outputObject {
		choice = mediaChoice{info: jsonInfo}
	}
	writeEncoded(w, choice, http.StatusOK, obj)
}

func writeAggregated(w http.ResponseWriter, r *http.Request, mt string, doc *apidiscoveryv2.APIGroupDiscoveryList) {
	info := jsonInfo
	if mt == "application/vnd.kubernetes.protobuf" {
		info = protobufInfo
	}
	choice := mediaChoice{info: info}
	w.Header().Set("Vary", "Accept")
	rec := &contentTypeOverride{ResponseWriter: w, ct: mt + ";g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"}
	writeEncoded(rec, choice, http.StatusOK, doc)
}

// contentTypeOverride replaces the Content-Type header at WriteHeader.
type contentTypeOverride struct {
	http.ResponseWriter
	ct string
}

func (c *contentTypeOverride) WriteHeader(code int) {
	c.ResponseWriter.Header().Set("Content-Type", c.ct)
	c.ResponseWriter.WriteHeader(code)
}

func (s *Server) serveVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, Version)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	data, _ := json.MarshalIndent(v, "", "  ")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(data)
}
