// Package authz holds kstack's authorizers and the checks that guard RBAC
// writes, as upstream kube-apiserver has them:
//
//   - RBAC (NewRBAC) evaluates Roles, ClusterRoles, RoleBindings and
//     ClusterRoleBindings read from a RuleSource. Index (NewIndex) is the
//     in-memory RuleSource the apiserver feeds from its watch caches; it
//     resolves ClusterRole aggregationRules at lookup time.
//   - Escalation prevention (ConfirmNoEscalation, CheckRoleEscalation,
//     CheckBindingEscalation): nobody grants permissions they do not hold
//     unless they may "escalate" or "bind".
//   - The Node authorizer (NewNode) and the NodeRestriction admission check
//     (NodeRestriction) confine a kubelet to its own Node, Lease and pods and
//     to the secrets, config maps, volumes and service accounts its pods use.
//     Graph (NewGraph) is the in-memory pod reference index it consults.
//   - ForbiddenMessage builds the text of a 403 as upstream words it.
//
// Data flow inside the apiserver:
//
//	watch caches --Upsert/Delete--> Index --RuleSource--> RBAC --+
//	pod watch ----UpsertPod/DeletePod--> Graph --> Node ---------+--> union --> allow / 403
//
// Authorizers never return DecisionDeny: the union of Node and RBAC allows a
// request when either allows, and a request nobody allows is forbidden.
package authz
