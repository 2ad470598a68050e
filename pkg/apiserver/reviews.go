package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/kstack/kstack/pkg/auth"
	"github.com/kstack/kstack/pkg/auth/authn"
	"github.com/kstack/kstack/pkg/storage"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// serveReview answers the create-only review resources of
// authentication.k8s.io and authorization.k8s.io.
func (s *Server) serveReview(w http.ResponseWriter, r *http.Request, rs *resourceStore, info *RequestInfo) bool {
	var obj runtime.Object
	switch rs.res.Group + "/" + rs.res.Resource {
	case "authentication.k8s.io/tokenreviews":
		obj = &authenticationv1.TokenReview{}
	case "authentication.k8s.io/selfsubjectreviews":
		obj = &authenticationv1.SelfSubjectReview{}
	case "authorization.k8s.io/subjectaccessreviews":
		obj = &authorizationv1.SubjectAccessReview{}
	case "authorization.k8s.io/localsubjectaccessreviews":
		obj = &authorizationv1.LocalSubjectAccessReview{}
	case "authorization.k8s.io/selfsubjectaccessreviews":
		obj = &authorizationv1.SelfSubjectAccessReview{}
	case "authorization.k8s.io/selfsubjectrulesreviews":
		obj = &authorizationv1.SelfSubjectRulesReview{}
	default:
		return false
	}
	choice, err := negotiateOutput(r, false)
	if err != nil {
		writeError(w, r, err)
		return true
	}
	if err := decodeRequest(r, obj); err != nil {
		writeError(w, r, err)
		return true
	}
	out, err := s.review(r.Context(), info, obj)
	if err != nil {
		writeError(w, r, err)
		return true
	}
	writeObject(w, choice, http.StatusCreated, rs.servedGVK, out)
	return true
}

func (s *Server) review(ctx context.Context, info *RequestInfo, obj runtime.Object) (runtime.Object, error) {
	requester := auth.UserFrom(ctx)
	switch o := obj.(type) {
	case *authenticationv1.TokenReview:
		if o.Spec.Token == "" {
			return nil, apierrors.NewInvalid(schema.GroupKind{Group: "authentication.k8s.io", Kind: "TokenReview"}, "",
				field.ErrorList{field.Required(field.NewPath("spec", "token"), "")})
		}
		u, auds, ok, err := authn.ReviewToken(ctx, o.Spec.Token, o.Spec.Audiences, s.apiAudiences(), s.tokenAuthenticators...)
		o.Status = authenticationv1.TokenReviewStatus{}
		if err != nil {
			o.Status.Error = err.Error()
		}
		if ok {
			o.Status.Authenticated = true
			o.Status.User = userInfo(u)
			o.Status.Audiences = auds
		}
		return o, nil
	case *authenticationv1.SelfSubjectReview:
		// A fresh object, as upstream: only the creation time and the
		// requester's user info; whatever metadata the request carried is
		// dropped.
		return &authenticationv1.SelfSubjectReview{
			ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.Now()},
			Status:     authenticationv1.SelfSubjectReviewStatus{UserInfo: userInfo(requester)},
		}, nil
	case *authorizationv1.SubjectAccessReview:
		if o.Spec.User == "" && len(o.Spec.Groups) == 0 {
			return nil, apierrors.NewInvalid(schema.GroupKind{Group: "authorization.k8s.io", Kind: "SubjectAccessReview"}, "",
				field.ErrorList{field.Invalid(field.NewPath("spec", "user"), o.Spec.User, `at least one of user or group must be specified`)})
		}
		u := &auth.User{Name: o.Spec.User, UID: o.Spec.UID, Groups: o.Spec.Groups, Extra: extraFrom(o.Spec.Extra)}
		o.Status = s.accessReview(ctx, u, o.Spec.ResourceAttributes, o.Spec.NonResourceAttributes)
		return o, nil
	case *authorizationv1.LocalSubjectAccessReview:
		if o.Spec.ResourceAttributes == nil || o.Spec.ResourceAttributes.Namespace != info.Namespace {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("spec.resourceAttributes.namespace must match namespace: %v", info.Namespace))
		}
		u := &auth.User{Name: o.Spec.User, UID: o.Spec.UID, Groups: o.Spec.Groups, Extra: extraFrom(o.Spec.Extra)}
		o.Namespace = info.Namespace
		o.Status = s.accessReview(ctx, u, o.Spec.ResourceAttributes, o.Spec.NonResourceAttributes)
		return o, nil
	case *authorizationv1.SelfSubjectAccessReview:
		o.Status = s.accessReview(ctx, requester, o.Spec.ResourceAttributes, o.Spec.NonResourceAttributes)
		return o, nil
	case *authorizationv1.SelfSubjectRulesReview:
		res, nonRes, incomplete, err := s.rbac.RulesFor(requester, o.Spec.Namespace)
		o.Status = authorizationv1.SubjectRulesReviewStatus{Incomplete: incomplete}
		if err != nil {
			o.Status.EvaluationError = err.Error()
		}
		// Only RBAC resolves rules, as upstream: the system:masters
		// authorizer in front of it lists none (the group's own rules come
		// from its cluster-admin binding), so nothing appears twice.
		for _, r := range res {
			o.Status.ResourceRules = append(o.Status.ResourceRules, authorizationv1.ResourceRule{Verbs: r.Verbs, APIGroups: r.APIGroups, Resources: r.Resources, ResourceNames: r.ResourceNames})
		}
		for _, r := range nonRes {
			o.Status.NonResourceRules = append(o.Status.NonResourceRules, authorizationv1.NonResourceRule{Verbs: r.Verbs, NonResourceURLs: r.NonResourceURLs})
		}
		if o.Status.ResourceRules == nil {
			o.Status.ResourceRules = []authorizationv1.ResourceRule{}
		}
		if o.Status.NonResourceRules == nil {
			o.Status.NonResourceRules = []authorizationv1.NonResourceRule{}
		}
		return o, nil
	}
	return nil, apierrors.NewBadRequest("unsupported review")
}

