package apiserver

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// maxBodyBytes is upstream's limit on a request body (3 MiB).
const maxBodyBytes = 3 * 1024 * 1024

// readBody reads the request body, refusing more than maxBodyBytes with 413.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, apierrors.NewBadRequest("the request body is empty")
	}
	if r.ContentLength > maxBodyBytes {
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", maxBodyBytes))
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("read request body: %v", err))
	}
	if len(data) > maxBodyBytes {
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", maxBodyBytes))
	}
	if len(data) == 0 {
		return nil, apierrors.NewBadRequest("the request body is empty")
	}
	return data, nil
}

// fieldValidation is the ?fieldValidation= directive.
type fieldValidation string

const (
	validationIgnore fieldValidation = "Ignore"
	validationWarn   fieldValidation = "Warn"
	validationStrict fieldValidation = "Strict"
)

func parseFieldValidation(r *http.Request) (fieldValidation, error) {
	v := r.URL.Query().Get("fieldValidation")
	switch v {
	case "":
		return validationWarn, nil
	case "Ignore", "Warn", "Strict":
		return fieldValidation(v), nil
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("fieldValidation: invalid value %q: must be one of Ignore, Warn, Strict", v))
}

// decodeBody decodes data into a new object of the served kind gvk. A body
// naming another kind or version is 400; unknown or duplicate fields are
// rejected (Strict), returned as warnings (Warn) or dropped (Ignore).
func decodeBody(info runtime.SerializerInfo, data []byte, gvk schema.GroupVersionKind, into runtime.Object, fv fieldValidation) (runtime.Object, []string, error) {
	dec := info.Serializer
	if fv != validationIgnore && info.StrictSerializer != nil {
		dec = info.StrictSerializer
	}
	obj, actual, err := dec.Decode(data, &gvk, into)
	var warnings []string
	if err != nil && runtime.IsStrictDecodingError(err) {
		if fv == validationStrict {
			return nil, nil, apierrors.NewBadRequest(err.Error())
		}
		if sde, ok := runtime.AsStrictDecodingError(err); ok {
			for _, e := range sde.Errors() {
				warnings = append(warnings, e.Error())
			}
		}
		err = nil
		// The strict decoder filled the object as far as it could; decode
		// again leniently to be sure nothing was left out.
		into.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
		obj, actual, err = info.Serializer.Decode(data, &gvk, into)
	}
	if err != nil {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("the object provided could not be decoded: %v", err))
	}
	if actual != nil && *actual != gvk {
		if actual.GroupVersion() != gvk.GroupVersion() {
			return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", actual.GroupVersion().String(), gvk.GroupVersion().String()))
		}
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("the kind in the data (%s) does not match the expected kind (%s)", actual.Kind, gvk.Kind))
	}
	if obj != into {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("the object provided is not a %s", gvk.Kind))
	}
	if fv == validationIgnore {
		warnings = nil
	}
	return obj, warnings, nil
}

// addWarnings writes Warning headers as upstream does: `299 - "<text>"`.
func addWarnings(w http.ResponseWriter, warnings []string) {
	for _, msg := range warnings {
		msg = strings.ReplaceAll(msg, `"`, `\"`)
		w.Header().Add("Warning", `299 - "`+msg+`"`)
	}
}

// dryRun reports ?dryRun=All; any other value is 400.
func parseDryRun(r *http.Request) (bool, error) {
	vals := r.URL.Query()["dryRun"]
	for _, v := range vals {
		if v != metav1.DryRunAll {
			return false, apierrors.NewBadRequest(fmt.Sprintf("dryRun: Unsupported value: %q: supported values: \"All\"", v))
		}
	}
	return len(vals) > 0, nil
}
