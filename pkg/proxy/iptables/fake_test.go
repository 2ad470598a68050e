package iptables

import (
	"fmt"
	"strings"
)

// fakeIPT records what the proxier applies.
type fakeIPT struct {
	restores []string
	chains   map[string][]string
	jumps    []string
	deleted  []string
	fail     error
}

func (f *fakeIPT) Restore(data []byte) error {
	if f.fail != nil {
		return f.fail
	}
	f.restores = append(f.restores, string(data))
	return nil
}

func (f *fakeIPT) SaveChains(table string) ([]string, error) { return f.chains[table], nil }

func (f *fakeIPT) EnsureRule(table, chain string, args ...string) error {
	f.jumps = append(f.jumps, fmt.Sprintf("%s %s %s", table, chain, strings.Join(args, " ")))
	return nil
}

func (f *fakeIPT) DeleteRule(table, chain string, args ...string) error {
	f.deleted = append(f.deleted, fmt.Sprintf("%s %s %s", table, chain, strings.Join(args, " ")))
	return nil
}

func (f *fakeIPT) last() string { return f.restores[len(f.restores)-1] }

// fakeConntrack records conntrack -D calls.
type fakeConntrack struct{ calls []string }

func (f *fakeConntrack) Delete(args ...string) error {
	f.calls = append(f.calls, strings.Join(args, " "))
	return nil
}