func (s *Server) accessReview(ctx context.Context, u *auth.User, ra *authorizationv1.ResourceAttributes, nra *authorizationv1.NonResourceAttributes) authorizationv1.SubjectAccessReviewStatus {
	a := auth.Attributes{User: u}
	if ra != nil {
		a.ResourceRequest = true
		a.Verb, a.APIGroup, a.APIVersion = ra.Verb, ra.Group, ra.Version
		a.Namespace, a.Resource, a.Subresource, a.Name = ra.Namespace, ra.Resource, ra.Subresource, ra.Name
	} else if nra != nil {
		a.Verb, a.Path = nra.Verb, nra.Path
	}
	d, reason, err := s.authorizer.Authorize(ctx, a)
	st := authorizationv1.SubjectAccessReviewStatus{Allowed: d == auth.DecisionAllow, Denied: d == auth.DecisionDeny, Reason: reason}
	if err != nil {
		st.EvaluationError = err.Error()
	}
	return st
}

func userInfo(u *auth.User) authenticationv1.UserInfo {
	if u == nil {
		return authenticationv1.UserInfo{}
	}
	ui := authenticationv1.UserInfo{Username: u.Name, UID: u.UID, Groups: u.Groups}
	if len(u.Extra) > 0 {
		ui.Extra = map[string]authenticationv1.ExtraValue{}
		for k, v := range u.Extra {
			ui.Extra[k] = v
		}
	}
	return ui
}

func extraFrom(in map[string]authorizationv1.ExtraValue) map[string][]string {
	if len(in) == 0 {
		return nil
	}
	out := map[string][]string{}
	for k, v := range in {
		out[k] = v
	}
	return out
}

