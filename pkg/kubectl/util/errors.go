package util

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/clientcmd"
)

// DefaultErrorExitCode is the exit code of a failed command, as upstream.
const DefaultErrorExitCode = 1

// ErrExit makes a command exit 1 without printing anything (it already
// reported what went wrong).
var ErrExit = errors.New("exit")

// ExitCodeError exits with Code after printing Err (if any): commands
// whose exit code carries meaning (auth can-i, diff) return it.
type ExitCodeError struct {
	Code int
	Err  error
}

func (e *ExitCodeError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitCodeError) Unwrap() error { return e.Err }

// UsageError is a command-line mistake: upstream prints it with a pointer
// to the command's help.
func UsageError(cmd *cobra.Command, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return fmt.Errorf("%s\nSee '%s -h' for help and examples", msg, cmd.CommandPath())
}

// ErrorMessage turns err into what upstream kubectl prints on stderr and
// the exit code it returns. An empty message prints nothing.
func ErrorMessage(err error) (string, int) {
	if agg, ok := err.(utilerrors.Aggregate); ok && len(agg.Errors()) == 1 {
		err = agg.Errors()[0]
	}
	if err == nil {
		return "", 0
	}
	var ec *ExitCodeError
	if errors.As(err, &ec) {
		if ec.Err == nil {
			return "", ec.Code
		}
		msg, _ := ErrorMessage(ec.Err)
		return msg, ec.Code
	}
	if errors.Is(err, ErrExit) {
		return "", DefaultErrorExitCode
	}
	var statusErr *apierrors.StatusError
	if errors.As(err, &statusErr) && statusErr.Status().Reason == metav1.StatusReasonInvalid && apierrors.IsInvalid(err) {
		return invalidMessage(statusErr.Status()), DefaultErrorExitCode
	}
	if clientcmd.IsConfigurationInvalid(err) {
		return multilineError("Error in configuration: ", err), DefaultErrorExitCode
	}
	var noMatch *meta.NoResourceMatchError
	if errors.As(err, &noMatch) {
		r := noMatch.PartialResource
		switch {
		case r.Group != "" && r.Version != "":
			return fmt.Sprintf("the server doesn't have a resource type %q in group %q and version %q", r.Resource, r.Group, r.Version), DefaultErrorExitCode
		case r.Group != "":
			return fmt.Sprintf("the server doesn't have a resource type %q in group %q", r.Resource, r.Group), DefaultErrorExitCode
		case r.Version != "":
			return fmt.Sprintf("the server doesn't have a resource type %q in version %q", r.Resource, r.Version), DefaultErrorExitCode
		default:
			return fmt.Sprintf("the server doesn't have a resource type %q", r.Resource), DefaultErrorExitCode
		}
	}
	if agg, ok := err.(utilerrors.Aggregate); ok {
		var b strings.Builder
		// Upstream lists an aggregate's errors without the "error: " prefix.
		for _, e := range agg.Errors() {
			if msg, ok := standardMessage(e); ok {
				b.WriteString(msg)
			} else {
				b.WriteString(e.Error())
			}
			b.WriteString("\n")
		}
		return b.String(), DefaultErrorExitCode
	}
	return messageForError(err), DefaultErrorExitCode
}

// messageForError is one error's line: a server status, a connection
// failure, or "error: <message>".
func messageForError(err error) string {
	if msg, ok := standardMessage(err); ok {
		return msg
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "error: ") {
		msg = "error: " + msg
	}
	return msg
}

func standardMessage(err error) (string, bool) {
	if status, ok := err.(apierrors.APIStatus); ok {
		s := status.Status()
		switch {
		case s.Reason == metav1.StatusReasonUnauthorized:
			return fmt.Sprintf("error: You must be logged in to the server (%s)", s.Message), true
		case s.Reason != "":
			return fmt.Sprintf("Error from server (%s): %s", s.Reason, err.Error()), true
		default:
			return fmt.Sprintf("Error from server: %s", err.Error()), true
		}
	}
	if apierrors.IsUnexpectedObjectError(err) {
		return fmt.Sprintf("Server returned an unexpected response: %s", err.Error()), true
	}
	var uerr *url.Error
	if errors.As(err, &uerr) && uerr.Err != nil {
		if strings.Contains(uerr.Err.Error(), "connection refused") {
			host := uerr.URL
			if u, perr := url.Parse(uerr.URL); perr == nil {
				host = u.Host
			}
			return fmt.Sprintf("The connection to the server %s was refused - did you specify the right host or port?", host), true
		}
		return fmt.Sprintf("Unable to connect to the server: %v", uerr.Err), true
	}
	return "", false
}

func invalidMessage(status metav1.Status) string {
	d := status.Details
	s := "The request is invalid"
	if d == nil {
		if status.Message != "" {
			s += ": " + status.Message
		}
		return s
	}
	if d.Kind != "" || d.Name != "" {
		s = fmt.Sprintf("The %s %q is invalid", d.Kind, d.Name)
	} else if status.Message != "" && len(d.Causes) == 0 {
		s += ": " + status.Message
	}
	if len(d.Causes) == 0 {
		return s
	}
	seen := map[string]bool{}
	var causes []string
	for _, c := range d.Causes {
		m := fmt.Sprintf("%s: %s", c.Field, c.Message)
		if seen[m] {
			continue
		}
		seen[m] = true
		causes = append(causes, m)
	}
	if len(causes) == 1 {
		return s + ": " + causes[0] + "\n"
	}
	var b strings.Builder
	b.WriteString(s + ": \n")
	for _, c := range causes {
		b.WriteString("* " + c + "\n")
	}
	return b.String()
}

func multilineError(prefix string, err error) string {
	if agg, ok := err.(utilerrors.Aggregate); ok {
		errs := utilerrors.Flatten(agg).Errors()
		switch len(errs) {
		case 0:
			return fmt.Sprintf("%s%v\n", prefix, err)
		case 1:
			return fmt.Sprintf("%s%v\n", prefix, messageForError(errs[0]))
		default:
			var b strings.Builder
			b.WriteString(prefix + "\n")
			for _, e := range errs {
				fmt.Fprintf(&b, "* %v\n", messageForError(e))
			}
			return b.String()
		}
	}
	return fmt.Sprintf("%s%s\n", prefix, err)
}
