package apiserver

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kstack/kstack/pkg/auth"
	"github.com/kstack/kstack/pkg/storage"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/httpstream"
)

// podStreamPaths are the kubelet paths of the pod subresources the
// apiserver forwards (as upstream's pod registry does).
var podStreamPaths = map[string]string{
	"log":         "containerLogs",
	"exec":        "exec",
	"attach":      "attach",
	"portforward": "portForward",
}

// servePodProxy is pods/<name>/{log,exec,attach,portforward}: it checks
// the pod and container, then streams the node's kubelet: logs with a
// plain GET, the others by proxying the upgraded connection (SPDY or
// WebSocket) to the kubelet.
func (s *Server) servePodProxy(w http.ResponseWriter, r *http.Request, rs *resourceStore, info *RequestInfo) {
	sub := info.Subresource
	switch {
	case sub == "log" && info.Verb != "get":
		writeError(w, r, methodNotSupported(rs.res.GroupResource(), info.Verb))
		return
	case sub != "log" && info.Verb != "get" && info.Verb != "create":
		writeError(w, r, methodNotSupported(rs.res.GroupResource(), info.Verb))
		return
	}
	if sub != "log" && info.Verb == "get" {
		// A WebSocket upgrade is a GET; it still needs create, as upstream
		// (AuthorizePodWebsocketUpgradeCreatePermission).
		a := attributesFor(auth.UserFrom(r.Context()), info, r)
		a.Verb = "create"
		if err := s.authorize(r, a); err != nil {
			writeError(w, r, err)
			return
		}
	}
	pod := &corev1.Pod{}
	if err := rs.storage.Get(r.Context(), rs.key(info.Namespace, info.Name), storage.GetOptions{}, pod); err != nil {
		writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	container := ""
	if sub != "portforward" {
		var err error
		if container, err = podContainer(pod, q.Get("container")); err != nil {
			writeError(w, r, err)
			return
		}
	}
	if pod.Spec.NodeName == "" {
		if sub == "log" {
			// Upstream answers an empty log for a pod not yet scheduled.
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusOK)
			return
		}
		writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", pod.Name)))
		return
	}
	params, err := podStreamParams(sub, q)
	if err != nil {
		writeError(w, r, err)
		return
	}
	nodes, _ := s.lookup("", "v1", "nodes")
	node := &corev1.Node{}
	if err := nodes.storage.Get(r.Context(), nodes.key("", pod.Spec.NodeName), storage.GetOptions{ResourceVersion: "0"}, node); err != nil {
		if apierrors.IsNotFound(err) {
			err = apierrors.NewNotFound(corev1.Resource("nodes"), pod.Spec.NodeName)
		}
		writeError(w, r, err)
		return
	}
	addr, err := kubeletAddress(node)
	if err != nil {
		writeError(w, r, apierrors.NewServiceUnavailable(err.Error()))
		return
	}
	rt, err := s.kubeletRoundTripper()
	if err != nil {
		writeError(w, r, apierrors.NewInternalError(err))
		return
	}
	path := "/" + podStreamPaths[sub] + "/" + url.PathEscape(pod.Namespace) + "/" + url.PathEscape(pod.Name)
	if container != "" {
		path += "/" + url.PathEscape(container)
	}
	target := &url.URL{Scheme: "https", Host: addr, Path: path, RawQuery: params.Encode()}
	if sub == "log" {
		if skip, _ := strconv.ParseBool(q.Get("insecureSkipTLSVerifyBackend")); skip {
			rt = insecureVariant(rt)
		}
		s.streamPodLog(w, r, rt, target, pod.Name)
		return
	}
	if !httpstream.IsUpgradeRequest(r) {
		writeError(w, r, apierrors.NewBadRequest("Upgrade request required"))
		return
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(&url.URL{Scheme: "https", Host: addr})
			pr.Out.URL.Path, pr.Out.URL.RawPath, pr.Out.URL.RawQuery = target.Path, "", target.RawQuery
			pr.Out.Host = addr
			// The client's credentials are for the apiserver, not the kubelet.
			pr.Out.Header.Del("Authorization")
			for k := range pr.Out.Header {
				if strings.HasPrefix(k, "Impersonate-") {
					pr.Out.Header.Del(k)
				}
			}
		},
		Transport:     rt,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			writeError(w, r, apierrors.NewServiceUnavailable(fmt.Sprintf("error trying to reach the kubelet of node %s: %v", pod.Spec.NodeName, err)))
		},
	}
	proxy.ServeHTTP(w, r)
}

