package authz

import (
	"context"
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/kstack/kstack/pkg/auth"
	"github.com/kstack/kstack/pkg/auth/bootstrap"
)

// NodeLeaseNamespace holds the kubelets' heartbeat Leases.
const NodeLeaseNamespace = "kube-node-lease"

type fieldSelectorKey struct{}

// WithFieldSelector returns ctx carrying a list or watch request's field
// selector. The Node authorizer lets a kubelet list and watch pods only
// with spec.nodeName=<itself> (and resourceslices with nodeName=<itself>),
// as upstream; the apiserver sets this on the context it passes to
// Authorize. A metadata.name=<x> selector is passed as Attributes.Name.
func WithFieldSelector(ctx context.Context, sel fields.Selector) context.Context {
	return context.WithValue(ctx, fieldSelectorKey{}, sel)
}

func fieldSelectorFrom(ctx context.Context) fields.Selector {
	sel, _ := ctx.Value(fieldSelectorKey{}).(fields.Selector)
	return sel
}

func selectsField(ctx context.Context, field, value string) bool {
	sel := fieldSelectorFrom(ctx)
	if sel == nil {
		return false
	}
	for _, r := range sel.Requirements() {
		if r.Field == field && r.Value == value && (r.Operator == "=" || r.Operator == "==") {
			return true
		}
	}
	return false
}

// NodeName returns the node a user speaks for: users named
// system:node:<name> in the system:nodes group.
func NodeName(u *auth.User) (string, bool) {
	if u == nil || !strings.HasPrefix(u.Name, auth.NodeUserPrefix) || !u.InGroup(auth.NodesGroup) {
		return "", false
	}
	return strings.TrimPrefix(u.Name, auth.NodeUserPrefix), true
}

// Node is upstream's Node authorizer: for kubelets only, it allows reads
// of what the node's pods reference, writes to the node's own Node, Lease
// and CSINode, and the rest of the system:node rules. It has no opinion on
// anything else and on every other user.
type Node struct {
	graph NodeGraph
	rules []rbacv1.PolicyRule
}

var _ auth.Authorizer = (*Node)(nil)

// NewNode returns the Node authorizer consulting graph.
func NewNode(graph NodeGraph) *Node {
	return &Node{graph: graph, rules: bootstrap.NodeRules()}
}

// Authorize decides a kubelet's request; reasons are upstream's.
func (n *Node) Authorize(ctx context.Context, a auth.Attributes) (auth.Decision, string, error) {
	node, ok := NodeName(a.User)
	if !ok {
		return auth.DecisionNoOpinion, "", nil
	}
	if node == "" {
		return auth.DecisionNoOpinion, fmt.Sprintf("unknown node for user %q", a.User.Name), nil
	}
	if a.ResourceRequest {
		switch a.APIGroup + "/" + a.Resource {
		case "/secrets":
			return n.readNamespaced(node, RefSecret, a)
		case "/configmaps":
			return n.readNamespaced(node, RefConfigMap, a)
		case "/persistentvolumeclaims":
			if a.Subresource == "status" {
				return n.statusUpdate(node, RefPersistentVolumeClaim, a)
			}
			return n.get(node, RefPersistentVolumeClaim, a)
		case "/persistentvolumes":
			return n.get(node, RefPersistentVolume, a)
		case "resource.k8s.io/resourceclaims":
			return n.get(node, RefResourceClaim, a)
		case "storage.k8s.io/volumeattachments":
			return n.get(node, RefVolumeAttachment, a)
		case "/serviceaccounts":
			if a.Verb == "get" && a.Subresource == "" {
				return n.readNamespaced(node, RefServiceAccount, a)
			}
			return n.createToken(node, a)
		case "coordination.k8s.io/leases":
			return n.lease(node, a)
		case "storage.k8s.io/csinodes":
			return n.csiNode(node, a)
		case "resource.k8s.io/resourceslices":
			return n.resourceSlice(ctx, node, a)
		case "/nodes":
			return n.nodeObject(node, a)
		case "/pods":
			return n.pod(ctx, node, a)
		}
	}
	if RulesAllow(a, n.rules...) {
		return auth.DecisionAllow, "", nil
	}
	return auth.DecisionNoOpinion, "", nil
}

func (n *Node) related(node string, kind RefKind, a auth.Attributes) (auth.Decision, string, error) {
	if a.Name == "" {
		return auth.DecisionNoOpinion, "No Object name found", nil
	}
	if !n.graph.Related(node, kind, a.Namespace, a.Name) {
		return auth.DecisionNoOpinion, fmt.Sprintf("no relationship found between node '%s' and this object", node), nil
	}
	return auth.DecisionAllow, "", nil
}

func (n *Node) readNamespaced(node string, kind RefKind, a auth.Attributes) (auth.Decision, string, error) {
	switch a.Verb {
	case "get", "list", "watch":
	default:
		return auth.DecisionNoOpinion, "can only read resources of this type", nil
	}
	if a.Subresource != "" {
		return auth.DecisionNoOpinion, "cannot read subresource", nil
	}
	if a.Namespace == "" {
		return auth.DecisionNoOpinion, "can only read namespaced object of this type", nil
	}
	return n.related(node, kind, a)
}

