// Command kubectl is the upstream Kubernetes kubectl (k8s.io/kubectl), built at a pinned
// version so kstack's acceptance tests can drive the apiserver with the real client.
// It is not part of kstack: it lives in its own module under test/tools so its
// dependencies never leak into the main module.
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		// Print the error the way kubectl does and exit non-zero.
		cmdutil.CheckErr(err)
	}
}
