package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"
)

// ms renders a duration in milliseconds, one decimal below 10 ms.
func ms(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	if f < 10 {
		return fmt.Sprintf("%.1f ms", f)
	}
	return fmt.Sprintf("%.0f ms", f)
}

// verdict says whether each encoding's value meets a goal.
func verdict(ok map[string]bool) string {
	var parts []string
	all := true
	for _, enc := range encodings {
		if v, present := ok[enc.name]; present {
			all = all && v
			mark := "no"
			if v {
				mark = "yes"
			}
			parts = append(parts, enc.name+" "+mark)
		}
	}
	if len(parts) == 1 {
		return strings.TrimPrefix(strings.TrimPrefix(parts[0], "JSON "), "protobuf ")
	}
	if all {
		return "yes"
	}
	return strings.Join(parts, ", ")
}

// report writes the results as markdown tables.
func report(w io.Writer, o options, r map[string]*encodingResult, mem memory) {
	js, pb := r["JSON"], r["protobuf"]
	jsonSize, pbSize := podSizes()
	fmt.Fprintf(w, "\n%d pods per encoding (pod: %d B JSON, %d B protobuf), %d concurrent creators, QPS unlimited.\n\n",
		o.pods, jsonSize, pbSize, o.clients)
	fmt.Fprintln(w, "| Measure | Goal | JSON | protobuf | Goal met | Upstream 1.37 (kind, from the issue) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	row := func(measure, goal, a, b, met, upstream string) {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", measure, goal, a, b, met, upstream)
	}
	both := func(f func(*encodingResult) time.Duration) (string, string) { return ms(f(js)), ms(f(pb)) }
	under := func(f func(*encodingResult) time.Duration, limit time.Duration) string {
		return verdict(map[string]bool{"JSON": f(js) < limit, "protobuf": f(pb) < limit})
	}

	row(fmt.Sprintf("Pod creates/s (%d clients)", o.clients), "≥ 1,000 (JSON)",
		fmt.Sprintf("%.0f", js.create.perSecond), fmt.Sprintf("%.0f", pb.create.perSecond),
		verdict(map[string]bool{"JSON": js.create.perSecond >= 1000}), "359-477 JSON, 586 protobuf")
	a, b := both(func(e *encodingResult) time.Duration { return e.create.lat.pct(50) })
	row("Create latency p50", "", a, b, "", "")
	a, b = both(func(e *encodingResult) time.Duration { return e.create.lat.pct(99) })
	row("Create latency p99", "", a, b, "", "~265 ms")

	list := fmt.Sprintf("LIST %d pods", o.pods)
	a, b = both(func(e *encodingResult) time.Duration { return e.listRV.pct(50) })
	row(list+", consistent (RV \"\") p50", "", a, b, "", "212-270 ms JSON, 138 ms protobuf")
	p99 := func(e *encodingResult) time.Duration { return e.listRV.pct(99) }
	a, b = both(p99)
	row(list+", consistent (RV \"\") p99", "< 100 ms", a, b, under(p99, 100*time.Millisecond), "")
	a, b = both(func(e *encodingResult) time.Duration { return e.rawRV.pct(50) })
	row(list+", consistent, raw body (no client decode) p50", "", a, b, "", "")
	p99 = func(e *encodingResult) time.Duration { return e.rawRV.pct(99) }
	a, b = both(p99)
	row(list+", consistent, raw body (no client decode) p99", "< 100 ms", a, b, under(p99, 100*time.Millisecond), "")
	a, b = both(func(e *encodingResult) time.Duration { return e.listRV0.pct(50) })
	row(list+", RV \"0\" p50", "", a, b, "", "")
	p99 = func(e *encodingResult) time.Duration { return e.listRV0.pct(99) }
	a, b = both(p99)
	row(list+", RV \"0\" p99", "< 100 ms", a, b, under(p99, 100*time.Millisecond), "")
	paged := fmt.Sprintf("LIST in pages of %d (all %d pages)", max(1, o.pods/10), js.pages)
	a, b = both(func(e *encodingResult) time.Duration { return e.paged.pct(50) })
	row(paged+" p50", "", a, b, "", "674-894 ms")
	a, b = both(func(e *encodingResult) time.Duration { return e.paged.pct(99) })
	row(paged+" p99", "", a, b, "", "")

	a, b = both(func(e *encodingResult) time.Duration { return e.watch1.pct(50) })
	row(fmt.Sprintf("Watch delivery, 1 watcher, p50 (%d updates)", o.watchUpdates), "", a, b, "", "")
	a, b = both(func(e *encodingResult) time.Duration { return e.watch1.pct(99) })
	row(fmt.Sprintf("Watch delivery, 1 watcher, p99 (%d updates)", o.watchUpdates), "", a, b, "", "5-7 ms")
	fan := fmt.Sprintf("Fan-out to %d watchers, last receiver (%d updates)", o.fanoutWatchers, o.fanoutUpdates)
	a, b = both(func(e *encodingResult) time.Duration { return e.fanout.pct(50) })
	row(fan+" p50", "", a, b, "", "")
	p99 = func(e *encodingResult) time.Duration { return e.fanout.pct(99) }
	a, b = both(p99)
	row(fan+" p99", "< 30 ms", a, b, under(p99, 30*time.Millisecond), "60-77 ms")

	fmt.Fprintln(w)
	fmt.Fprintln(w, "CPU use per phase (a process at 100% uses one core; the machine has", runtime.NumCPU(), "cores and may be shared):")
	fmt.Fprintln(w)
	for _, enc := range encodings {
		for _, ph := range []string{"create", "list", "raw list", "paged list", "watch", "fan-out"} {
			fmt.Fprintf(w, "- %s %s: %s\n", enc.name, ph, r[enc.name].cpu[ph])
		}
	}
	fmt.Fprintln(w)
	if mem.idle == 0 {
		fmt.Fprintln(w, "RSS not measured (no --server-pid).")
		return
	}
	mib := func(v float64) string { return fmt.Sprintf("%.0f MiB", v) }
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	fmt.Fprintln(w, "| apiserver RSS (VmRSS) | Goal | kstack | Goal met | Upstream 1.37 (kind, from the issue) |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	fmt.Fprintf(w, "| Idle, right after start | < 60 MiB | %s | %s | 274 MiB |\n", mib(mem.idle), yes(mem.idle < 60))
	fmt.Fprintf(w, "| With %d pods | < 200 MiB | %s | %s | ~550-700 MiB |\n", o.pods*len(encodings), mib(mem.loaded), yes(mem.loaded < 200))
	// "Falls back": at least half of what the load added is returned.
	fellBack := mem.deleted < mem.idle+(mem.loaded-mem.idle)/2
	fmt.Fprintf(w, "| After deleting them all + %v | falls back (half of the growth returned) | %s | %s | 1.1 GiB |\n", o.settle, mib(mem.deleted), yes(fellBack))
}
