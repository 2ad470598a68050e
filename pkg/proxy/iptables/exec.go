package iptables

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"strings"
)

// Interface is the kernel side the proxier drives: iptables-restore for
// the rule set, iptables for the few base-chain jumps. Exec implements it
// with the real binaries; unit tests use a fake.
type Interface interface {
	// Restore applies data (one or more tables, iptables-save format)
	// with iptables-restore --noflush: chains declared in data are
	// flushed and refilled, other chains are left alone; each table is
	// applied atomically.
	Restore(data []byte) error
	// SaveChains returns the names of the chains in table.
	SaveChains(table string) ([]string, error)
	// EnsureRule inserts the rule at the top of chain unless it exists.
	EnsureRule(table, chain string, args ...string) error
	// DeleteRule deletes the rule; a missing rule or chain is not an error.
	DeleteRule(table, chain string, args ...string) error
}

// Conntrack deletes conntrack entries; args are conntrack(8) filter flags.
type Conntrack interface {
	Delete(args ...string) error
}

// Exec runs iptables, iptables-restore, iptables-save and conntrack,
// each prefixed by Prefix (e.g. nsenter --net=/run/netns/n1 --) when set.
type Exec struct {
	Prefix []string
}

var (
	_ Interface = Exec{}
	_ Conntrack = Exec{}
)

func (e Exec) cmd(name string, args ...string) *exec.Cmd {
	if len(e.Prefix) > 0 {
		return exec.Command(e.Prefix[0], append(append(e.Prefix[1:], name), args...)...)
	}
	return exec.Command(name, args...)
}

func run(c *exec.Cmd) ([]byte, error) {
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return out, fmt.Errorf("%s: %w: %s", strings.Join(c.Args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// Restore runs iptables-restore --noflush --wait with data on stdin.
func (e Exec) Restore(data []byte) error {
	c := e.cmd("iptables-restore", "--noflush", "--wait")
	c.Stdin = bytes.NewReader(data)
	_, err := run(c)
	return err
}

// SaveChains parses the ":CHAIN" lines of iptables-save -t table.
func (e Exec) SaveChains(table string) ([]string, error) {
	out, err := run(e.cmd("iptables-save", "-t", table))
	if err != nil {
		return nil, err
	}
	var chains []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, ":") {
			if f := strings.Fields(line[1:]); len(f) > 0 {
				chains = append(chains, f[0])
			}
		}
	}
	return chains, sc.Err()
}

// EnsureRule checks with -C and inserts with -I when missing.
func (e Exec) EnsureRule(table, chain string, args ...string) error {
	if _, err := run(e.cmd("iptables", append([]string{"-w", "-t", table, "-C", chain}, args...)...)); err == nil {
		return nil
	}
	_, err := run(e.cmd("iptables", append([]string{"-w", "-t", table, "-I", chain}, args...)...))
	return err
}

// DeleteRule deletes the rule while it exists.
func (e Exec) DeleteRule(table, chain string, args ...string) error {
	for i := 0; i < 10; i++ {
		if _, err := run(e.cmd("iptables", append([]string{"-w", "-t", table, "-C", chain}, args...)...)); err != nil {
			return nil
		}
		if _, err := run(e.cmd("iptables", append([]string{"-w", "-t", table, "-D", chain}, args...)...)); err != nil {
			return err
		}
	}
	return nil
}

// Delete runs conntrack -D with the filter args; "0 flow entries" (exit
// status 1 with nothing deleted) is not an error.
func (e Exec) Delete(args ...string) error {
	_, err := run(e.cmd("conntrack", append([]string{"-D"}, args...)...))
	if err != nil && strings.Contains(err.Error(), "0 flow entries have been deleted") {
		return nil
	}
	return err
}