func (n *Node) get(node string, kind RefKind, a auth.Attributes) (auth.Decision, string, error) {
	if a.Verb != "get" {
		return auth.DecisionNoOpinion, "can only get individual resources of this type", nil
	}
	if a.Subresource != "" {
		return auth.DecisionNoOpinion, "cannot get subresource", nil
	}
	return n.related(node, kind, a)
}

func (n *Node) statusUpdate(node string, kind RefKind, a auth.Attributes) (auth.Decision, string, error) {
	if a.Verb != "update" && a.Verb != "patch" {
		return auth.DecisionNoOpinion, "can only get/update/patch this type", nil
	}
	return n.related(node, kind, a)
}

func (n *Node) createToken(node string, a auth.Attributes) (auth.Decision, string, error) {
	if a.Verb != "create" || a.Name == "" {
		return auth.DecisionNoOpinion, "can only create tokens for individual service accounts", nil
	}
	if a.Subresource != "token" {
		return auth.DecisionNoOpinion, "can only create token subresource of serviceaccount", nil
	}
	return n.related(node, RefServiceAccount, a)
}

func (n *Node) lease(node string, a auth.Attributes) (auth.Decision, string, error) {
	switch a.Verb {
	case "get", "create", "update", "patch", "delete":
	default:
		return auth.DecisionNoOpinion, "can only get, create, update, patch, or delete a node lease", nil
	}
	if a.Namespace != NodeLeaseNamespace {
		return auth.DecisionNoOpinion, fmt.Sprintf("can only access leases in the %q system namespace", NodeLeaseNamespace), nil
	}
	// The name of a create is checked by NodeRestriction.
	if a.Verb != "create" && a.Name != node {
		return auth.DecisionNoOpinion, "can only access node lease with the same name as the requesting node", nil
	}
	return auth.DecisionAllow, "", nil
}

func (n *Node) csiNode(node string, a auth.Attributes) (auth.Decision, string, error) {
	if a.Subresource != "" {
		return auth.DecisionNoOpinion, "cannot authorize CSINode subresources", nil
	}
	switch a.Verb {
	case "get", "create", "update", "patch", "delete":
	default:
		return auth.DecisionNoOpinion, "can only get, create, update, patch, or delete a CSINode", nil
	}
	if a.Verb != "create" && a.Name != node {
		return auth.DecisionNoOpinion, "can only access CSINode with the same name as the requesting node", nil
	}
	return auth.DecisionAllow, "", nil
}

func (n *Node) resourceSlice(ctx context.Context, node string, a auth.Attributes) (auth.Decision, string, error) {
	if a.Subresource != "" {
		return auth.DecisionNoOpinion, "cannot authorize ResourceSlice subresources", nil
	}
	switch a.Verb {
	case "create":
		return auth.DecisionAllow, "", nil
	case "get", "update", "patch", "delete":
		// The graph holds no slices; kstack's kubelet publishes none.
		return auth.DecisionNoOpinion, fmt.Sprintf("no relationship found between node '%s' and this object", node), nil
	case "watch", "list", "deletecollection":
		if selectsField(ctx, "spec.nodeName", node) {
			return auth.DecisionAllow, "", nil
		}
		return auth.DecisionNoOpinion, "can only list/watch/deletecollection resourceslices with nodeName field selector", nil
	}
	return auth.DecisionNoOpinion, "only the following verbs are allowed for a ResourceSlice: get, watch, list, create, update, patch, delete, deletecollection", nil
}

func (n *Node) nodeObject(node string, a auth.Attributes) (auth.Decision, string, error) {
	switch a.Subresource {
	case "":
		switch a.Verb {
		case "create", "update", "patch":
			// NodeRestriction confines writes to the node's own object.
			return auth.DecisionAllow, "", nil
		case "get", "list", "watch":
			switch a.Name {
			case node:
				return auth.DecisionAllow, "", nil
			case "":
				return auth.DecisionNoOpinion, fmt.Sprintf("node '%s' cannot read all nodes, only its own Node object", node), nil
			default:
				return auth.DecisionNoOpinion, fmt.Sprintf("node '%s' cannot read '%s', only its own Node object", node, a.Name), nil
			}
		}
	case "status":
		if a.Verb == "update" || a.Verb == "patch" {
			return auth.DecisionAllow, "", nil
		}
	}
	return auth.DecisionNoOpinion, "", nil
}

func (n *Node) pod(ctx context.Context, node string, a auth.Attributes) (auth.Decision, string, error) {
	switch a.Subresource {
	case "":
		switch a.Verb {
		case "get":
			return n.get(node, RefPod, a)
		case "list", "watch":
			if selectsField(ctx, "spec.nodeName", node) {
				return auth.DecisionAllow, "", nil
			}
			if a.Name != "" {
				return n.related(node, RefPod, a)
			}
			return auth.DecisionNoOpinion, "can only list/watch pods with spec.nodeName field selector", nil
		case "create", "delete":
			// Mirror pods; NodeRestriction checks them.
			return auth.DecisionAllow, "", nil
		}
	case "status":
		if a.Verb == "update" || a.Verb == "patch" {
			return auth.DecisionAllow, "", nil
		}
	case "eviction":
		if a.Verb == "create" {
			return auth.DecisionAllow, "", nil
		}
	}
	return auth.DecisionNoOpinion, "", nil
}
