package apiserver

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
)

// componentProbeTimeout bounds one component check, as upstream's.
const componentProbeTimeout = 20 * time.Second

// componentCheck answers one ComponentStatus's Healthy condition.
type componentCheck func(ctx context.Context) corev1.ComponentCondition

// componentChecks are the components upstream's componentstatuses
// reports: the scheduler and the controller-manager on this machine at
// their default secure ports, probed at /healthz without verifying their
// certificates, and etcd.
func (s *Server) componentChecks() map[string]componentCheck {
	return map[string]componentCheck{
		"scheduler":          httpComponentCheck("https://127.0.0.1:10259/healthz"),
		"controller-manager": httpComponentCheck("https://127.0.0.1:10257/healthz"),
		"etcd-0":             s.etcdComponentCheck,
	}
}

func (s *Server) etcdComponentCheck(ctx context.Context) corev1.ComponentCondition {
	ctx, cancel := context.WithTimeout(ctx, componentProbeTimeout)
	defer cancel()
	c := corev1.ComponentCondition{Type: corev1.ComponentHealthy}
	if _, err := s.client.Get(ctx, s.cfg.EtcdPrefix+"/health-probe", clientCountOnly()); err != nil {
		c.Status, c.Error = corev1.ConditionFalse, err.Error()
		return c
	}
	c.Status, c.Message = corev1.ConditionTrue, "ok"
	return c
}

var componentProbeClient = &http.Client{
	Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
	// A redirect is not followed: it reports Unknown, as upstream's prober.
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// httpComponentCheck probes url as upstream's HTTP prober: 2xx is healthy
// with the body as message; a failed request is unhealthy with the error as
// message; another status is unhealthy without the body.
func httpComponentCheck(url string) componentCheck {
	return func(ctx context.Context) corev1.ComponentCondition {
		ctx, cancel := context.WithTimeout(ctx, componentProbeTimeout)
		defer cancel()
		c := corev1.ComponentCondition{Type: corev1.ComponentHealthy}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			c.Status, c.Error = corev1.ConditionUnknown, err.Error()
			return c
		}
		req.Header.Set("User-Agent", "kube-probe/"+Version.Major+"."+Version.Minor)
		req.Header.Set("Accept", "*/*")
		resp, err := componentProbeClient.Do(req)
		if err != nil {
			c.Status, c.Message = corev1.ConditionFalse, err.Error()
			return c
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 10*1024))
		switch {
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			c.Status, c.Message = corev1.ConditionTrue, string(body)
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			c.Status, c.Message = corev1.ConditionUnknown, "Probe terminated redirects, Response body: "+string(body)
		default:
			c.Status, c.Message = corev1.ConditionFalse, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode)
		}
		return c
	}
}

// serveComponentStatuses is GET of componentstatuses and of one of them:
// every read runs the checks.
func (s *Server) serveComponentStatuses(w http.ResponseWriter, r *http.Request, rs *resourceStore, info *RequestInfo) {
	choice, err := negotiateOutput(r, false)
	if err != nil {
		writeError(w, r, err)
		return
	}
	checks := s.componentChecks()
	status := func(name string) corev1.ComponentStatus {
		cs := corev1.ComponentStatus{Conditions: []corev1.ComponentCondition{checks[name](r.Context())}}
		cs.Name = name
		return cs
	}
	if info.Verb == "get" {
		if _, ok := checks[info.Name]; !ok {
			writeError(w, r, apierrors.NewNotFound(schemaGR("", "componentstatus"), info.Name))
			return
		}
		cs := status(info.Name)
		s.writeResult(w, r, choice, http.StatusOK, rs, &cs)
		return
	}
	labelSel, fieldSel := labels.Everything(), fields.Everything()
	q := r.URL.Query()
	if v := q.Get("labelSelector"); v != "" {
		if labelSel, err = labels.Parse(v); err != nil {
			writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err)))
			return
		}
	}
	if v := q.Get("fieldSelector"); v != "" {
		if fieldSel, err = fields.ParseSelector(v); err != nil {
			writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("invalid field selector: %v", err)))
			return
		}
	}
	names := make([]string, 0, len(checks))
	for name := range checks {
		names = append(names, name)
	}
	sort.Strings(names)
	items := make([]corev1.ComponentStatus, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			items[i] = status(name)
		}()
	}
	wg.Wait()
	list := &corev1.ComponentStatusList{Items: []corev1.ComponentStatus{}}
	for _, cs := range items {
		if labelSel.Matches(labels.Set(cs.Labels)) && fieldSel.Matches(fields.Set{"metadata.name": cs.Name, "metadata.namespace": ""}) {
			list.Items = append(list.Items, cs)
		}
	}
	s.writeResult(w, r, choice, http.StatusOK, rs, list)
}
