package network

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/containernetworking/cni/libcni"
)

// sandboxIDPattern is the shape of the sandbox IDs the kubelet makes (and
// names network namespaces after); nothing else in the netns dir is ours.
var sandboxIDPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// GarbageCollect releases what CNI holds for sandboxes that are not live:
// attachments in libcni's cache get a DEL with the configuration and
// arguments saved at ADD (which frees the IP and the portmap rules),
// host-local allocations left without one are removed, and so are the
// network namespaces in the netns dir named after a sandbox that is not
// live. live must be true for every sandbox that exists or is being
// created.
func (n *Network) GarbageCollect(ctx context.Context, live func(sandboxID string) bool) error {
	var errs []error
	atts, err := n.cni.GetCachedAttachments("")
	if err != nil {
		errs = append(errs, fmt.Errorf("CNI cache: %w", err))
	}
	for _, a := range atts {
		if live(a.ContainerID) {
			continue
		}
		if err := n.delAttachment(ctx, a); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, n.gcAllocations(live), n.gcNetNS(live))
	return errors.Join(errs...)
}

// legacyLoopbackNetwork is the network name under which kubelets that ran
// the loopback CNI plugin cached its ADDs (now lo is brought up in-process).
const legacyLoopbackNetwork = "cni-loopback"

func (n *Network) delAttachment(ctx context.Context, a *libcni.NetworkAttachment) error {
	rt := &libcni.RuntimeConf{ContainerID: a.ContainerID, IfName: a.IfName, Args: a.CniArgs, CapabilityArgs: a.CapabilityArgs}
	if _, err := os.Stat(a.NetNS); err == nil {
		rt.NetNS = a.NetNS
	}
	list, err := libcni.NetworkConfFromBytes(a.Config)
	if err != nil {
		return fmt.Errorf("cached CNI config of %s: %w", a.ContainerID, err)
	}
	if rt.NetNS == "" && a.Network == legacyLoopbackNetwork {
		// Loopback holds nothing outside the namespace, which is gone.
		return os.Remove(filepath.Join(n.cfg.CacheDir, "results", a.Network+"-"+a.ContainerID+"-"+a.IfName))
	}
	if err := n.cni.DelNetworkList(ctx, list, rt); err != nil {
		return fmt.Errorf("CNI DEL of orphaned sandbox %s: %w", a.ContainerID, err)
	}
	return nil
}

// gcAllocations removes host-local's IP files of sandboxes that are not
// live (each file holds the container ID on its first line).
func (n *Network) gcAllocations(live func(string) bool) error {
	dir := filepath.Join(n.cfg.DataDir, n.cfg.Name)
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("host-local data dir: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if e.IsDir() || e.Name() == "lock" || strings.HasPrefix(e.Name(), "last_reserved_ip") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		id, err := firstLine(p)
		if err != nil || id == "" || live(id) {
			continue
		}
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			errs = append(errs, fmt.Errorf("release IP %s: %w", e.Name(), err))
		}
	}
	return errors.Join(errs...)
}

func firstLine(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Scan()
	return strings.TrimSpace(s.Text()), s.Err()
}

// gcNetNS removes the network namespaces of sandboxes that are not live.
func (n *Network) gcNetNS(live func(string) bool) error {
	entries, err := os.ReadDir(n.cfg.NetNSDir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("netns dir: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if !sandboxIDPattern.MatchString(e.Name()) || live(e.Name()) {
			continue
		}
		errs = append(errs, RemoveNetNS(filepath.Join(n.cfg.NetNSDir, e.Name())))
	}
	return errors.Join(errs...)
}
