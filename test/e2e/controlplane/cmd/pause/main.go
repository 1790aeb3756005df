// Command pause is the sandbox ("infra") container of the test node's pods:
// it holds the pod's namespaces, reaps the zombies it inherits as PID 1 of
// the pod's PID namespace, and exits on SIGTERM or SIGINT. No registry is
// reachable from the test machines, so the upstream image cannot be pulled.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var status syscall.WaitStatus
			if pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
}
