package audit

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

// PolicyAPIVersion and PolicyKind of an --audit-policy-file.
const (
	PolicyAPIVersion = "audit.k8s.io/v1"
	PolicyKind       = "Policy"
)

// Level is how much of a request an event records.
type Level string

// Levels, from least to most.
const (
	// LevelNone: no event.
	LevelNone Level = "None"
	// LevelMetadata: who, what, when, the response code; no bodies.
	LevelMetadata Level = "Metadata"
	// LevelRequest: Metadata plus the request body.
	LevelRequest Level = "Request"
	// LevelRequestResponse: Request plus the response body.
	LevelRequestResponse Level = "RequestResponse"
)

// rank orders the levels; unknown levels rank below None.
func (l Level) rank() int {
	return slices.Index([]Level{LevelNone, LevelMetadata, LevelRequest, LevelRequestResponse}, l)
}

// GreaterOrEqual reports whether l records at least what other does.
func (l Level) GreaterOrEqual(other Level) bool { return l.rank() >= other.rank() }

// Stage is a point in a request's life at which an event is written.
type Stage string

// Stages.
const (
	StageRequestReceived  Stage = "RequestReceived"
	StageResponseStarted  Stage = "ResponseStarted"
	StageResponseComplete Stage = "ResponseComplete"
	StagePanic            Stage = "Panic"
)

var allStages = []Stage{StageRequestReceived, StageResponseStarted, StageResponseComplete, StagePanic}

// Policy is the --audit-policy-file (audit.k8s.io/v1 Policy): the first
// rule that matches a request sets its level.
type Policy struct {
	APIVersion string       `json:"apiVersion"`
	Kind       string       `json:"kind"`
	Rules      []PolicyRule `json:"rules"`
	// OmitStages are never written, whatever the rule.
	OmitStages []Stage `json:"omitStages,omitempty"`
	// OmitManagedFields drops metadata.managedFields from recorded bodies
	// unless a rule says otherwise.
	OmitManagedFields bool `json:"omitManagedFields,omitempty"`
}

// PolicyRule matches requests; an empty list matches everything.
type PolicyRule struct {
	Level      Level    `json:"level"`
	Users      []string `json:"users,omitempty"`
	UserGroups []string `json:"userGroups,omitempty"`
	Verbs      []string `json:"verbs,omitempty"`
	// Resources and Namespaces match resource requests only
	// (Namespaces: "" matches cluster-scoped ones).
	Resources  []GroupResources `json:"resources,omitempty"`
	Namespaces []string         `json:"namespaces,omitempty"`
	// NonResourceURLs match non-resource requests: "/healthz", "/api*", "*".
	NonResourceURLs   []string `json:"nonResourceURLs,omitempty"`
	OmitStages        []Stage  `json:"omitStages,omitempty"`
	OmitManagedFields *bool    `json:"omitManagedFields,omitempty"`
}

// GroupResources matches resources of one API group ("" is core).
// Resources: "pods", "pods/log", "*" (all, with subresources), "*/status",
// "pods/*". Empty Resources match the whole group.
type GroupResources struct {
	Group         string   `json:"group,omitempty"`
	Resources     []string `json:"resources,omitempty"`
	ResourceNames []string `json:"resourceNames,omitempty"`
}

// ParsePolicy decodes and validates a Policy (YAML or JSON).
func ParsePolicy(data []byte) (*Policy, error) {
	var p Policy
	// Lenient, as upstream: fields we do not model (metadata) are ignored.
	if err := yaml.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("decode audit policy: %w", err)
	}
	if p.APIVersion != PolicyAPIVersion || p.Kind != PolicyKind {
		return nil, fmt.Errorf("audit policy: got apiVersion %q kind %q, want %s %s",
			p.APIVersion, p.Kind, PolicyAPIVersion, PolicyKind)
	}
	if errs := p.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("invalid audit policy: %w", errs.ToAggregate())
	}
	if len(p.Rules) == 0 {
		return nil, fmt.Errorf("audit policy has no rules")
	}
	return &p, nil
}

