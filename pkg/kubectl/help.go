package kubectl

import (
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// helpLayout renders `kubectl --help`, `kubectl <verb> --help` and usage
// the way upstream kubectl lays them out: the long description, Aliases,
// Examples, the subcommands (grouped under headings for the root), the
// command's own flags as "Options:" (one "--name=default:" line and a
// tab-indented description each), the usage line with " [options]", and the
// hints to "<command> --help" and "kubectl options". Global flags are only
// listed by `kubectl options`.
type helpLayout struct {
	root   *cobra.Command
	groups []helpGroup
	// hidden names root commands that no group lists and "Other Commands:"
	// leaves out.
	hidden map[string]bool
	// out is where help goes when no command set its own output (cobra's
	// default would be the process's stdout, not the streams').
	out io.Writer
}

// helpGroup is one heading of the root's command list.
type helpGroup struct {
	title    string
	commands []*cobra.Command
}

// install makes l the help and usage of root and every command under it.
func (l *helpLayout) install() {
	l.root.SetHelpFunc(func(c *cobra.Command, _ []string) {
		w := l.writer(c.OutOrStdout())
		text := strings.TrimSpace(c.Long)
		if text == "" {
			text = strings.TrimSpace(c.Short)
		}
		if c.Runnable() || c.HasSubCommands() {
			text += l.usage(c)
		}
		io.WriteString(w, text)
	})
	l.root.SetUsageFunc(func(c *cobra.Command) error {
		_, err := io.WriteString(l.writer(c.OutOrStderr()), l.usage(c))
		return err
	})
}

// writer maps the process's stdout to the streams' out and wraps text to
// the terminal's width, as upstream's responsive writer does.
func (l *helpLayout) writer(w io.Writer) io.Writer {
	if w == os.Stdout {
		w = l.out
	}
	if limit := terminalWrapLimit(w); limit > 0 {
		return &wrapWriter{w: w, limit: limit}
	}
	return w
}

// usage is everything after the description.
func (l *helpLayout) usage(c *cobra.Command) string {
	var b strings.Builder
	b.WriteString("\n\n")
	if len(c.Aliases) > 0 {
		fmt.Fprintf(&b, "Aliases:\n%s\n\n", c.NameAndAliases())
	}
	if c.HasExample() {
		fmt.Fprintf(&b, "Examples:\n%s\n\n", examples(c.Example))
	}
	if c.HasAvailableSubCommands() {
		b.WriteString(l.commandList(c))
		b.WriteString("\n\n")
	}
	own := pflag.NewFlagSet("options", pflag.ContinueOnError)
	persistent := c.PersistentFlags()
	c.LocalFlags().VisitAll(func(f *pflag.Flag) {
		if persistent.Lookup(f.Name) == nil && f.Name != "help" {
			own.AddFlag(f)
		}
	})
	if own.HasFlags() {
		fmt.Fprintf(&b, "Options:\n%s\n\n", strings.TrimRightFunc(flagUsages(own, terminalWrapLimit(l.out)), unicode.IsSpace))
	}
	if use := c.UseLine(); c.Runnable() && use != "" && use != l.root.CommandPath() {
		if c.HasFlags() && !strings.Contains(use, "[options]") {
			use += " [options]"
		}
		fmt.Fprintf(&b, "Usage:\n  %s\n\n", use)
	}
	if c.HasSubCommands() {
		var names []string
		for p := c; p != nil; p = p.Parent() {
			names = append([]string{p.Name()}, names...)
		}
		fmt.Fprintf(&b, "Use \"%s <command> --help\" for more information about a given command.\n", strings.Join(names, " "))
	}
	if c.Runnable() {
		fmt.Fprintf(&b, "Use \"%s options\" for a list of global command-line options (applies to all commands).\n", l.root.CommandPath())
	}
	return b.String()
}

// commandList is the root's grouped list, or "Available Commands:" below
// it.
func (l *helpLayout) commandList(c *cobra.Command) string {
	var groups []helpGroup
	if c == l.root {
		groups = append(groups, l.groups...)
		listed := map[*cobra.Command]bool{}
		for _, g := range l.groups {
			for _, cmd := range g.commands {
				listed[cmd] = true
			}
		}
		other := helpGroup{title: "Other Commands:"}
		for _, cmd := range c.Commands() {
			if !listed[cmd] && !cmd.Hidden && !l.hidden[cmd.Name()] && cmd.Short != "" {
				other.commands = append(other.commands, cmd)
			}
		}
		if len(other.commands) > 0 {
			groups = append(groups, other)
		}
	} else {
		all := helpGroup{title: "Available Commands:"}
		for _, cmd := range c.Commands() {
			if !cmd.Hidden && cmd.Name() != "options" {
				all.commands = append(all.commands, cmd)
			}
		}
		groups = []helpGroup{all}
	}
	var parts []string
	for _, g := range groups {
		lines := []string{g.title}
		for _, cmd := range g.commands {
			if cmd.IsAvailableCommand() {
				lines = append(lines, fmt.Sprintf("  %-*s   %s", cmd.NamePadding(), cmd.Name(), cmd.Short))
			}
		}
		parts = append(parts, strings.Join(lines, "\n"))
	}
	return strings.Join(parts, "\n\n")
}

// examples indents every line of an example block by two spaces, as
// upstream normalizes them (blank lines keep the indent).
func examples(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, line := range lines {
		lines[i] = "  " + strings.TrimSpace(line)
	}
	return strings.TrimRightFunc(strings.Join(lines, "\n"), unicode.IsSpace)
}

// flagUsages lists the visible flags of fs, one block each:
//
//	    -o, --output='':
//		Output format...
func flagUsages(fs *pflag.FlagSet, wrapLimit int) string {
	var b strings.Builder
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		def := f.DefValue
		if f.Value.Type() == "string" {
			def = "'" + def + "'"
		}
		b.WriteString("    ")
		if f.Shorthand != "" {
			b.WriteString("-" + f.Shorthand + ", ")
		}
		usage := strings.Join(strings.Split(f.Usage, "\n"), " ")
		if f.Deprecated != "" {
			usage += " (DEPRECATED: " + f.Deprecated + ")"
		}
		if wrapLimit > 10 {
			usage = wrapText(usage, wrapLimit-10)
		}
		fmt.Fprintf(&b, "--%s=%s:\n\t%s\n\n", f.Name, def, strings.ReplaceAll(usage, "\n", "\n\t"))
	})
	return b.String()
}

// terminalWrapLimit is the width help wraps at on a terminal (80, 100 or
// 120 columns, as upstream), or 0 when w is not a terminal.
func terminalWrapLimit(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	switch {
	case width >= 120:
		return 120
	case width >= 100:
		return 100
	case width >= 80:
		return 80
	}
	return 0
}

// wrapWriter word-wraps what it writes at limit columns.
type wrapWriter struct {
	w     io.Writer
	limit int
}

func (w *wrapWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(w.w, wrapText(string(p), w.limit)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// wrapText breaks each line of s at spaces so that no line is longer than
// limit, unless a single word is.
func wrapText(s string, limit int) string {
	lines := strings.Split(s, "\n")
	for i, line := range lines {
		if len(line) <= limit {
			continue
		}
		var out strings.Builder
		col := 0
		for j, word := range strings.Split(line, " ") {
			switch {
			case j == 0:
			case col+1+len(word) > limit && col > 0:
				out.WriteString("\n")
				col = 0
			default:
				out.WriteString(" ")
				col++
			}
			out.WriteString(word)
			col += len(word)
		}
		lines[i] = out.String()
	}
	return strings.Join(lines, "\n")
}
