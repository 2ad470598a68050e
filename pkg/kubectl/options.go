package kubectl

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// newOptionsCommand is `kubectl options`: the global flags, which the other
// commands' help leaves out.
func newOptionsCommand(out io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "options",
		Short:   "Print the list of flags inherited by all commands",
		Long:    "Print the list of flags inherited by all commands",
		Example: "  # Print flags inherited by all commands\n  kubectl options",
		Run: func(cmd *cobra.Command, args []string) {
			cmd.Usage()
		},
	}
	cmd.SetOut(out)
	cmd.SetErr(out)
	// Upstream's options templates: an empty help, a usage of the
	// inherited flags.
	cmd.SetHelpFunc(func(*cobra.Command, []string) {})
	cmd.SetUsageFunc(func(c *cobra.Command) error {
		if !c.HasInheritedFlags() {
			return nil
		}
		_, err := fmt.Fprintf(c.OutOrStderr(), "The following options can be passed to any command:\n\n%s", flagUsages(c.InheritedFlags(), terminalWrapLimit(out)))
		return err
	})
	return cmd
}
