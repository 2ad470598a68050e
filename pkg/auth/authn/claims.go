package authn

import (
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"

	"github.com/kstack/kstack/pkg/auth"
)

// Extra keys upstream attaches to service-account users.
const (
	ExtraPodName  = "authentication.kubernetes.io/pod-name"
	ExtraPodUID   = "authentication.kubernetes.io/pod-uid"
	ExtraNodeName = "authentication.kubernetes.io/node-name"
	ExtraNodeUID  = "authentication.kubernetes.io/node-uid"
)

// saClaims is the payload of a bound service-account token, as upstream
// writes it: the registered claims plus "kubernetes.io".
type saClaims struct {
	jwt.RegisteredClaims
	Kubernetes *k8sClaims `json:"kubernetes.io,omitempty"`
}

type k8sClaims struct {
	Namespace      string           `json:"namespace,omitempty"`
	ServiceAccount objectRefClaim   `json:"serviceaccount,omitempty"`
	Pod            *objectRefClaim  `json:"pod,omitempty"`
	Secret         *objectRefClaim  `json:"secret,omitempty"`
	Node           *objectRefClaim  `json:"node,omitempty"`
	WarnAfter      *jwt.NumericDate `json:"warnafter,omitempty"`
}

type objectRefClaim struct {
	Name string `json:"name,omitempty"`
	UID  string `json:"uid,omitempty"`
}

// ServiceAccountUsername is "system:serviceaccount:<namespace>:<name>".
func ServiceAccountUsername(namespace, name string) string {
	return auth.ServiceAccountUserPrefix + namespace + ":" + name
}

// ServiceAccountGroups are the groups of every service account of a
// namespace: system:serviceaccounts and system:serviceaccounts:<namespace>.
func ServiceAccountGroups(namespace string) []string {
	return []string{auth.ServiceAccountGroup, auth.ServiceAccountGroupPrefix + namespace}
}

// SplitServiceAccountUsername parses "system:serviceaccount:<ns>:<name>".
func SplitServiceAccountUsername(username string) (namespace, name string, err error) {
	rest, ok := strings.CutPrefix(username, auth.ServiceAccountUserPrefix)
	if !ok {
		return "", "", fmt.Errorf("username %q must start with %q", username, auth.ServiceAccountUserPrefix)
	}
	namespace, name, ok = strings.Cut(rest, ":")
	if !ok || strings.Contains(name, ":") ||
		len(apivalidation.ValidateNamespaceName(namespace, false)) != 0 ||
		len(apivalidation.NameIsDNSSubdomain(name, false)) != 0 {
		return "", "", fmt.Errorf("username %q must be of the form %s<namespace>:<name>", username, auth.ServiceAccountUserPrefix)
	}
	return namespace, name, nil
}
