package apiserver

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
)

// maxJSONPatchOperations bounds a JSON patch, as upstream.
const maxJSONPatchOperations = 10000

// patch handles PATCH on an object or its status subresource: the patch is
// applied to the current object's JSON, and the result goes through the
// update pipeline. Without a resourceVersion in the patch a concurrent
// change just means applying the patch again to the newer object.
func (s *Server) patch(w http.ResponseWriter, r *http.Request, rs *resourceStore, info *RequestInfo, sub string) {
	ctx := r.Context()
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	pt := types.PatchType(ct)
	switch pt {
	case types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType:
	case types.ApplyYAMLPatchType:
	case types.ApplyCBORPatchType:
		writeError(w, r, newStatusError(http.StatusUnsupportedMediaType, metav1.StatusReasonUnsupportedMediaType,
			"apply patches in CBOR are not supported: send application/apply-patch+yaml"))
		return
	default:
		writeError(w, r, newStatusError(http.StatusUnsupportedMediaType, metav1.StatusReasonUnsupportedMediaType,
			fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got %q)", r.Header.Get("Content-Type"))))
		return
	}
	wr, err := parseWrite(r, false)
	if err != nil {
		writeError(w, r, err)
		return
	}
	choice, dryRun, fv, body := wr.choice, wr.dryRun, wr.fv, wr.body
	if pt == types.ApplyYAMLPatchType {
		s.applyPatch(w, r, rs, info, sub, choice, dryRun, body)
		return
	}
	var jp jsonpatch.Patch
	switch pt {
	case types.JSONPatchType:
		jp, err = jsonpatch.DecodePatch(body)
		if err != nil {
			writeError(w, r, apierrors.NewBadRequest(err.Error()))
			return
		}
		if len(jp) > maxJSONPatchOperations {
			writeError(w, r, newStatusError(http.StatusRequestEntityTooLarge, metav1.StatusReasonRequestEntityTooLarge,
				fmt.Sprintf("The allowed maximum operations in a JSON patch is %d, got %d", maxJSONPatchOperations, len(jp))))
			return
		}
	default:
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("error decoding patch: %v", err)))
			return
		}
	}
	var warnings []string
	out, err := s.updateObject(ctx, rs, info.Namespace, info.Name, sub, dryRun, func(existing runtime.Object, exists bool) (runtime.Object, error) {
		served, err := rs.fromStorage(existing)
		if err != nil {
			return nil, err
		}
		original, err := json.Marshal(withKind(served, rs.servedGVK))
		if err != nil {
			return nil, err
		}
		var patched []byte
		switch pt {
		case types.JSONPatchType:
			patched, err = jp.Apply(original)
			if err != nil {
				// Upstream's generic 422: the patch error itself (a
				// missing key, a failed test) is not passed on.
				return nil, apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", err.Error(), 0, false)
			}
		case types.MergePatchType:
			patched, err = jsonpatch.MergePatch(original, body)
			if err != nil {
				return nil, apierrors.NewBadRequest(err.Error())
			}
		case types.StrategicMergePatchType:
			patched, err = strategicpatch.StrategicMergePatch(original, body, rs.res.New())
			if err != nil {
				return nil, apierrors.NewBadRequest(err.Error())
			}
		}
		obj, w, err := decodeBody(jsonInfo, patched, rs.servedGVK, rs.res.New(), fv)
		if err != nil {
			return nil, err
		}
		warnings = w
		return rs.toStorage(obj)
	})
	addWarnings(w, warnings)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.writeResult(w, r, choice, http.StatusOK, rs, out)
}
