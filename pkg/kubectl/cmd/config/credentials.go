package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

// credentialFlags are set-credentials' flags; a string field is "given"
// when its flag was passed, even empty (an empty value clears the field).
type credentialFlags struct {
	cert, key, token, username, password                           string
	authProvider, execCommand, execAPIVersion, execInteractiveMode string
	embed, provideClusterInfo                                      bool
	authProviderArgs, execArgs                                     []string
	execEnv                                                        []string
}

// newSetCredentials is `kubectl config set-credentials`: it merges the
// given fields into the user entry (client certificate, token, basic auth,
// an auth provider with its config, an exec credential plugin with its
// arguments and environment), as upstream.
func newSetCredentials(f *util.Factory, access func() *clientcmd.PathOptions) *cobra.Command {
	var o credentialFlags
	cmd := &cobra.Command{
		Use:                   "set-credentials NAME [--client-certificate=path/to/certfile] [--client-key=path/to/keyfile] [--token=bearer_token] [--username=basic_user] [--password=basic_password] [--auth-provider=provider_name] [--auth-provider-arg=key=value] [--exec-command=exec_command] [--exec-api-version=exec_api_version] [--exec-arg=arg] [--exec-env=key=value]",
		DisableFlagsInUseLine: true,
		Short:                 "Set a user entry in kubeconfig",
		Long: `Set a user entry in kubeconfig.

 Specifying a name that already exists will merge new fields on top of existing values.

        Client-certificate flags:
        --client-certificate=certfile --client-key=keyfile
        
        Bearer token flags:
        --token=bearer_token
        
        Basic auth flags:
        --username=basic_user --password=basic_password
        
 Bearer token and basic auth are mutually exclusive.`,
		Example: `  # Set only the "client-key" field on the "cluster-admin"
  # entry, without touching other values
  kubectl config set-credentials cluster-admin --client-key=~/.kube/admin.key

  # Set basic auth for the "cluster-admin" entry
  kubectl config set-credentials cluster-admin --username=admin --password=uXFGweU9l35qcif

  # Embed client certificate data in the "cluster-admin" entry
  kubectl config set-credentials cluster-admin --client-certificate=~/.kube/admin.crt --embed-certs=true

  # Enable the Google Compute Platform auth provider for the "cluster-admin" entry
  kubectl config set-credentials cluster-admin --auth-provider=gcp

  # Enable the OpenID Connect auth provider for the "cluster-admin" entry with additional arguments
  kubectl config set-credentials cluster-admin --auth-provider=oidc --auth-provider-arg=client-id=foo --auth-provider-arg=client-secret=bar

  # Remove the "client-secret" config value for the OpenID Connect auth provider for the "cluster-admin" entry
  kubectl config set-credentials cluster-admin --auth-provider=oidc --auth-provider-arg=client-secret-

  # Enable new exec auth plugin for the "cluster-admin" entry
  kubectl config set-credentials cluster-admin --exec-command=/path/to/the/executable --exec-api-version=client.authentication.k8s.io/v1beta1

  # Enable new exec auth plugin for the "cluster-admin" entry with interactive mode
  kubectl config set-credentials cluster-admin --exec-command=/path/to/the/executable --exec-api-version=client.authentication.k8s.io/v1beta1 --exec-interactive-mode=Never

  # Define new exec auth plugin arguments for the "cluster-admin" entry
  kubectl config set-credentials cluster-admin --exec-arg=arg1 --exec-arg=arg2

  # Create or update exec auth plugin environment variables for the "cluster-admin" entry
  kubectl config set-credentials cluster-admin --exec-env=key1=val1 --exec-env=key2=val2

  # Remove exec auth plugin environment variables for the "cluster-admin" entry
  kubectl config set-credentials cluster-admin --exec-env=var-to-remove-`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return helpError(cmd, "unexpected args: %v", args)
			}
			providerSet, providerRemove, err := parsePairs(o.authProviderArgs, "auth-provider-arg")
			if err != nil {
				return helpError(cmd, "%v", err)
			}
			envSet, envRemove, err := parsePairs(o.execEnv, "exec-env")
			if err != nil {
				return helpError(cmd, "%v", err)
			}
			name := args[0]
			if err := o.validate(cmd, name); err != nil {
				return err
			}
			po := access()
			cfg, err := po.GetStartingConfig()
			if err != nil {
				return err
			}
			ai, ok := cfg.AuthInfos[name]
			if !ok {
				ai = clientcmdapi.NewAuthInfo()
			}
			a := o.merge(cmd, *ai, providerSet, providerRemove, envSet, envRemove)
			cfg.AuthInfos[name] = &a
			if err := clientcmd.ModifyConfig(po, *cfg, true); err != nil {
				return err
			}
			fmt.Fprintf(f.Out, "User %q set.\n", name)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.cert, "client-certificate", "", "Path to client-certificate file for the user entry in kubeconfig")
	fl.StringVar(&o.key, "client-key", "", "Path to client-key file for the user entry in kubeconfig")
	fl.StringVar(&o.token, "token", "", "token for the user entry in kubeconfig")
	fl.StringVar(&o.username, "username", "", "username for the user entry in kubeconfig")
	fl.StringVar(&o.password, "password", "", "password for the user entry in kubeconfig")
	fl.StringVar(&o.authProvider, "auth-provider", "", "Auth provider for the user entry in kubeconfig")
	fl.StringSliceVar(&o.authProviderArgs, "auth-provider-arg", nil, "'key=value' arguments for the auth provider")
	fl.StringVar(&o.execCommand, "exec-command", "", "Command for the exec credential plugin for the user entry in kubeconfig")
	fl.StringVar(&o.execAPIVersion, "exec-api-version", "", "API version of the exec credential plugin for the user entry in kubeconfig")
	fl.StringVar(&o.execInteractiveMode, "exec-interactive-mode", "", "InteractiveMode of the exec credentials plugin for the user entry in kubeconfig")
	fl.BoolVar(&o.provideClusterInfo, "exec-provide-cluster-info", false, "ProvideClusterInfo of the exec credentials plugin for the user entry in kubeconfig")
	fl.StringSliceVar(&o.execArgs, "exec-arg", nil, "New arguments for the exec credential plugin command for the user entry in kubeconfig")
	fl.StringArrayVar(&o.execEnv, "exec-env", nil, "'key=value' environment values for the exec credential plugin")
	fl.BoolVar(&o.embed, "embed-certs", false, "Embed client cert/key for the user entry in kubeconfig")
	return cmd
}

