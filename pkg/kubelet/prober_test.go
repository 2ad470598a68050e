package kubelet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kstack/kstack/pkg/kubelet/runtime"
	"github.com/kstack/kstack/pkg/kubelet/runtime/fake"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	testingclock "k8s.io/utils/clock/testing"
)

// execCall is one command the fake runtime ran for a probe.
type execCall struct {
	id      string
	cmd     []string
	timeout time.Duration
}

// probeNode is a kubelet whose exec probes run in the fake runtime, with
// the events it records and the execs it ran.
type probeNode struct {
	k     *Kubelet
	rt    *fake.Runtime
	rec   *testRecorder
	calls []execCall
}

// newProbeNode answers every exec with answer.
func newProbeNode(answer func(cmd []string, timeout time.Duration) (int, []byte, error)) *probeNode {
	n := &probeNode{rt: fake.NewRuntime(), rec: &testRecorder{}}
	n.rt.SetExec(func(id string, cmd []string, timeout time.Duration) (int, []byte, error) {
		n.calls = append(n.calls, execCall{id, cmd, timeout})
		return answer(cmd, timeout)
	})
	n.k = &Kubelet{clock: testingclock.NewFakeClock(t0), prober: n.rt, recorder: n.rec, probes: map[types.UID]map[string]*probeState{}}
	return n
}

// probeOnce runs kind's probe p of pod's first container once and returns
// whether it passes now and the events it recorded.
func (n *probeNode) probeOnce(t *testing.T, kind string, pod *v1.Pod, p *v1.Probe) (bool, []recordedEvent) {
	t.Helper()
	s := &podSync{k: n.k, pod: pod}
	inst := runtime.Container{ID: "c1", StartedAt: t0, State: runtime.StateRunning}
	ok := s.runProbe(t.Context(), kind, p, &pod.Spec.Containers[0], inst, "127.0.0.1")
	return ok, n.rec.take()
}

func execProbe(cmd ...string) *v1.Probe {
	return &v1.Probe{ProbeHandler: v1.ProbeHandler{Exec: &v1.ExecAction{Command: cmd}}, TimeoutSeconds: 1, FailureThreshold: 1}
}

func TestRunProbe_ThresholdsAndPeriod(t *testing.T) {
	codes := []int{1, 0, 1, 1, 0, 0}
	n := newProbeNode(func([]string, time.Duration) (int, []byte, error) {
		code := codes[0]
		codes = codes[1:]
		return code, nil, nil
	})
	clock := n.k.clock.(*testingclock.FakeClock)
	pod := testPod(v1.RestartPolicyAlways, nil, "a")
	s := &podSync{k: n.k, pod: pod}
	c := &pod.Spec.Containers[0]
	p := &v1.Probe{
		ProbeHandler:        v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"check"}}},
		InitialDelaySeconds: 5, PeriodSeconds: 2, FailureThreshold: 2, SuccessThreshold: 2,
	}
	inst := runtime.Container{ID: "c1", StartedAt: t0, State: runtime.StateRunning}
	steps := []struct {
		advance time.Duration
		want    bool
		probed  bool
	}{
		{0, false, false},              // initial delay: readiness starts failing
		{5 * time.Second, false, true}, // exit 1
		{time.Second, false, false},    // not due within the period
		{time.Second, false, true},     // exit 0: one success of two
		{2 * time.Second, false, true}, // exit 1
		{2 * time.Second, false, true}, // exit 1
		{2 * time.Second, false, true}, // exit 0
		{2 * time.Second, true, true},  // exit 0: two successes
	}
	left := len(codes)
	for i, st := range steps {
		clock.Step(st.advance)
		if got := s.runProbe(context.Background(), "readiness", p, c, inst, ""); got != st.want {
			t.Errorf("step %d: ready = %v, want %v", i, got, st.want)
		}
		probed := len(codes) < left
		left = len(codes)
		if probed != st.probed {
			t.Errorf("step %d: probed = %v, want %v", i, probed, st.probed)
		}
	}
}

