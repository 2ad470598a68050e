// Package cgroupstat reads the counters of cgroup interface files (v1 and
// v2): a file that holds one number, and the flat keyed files
// ("<key> <n>" per line) such as memory.stat and cpu.stat.
package cgroupstat

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// ReadUint is the number a one-value file (memory.current,
// memory.usage_in_bytes, cpuacct.usage) holds; false when the file is
// missing or holds no number (e.g. "max").
func ReadUint(path string) (uint64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n, err == nil
}

// KeyedUint is the value of "<key> <n>" in a flat keyed file.
func KeyedUint(path, key string) (uint64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), " "); ok && k == key {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