// validate rejects what upstream rejects before touching the file.
func (o *credentialFlags) validate(cmd *cobra.Command, name string) error {
	if name == "" {
		return errors.New("you must specify a non-empty user name")
	}
	var methods []string
	if o.token != "" {
		methods = append(methods, "--token")
	}
	if o.username != "" || o.password != "" {
		methods = append(methods, "--username/--password")
	}
	if len(methods) > 1 {
		return fmt.Errorf("you cannot specify more than one authentication method at the same time: %v", strings.Join(methods, ", "))
	}
	if o.embed {
		if o.cert == "" && o.key == "" {
			return errors.New("you must specify a --client-certificate or --client-key to embed")
		}
		for _, p := range []struct{ flag, path string }{{"client-certificate", o.cert}, {"client-key", o.key}} {
			if p.path == "" {
				continue
			}
			if _, err := os.Stat(p.path); err != nil {
				return fmt.Errorf("could not stat %s file %s: %v", p.flag, p.path, err)
			}
		}
	}
	if cmd.Flags().Changed("exec-interactive-mode") {
		switch clientcmdapi.ExecInteractiveMode(o.execInteractiveMode) {
		case clientcmdapi.IfAvailableExecInteractiveMode, clientcmdapi.AlwaysExecInteractiveMode, clientcmdapi.NeverExecInteractiveMode:
		default:
			return errors.New("invalid interactive mode type, can be only IfAvailable, Never, Always")
		}
	}
	return nil
}

