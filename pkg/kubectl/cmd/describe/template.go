package describe

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// PodTemplate is the "Pod Template:" section of a controller's
// description, as `rollout history --revision` and `rollout undo
// --dry-run` print it: written straight (upstream prints it without
// aligning its columns).
func PodTemplate(t *corev1.PodTemplateSpec) string {
	var b strings.Builder
	podTemplate(&writer{out: &b}, t)
	return b.String()
}