// TestExecProbe_EventsCarryTheCommandsOutputAsUpstreams checks the
// Unhealthy event of each way an exec probe ends against the message
// upstream's prober builds.
func TestExecProbe_EventsCarryTheCommandsOutputAsUpstreams(t *testing.T) {
	big := strings.Repeat("x", runtime.MaxExecOutput+100)
	startErr := errors.New(`start exec in c1: OCI runtime exec failed: exec failed: unable to start container process: exec: "nope": executable file not found in $PATH: unknown`)
	cases := []struct {
		name   string
		kind   string
		probe  *v1.Probe
		code   int
		out    string
		err    error
		pass   bool
		events []want // fieldPath left out: always spec.containers{a}
		calls  int
	}{{
		name: "non-zero exit: the output is the message", kind: "liveness",
		probe: execProbe("cat", "/tmp/healthy"),
		code:  1, out: "cat: can't open '/tmp/healthy': No such file or directory\n",
		events: []want{{v1.EventTypeWarning, "Unhealthy", "Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory\n", ""}},
		calls:  1,
	}, {
		name: "non-zero exit without output: an empty message, no exit code, as upstream", kind: "liveness",
		probe:  execProbe("false"),
		code:   1,
		events: []want{{v1.EventTypeWarning, "Unhealthy", "Liveness probe failed: ", ""}},
		calls:  1,
	}, {
		name: "readiness: the same message under its own name", kind: "readiness",
		probe: execProbe("sh", "-c", "echo not ready; echo db down >&2; exit 3"),
		code:  3, out: "not ready\ndb down\n",
		events: []want{{v1.EventTypeWarning, "Unhealthy", "Readiness probe failed: not ready\ndb down\n", ""}},
		calls:  1,
	}, {
		name: "startup", kind: "startup",
		probe: execProbe("check"),
		code:  2, out: "starting",
		events: []want{{v1.EventTypeWarning, "Unhealthy", "Startup probe failed: starting", ""}},
		calls:  1,
	}, {
		name: "output beyond 10 KiB is cut", kind: "liveness",
		probe: execProbe("chatty"),
		code:  1, out: big,
		events: []want{{v1.EventTypeWarning, "Unhealthy", "Liveness probe failed: " + big[:runtime.MaxExecOutput], ""}},
		calls:  1,
	}, {
		name: "timeout: the timeout is the message", kind: "liveness",
		probe:  execProbe("sleep", "10"),
		err:    runtime.ExecTimeoutError([]string{"sleep", "10"}, time.Second),
		events: []want{{v1.EventTypeWarning, "Unhealthy", `Liveness probe failed: command timed out: "sleep 10" timed out after 1s`, ""}},
		calls:  1,
	}, {
		name: "the command cannot run: errored, after three tries", kind: "liveness",
		probe:  execProbe("nope"),
		err:    startErr,
		events: []want{{v1.EventTypeWarning, "Unhealthy", "Liveness probe errored and resulted in unknown state: " + startErr.Error(), ""}},
		calls:  3,
	}, {
		name: "success with output: no event", kind: "liveness",
		probe: execProbe("check"),
		out:   "all good\n",
		pass:  true,
		calls: 1,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := newProbeNode(func([]string, time.Duration) (int, []byte, error) {
				return tc.code, []byte(tc.out), tc.err
			})
			pod := testPod(v1.RestartPolicyAlways, nil, "a")
			ok, events := n.probeOnce(t, tc.kind, pod, tc.probe)
			if ok != tc.pass {
				t.Errorf("passes = %v, want %v", ok, tc.pass)
			}
			for i := range tc.events {
				tc.events[i].fieldPath = "spec.containers{a}"
			}
			assertEvents(t, tc.name, pod, events, tc.events...)
			if len(n.calls) != tc.calls {
				t.Fatalf("%d execs, want %d", len(n.calls), tc.calls)
			}
			for _, c := range n.calls {
				if c.id != "c1" || strings.Join(c.cmd, " ") != strings.Join(tc.probe.Exec.Command, " ") || c.timeout != time.Second {
					t.Errorf("exec %+v, want %q in c1 with timeout 1s", c, tc.probe.Exec.Command)
				}
			}
		})
	}
}