// merge returns a with the given flags applied.
func (o *credentialFlags) merge(cmd *cobra.Command, a clientcmdapi.AuthInfo, providerSet map[string]string, providerRemove []string, envSet map[string]string, envRemove []string) clientcmdapi.AuthInfo {
	given := cmd.Flags().Changed
	if given("client-certificate") {
		if o.embed {
			a.ClientCertificateData, _ = os.ReadFile(o.cert)
			a.ClientCertificate = ""
		} else {
			a.ClientCertificate, _ = filepath.Abs(o.cert)
			if a.ClientCertificate != "" {
				a.ClientCertificateData = nil
			}
		}
	}
	if given("client-key") {
		if o.embed {
			a.ClientKeyData, _ = os.ReadFile(o.key)
			a.ClientKey = ""
		} else {
			a.ClientKey, _ = filepath.Abs(o.key)
			if a.ClientKey != "" {
				a.ClientKeyData = nil
			}
		}
	}
	var setToken, setBasic bool
	if given("token") {
		a.Token = o.token
		setToken = a.Token != ""
	}
	if given("username") {
		a.Username = o.username
		setBasic = a.Username != ""
	}
	if given("password") {
		a.Password = o.password
		setBasic = setBasic || a.Password != ""
	}
	// Token and basic auth exclude each other: setting one clears the
	// other.
	if setToken && !setBasic {
		a.Username, a.Password = "", ""
	}
	if setBasic && !setToken {
		a.Token = ""
	}

	if given("auth-provider") && (a.AuthProvider == nil || a.AuthProvider.Name != o.authProvider) {
		a.AuthProvider = &clientcmdapi.AuthProviderConfig{Name: o.authProvider}
	}
	if a.AuthProvider != nil {
		ap := *a.AuthProvider
		ap.Config = map[string]string{}
		for k, v := range a.AuthProvider.Config {
			ap.Config[k] = v
		}
		for _, k := range providerRemove {
			delete(ap.Config, k)
		}
		for k, v := range providerSet {
			ap.Config[k] = v
		}
		a.AuthProvider = &ap
	}

	if given("exec-command") {
		if a.Exec == nil {
			a.Exec = &clientcmdapi.ExecConfig{Command: o.execCommand}
		} else {
			e := *a.Exec
			e.Command, e.Args = o.execCommand, nil
			a.Exec = &e
		}
	}
	if a.Exec != nil {
		e := *a.Exec
		if given("exec-api-version") {
			e.APIVersion = o.execAPIVersion
		}
		if len(o.execArgs) > 0 {
			e.Args = o.execArgs
		}
		if given("exec-interactive-mode") {
			e.InteractiveMode = clientcmdapi.ExecInteractiveMode(o.execInteractiveMode)
		}
		if given("exec-provide-cluster-info") {
			e.ProvideClusterInfo = o.provideClusterInfo
		}
		if len(o.execEnv) > 0 {
			var env []clientcmdapi.ExecEnvVar
			for _, v := range e.Env {
				removed := false
				for _, name := range envRemove {
					removed = removed || v.Name == name
				}
				if !removed {
					env = append(env, v)
				}
			}
			if env == nil {
				env = []clientcmdapi.ExecEnvVar{}
			}
			names := make([]string, 0, len(envSet))
			for name := range envSet {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				found := false
				for i := range env {
					if env[i].Name == name {
						env[i].Value, found = envSet[name], true
						break
					}
				}
				if !found {
					env = append(env, clientcmdapi.ExecEnvVar{Name: name, Value: envSet[name]})
				}
			}
			e.Env = env
		}
		a.Exec = &e
	}
	return a
}

// parsePairs splits key=value arguments and key- removals, as upstream's
// (its error lists every malformed argument).
func parsePairs(args []string, kind string) (map[string]string, []string, error) {
	set := map[string]string{}
	var remove, invalid []string
	for _, a := range args {
		switch {
		case strings.Contains(a, "=") && a[0] != '=':
			k, v, _ := strings.Cut(a, "=")
			set[k] = v
		case strings.HasSuffix(a, "-") && a != "-":
			remove = append(remove, strings.TrimSuffix(a, "-"))
		default:
			invalid = append(invalid, a)
		}
	}
	if len(invalid) > 0 {
		return nil, nil, fmt.Errorf("invalid %s format: %s", kind, strings.Join(invalid, ", "))
	}
	return set, remove, nil
}
