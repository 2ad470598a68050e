package kubelet

// Orphan garbage collection: what a kubelet killed at the wrong moment can
// leave without a container to find it by. Containers and sandboxes of
// pods that no longer exist are the pod workers' (housekeeping gives each
// such pod a worker, which kills and removes them); this collects the rest:
// network namespaces, CNI attachments, IP allocations and /dev/shm mounts
// of sandboxes that do not exist, and the pod and log directories of pods
// nobody knows.
//
// Races with pods being set up are avoided by order: the things on disk
// are listed first, then what is live (sandboxes being created, then the
// containers; workers, the informer's and the static pods), so anything
// created after the listing is never a candidate, and anything listed
// belongs to something live at the second look or is an orphan.

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kstack/kstack/pkg/kubelet/runtime"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// orphanGCPeriod is how often orphans are collected after the first time
// (at start).
const orphanGCPeriod = time.Minute

// networkCollector is the part of the pod network that collects orphans
// (package network; the hollow runtime's fake network has nothing to
// collect).
type networkCollector interface {
	GarbageCollect(ctx context.Context, live func(sandboxID string) bool) error
}

// shmCollector is the part of the runtime whose pods' /dev/shm tmpfs
// mounts can outlive their sandbox container (a kubelet killed between
// the mount and the container's creation); package runtime.
type shmCollector interface {
	// PodShmSandboxIDs lists the sandboxes with a /dev/shm on the node.
	PodShmSandboxIDs() []string
	// RemovePodShm unmounts and removes a gone sandbox's /dev/shm.
	RemovePodShm(sandboxID string) error
}

// sandboxStarting marks sandbox id as being created (its network
// namespace and IP may exist before its container does); the returned
// func unmarks it.
func (k *Kubelet) sandboxStarting(id string) func() {
	k.mu.Lock()
	if k.starting == nil {
		k.starting = map[string]bool{}
	}
	k.starting[id] = true
	k.mu.Unlock()
	return func() {
		k.mu.Lock()
		delete(k.starting, id)
		k.mu.Unlock()
	}
}

func (k *Kubelet) orphanGCLoop(ctx context.Context) {
	t := time.NewTicker(orphanGCPeriod)
	defer t.Stop()
	for {
		if err := k.collectOrphans(ctx); err != nil && ctx.Err() == nil {
			slog.Warn("collect orphans", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// collectOrphans removes, once, what belongs to no live sandbox or pod.
func (k *Kubelet) collectOrphans(ctx context.Context) error {
	podDirs, _ := os.ReadDir(filepath.Join(k.cfg.RootDir, "pods"))
	logDirs, _ := os.ReadDir(k.cfg.PodLogsDir)
	podCgroups := k.podCgroupUIDs()
	shmc, _ := k.runtime.(shmCollector)
	var shmIDs []string
	if shmc != nil {
		shmIDs = shmc.PodShmSandboxIDs()
	}

	k.mu.Lock()
	live := map[string]bool{}
	for id := range k.starting {
		live[id] = true
	}
	k.mu.Unlock()
	cs, err := k.runtime.List(ctx, "")
	if err != nil {
		return err
	}
	known := map[types.UID]bool{}
	for _, c := range cs {
		live[c.ID] = true
		known[types.UID(c.Labels[runtime.LabelPodUID])] = true
	}
	k.mu.Lock()
	for uid := range k.workers {
		known[uid] = true
	}
	k.mu.Unlock()
	if k.pods != nil {
		pods, _ := k.pods.List(labels.Everything())
		for _, p := range pods {
			known[p.UID] = true
		}
	}
	for _, p := range k.static.list() {
		known[p.UID] = true
	}

	var errs []error
	if nc, ok := k.network.(networkCollector); ok {
		errs = append(errs, nc.GarbageCollect(ctx, func(id string) bool { return live[id] }))
	}
	for _, id := range shmIDs {
		if !live[id] {
			slog.Info("removing the /dev/shm of a gone sandbox", "sandbox", id)
			errs = append(errs, shmc.RemovePodShm(id))
		}
	}
	for _, e := range podDirs {
		uid := e.Name()
		if known[types.UID(uid)] {
			continue
		}
		// Never remove a directory with something still mounted in it.
		if err := k.tearDownVolumes(uid); err != nil {
			errs = append(errs, err)
			continue
		}
		slog.Info("removing the directory of a gone pod", "uid", uid)
		errs = append(errs, os.RemoveAll(k.podDir(uid)))
	}
	for _, e := range logDirs {
		i := strings.LastIndexByte(e.Name(), '_')
		if i < 0 || known[types.UID(e.Name()[i+1:])] {
			continue
		}
		errs = append(errs, os.RemoveAll(filepath.Join(k.cfg.PodLogsDir, e.Name())))
	}
	for _, uid := range podCgroups {
		if !known[uid] {
			slog.Info("removing the cgroup of a gone pod", "uid", uid)
			errs = append(errs, k.removePodCgroup(uid))
		}
	}
	return errors.Join(errs...)
}
