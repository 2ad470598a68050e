package kubectl

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/client-go/rest"
)

// handleServerWarnings makes the Warning headers the server sends
// (deprecated APIs, admission warnings) read as upstream kubectl's: each
// distinct warning printed once as "Warning: <text>" on errOut, in yellow
// when errOut is a terminal that allows colour (client-go's default would log
// every one through klog instead). It adds --warnings-as-errors: a command
// that succeeded but received warnings then fails with "N warning(s)
// received".
func handleServerWarnings(root *cobra.Command, errOut io.Writer) {
	warnings := rest.NewWarningWriter(errOut, rest.WarningWriterOptions{Deduplicate: true, Color: allowsColor(errOut)})
	var asErrors bool
	root.PersistentFlags().BoolVar(&asErrors, "warnings-as-errors", false, "Treat warnings received from the server as errors and exit with a non-zero exit code")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		rest.SetDefaultWarningHandler(warnings)
		return nil
	}
	root.PersistentPostRunE = func(*cobra.Command, []string) error {
		if !asErrors {
			return nil
		}
		switch n := warnings.WarningCount(); n {
		case 0:
			return nil
		case 1:
			return fmt.Errorf("%d warning received", n)
		default:
			return fmt.Errorf("%d warnings received", n)
		}
	}
}

// allowsColor is upstream's rule: a terminal, TERM not "dumb", NO_COLOR unset.
func allowsColor(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false
	}
	if os.Getenv("TERM") == "dumb" {
		return false
	}
	_, noColor := os.LookupEnv("NO_COLOR")
	return !noColor
}
