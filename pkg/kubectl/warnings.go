package kubectl

import (
	"io"
	"os"

	"golang.org/x/term"
	"k8s.io/client-go/rest"
)

// serverWarnings is the handler for the Warning headers the server sends
// (deprecated APIs, admission warnings): as upstream kubectl, each distinct
// warning is printed once as "Warning: <text>" on w, in yellow when w is a
// terminal that allows colour. client-go's default would log every one
// through klog instead.
func serverWarnings(w io.Writer) rest.WarningHandler {
	return rest.NewWarningWriter(w, rest.WarningWriterOptions{Deduplicate: true, Color: allowsColor(w)})
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
