// Package version is `kubectl version`: the client's version and, unless
// --client, the server's.
package version

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	apiversion "k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

// Info is the -o json|yaml document, shaped as upstream's.
type Info struct {
	ClientVersion    *apiversion.Info `json:"clientVersion,omitempty"`
	KustomizeVersion string           `json:"kustomizeVersion,omitempty"`
	ServerVersion    *apiversion.Info `json:"serverVersion,omitempty"`
}

// New returns the version command.
func New(f *util.Factory) *cobra.Command {
	var clientOnly bool
	var output string
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print the client and server version information",
		Long:    "Print the client and server version information for the current context.",
		Example: "  # Print the client and server versions for the current context\n  kubectl version",
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(f, clientOnly, output, args)
		},
	}
	cmd.Flags().BoolVar(&clientOnly, "client", false, "If true, shows client version only (no server required).")
	cmd.Flags().StringVarP(&output, "output", "o", "", "One of 'yaml' or 'json'.")
	return cmd
}

func run(f *util.Factory, clientOnly bool, output string, args []string) error {
	if !clientOnly && len(args) != 0 {
		return fmt.Errorf("extra arguments: %v", args)
	}
	if output != "" && output != "yaml" && output != "json" {
		return errors.New(`--output must be 'yaml' or 'json'`)
	}
	cv := util.ClientVersion()
	info := Info{ClientVersion: &cv, KustomizeVersion: util.KustomizeVersion()}
	var serverErr error
	if !clientOnly {
		dc, err := f.Discovery()
		switch {
		case err != nil && !clientcmd.IsEmptyConfig(err):
			return err
		case err == nil:
			dc.Invalidate()
			info.ServerVersion, serverErr = dc.ServerVersion()
		}
	}
	switch output {
	case "":
		fmt.Fprintf(f.Out, "Client Version: %s\n", cv.GitVersion)
		fmt.Fprintf(f.Out, "Kustomize Version: %s\n", info.KustomizeVersion)
		if info.ServerVersion != nil {
			fmt.Fprintf(f.Out, "Server Version: %s\n", info.ServerVersion.GitVersion)
		}
	case "yaml":
		b, err := yaml.Marshal(&info)
		if err != nil {
			return err
		}
		fmt.Fprintln(f.Out, string(b))
	case "json":
		b, err := json.MarshalIndent(&info, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(f.Out, string(b))
	}
	return serverErr
}
