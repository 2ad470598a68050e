// Command pause is the kstack pod sandbox's process: it holds the pod's
// network, IPC and UTS namespaces open, reaps orphaned children, and exits
// 0 on SIGINT or SIGTERM. The images use it on architectures other than
// amd64; on amd64 they carry the same program as a few hundred bytes of
// machine code (hack/images/pause_elf.go).
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range sigs {
		if sig == syscall.SIGCHLD {
			for {
				var ws syscall.WaitStatus
				pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
			continue
		}
		os.Exit(0)
	}
}
