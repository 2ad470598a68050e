package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/gorilla/mux"
)

// healthCheck is one named check of /healthz, /livez or /readyz.
type healthCheck struct {
	name string
	run  func(ctx context.Context) error
}

func (s *Server) checks(kind string) []healthCheck {
	ping := healthCheck{"ping", func(context.Context) error { return nil }}
	etcd := healthCheck{"etcd", func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		// A linearizable read of one key proves a quorum answers.
		_, err := s.client.Get(ctx, s.cfg.EtcdPrefix+"/health-probe", clientCountOnly())
		return err
	}}
	ready := healthCheck{"poststarthook/bootstrap", func(context.Context) error {
		if s.isReady() {
			return nil
		}
		if s.bootstrapErr != nil {
			return fmt.Errorf("not finished: %v", s.bootstrapErr)
		}
		return fmt.Errorf("not finished")
	}}
	switch kind {
	case "readyz":
		return []healthCheck{ping, etcd, ready}
	default:
		return []healthCheck{ping, etcd}
	}
}

// serveHealth answers /healthz, /livez and /readyz as upstream: "ok" or a
// 500 listing the failures; ?verbose lists every check; /<kind>/<check>
// runs one check; ?exclude=<check> skips some.
func (s *Server) serveHealth(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		checks := s.checks(kind)
		if one := mux.Vars(r)["check"]; one != "" {
			for _, c := range checks {
				if c.name == one {
					if err := c.run(r.Context()); err != nil {
						http.Error(w, fmt.Sprintf("internal server error: %v", err), http.StatusInternalServerError)
						return
					}
					w.Header().Set("Content-Type", "text/plain; charset=utf-8")
					fmt.Fprint(w, "ok")
					return
				}
			}
			http.NotFound(w, r)
			return
		}
		excluded := map[string]bool{}
		for _, e := range r.URL.Query()["exclude"] {
			excluded[e] = true
		}
		var out strings.Builder
		failed := []string{}
		for _, c := range checks {
			if excluded[c.name] {
				fmt.Fprintf(&out, "[+]%s excluded: ok\n", c.name)
				continue
			}
			if err := c.run(r.Context()); err != nil {
				fmt.Fprintf(&out, "[-]%s failed: reason withheld\n", c.name)
				failed = append(failed, c.name)
				continue
			}
			fmt.Fprintf(&out, "[+]%s ok\n", c.name)
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, verbose := r.URL.Query()["verbose"]
		if len(failed) > 0 {
			sort.Strings(failed)
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, out.String())
			fmt.Fprintf(w, "%s check failed\n", kind)
			return
		}
		if verbose {
			fmt.Fprint(w, out.String())
			fmt.Fprintf(w, "%s check passed\n", kind)
			return
		}
		fmt.Fprint(w, "ok")
	}
}
