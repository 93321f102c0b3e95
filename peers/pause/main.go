// Command pause is dk-bootstrap's sandbox program: the first process of every Pod, which holds the Pod's
// namespaces (network, IPC, and PID when the Pod shares it) while its containers come and go.
//
// It does what the sandbox needs and nothing more: it sleeps until SIGINT or SIGTERM and then exits 0
// (the kubelet stops a sandbox with SIGTERM and expects a clean exit), and, because it is PID 1 of a Pod
// that shares its PID namespace, it reaps every orphan that is re-parented to it on SIGCHLD, so
// zombies never pile up. Written for dk-bootstrap (the project cannot pull registry.k8s.io/pause).
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is printed by -v; the image is named after the release it stands in for.
const version = "dk-bootstrap-pause 1"

func main() {
	if len(os.Args) > 1 {
		if os.Args[1] == "-v" {
			fmt.Println(version)
			return
		}
		fmt.Fprintln(os.Stderr, "usage: pause [-v]")
		os.Exit(2)
	}
	// Buffered: a SIGCHLD that arrives while a batch is being reaped is kept, never lost, and one
	// wake-up reaps every child that exited meanwhile (signals of one kind coalesce).
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	// After Notify: once this line is out, a SIGTERM is handled (a test waits for it).
	if os.Getpid() != 1 {
		// Still useful outside a sandbox (tests), but it is then not the one reaping orphans.
		fmt.Fprintln(os.Stderr, "pause: warning: not PID 1")
	}
	for s := range sigs {
		if s == syscall.SIGCHLD {
			reap()
			continue
		}
		os.Exit(0)
	}
}

// reap collects every exited child without blocking, until none is left to collect.
func reap() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
	}
}
