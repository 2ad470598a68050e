package validation

import (
	"fmt"
	"math"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Messages upstream uses verbatim.
const (
	isNegativeErrorMsg    = apimachineryvalidation.IsNegativeErrorMsg // "must be greater than or equal to 0"
	isNotPositiveErrorMsg = "must be greater than zero"
	isNotIntegerErrorMsg  = "must be an integer"
	immutableErrorMsg     = apimachineryvalidation.FieldImmutableErrorMsg // "field is immutable"
)

func errTypeMismatch(obj, old runtime.Object) error {
	return fmt.Errorf("cannot validate update of %T against stored %T", obj, old)
}

func nonNegative(v int64, p *field.Path) field.ErrorList {
	if v < 0 {
		return field.ErrorList{field.Invalid(p, v, isNegativeErrorMsg)}
	}
	return nil
}

func nonNegative32(v *int32, p *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	return nonNegative(int64(*v), p)
}

func positive(v int64, p *field.Path) field.ErrorList {
	if v <= 0 {
		return field.ErrorList{field.Invalid(p, v, isNotPositiveErrorMsg)}
	}
	return nil
}

func immutable(newVal, oldVal any, p *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateImmutableField(newVal, oldVal, p)
}

// msgs turns a list of messages for one value into Invalid errors.
func msgs(p *field.Path, value any, ms []string) field.ErrorList {
	if len(ms) == 0 {
		return nil
	}
	errs := make(field.ErrorList, 0, len(ms))
	for _, m := range ms {
		errs = append(errs, field.Invalid(p, value, m))
	}
	return errs
}

func dnsLabel(v string, p *field.Path) field.ErrorList {
	return msgs(p, v, utilvalidation.IsDNS1123Label(v))
}

func dnsSubdomain(v string, p *field.Path) field.ErrorList {
	return msgs(p, v, utilvalidation.IsDNS1123Subdomain(v))
}

func qualifiedName(v string, p *field.Path) field.ErrorList {
	return msgs(p, v, utilvalidation.IsQualifiedName(v))
}

func labelSelector(s *metav1.LabelSelector, p *field.Path) field.ErrorList {
	return metavalidation.ValidateLabelSelector(s, metavalidation.LabelSelectorValidationOptions{}, p)
}

func labels(l map[string]string, p *field.Path) field.ErrorList {
	return metavalidation.ValidateLabels(l, p)
}

// oneOf reports value not in allowed as NotSupported (Required when empty
// and required is set).
func oneOf[T ~string](v T, p *field.Path, required bool, allowed ...T) field.ErrorList {
	if v == "" && required {
		return field.ErrorList{field.Required(p, "")}
	}
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	if v == "" && !required {
		return nil
	}
	return field.ErrorList{field.NotSupported(p, v, allowed)}
}

// nonNegativeQuantity rejects a negative quantity.
func nonNegativeQuantity(q resource.Quantity, p *field.Path) field.ErrorList {
	if q.Sign() < 0 {
		return field.ErrorList{field.Invalid(p, q.String(), isNegativeErrorMsg)}
	}
	return nil
}

// intOrPercent checks a maxSurge/maxUnavailable-style value: a non-negative
// integer or a valid percentage.
func intOrPercent(v *intstr.IntOrString, p *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	switch v.Type {
	case intstr.Int:
		return nonNegative(int64(v.IntValue()), p)
	case intstr.String:
		var errs field.ErrorList
		for _, m := range utilvalidation.IsValidPercent(v.StrVal) {
			errs = append(errs, field.Invalid(p, v, m))
		}
		if len(errs) == 0 && percentValue(v) < 0 {
			errs = append(errs, field.Invalid(p, v, isNegativeErrorMsg))
		}
		return errs
	}
	return field.ErrorList{field.Invalid(p, v, "must be an integer or percentage (e.g '5%')")}
}

// notMoreThan100Percent rejects percentages above 100%.
func notMoreThan100Percent(v *intstr.IntOrString, p *field.Path) field.ErrorList {
	if v == nil || v.Type != intstr.String || len(utilvalidation.IsValidPercent(v.StrVal)) > 0 {
		return nil
	}
	if percentValue(v) > 100 {
		return field.ErrorList{field.Invalid(p, v, "must not be greater than 100%")}
	}
	return nil
}

// percentValue returns the number of a valid "N%"; -1 otherwise.
func percentValue(v *intstr.IntOrString) int {
	n := 0
	s := strings.TrimSuffix(v.StrVal, "%")
	if s == "" {
		return -1
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
		if n > math.MaxInt32 {
			return math.MaxInt32
		}
	}
	return n
}

// isZeroIntOrPercent reports 0 or "0%".
func isZeroIntOrPercent(v *intstr.IntOrString) bool {
	if v == nil {
		return true
	}
	if v.Type == intstr.Int {
		return v.IntVal == 0
	}
	return percentValue(v) == 0
}