func TestExecProbe_CommandExpandsTheContainersStaticEnv(t *testing.T) {
	n := newProbeNode(func([]string, time.Duration) (int, []byte, error) { return 0, nil, nil })
	pod := testPod(v1.RestartPolicyAlways, nil, "a")
	pod.Spec.Containers[0].Env = []v1.EnvVar{
		{Name: "FILE", Value: "/tmp/healthy"},
		{Name: "NODE", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
	}
	p := execProbe("cat", "$(FILE)", "$(NODE)", "$(UNSET)", "$$(FILE)")
	if ok, _ := n.probeOnce(t, "liveness", pod, p); !ok {
		t.Fatal("probe failed")
	}
	// Static values only, as upstream: a valueFrom variable is empty.
	want := []string{"cat", "/tmp/healthy", "", "$(UNSET)", "$(FILE)"}
	if len(n.calls) != 1 || fmt.Sprint(n.calls[0].cmd) != fmt.Sprint(want) {
		t.Errorf("ran %+v, want %q", n.calls, want)
	}
}

// TestHTTPProbe_RedirectsAndStatusAsUpstreams: a redirect on the same host
// is followed, one to another host passes with a ProbeWarning event that
// quotes the body, an error status fails without the body.
func TestHTTPProbe_RedirectsAndStatusAsUpstreams(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/local":
			w.Header().Set("Location", "/ok")
			w.WriteHeader(http.StatusFound)
		case "/away":
			// The same server under another host name.
			u, _ := url.Parse("http://" + r.Host)
			w.Header().Set("Location", "http://localhost:"+u.Port()+"/ok")
			w.WriteHeader(http.StatusMovedPermanently)
			fmt.Fprint(w, "moved away")
		case "/ok":
			fmt.Fprint(w, "fine")
		default:
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, "secret details")
		}
	}))
	t.Cleanup(srv.Close)
	_, portStr, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portStr)
	cases := []struct {
		path   string
		pass   bool
		events []want
	}{
		{"/ok", true, nil},
		{"/local", true, nil},
		{"/away", true, []want{{v1.EventTypeWarning, "ProbeWarning", "Liveness probe warning: Probe terminated redirects, Response body: moved away", "spec.containers{a}"}}},
		{"/broken", false, []want{{v1.EventTypeWarning, "Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 500", "spec.containers{a}"}}},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			n := newProbeNode(nil)
			pod := testPod(v1.RestartPolicyAlways, nil, "a")
			p := &v1.Probe{
				ProbeHandler:   v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: tc.path, Port: intstr.FromInt(port)}},
				TimeoutSeconds: 5, FailureThreshold: 1,
			}
			ok, events := n.probeOnce(t, "liveness", pod, p)
			if ok != tc.pass {
				t.Errorf("passes = %v, want %v", ok, tc.pass)
			}
			assertEvents(t, tc.path, pod, events, tc.events...)
		})
	}
}

// An HTTPS probe of a container with a self-signed certificate passes (the
// certificate is not verified), and the request carries upstream's headers:
// kube-probe's User-Agent and Accept: */* unless the probe sets its own, a
// Host header as the request's host, the path's query.
func TestHTTPProbe_HTTPSUnverifiedAndUpstreamsHeaders(t *testing.T) {
	type seen struct{ host, ua, accept, query string }
	got := make(chan seen, 1)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, hasAccept := r.Header["Accept"]
		accept := r.Header.Get("Accept")
		if !hasAccept {
			accept = "<none>"
		}
		got <- seen{r.Host, r.Header.Get("User-Agent"), accept, r.URL.RawQuery}
		fmt.Fprint(w, "fine")
	}))
	t.Cleanup(srv.Close)
	_, portStr, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portStr)
	cases := []struct {
		name    string
		headers []v1.HTTPHeader
		want    seen
	}{
		{"defaults", nil, seen{"127.0.0.1:" + portStr, "kube-probe/1.37", "*/*", "x=1"}},
		{"own headers", []v1.HTTPHeader{{Name: "Host", Value: "app.example"}, {Name: "User-Agent", Value: "mine"}, {Name: "Accept", Value: "text/plain"}},
			seen{"app.example", "mine", "text/plain", "x=1"}},
		{"empty Accept removes it", []v1.HTTPHeader{{Name: "Accept", Value: ""}}, seen{"127.0.0.1:" + portStr, "kube-probe/1.37", "<none>", "x=1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := &v1.HTTPGetAction{Scheme: v1.URISchemeHTTPS, Path: "/healthz?x=1", Port: intstr.FromInt(port), HTTPHeaders: tc.headers}
			res, msg, err := httpProbe(context.Background(), g, &v1.Container{}, "127.0.0.1", 5*time.Second)
			if err != nil || res != probeSuccess {
				t.Fatalf("HTTPS probe of a self-signed server = %v, %q, %v; want success", res, msg, err)
			}
			if s := <-got; s != tc.want {
				t.Errorf("server saw %+v, want %+v", s, tc.want)
			}
		})
	}
}
