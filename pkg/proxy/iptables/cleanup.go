package iptables

import (
	"bytes"
	"fmt"
)

// Cleanup removes every jump, rule and chain kube-proxy made in the
// filter and nat tables (kube-proxy --cleanup). It is safe to run when
// nothing is there.
func Cleanup(ipt Interface) error {
	for _, j := range baseJumps {
		if err := ipt.DeleteRule(j.table, j.chain, j.args...); err != nil {
			return fmt.Errorf("delete jump from %s %s: %w", j.table, j.chain, err)
		}
	}
	var b bytes.Buffer
	for _, table := range []string{"filter", "nat"} {
		names, err := ipt.SaveChains(table)
		if err != nil {
			return fmt.Errorf("list %s chains: %w", table, err)
		}
		var owned []string
		for _, n := range names {
			if ownedChain(n) {
				owned = append(owned, n)
			}
		}
		if len(owned) == 0 {
			continue
		}
		fmt.Fprintf(&b, "*%s\n", table)
		for _, n := range owned {
			fmt.Fprintf(&b, ":%s - [0:0]\n", n)
		}
		for _, n := range owned {
			fmt.Fprintf(&b, "-X %s\n", n)
		}
		b.WriteString("COMMIT\n")
	}
	if b.Len() == 0 {
		return nil
	}
	if err := ipt.Restore(b.Bytes()); err != nil {
		return fmt.Errorf("delete chains: %w", err)
	}
	return nil
}
