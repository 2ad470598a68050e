package create

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

// boundObjectKinds are the kinds a token may be bound to, with their
// API versions.
var boundObjectKinds = map[string]string{"Pod": "v1", "Secret": "v1", "Node": "v1"}

// newToken is `create token`: request a service account token
// (TokenRequest) and print it.
func newToken(f *util.Factory) *cobra.Command {
	print := util.NewPrintFlags("created")
	var (
		audiences                      []string
		duration                       time.Duration
		boundKind, boundName, boundUID string
	)
	cmd := &cobra.Command{
		Use:                   "token SERVICE_ACCOUNT_NAME",
		DisableFlagsInUseLine: true,
		Short:                 "Request a service account token",
		Long:                  "Request a service account token.",
		Example: `  # Request a token to authenticate to the kube-apiserver as the service account "myapp" in the current namespace
  kubectl create token myapp`,
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return util.UsageError(cmd, "exactly one NAME is required, got %d", len(args))
		}
		name := args[0]
		ns, _, err := f.Namespace()
		if err != nil {
			return err
		}
		printer, err := print.ToPrinter()
		if err != nil {
			return err
		}
		switch {
		case ns == "":
			return fmt.Errorf("--namespace is required")
		case duration < 0:
			return fmt.Errorf("--duration must be greater than or equal to 0")
		case duration%time.Second != 0:
			return fmt.Errorf("--duration cannot be expressed in units less than seconds")
		}
		for _, a := range audiences {
			if a == "" {
				return fmt.Errorf("--audience must not be an empty string")
			}
		}
		if boundKind == "" {
			if boundName != "" {
				return fmt.Errorf("--bound-object-name can only be set if --bound-object-kind is provided")
			}
			if boundUID != "" {
				return fmt.Errorf("--bound-object-uid can only be set if --bound-object-kind is provided")
			}
		} else {
			if _, ok := boundObjectKinds[boundKind]; !ok {
				kinds := make([]string, 0, len(boundObjectKinds))
				for k := range boundObjectKinds {
					kinds = append(kinds, k)
				}
				sort.Strings(kinds)
				return fmt.Errorf("supported --bound-object-kind values are %s", strings.Join(kinds, ", "))
			}
			if boundName == "" {
				return fmt.Errorf("--bound-object-name is required if --bound-object-kind is provided")
			}
		}
		req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{Audiences: audiences}}
		if duration > 0 {
			secs := int64(duration / time.Second)
			req.Spec.ExpirationSeconds = &secs
		}
		if boundKind != "" {
			req.Spec.BoundObjectRef = &authenticationv1.BoundObjectReference{
				Kind: boundKind, APIVersion: boundObjectKinds[boundKind], Name: boundName, UID: types.UID(boundUID),
			}
		}
		cs, err := f.Clientset()
		if err != nil {
			return err
		}
		resp, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(context.Background(), name, req, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("failed to create token: %v", err)
		}
		if resp.Status.Token == "" {
			return fmt.Errorf("failed to create token: no token in server response")
		}
		if *print.OutputFormat != "" {
			return printer.PrintObj(resp, f.Out)
		}
		// A terminal gets a newline; a pipe gets the bare token.
		if isTerminal(f.Out) {
			fmt.Fprintf(f.Out, "%s\n", resp.Status.Token)
		} else {
			fmt.Fprint(f.Out, resp.Status.Token)
		}
		return nil
	}
	print.AddFlags(cmd)
	flags := cmd.Flags()
	flags.StringArrayVar(&audiences, "audience", nil, "Audience of the requested token. If unset, defaults to requesting a token for use with the Kubernetes API server. May be repeated to request a token valid for multiple audiences.")
	flags.DurationVar(&duration, "duration", 0, "Requested lifetime of the issued token. If not set or if set to 0, the lifetime will be determined by the server automatically. The server may return a token with a longer or shorter lifetime.")
	flags.StringVar(&boundKind, "bound-object-kind", "", "Kind of an object to bind the token to. Supported kinds are Node, Pod, Secret. If set, --bound-object-name must be provided.")
	flags.StringVar(&boundName, "bound-object-name", "", "Name of an object to bind the token to. The token will expire when the object is deleted. Requires --bound-object-kind.")
	flags.StringVar(&boundUID, "bound-object-uid", "", "UID of an object to bind the token to. Requires --bound-object-kind and --bound-object-name. If unset, the UID of the existing object is used.")
	return cmd
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w any) bool {
	file, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := file.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
