// Command webapp is the workshop's web application as dk-bootstrap builds it: a hello-world page, like
// the seed's zwindler/vhelloworld, that also names the Pod that served it (its host name), so a test
// going through a Service can tell which Pod answered.
//
// It listens on PORT (default 80, as the workshop's Service targets) and stops cleanly on SIGTERM, the
// kubelet's way of stopping a container, finishing the requests in flight.
package main

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	// Two small clients for looking at the cluster from inside a Pod (`kubectl exec POD -- /webapp get URL`): the image
	// holds nothing else, no shell, no nslookup.
	if len(os.Args) == 3 && os.Args[1] == "get" {
		os.Exit(get(os.Args[2]))
	}
	if len(os.Args) == 3 && os.Args[1] == "resolve" {
		os.Exit(resolve(os.Args[2]))
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "80"
	}
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// The host name in a header too: a client can read it without parsing the page.
		w.Header().Set("X-Served-By", host)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><title>Hello World</title></head>\n<body><h1>Hello World!</h1>\n<p>Served by %s</p></body></html>\n", html.EscapeString(host))
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	srv := &http.Server{Addr: ":" + port, Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	drained := make(chan struct{})
	go func() {
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		close(drained)
	}()
	log.Printf("webapp: serving on :%s as %s", port, host)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("webapp: %v", err)
	}
	// ListenAndServe returns as soon as Shutdown starts: wait for the requests in flight to finish.
	<-drained
}

// get prints the body of an HTTP GET, and exits non-zero unless the answer is 200.
func get(url string) int {
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer resp.Body.Close()
	if _, err := io.Copy(os.Stdout, resp.Body); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(os.Stderr, resp.Status)
		return 1
	}
	return 0
}

// resolve prints each address a name resolves to through the Pod's resolv.conf (the cluster DNS), one a line.
func resolve(name string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, name)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, a := range addrs {
		fmt.Println(a)
	}
	return 0
}
