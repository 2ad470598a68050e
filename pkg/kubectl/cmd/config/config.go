// Package config is `kubectl config`: read and edit kubeconfig files with
// upstream's loading rules (--kubeconfig, else the $KUBECONFIG list merged,
// else ~/.kube/config); edits go back to the file that holds each stanza.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/tools/clientcmd/api/latest"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

// New returns the config command and its subcommands.
func New(f *util.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "config SUBCOMMAND",
		DisableFlagsInUseLine: true,
		Short:                 "Modify kubeconfig files",
		Long: `Modify kubeconfig files using subcommands like "kubectl config set current-context my-context".

 The loading order follows these rules:

  1.  If the --kubeconfig flag is set, then only that file is loaded. The flag may only be set once and no merging takes place.
  2.  If $KUBECONFIG environment variable is set, then it is used as a list of paths (normal path delimiting rules for your system). These paths are merged. When a value is modified, it is modified in the file that defines the stanza. When a value is created, it is created in the first file that exists. If no files in the chain exist, then it creates the last file in the list.
  3.  Otherwise, ${HOME}/.kube/config is used and no merging takes place.`,
		Run: func(cmd *cobra.Command, args []string) { cmd.Help() },
	}
	access := func() *clientcmd.PathOptions {
		po := clientcmd.NewDefaultPathOptions()
		if f.Flags.KubeConfig != nil {
			po.LoadingRules.ExplicitPath = *f.Flags.KubeConfig
		}
		return po
	}
	cmd.AddCommand(
		newView(f, access),
		newCurrentContext(f, access),
		newUseContext(f, access),
		newGetContexts(f, access),
		newSetContext(f, access),
		newSetCluster(f, access),
		newSetCredentials(f, access),
		newDeleteContext(f, access),
	)
	return cmd
}

// helpError prints the command's help, then fails with msg (as upstream's
// config subcommands do on wrong arguments).
func helpError(cmd *cobra.Command, format string, args ...any) error {
	cmd.Help()
	return fmt.Errorf(format, args...)
}

