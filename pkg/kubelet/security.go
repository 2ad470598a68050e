package kubelet

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/kstack/kstack/pkg/kubelet/runtime"
	v1 "k8s.io/api/core/v1"
)

// containerSecurity resolves c's effective securityContext (the
// container's fields over the pod's) into runtime settings, and enforces
// runAsNonRoot as upstream: a violation is an error the caller reports as
// CreateContainerConfigError.
func containerSecurity(ctx context.Context, pod *v1.Pod, c *v1.Container, img runtime.Image) (runtime.Security, error) {
	var sec runtime.Security
	psc := pod.Spec.SecurityContext
	if psc == nil {
		psc = &v1.PodSecurityContext{}
	}
	csc := c.SecurityContext
	if csc == nil {
		csc = &v1.SecurityContext{}
	}
	runAsUser, runAsGroup, runAsNonRoot := psc.RunAsUser, psc.RunAsGroup, psc.RunAsNonRoot
	if csc.RunAsUser != nil {
		runAsUser = csc.RunAsUser
	}
	if csc.RunAsGroup != nil {
		runAsGroup = csc.RunAsGroup
	}
	if csc.RunAsNonRoot != nil {
		runAsNonRoot = csc.RunAsNonRoot
	}
	if runAsUser != nil {
		u := uint32(*runAsUser)
		sec.UID = &u
	}
	if runAsGroup != nil {
		g := uint32(*runAsGroup)
		sec.GID = &g
	}
	for _, g := range psc.SupplementalGroups {
		sec.AdditionalGIDs = append(sec.AdditionalGIDs, uint32(g))
	}
	if psc.FSGroup != nil {
		sec.AdditionalGIDs = append(sec.AdditionalGIDs, uint32(*psc.FSGroup))
	}
	if runAsNonRoot != nil && *runAsNonRoot {
		if err := verifyNonRoot(ctx, pod, c, runAsUser, img); err != nil {
			return sec, err
		}
	}
	sec.Privileged = csc.Privileged != nil && *csc.Privileged
	if caps := csc.Capabilities; caps != nil {
		for _, a := range caps.Add {
			sec.CapAdd = append(sec.CapAdd, capName(a))
		}
		for _, d := range caps.Drop {
			sec.CapDrop = append(sec.CapDrop, capName(d))
		}
	}
	sec.ReadOnlyRootfs = csc.ReadOnlyRootFilesystem != nil && *csc.ReadOnlyRootFilesystem
	sec.NoNewPrivileges = csc.AllowPrivilegeEscalation != nil && !*csc.AllowPrivilegeEscalation
	return sec, nil
}

// capName is the OCI name of a Kubernetes capability ("NET_ADMIN" ->
// "CAP_NET_ADMIN"; "ALL" stays).
func capName(c v1.Capability) string {
	s := strings.ToUpper(string(c))
	if s == "ALL" || strings.HasPrefix(s, "CAP_") {
		return s
	}
	return "CAP_" + s
}

// verifyNonRoot refuses a container that would run as root, with
// upstream's messages.
func verifyNonRoot(ctx context.Context, pod *v1.Pod, c *v1.Container, runAsUser *int64, img runtime.Image) error {
	podRef := fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
	if runAsUser != nil {
		if *runAsUser == 0 {
			return fmt.Errorf("container's runAsUser breaks non-root policy (pod: %q, container: %s)", podRef, c.Name)
		}
		return nil
	}
	user, err := img.ConfigUser(ctx)
	if err != nil {
		return err
	}
	name, _, _ := strings.Cut(user, ":")
	if name == "" || name == "root" {
		return fmt.Errorf("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", podRef, c.Name)
	}
	uid, err := strconv.ParseUint(name, 10, 32)
	if err != nil {
		return fmt.Errorf("container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root (pod: %q, container: %s)", name, podRef, c.Name)
	}
	if uid == 0 {
		return fmt.Errorf("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", podRef, c.Name)
	}
	return nil
}

// stopSignal is the container's lifecycle stopSignal, else the image's.
func stopSignal(ctx context.Context, c *v1.Container, img runtime.Image) string {
	if c.Lifecycle != nil && c.Lifecycle.StopSignal != nil {
		return string(*c.Lifecycle.StopSignal)
	}
	s, _ := img.ConfigStopSignal(ctx)
	return s
}
