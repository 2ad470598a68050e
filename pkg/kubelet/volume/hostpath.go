package volume

import (
	"fmt"
	"maps"
	"os"
	"slices"

	v1 "k8s.io/api/core/v1"
)

// checkHostPath applies the hostPath volume's type as upstream: the
// *OrCreate types make a missing directory (0755) or empty file (0644),
// the others require what they name to exist; no type checks nothing.
func checkHostPath(hp *v1.HostPathVolumeSource) error {
	t := v1.HostPathUnset
	if hp.Type != nil {
		t = *hp.Type
	}
	info, err := os.Stat(hp.Path)
	exists := err == nil
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	switch t {
	case v1.HostPathUnset:
		return nil
	case v1.HostPathDirectoryOrCreate:
		if !exists {
			if err := os.MkdirAll(hp.Path, 0o755); err != nil {
				return fmt.Errorf("hostPath type check failed: %w", err)
			}
			return nil
		}
		if !info.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a directory", hp.Path)
		}
	case v1.HostPathFileOrCreate:
		if !exists {
			f, err := os.OpenFile(hp.Path, os.O_CREATE|os.O_RDONLY, 0o644)
			if err != nil {
				return fmt.Errorf("hostPath type check failed: %w", err)
			}
			return f.Close()
		}
		if !info.Mode().IsRegular() {
			return fmt.Errorf("hostPath type check failed: %s is not a file", hp.Path)
		}
	case v1.HostPathDirectory:
		if !exists || !info.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a directory", hp.Path)
		}
	case v1.HostPathFile:
		if !exists || !info.Mode().IsRegular() {
			return fmt.Errorf("hostPath type check failed: %s is not a file", hp.Path)
		}
	case v1.HostPathSocket:
		if !exists || info.Mode()&os.ModeSocket == 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a socket file", hp.Path)
		}
	case v1.HostPathCharDev:
		if !exists || info.Mode()&os.ModeCharDevice == 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a character device", hp.Path)
		}
	case v1.HostPathBlockDev:
		if !exists || info.Mode()&os.ModeDevice == 0 || info.Mode()&os.ModeCharDevice != 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a block device", hp.Path)
		}
	default:
		return fmt.Errorf("hostPath type %q is not supported", t)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
