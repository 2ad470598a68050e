package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/kstack/kstack/pkg/kubelet/runtime"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
)

// servePods is /pods: the node's pods as a v1 PodList.
func (s *Server) servePods(w http.ResponseWriter, r *http.Request) {
	pods, err := s.cfg.Pods.List(labels.Everything())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	list := v1.PodList{}
	list.Kind, list.APIVersion = "PodList", "v1"
	sort.Slice(pods, func(i, j int) bool {
		if pods[i].Namespace != pods[j].Namespace {
			return pods[i].Namespace < pods[j].Namespace
		}
		return pods[i].Name < pods[j].Name
	})
	for _, p := range pods {
		c := p.DeepCopy()
		c.Kind, c.APIVersion = "Pod", "v1"
		list.Items = append(list.Items, *c)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(&list)
}

// podAndContainer finds the pod (and its spec container) named by a
// request; on failure it has written the error.
func (s *Server) podAndContainer(w http.ResponseWriter, r *http.Request, needContainer bool) (*v1.Pod, string, bool) {
	ns, name := r.PathValue("namespace"), r.PathValue("pod")
	pod, err := s.cfg.Pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) || (err == nil && r.PathValue("uid") != "" && string(pod.UID) != r.PathValue("uid")) {
		http.Error(w, fmt.Sprintf("pod %q/%q not found", ns, name), http.StatusNotFound)
		return nil, "", false
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return nil, "", false
	}
	if !needContainer {
		return pod, "", true
	}
	container := r.PathValue("container")
	if !specHasContainer(pod, container) {
		http.Error(w, fmt.Sprintf("container %q not found in pod %q", container, name), http.StatusNotFound)
		return nil, "", false
	}
	return pod, container, true
}

func specHasContainer(pod *v1.Pod, name string) bool {
	for _, c := range pod.Spec.Containers {
		if c.Name == name {
			return true
		}
	}
	for _, c := range pod.Spec.InitContainers {
		if c.Name == name {
			return true
		}
	}
	return false
}

// instances are a container's runtime instances, newest (highest
// restart count) first.
func (s *Server) instances(ctx context.Context, pod *v1.Pod, container string) ([]runtime.Container, error) {
	cs, err := s.cfg.Runtime.List(ctx, string(pod.UID))
	if err != nil {
		return nil, err
	}
	var out []runtime.Container
	for _, c := range cs {
		if c.Labels[runtime.LabelKind] == runtime.KindContainer && c.Labels[runtime.LabelContainerName] == container {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].RestartCount() != out[j].RestartCount() {
			return out[i].RestartCount() > out[j].RestartCount()
		}
		return out[i].CreatedAt.After(out[j].CreatedAt)
	})
	return out, nil
}

// sandbox is the pod's running sandbox.
func (s *Server) sandbox(ctx context.Context, pod *v1.Pod) (runtime.Container, bool, error) {
	cs, err := s.cfg.Runtime.List(ctx, string(pod.UID))
	if err != nil {
		return runtime.Container{}, false, err
	}
	for i := len(cs) - 1; i >= 0; i-- {
		if cs[i].Labels[runtime.LabelKind] == runtime.KindSandbox && cs[i].State == runtime.StateRunning {
			return cs[i], true, nil
		}
	}
	return runtime.Container{}, false, nil
}

// waitingReason is the container's waiting reason from the pod status.
func waitingReason(pod *v1.Pod, container string) string {
	for _, st := range append(append([]v1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
		if st.Name == container && st.State.Waiting != nil && st.State.Waiting.Reason != "" {
			return st.State.Waiting.Reason
		}
	}
	return "ContainerCreating"
}

// serveContainerLogs is /containerLogs/{ns}/{pod}/{container} with
// upstream's query parameters (a PodLogOptions).
func (s *Server) serveContainerLogs(w http.ResponseWriter, r *http.Request) {
	pod, container, ok := s.podAndContainer(w, r, true)
	if !ok {
		return
	}
	q := r.URL.Query()
	var opts runtime.LogOptions
	badRequest := func(msg string) { http.Error(w, msg, http.StatusBadRequest) }
	boolParam := func(name string) (bool, bool) {
		v := q.Get(name)
		if v == "" {
			return false, true
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			badRequest(fmt.Sprintf("invalid %s %q: %v", name, v, err))
			return false, false
		}
		return b, true
	}
	var previous bool
	if opts.Follow, ok = boolParam("follow"); !ok {
		return
	}
	if previous, ok = boolParam("previous"); !ok {
		return
	}
	if opts.Timestamps, ok = boolParam("timestamps"); !ok {
		return
	}
	intParam := func(name string, min int64) (*int64, bool) {
		v := q.Get(name)
		if v == "" {
			return nil, true
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < min {
			badRequest(fmt.Sprintf("invalid %s %q: must be an integer >= %d", name, v, min))
			return nil, false
		}
		return &n, true
	}
	if opts.TailLines, ok = intParam("tailLines", 0); !ok {
		return
	}
	if opts.LimitBytes, ok = intParam("limitBytes", 1); !ok {
		return
	}
	since, ok := intParam("sinceSeconds", 1)
	if !ok {
		return
	}
	if v := q.Get("sinceTime"); v != "" {
		if since != nil {
			badRequest("at most one of sinceTime or sinceSeconds may be specified")
			return
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			badRequest(fmt.Sprintf("invalid sinceTime %q: %v", v, err))
			return
		}
		opts.SinceTime = t
	}
	if since != nil {
		opts.SinceTime = time.Now().Add(-time.Duration(*since) * time.Second)
	}

	insts, err := s.instances(r.Context(), pod, container)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var inst runtime.Container
	switch {
	case previous && len(insts) < 2:
		badRequest(fmt.Sprintf("previous terminated container %q in pod %q not found", container, pod.Name))
		return
	case previous:
		inst = insts[1]
	case len(insts) == 0:
		badRequest(fmt.Sprintf("container %q in pod %q is waiting to start: %s", container, pod.Name, waitingReason(pod, container)))
		return
	default:
		inst = insts[0]
	}
	path := inst.Labels[runtime.LabelLogPath]
	id := inst.ID
	running := func() bool {
		cs, err := s.cfg.Runtime.List(context.WithoutCancel(r.Context()), string(pod.UID))
		if err != nil {
			return true
		}
		for _, c := range cs {
			if c.ID == id {
				return c.State == runtime.StateRunning
			}
		}
		return false
	}
	if previous || inst.State != runtime.StateRunning {
		opts.Follow = false
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	fw := &flushWriter{w: w, rc: http.NewResponseController(w)}
	if opts.Follow {
		// Send the headers now: a followed log may stay quiet for long.
		if _, err := os.Stat(path); err != nil {
			badRequest(fmt.Sprintf("failed to get logs of container %q in pod %q: %v", container, pod.Name, err))
			return
		}
		w.WriteHeader(http.StatusOK)
		fw.wrote = true
		fw.Flush()
	}
	if err := runtime.ReadLogs(r.Context(), path, opts, fw, running); err != nil {
		if !fw.wrote {
			http.Error(w, fmt.Sprintf("failed to get logs of container %q in pod %q: %v", container, pod.Name, err), http.StatusBadRequest)
		}
		return
	}
	if !fw.wrote {
		w.WriteHeader(http.StatusOK)
	}
}

// flushWriter flushes each write when the caller asks (follow).
type flushWriter struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	wrote bool
}

func (f *flushWriter) Write(p []byte) (int, error) {
	f.wrote = true
	return f.w.Write(p)
}

func (f *flushWriter) Flush() {
	if f.wrote {
		_ = f.rc.Flush()
	}
}
