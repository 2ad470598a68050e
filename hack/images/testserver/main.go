// Command testserver is kstack's test image, in the spirit of upstream's
// agnhost: an HTTP server that answers with its hostname and offers a few
// knobs for tests.
//
//	GET /            the hostname
//	GET /hostname    the hostname
//	GET /healthz     200 "ok", or 500 after /sethealthz?ok=false
//	GET /sethealthz?ok=true|false
//	GET /echo?msg=x  x
//	GET /exit?code=N exits with code N (after answering)
//	GET /alloc?mb=N  allocates and touches N MiB, kept until exit
//
// It listens on --port (default 8080, or $PORT) and exits 0 on SIGTERM.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	port := flag.Int("port", 8080, "port to listen on")
	flag.Parse()
	if p := os.Getenv("PORT"); p != "" {
		if n, err := strconv.Atoi(p); err == nil {
			*port = n
		}
	}
	var healthy atomic.Bool
	healthy.Store(true)
	var mu sync.Mutex
	var hoard [][]byte

	hostname := func(w http.ResponseWriter, _ *http.Request) {
		h, _ := os.Hostname()
		fmt.Fprint(w, h)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", hostname)
	mux.HandleFunc("/hostname", hostname)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !healthy.Load() {
			http.Error(w, "unhealthy", http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("/sethealthz", func(w http.ResponseWriter, r *http.Request) {
		ok, err := strconv.ParseBool(r.URL.Query().Get("ok"))
		if err != nil {
			http.Error(w, "ok must be true or false", http.StatusBadRequest)
			return
		}
		healthy.Store(ok)
		fmt.Fprintf(w, "healthy=%v", ok)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.URL.Query().Get("msg"))
	})
	mux.HandleFunc("/exit", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.URL.Query().Get("code"))
		if err != nil {
			http.Error(w, "code must be a number", http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "exiting %d", code)
		log.Printf("exiting with code %d on request", code)
		go func() { time.Sleep(100 * time.Millisecond); os.Exit(code) }()
	})
	mux.HandleFunc("/alloc", func(w http.ResponseWriter, r *http.Request) {
		mb, err := strconv.Atoi(r.URL.Query().Get("mb"))
		if err != nil || mb < 0 {
			http.Error(w, "mb must be a non-negative number", http.StatusBadRequest)
			return
		}
		b := make([]byte, mb<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		mu.Lock()
		hoard = append(hoard, b)
		mu.Unlock()
		fmt.Fprintf(w, "allocated %d MiB", mb)
	})

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		sig := <-sigs
		log.Printf("exiting on %v", sig)
		os.Exit(0)
	}()
	addr := ":" + strconv.Itoa(*port)
	log.Printf("serving on %s", addr)
	log.Fatal(http.ListenAndServe(addr, mux))
}