func newView(f *util.Factory, access func() *clientcmd.PathOptions) *cobra.Command {
	var minify, flatten, raw bool
	merge := true
	print := genericclioptions.NewPrintFlags("").WithDefaultOutput("yaml")
	cmd := &cobra.Command{
		Use:   "view",
		Short: "Display merged kubeconfig settings or a specified kubeconfig file",
		Long: `Display merged kubeconfig settings or a specified kubeconfig file.

 You can use --output jsonpath={...} to extract specific values using a jsonpath expression.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 0 {
				return util.UsageError(cmd, "unexpected arguments: %v", args)
			}
			po := access()
			if po.IsExplicitFile() && !cmd.Flags().Changed("merge") {
				merge = false
			}
			p, err := print.ToPrinter()
			if err != nil {
				return err
			}
			var cfg *clientcmdapi.Config
			if merge {
				cfg, err = po.GetStartingConfig()
			} else {
				cfg, err = clientcmd.LoadFromFile(po.GetExplicitFile())
			}
			if err != nil {
				return err
			}
			if minify {
				if c := *f.Flags.Context; c != "" {
					cfg.CurrentContext = c
				}
				if err := clientcmdapi.MinifyConfig(cfg); err != nil {
					return err
				}
			}
			if flatten {
				if err := clientcmdapi.FlattenConfig(cfg); err != nil {
					return err
				}
			} else if !raw {
				if err := clientcmdapi.RedactSecrets(cfg); err != nil {
					return err
				}
				clientcmdapi.ShortenConfig(cfg)
			}
			obj, err := latest.Scheme.ConvertToVersion(cfg, latest.ExternalVersion)
			if err != nil {
				return err
			}
			return p.PrintObj(obj, f.Out)
		},
	}
	print.AddFlags(cmd)
	cmd.Flags().BoolVar(&merge, "merge", true, "Merge the full hierarchy of kubeconfig files")
	cmd.Flags().BoolVar(&raw, "raw", false, "Display raw byte data and sensitive data")
	cmd.Flags().BoolVar(&flatten, "flatten", false, "Flatten the resulting kubeconfig file into self-contained output (useful for creating portable kubeconfig files)")
	cmd.Flags().BoolVar(&minify, "minify", false, "Remove all information not used by current-context from the output")
	return cmd
}

func newCurrentContext(f *util.Factory, access func() *clientcmd.PathOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "current-context",
		Short: "Display the current-context",
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := access().GetStartingConfig()
			if err != nil {
				return err
			}
			if cfg.CurrentContext == "" {
				return errors.New("current-context is not set")
			}
			fmt.Fprintf(f.Out, "%s\n", cfg.CurrentContext)
			return nil
		},
	}
}

func newUseContext(f *util.Factory, access func() *clientcmd.PathOptions) *cobra.Command {
	return &cobra.Command{
		Use:                   "use-context CONTEXT_NAME",
		DisableFlagsInUseLine: true,
		Aliases:               []string{"use"},
		Short:                 "Set the current-context in a kubeconfig file",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return helpError(cmd, "Unexpected args: %v", args)
			}
			name := args[0]
			po := access()
			cfg, err := po.GetStartingConfig()
			if err != nil {
				return err
			}
			if name == "" {
				return errors.New("empty context names are not allowed")
			}
			if _, ok := cfg.Contexts[name]; !ok {
				return fmt.Errorf("no context exists with the name: %q", name)
			}
			cfg.CurrentContext = name
			if err := clientcmd.ModifyConfig(po, *cfg, true); err != nil {
				return err
			}
			fmt.Fprintf(f.Out, "Switched to context %q.\n", name)
			return nil
		},
	}
}

func newGetContexts(f *util.Factory, access func() *clientcmd.PathOptions) *cobra.Command {
	var output string
	var noHeaders bool
	cmd := &cobra.Command{
		Use:                   "get-contexts [(-o|--output=)name)]",
		DisableFlagsInUseLine: true,
		Short:                 "Describe one or many contexts",
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "" && output != "name" {
				return fmt.Errorf("--output %v is not available in kubectl config get-contexts; resetting to default output format", output)
			}
			nameOnly := output == "name"
			cfg, err := access().GetStartingConfig()
			if err != nil {
				return err
			}
			w := printers.GetNewTabWriter(f.Out)
			defer w.Flush()
			var errs []error
			var names []string
			if len(args) == 0 {
				for name := range cfg.Contexts {
					names = append(names, name)
				}
			} else {
				for _, name := range args {
					if _, ok := cfg.Contexts[name]; ok {
						names = append(names, name)
					} else {
						errs = append(errs, fmt.Errorf("context %v not found", name))
					}
				}
			}
			if !noHeaders && !nameOnly {
				fmt.Fprintln(w, "CURRENT\tNAME\tCLUSTER\tAUTHINFO\tNAMESPACE")
			}
			sort.Strings(names)
			for _, name := range names {
				if nameOnly {
					fmt.Fprintln(w, name)
					continue
				}
				c := cfg.Contexts[name]
				mark := " "
				if cfg.CurrentContext == name {
					mark = "*"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", mark, name, c.Cluster, c.AuthInfo, c.Namespace)
			}
			return utilerrors.NewAggregate(errs)
		},
	}
	cmd.Flags().BoolVar(&noHeaders, "no-headers", false, "When using the default or custom-column output format, don't print headers (default print headers).")
	cmd.Flags().StringVarP(&output, "output", "o", "", "Output format. One of: (name).")
	return cmd
}

func newSetContext(f *util.Factory, access func() *clientcmd.PathOptions) *cobra.Command {
	var current bool
	var cluster, user, namespace string
	cmd := &cobra.Command{
		Use:                   "set-context [NAME | --current] [--cluster=cluster_nickname] [--user=user_nickname] [--namespace=namespace]",
		DisableFlagsInUseLine: true,
		Short:                 "Set a context entry in kubeconfig",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return helpError(cmd, "Unexpected args: %v", args)
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			if name == "" && !current {
				return errors.New("you must specify a non-empty context name or --current")
			}
			if name != "" && current {
				return errors.New("you cannot specify both a context name and --current")
			}
			po := access()
			cfg, err := po.GetStartingConfig()
			if err != nil {
				return err
			}
			if current {
				if cfg.CurrentContext == "" {
					return errors.New("no current context is set")
				}
				name = cfg.CurrentContext
			}
			ctx, exists := cfg.Contexts[name]
			if !exists {
				ctx = clientcmdapi.NewContext()
			}
			c := *ctx
			if cmd.Flags().Changed("cluster") {
				c.Cluster = cluster
			}
			if cmd.Flags().Changed("user") {
				c.AuthInfo = user
			}
			if cmd.Flags().Changed("namespace") {
				c.Namespace = namespace
			}
			cfg.Contexts[name] = &c
			if err := clientcmd.ModifyConfig(po, *cfg, true); err != nil {
				return err
			}
			if exists {
				fmt.Fprintf(f.Out, "Context %q modified.\n", name)
			} else {
				fmt.Fprintf(f.Out, "Context %q created.\n", name)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&current, "current", false, "Modify the current context")
	cmd.Flags().StringVar(&cluster, "cluster", "", "cluster for the context entry in kubeconfig")
	cmd.Flags().StringVar(&user, "user", "", "user for the context entry in kubeconfig")
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "namespace for the context entry in kubeconfig")
	return cmd
}

func newSetCluster(f *util.Factory, access func() *clientcmd.PathOptions) *cobra.Command {
	var server, ca, tlsServerName, proxyURL string
	var insecure, embed bool
	cmd := &cobra.Command{
		Use:                   "set-cluster NAME [--server=server] [--certificate-authority=path/to/certificate/authority] [--insecure-skip-tls-verify=true] [--tls-server-name=example.com]",
		DisableFlagsInUseLine: true,
		Short:                 "Set a cluster entry in kubeconfig",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return helpError(cmd, "Unexpected args: %v", args)
			}
			name := args[0]
			changed := cmd.Flags().Changed
			if embed && changed("embed-certs") {
				if ca == "" {
					return fmt.Errorf("you must specify a --%s to embed", clientcmd.FlagCAFile)
				}
				if _, err := os.Stat(ca); err != nil {
					return fmt.Errorf("could not stat %s file %s: %v", clientcmd.FlagCAFile, ca, err)
				}
			}
			po := access()
			cfg, err := po.GetStartingConfig()
			if err != nil {
				return err
			}
			cl, ok := cfg.Clusters[name]
			if !ok {
				cl = clientcmdapi.NewCluster()
			}
			c := *cl
			if changed("server") {
				c.Server = server
			}
			if changed("tls-server-name") {
				c.TLSServerName = tlsServerName
			}
			if changed("insecure-skip-tls-verify") {
				c.InsecureSkipTLSVerify = insecure
				if insecure {
					c.CertificateAuthority = ""
					c.CertificateAuthorityData = nil
				}
			}
			if changed("certificate-authority") {
				if embed {
					data, err := os.ReadFile(ca)
					if err != nil {
						return err
					}
					c.CertificateAuthorityData = data
					c.InsecureSkipTLSVerify = false
					c.CertificateAuthority = ""
				} else if ca != "" {
					abs, err := filepath.Abs(ca)
					if err != nil {
						return err
					}
					c.CertificateAuthority = abs
					if c.CertificateAuthority != "" {
						c.InsecureSkipTLSVerify = false
						c.CertificateAuthorityData = nil
					}
				}
			}
			if changed("proxy-url") {
				c.ProxyURL = proxyURL
			}
			cfg.Clusters[name] = &c
			if err := clientcmd.ModifyConfig(po, *cfg, true); err != nil {
				return err
			}
			fmt.Fprintf(f.Out, "Cluster %q set.\n", name)
			return nil
		},
	}
	cmd.Flags().StringVar(&server, "server", "", "server for the cluster entry in kubeconfig")
	cmd.Flags().StringVar(&tlsServerName, "tls-server-name", "", "tls-server-name for the cluster entry in kubeconfig")
	cmd.Flags().BoolVar(&insecure, "insecure-skip-tls-verify", false, "insecure-skip-tls-verify for the cluster entry in kubeconfig")
	cmd.Flags().StringVar(&ca, "certificate-authority", "", "Path to certificate-authority file for the cluster entry in kubeconfig")
	cmd.Flags().BoolVar(&embed, "embed-certs", false, "embed-certs for the cluster entry in kubeconfig")
	cmd.Flags().StringVar(&proxyURL, "proxy-url", "", "proxy-url for the cluster entry in kubeconfig")
	return cmd
}

func newDeleteContext(f *util.Factory, access func() *clientcmd.PathOptions) *cobra.Command {
	return &cobra.Command{
		Use:                   "delete-context NAME",
		DisableFlagsInUseLine: true,
		Short:                 "Delete the specified context from the kubeconfig",
		RunE: func(cmd *cobra.Command, args []string) error {
			po := access()
			cfg, err := po.GetStartingConfig()
			if err != nil {
				return err
			}
			if len(args) != 1 {
				cmd.Help()
				return nil
			}
			file := po.GetDefaultFilename()
			if po.IsExplicitFile() {
				file = po.GetExplicitFile()
			}
			name := args[0]
			if _, ok := cfg.Contexts[name]; !ok {
				return fmt.Errorf("cannot delete context %s, not in %s", name, file)
			}
			if cfg.CurrentContext == name {
				fmt.Fprint(f.ErrOut, "warning: this removed your active context, use \"kubectl config use-context\" to select a different one\n")
			}
			delete(cfg.Contexts, name)
			if err := clientcmd.ModifyConfig(po, *cfg, true); err != nil {
				return err
			}
			fmt.Fprintf(f.Out, "deleted context %s from %s\n", name, file)
			return nil
		},
	}
}