// podContainer defaults and checks the container parameter as upstream:
// the only container when there is one, else the choices are listed.
func podContainer(pod *corev1.Pod, container string) (string, error) {
	if container == "" {
		switch {
		case len(pod.Spec.Containers) == 1:
			return pod.Spec.Containers[0].Name, nil
		case len(pod.Spec.Containers) == 0:
			return "", apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s", pod.Name))
		}
		msg := fmt.Sprintf("a container name must be specified for pod %s, choose one of: [%s]", pod.Name, containerNames(pod.Spec.Containers))
		if len(pod.Spec.InitContainers) > 0 {
			msg += fmt.Sprintf(" or one of the init containers: [%s]", containerNames(pod.Spec.InitContainers))
		}
		return "", apierrors.NewBadRequest(msg)
	}
	for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for _, c := range cs {
			if c.Name == container {
				return container, nil
			}
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == container {
			return container, nil
		}
	}
	msg := fmt.Sprintf("container %s is not valid for pod %s, choose one of: [%s]", container, pod.Name, containerNames(pod.Spec.Containers))
	if len(pod.Spec.InitContainers) > 0 {
		msg += fmt.Sprintf(" or one of the init containers: [%s]", containerNames(pod.Spec.InitContainers))
	}
	return "", apierrors.NewBadRequest(msg)
}

func containerNames(cs []corev1.Container) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return strings.Join(names, " ")
}

// podStreamParams validates the subresource's options and returns the
// query for the kubelet.
func podStreamParams(sub string, q url.Values) (url.Values, error) {
	out := url.Values{}
	switch sub {
	case "log":
		for _, b := range []string{"follow", "previous", "timestamps"} {
			if v := q.Get(b); v != "" {
				t, err := strconv.ParseBool(v)
				if err != nil {
					return nil, apierrors.NewBadRequest(fmt.Sprintf("%s: invalid value %q", b, v))
				}
				if t {
					out.Set(b, "true")
				}
			}
		}
		ints := map[string]int64{"tailLines": 0, "limitBytes": 1, "sinceSeconds": 1}
		for _, name := range []string{"tailLines", "limitBytes", "sinceSeconds"} {
			v := q.Get(name)
			if v == "" {
				continue
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("%s: invalid value %q", name, v))
			}
			if n < ints[name] {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("PodLogOptions is invalid: %s: must be greater than or equal to %d", name, ints[name]))
			}
			out.Set(name, v)
		}
		if v := q.Get("sinceTime"); v != "" {
			if q.Get("sinceSeconds") != "" {
				return nil, apierrors.NewBadRequest("PodLogOptions is invalid: sinceTime: at most one of `sinceTime` or `sinceSeconds` may be specified")
			}
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("sinceTime: invalid value %q: %v", v, err))
			}
			out.Set("sinceTime", t.Format(time.RFC3339))
		}
	case "exec", "attach":
		for _, b := range []string{"stdin", "stdout", "stderr", "tty"} {
			if t, _ := strconv.ParseBool(q.Get(b)); t {
				out.Set(b, "1")
			}
		}
		if sub == "exec" {
			cmd := q["command"]
			if len(cmd) == 0 {
				return nil, apierrors.NewBadRequest("you must specify at least one command for the container")
			}
			out["command"] = cmd
		}
		if out.Get("stdin") == "" && out.Get("stdout") == "" && out.Get("stderr") == "" {
			return nil, apierrors.NewBadRequest("you must specify at least 1 of stdin, stdout, stderr")
		}
	case "portforward":
		for _, p := range q["ports"] {
			out.Add("ports", p)
		}
	}
	return out, nil
}

// streamPodLog GETs the kubelet's containerLogs and copies the body as
// it comes; an error answer becomes a Status with the kubelet's message.
func (s *Server) streamPodLog(w http.ResponseWriter, r *http.Request, rt http.RoundTripper, target *url.URL, name string) {
	// pods/log is long-running: the client going away ends the stream.
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, target.String(), nil)
	if err != nil {
		writeError(w, r, apierrors.NewInternalError(err))
		return
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		writeError(w, r, apierrors.NewServiceUnavailable(fmt.Sprintf("error trying to reach the kubelet: %v", err)))
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64*1024))
		body := strings.TrimSpace(string(b))
		switch resp.StatusCode {
		case http.StatusBadRequest:
			writeError(w, r, apierrors.NewBadRequest(body))
		case http.StatusInternalServerError:
			writeError(w, r, apierrors.NewInternalError(errors.New(body)))
		default:
			writeError(w, r, apierrors.NewGenericServerResponse(resp.StatusCode, "", corev1.Resource("pods/log"), name, body, 0, false))
		}
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	buf := make([]byte, 32*1024)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			_ = rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

// insecureVariant is rt without verification of the kubelet's serving
// certificate (insecureSkipTLSVerifyBackend).
func insecureVariant(rt http.RoundTripper) http.RoundTripper {
	t, ok := rt.(*http.Transport)
	if !ok || t.TLSClientConfig == nil || t.TLSClientConfig.InsecureSkipVerify {
		return rt
	}
	c := t.Clone()
	c.TLSClientConfig = t.TLSClientConfig.Clone()
	c.TLSClientConfig.InsecureSkipVerify = true
	c.TLSClientConfig.RootCAs = nil
	return c
}
