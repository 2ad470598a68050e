package eviction

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
)

// MachineStats observes the machine the kubelet runs on:
// memory.available is MemAvailable of /proc/meminfo (of MemTotal);
// nodefs.available and nodefs.inodesFree are statfs of the kubelet's root
// dir (blocks and inodes available to unprivileged users). imagefs and
// pid signals are not observed, so their thresholds never trigger.
type MachineStats struct {
	// RootDir is the filesystem of nodefs (--root-dir).
	RootDir string
	// MeminfoPath is /proc/meminfo unless set.
	MeminfoPath string
	// Usage reads a pod's usage; nil reads nothing (ranking then goes by
	// requests, priority and QoS only).
	Usage func(pod *v1.Pod) Usage
}

// Observe reads meminfo and statfs.
func (m MachineStats) Observe() (map[Signal]Observation, error) {
	out := map[Signal]Observation{}
	path := m.MeminfoPath
	if path == "" {
		path = "/proc/meminfo"
	}
	total, avail, err := readMeminfo(path)
	if err != nil {
		return nil, err
	}
	out[SignalMemoryAvailable] = Observation{Available: avail, Capacity: total}
	var fs unix.Statfs_t
	if err := unix.Statfs(m.RootDir, &fs); err != nil {
		return nil, fmt.Errorf("statfs %s: %w", m.RootDir, err)
	}
	out[SignalNodeFsAvailable] = Observation{Available: int64(fs.Bavail) * fs.Bsize, Capacity: int64(fs.Blocks) * fs.Bsize}
	if fs.Files > 0 {
		out[SignalNodeFsInodesFree] = Observation{Available: int64(fs.Ffree), Capacity: int64(fs.Files)}
	}
	return out, nil
}

// PodUsage calls Usage.
func (m MachineStats) PodUsage(pod *v1.Pod) Usage {
	if m.Usage == nil {
		return Usage{}
	}
	return m.Usage(pod)
}

// readMeminfo returns MemTotal and MemAvailable in bytes.
func readMeminfo(path string) (total, avail int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("read meminfo: %w", err)
	}
	defer f.Close()
	var haveTotal, haveAvail bool
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		kb, perr := strconv.ParseInt(fields[1], 10, 64)
		if perr != nil {
			continue
		}
		switch fields[0] {
		case "MemTotal:":
			total, haveTotal = kb*1024, true
		case "MemAvailable:":
			avail, haveAvail = kb*1024, true
		}
	}
	if !haveTotal || !haveAvail {
		return 0, 0, fmt.Errorf("%s has no MemTotal or MemAvailable", path)
	}
	return total, avail, nil
}