// serveTokenRequest is serviceaccounts/<name>/token: a signed, audience-
// and time-bound token, optionally bound to a pod, secret or node.
func (s *Server) serveTokenRequest(w http.ResponseWriter, r *http.Request, rs *resourceStore, info *RequestInfo) {
	ctx := r.Context()
	choice, err := negotiateOutput(r, false)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if s.signer == nil {
		writeError(w, r, apierrors.NewNotFound(schemaGR("", "serviceaccounts/token"), info.Name))
		return
	}
	tr := &authenticationv1.TokenRequest{}
	if err := decodeRequest(r, tr); err != nil {
		writeError(w, r, err)
		return
	}
	gk := schema.GroupKind{Group: "authentication.k8s.io", Kind: "TokenRequest"}
	if tr.Spec.ExpirationSeconds == nil {
		v := int64(3600)
		tr.Spec.ExpirationSeconds = &v
	}
	if *tr.Spec.ExpirationSeconds < 600 {
		writeError(w, r, apierrors.NewInvalid(gk, info.Name, field.ErrorList{field.Invalid(field.NewPath("spec", "expirationSeconds"), *tr.Spec.ExpirationSeconds, "may not specify a duration less than 10 minutes")}))
		return
	}
	if *tr.Spec.ExpirationSeconds > 1<<32 {
		writeError(w, r, apierrors.NewInvalid(gk, info.Name, field.ErrorList{field.Invalid(field.NewPath("spec", "expirationSeconds"), *tr.Spec.ExpirationSeconds, "may not specify a duration larger than 2^32 seconds")}))
		return
	}
	if max := s.cfg.ServiceAccountMaxTokenExpiration; max > 0 && time.Duration(*tr.Spec.ExpirationSeconds)*time.Second > max {
		v := int64(max / time.Second)
		tr.Spec.ExpirationSeconds = &v
	}
	if len(tr.Spec.Audiences) == 0 {
		tr.Spec.Audiences = s.apiAudiences()
	}
	sa := &corev1.ServiceAccount{}
	if err := rs.storage.Get(ctx, rs.key(info.Namespace, info.Name), storage.GetOptions{}, sa); err != nil {
		writeError(w, r, err)
		return
	}
	var bound *authn.BoundRef
	var boundPod *corev1.Pod
	if ref := tr.Spec.BoundObjectRef; ref != nil {
		bound = &authn.BoundRef{}
		switch ref.Kind {
		case "Pod":
			pods := s.storeFor("", "pods")
			pod := &corev1.Pod{}
			if err := pods.storage.Get(ctx, pods.key(info.Namespace, ref.Name), storage.GetOptions{}, pod); err != nil {
				writeError(w, r, err)
				return
			}
			if ref.UID != "" && pod.UID != ref.UID {
				writeError(w, r, apierrors.NewConflict(schemaGR("", "pods"), ref.Name, fmt.Errorf("the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.UID)))
				return
			}
			if pod.Spec.ServiceAccountName != "" && pod.Spec.ServiceAccountName != sa.Name {
				writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("cannot bind token to a pod running with a different service account (%s)", pod.Spec.ServiceAccountName)))
				return
			}
			bound.Pod = &authn.ObjectRef{Name: pod.Name, UID: string(pod.UID)}
			boundPod = pod
			if pod.Spec.NodeName != "" {
				nodes := s.storeFor("", "nodes")
				node := &corev1.Node{}
				if err := nodes.storage.Get(ctx, nodes.key("", pod.Spec.NodeName), storage.GetOptions{ResourceVersion: "0"}, node); err == nil {
					bound.Node = &authn.ObjectRef{Name: node.Name, UID: string(node.UID)}
				}
			}
		case "Secret":
			secrets := s.storeFor("", "secrets")
			sec := &corev1.Secret{}
			if err := secrets.storage.Get(ctx, secrets.key(info.Namespace, ref.Name), storage.GetOptions{}, sec); err != nil {
				writeError(w, r, err)
				return
			}
			if ref.UID != "" && sec.UID != ref.UID {
				writeError(w, r, apierrors.NewConflict(schemaGR("", "secrets"), ref.Name, fmt.Errorf("the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.UID)))
				return
			}
			bound.Secret = &authn.ObjectRef{Name: sec.Name, UID: string(sec.UID)}
		case "Node":
			nodes := s.storeFor("", "nodes")
			node := &corev1.Node{}
			if err := nodes.storage.Get(ctx, nodes.key("", ref.Name), storage.GetOptions{}, node); err != nil {
				writeError(w, r, err)
				return
			}
			bound.Node = &authn.ObjectRef{Name: node.Name, UID: string(node.UID)}
		default:
			writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("cannot bind token object of kind %q: Pod, Secret and Node are supported", ref.Kind)))
			return
		}
	}
	var old runtime.Object
	if boundPod != nil {
		old = boundPod
	}
	if err := s.admitNode(ctx, tr, old); err != nil {
		writeError(w, r, err)
		return
	}
	token, exp, err := s.signer.Issue(ctx, authn.ServiceAccountRef{Namespace: sa.Namespace, Name: sa.Name, UID: string(sa.UID)},
		tr.Spec.Audiences, *tr.Spec.ExpirationSeconds, bound, time.Now())
	if err != nil {
		writeError(w, r, apierrors.NewInternalError(err))
		return
	}
	tr.Name, tr.Namespace = sa.Name, sa.Namespace
	tr.CreationTimestamp = metav1.Now()
	tr.Status = authenticationv1.TokenRequestStatus{Token: token, ExpirationTimestamp: metav1.NewTime(exp)}
	writeObject(w, choice, http.StatusCreated, authenticationv1.SchemeGroupVersion.WithKind("TokenRequest"), tr)
}
