// Command kubectl is kstack's kubectl: upstream's verbs, flags, output and
// exit codes, built on client-go and k8s.io/cli-runtime.
package main

import (
	"os"

	"github.com/kstack/kstack/pkg/kubectl"
)

func main() {
	os.Exit(kubectl.Main(os.Args[1:], kubectl.StdStreams()))
}
