package util

import (
	"encoding/json"
	"fmt"
	"reflect"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
)

// ApplyOverrides applies an --overrides document of --override-type
// (json, merge or strategic) to a typed object and returns a new object
// of the same type, as upstream's expose and run do.
func ApplyOverrides(obj runtime.Object, overrides, overrideType string) (runtime.Object, error) {
	original, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var patched []byte
	switch overrideType {
	case "json":
		patch, err := jsonpatch.DecodePatch([]byte(overrides))
		if err != nil {
			return nil, fmt.Errorf("error applying override: %v", err)
		}
		if patched, err = patch.Apply(original); err != nil {
			return nil, fmt.Errorf("error applying override: %v", err)
		}
	case "merge", "":
		if patched, err = jsonpatch.MergePatch(original, []byte(overrides)); err != nil {
			return nil, fmt.Errorf("error applying override: %v", err)
		}
	case "strategic":
		if patched, err = strategicpatch.StrategicMergePatch(original, []byte(overrides), obj); err != nil {
			return nil, fmt.Errorf("error applying override: %v", err)
		}
	default:
		return nil, fmt.Errorf("invalid override type: %v", overrideType)
	}
	out := obj.DeepCopyObject()
	v := reflect.ValueOf(out).Elem()
	v.Set(reflect.Zero(v.Type()))
	if err := json.Unmarshal(patched, out); err != nil {
		return nil, err
	}
	return out, nil
}
