package create

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

// secretGenerators are `create secret tls` and `create secret
// docker-registry`.
func secretGenerators() []generator {
	return []generator{
		{
			use:   "tls NAME --cert=path/to/cert/file --key=path/to/key/file [--dry-run=server|client|none]",
			short: "Create a TLS secret", errPrefix: "failed to create secret ",
			addFlags: func(cmd *cobra.Command) {
				cmd.Flags().String("cert", "", "Path to PEM encoded public key certificate.")
				cmd.Flags().String("key", "", "Path to private key associated with given certificate.")
				cmd.Flags().Bool("append-hash", false, "Append a hash of the secret to its name.")
			},
			validate: func(cmd *cobra.Command, _ []string) error {
				if util.FlagString(cmd, "cert") == "" || util.FlagString(cmd, "key") == "" {
					return fmt.Errorf("key and cert must be specified")
				}
				return nil
			},
			build: func(cmd *cobra.Command, name, ns string, _ []string) (runtime.Object, error) {
				cert, err := readFile(util.FlagString(cmd, "cert"))
				if err != nil {
					return nil, err
				}
				key, err := readFile(util.FlagString(cmd, "key"))
				if err != nil {
					return nil, err
				}
				// The pair must belong together, as upstream checks it.
				if _, err := tls.X509KeyPair(cert, key); err != nil {
					return nil, err
				}
				s := newSecret(name, ns, corev1.SecretTypeTLS)
				s.Data[corev1.TLSCertKey] = cert
				s.Data[corev1.TLSPrivateKeyKey] = key
				return s, nil
			},
		},
		{
			use:   "docker-registry NAME --docker-username=user --docker-password=password --docker-email=email [--docker-server=string] [--from-file=[key=]source] [--dry-run=server|client|none]",
			short: "Create a secret for use with a Docker registry", errPrefix: "failed to create secret ",
			addFlags: func(cmd *cobra.Command) {
				cmd.Flags().String("docker-username", "", "Username for Docker registry authentication")
				cmd.Flags().String("docker-password", "", "Password for Docker registry authentication")
				cmd.Flags().String("docker-email", "", "Email for Docker registry")
				cmd.Flags().String("docker-server", "https://index.docker.io/v1/", "Server location for Docker registry")
				cmd.Flags().StringSlice("from-file", nil, "Key files can be specified using their file path, in which case a default name will be given to them, or optionally with a name and file path, in which case the given name will be used. Specifying a directory will iterate each named file in the directory that is a valid secret key. For this command, the key should always be .dockerconfigjson.")
				cmd.Flags().Bool("append-hash", false, "Append a hash of the secret to its name.")
			},
			validate: func(cmd *cobra.Command, _ []string) error {
				if len(strs(cmd, "from-file")) == 0 && (util.FlagString(cmd, "docker-username") == "" ||
					util.FlagString(cmd, "docker-password") == "" || util.FlagString(cmd, "docker-server") == "") {
					return fmt.Errorf("either --from-file or the combination of --docker-username, --docker-password and --docker-server is required")
				}
				return nil
			},
			build: func(cmd *cobra.Command, name, ns string, _ []string) (runtime.Object, error) {
				s := newSecret(name, ns, corev1.SecretTypeDockerConfigJson)
				if len(strs(cmd, "from-file")) > 0 {
					err := fromSources(cmd, func(key string, value []byte) error {
						if errs := validation.IsConfigMapKey(key); len(errs) > 0 {
							return fmt.Errorf("%q is not valid key name for a Secret %s", key, strings.Join(errs, ";"))
						}
						if _, ok := s.Data[key]; ok {
							return fmt.Errorf("cannot add key %s, another key by that name already exists", key)
						}
						s.Data[key] = value
						return nil
					})
					if err != nil {
						return nil, err
					}
					return s, nil
				}
				cfg, err := dockerConfigJSON(util.FlagString(cmd, "docker-username"), util.FlagString(cmd, "docker-password"),
					util.FlagString(cmd, "docker-email"), util.FlagString(cmd, "docker-server"))
				if err != nil {
					return nil, err
				}
				s.Data[corev1.DockerConfigJsonKey] = cfg
				return s, nil
			},
		},
	}
}

func readFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("Cannot read file %v, %v", path, err)
	}
	return data, nil
}

func newSecret(name, ns string, t corev1.SecretType) *corev1.Secret {
	return &corev1.Secret{
		TypeMeta:   typeMeta("v1", "Secret"),
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Type:       t,
		Data:       map[string][]byte{},
	}
}

// dockerConfigEntry is one registry's credentials in a .dockerconfigjson.
type dockerConfigEntry struct {
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	Email    string `json:"email,omitempty"`
	Auth     string `json:"auth,omitempty"`
}

// dockerConfigJSON is the .dockerconfigjson document for one registry.
func dockerConfigJSON(username, password, email, server string) ([]byte, error) {
	return json.Marshal(struct {
		Auths map[string]dockerConfigEntry `json:"auths"`
	}{Auths: map[string]dockerConfigEntry{server: {
		Username: username, Password: password, Email: email,
		Auth: base64.StdEncoding.EncodeToString([]byte(username + ":" + password)),
	}}})
}