// LoadPolicy reads and validates the policy file at path.
func LoadPolicy(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read audit policy: %w", err)
	}
	p, err := ParsePolicy(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Validate checks the policy as upstream does.
func (p *Policy) Validate() field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateStages(p.OmitStages, field.NewPath("omitStages"))...)
	for i, r := range p.Rules {
		path := field.NewPath("rules").Index(i)
		if r.Level.rank() < 0 {
			errs = append(errs, field.NotSupported(path.Child("level"), r.Level,
				[]string{string(LevelNone), string(LevelMetadata), string(LevelRequest), string(LevelRequestResponse)}))
		}
		errs = append(errs, validateStages(r.OmitStages, path.Child("omitStages"))...)
		if len(r.NonResourceURLs) > 0 && (len(r.Resources) > 0 || len(r.Namespaces) > 0) {
			errs = append(errs, field.Invalid(path.Child("nonResourceURLs"), r.NonResourceURLs,
				"rules cannot apply to non-resource URLs as well as resources"))
		}
		for j, u := range r.NonResourceURLs {
			up := path.Child("nonResourceURLs").Index(j)
			switch {
			case u == "":
				errs = append(errs, field.Invalid(up, u, "non-resource URL rules may not be empty"))
			case u != "*" && !strings.HasPrefix(u, "/"):
				errs = append(errs, field.Invalid(up, u, "non-resource URL rules must begin with a '/' character"))
			case strings.Contains(strings.TrimSuffix(u, "*"), "*"):
				errs = append(errs, field.Invalid(up, u, "non-resource URL wildcards ('*') must be the final character of the rule"))
			}
		}
		for j, gr := range r.Resources {
			gp := path.Child("resources").Index(j)
			if len(gr.ResourceNames) > 0 && len(gr.Resources) == 0 {
				errs = append(errs, field.Invalid(gp.Child("resourceNames"), gr.ResourceNames,
					"using resourceNames requires at least one resource"))
			}
			for k, res := range gr.Resources {
				if res == "*" || strings.HasPrefix(res, "*/") {
					if len(gr.ResourceNames) > 0 {
						errs = append(errs, field.Invalid(gp.Child("resources").Index(k), res,
							"using resourceNames with wildcard resources is not allowed"))
					}
				}
				if strings.Count(res, "/") > 1 || res == "" {
					errs = append(errs, field.Invalid(gp.Child("resources").Index(k), res, "invalid resource"))
				}
			}
		}
	}
	return errs
}

func validateStages(stages []Stage, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, s := range stages {
		if !slices.Contains(allStages, s) {
			errs = append(errs, field.NotSupported(path.Index(i), s,
				[]string{string(StageRequestReceived), string(StageResponseStarted), string(StageResponseComplete), string(StagePanic)}))
		}
	}
	return errs
}

// Decision is what the policy says about one request.
type Decision struct {
	Level             Level
	OmitStages        []Stage
	OmitManagedFields bool
}

// omits reports whether stage s is not to be written.
func (d Decision) omits(s Stage) bool { return slices.Contains(d.OmitStages, s) }

// Evaluate returns the level of the first rule matching the request (None
// when none does), with the policy's and the rule's omitted stages.
func (p *Policy) Evaluate(a *Attrs) Decision {
	for i := range p.Rules {
		r := &p.Rules[i]
		if !r.matches(a) {
			continue
		}
		d := Decision{Level: r.Level, OmitManagedFields: p.OmitManagedFields}
		d.OmitStages = append(append(d.OmitStages, p.OmitStages...), r.OmitStages...)
		if r.OmitManagedFields != nil {
			d.OmitManagedFields = *r.OmitManagedFields
		}
		return d
	}
	return Decision{Level: LevelNone}
}

func (r *PolicyRule) matches(a *Attrs) bool {
	if len(r.Users) > 0 && (a.User == nil || !slices.Contains(r.Users, a.User.Name)) {
		return false
	}
	if len(r.UserGroups) > 0 {
		if a.User == nil || !slices.ContainsFunc(a.User.Groups, func(g string) bool { return slices.Contains(r.UserGroups, g) }) {
			return false
		}
	}
	if len(r.Verbs) > 0 && !slices.Contains(r.Verbs, a.Verb) {
		return false
	}
	if len(r.Namespaces) > 0 || len(r.Resources) > 0 {
		return r.matchesResource(a)
	}
	if len(r.NonResourceURLs) > 0 {
		if a.ResourceRequest {
			return false
		}
		return slices.ContainsFunc(r.NonResourceURLs, func(spec string) bool { return pathMatches(a.Path, spec) })
	}
	return true
}

// pathMatches matches a non-resource URL rule: exact, "*", or "prefix*".
func pathMatches(path, spec string) bool {
	if spec == "*" || spec == path {
		return true
	}
	prefix, ok := strings.CutSuffix(spec, "*")
	return ok && strings.HasPrefix(path, prefix)
}

func (r *PolicyRule) matchesResource(a *Attrs) bool {
	if !a.ResourceRequest {
		return false
	}
	if len(r.Namespaces) > 0 && !slices.Contains(r.Namespaces, a.Namespace) {
		return false
	}
	if len(r.Resources) == 0 {
		return true
	}
	combined := a.Resource
	if a.Subresource != "" {
		combined += "/" + a.Subresource
	}
	for _, gr := range r.Resources {
		if gr.Group != a.APIGroup {
			continue
		}
		if len(gr.Resources) == 0 {
			return true
		}
		if len(gr.ResourceNames) > 0 && !slices.Contains(gr.ResourceNames, a.Name) {
			continue
		}
		for _, res := range gr.Resources {
			switch {
			case res == "*" || res == combined:
				return true
			case a.Subresource != "" && strings.HasPrefix(res, "*/") && res[2:] == a.Subresource:
				return true
			case strings.HasSuffix(res, "/*") && strings.TrimSuffix(res, "/*") == a.Resource:
				return true
			}
		}
	}
	return false
}
