// Package kubectl is kstack's kubectl: the root command, its global flags,
// and the list of verbs. Each verb lives in its own package under cmd/ and
// takes the shared *util.Factory; to add one, write
// pkg/kubectl/cmd/<verb>/ with a New(f *util.Factory) *cobra.Command and
// add it to commandGroups below.
package kubectl

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"

	"github.com/kstack/kstack/pkg/kubectl/cmd/annotate"
	"github.com/kstack/kstack/pkg/kubectl/cmd/apiresources"
	"github.com/kstack/kstack/pkg/kubectl/cmd/apply"
	"github.com/kstack/kstack/pkg/kubectl/cmd/attach"
	"github.com/kstack/kstack/pkg/kubectl/cmd/auth"
	"github.com/kstack/kstack/pkg/kubectl/cmd/autoscale"
	"github.com/kstack/kstack/pkg/kubectl/cmd/clusterinfo"
	"github.com/kstack/kstack/pkg/kubectl/cmd/completion"
	"github.com/kstack/kstack/pkg/kubectl/cmd/config"
	"github.com/kstack/kstack/pkg/kubectl/cmd/cordon"
	"github.com/kstack/kstack/pkg/kubectl/cmd/cp"
	"github.com/kstack/kstack/pkg/kubectl/cmd/create"
	kdelete "github.com/kstack/kstack/pkg/kubectl/cmd/delete"
	"github.com/kstack/kstack/pkg/kubectl/cmd/describe"
	"github.com/kstack/kstack/pkg/kubectl/cmd/diff"
	"github.com/kstack/kstack/pkg/kubectl/cmd/drain"
	"github.com/kstack/kstack/pkg/kubectl/cmd/edit"
	"github.com/kstack/kstack/pkg/kubectl/cmd/events"
	kexec "github.com/kstack/kstack/pkg/kubectl/cmd/exec"
	"github.com/kstack/kstack/pkg/kubectl/cmd/explain"
	"github.com/kstack/kstack/pkg/kubectl/cmd/expose"
	"github.com/kstack/kstack/pkg/kubectl/cmd/get"
	"github.com/kstack/kstack/pkg/kubectl/cmd/label"
	"github.com/kstack/kstack/pkg/kubectl/cmd/logs"
	"github.com/kstack/kstack/pkg/kubectl/cmd/patch"
	"github.com/kstack/kstack/pkg/kubectl/cmd/portforward"
	"github.com/kstack/kstack/pkg/kubectl/cmd/replace"
	"github.com/kstack/kstack/pkg/kubectl/cmd/rollout"
	"github.com/kstack/kstack/pkg/kubectl/cmd/run"
	"github.com/kstack/kstack/pkg/kubectl/cmd/scale"
	"github.com/kstack/kstack/pkg/kubectl/cmd/set"
	"github.com/kstack/kstack/pkg/kubectl/cmd/taint"
	"github.com/kstack/kstack/pkg/kubectl/cmd/top"
	"github.com/kstack/kstack/pkg/kubectl/cmd/version"
	"github.com/kstack/kstack/pkg/kubectl/cmd/wait"
	"github.com/kstack/kstack/pkg/kubectl/util"
)

// commandGroup is a heading of `kubectl --help` and the verbs under it.
type commandGroup struct {
	title    string
	commands []func(*util.Factory) *cobra.Command
}

// commandGroups lists the verbs under the headings of `kubectl --help`, as
// upstream groups them; otherCommands are the rest.
func commandGroups() []commandGroup {
	type cmds = []func(*util.Factory) *cobra.Command
	return []commandGroup{
		{title: "Basic Commands (Beginner):", commands: cmds{
			create.New,
			expose.New,
			run.New,
			set.New,
		}},
		{title: "Basic Commands (Intermediate):", commands: cmds{
			explain.New,
			get.New,
			edit.New,
			kdelete.New,
		}},
		{title: "Deploy Commands:", commands: cmds{
			rollout.New,
			scale.New,
			autoscale.New,
		}},
		{title: "Cluster Management Commands:", commands: cmds{
			clusterinfo.New,
			top.New,
			cordon.New,
			cordon.NewUncordon,
			drain.New,
			taint.New,
		}},
		{title: "Troubleshooting and Debugging Commands:", commands: cmds{
			describe.New,
			logs.New,
			attach.New,
			kexec.New,
			portforward.New,
			cp.New,
			auth.New,
			events.New,
		}},
		{title: "Advanced Commands:", commands: cmds{
			diff.New,
			apply.New,
			patch.New,
			replace.New,
			wait.New,
		}},
		{title: "Settings Commands:", commands: cmds{
			label.New,
			annotate.New,
			completion.New,
		}},
	}
}

// otherCommands are listed under "Other Commands:", by name.
func otherCommands() []func(*util.Factory) *cobra.Command {
	return []func(*util.Factory) *cobra.Command{
		apiresources.New,
		apiresources.NewVersions,
		config.New,
		version.New,
	}
}

// StdStreams are the process's stdin, stdout and stderr.
func StdStreams() genericiooptions.IOStreams {
	return genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
}

// Main runs kubectl with args and returns the exit code; errors are
// printed to streams.ErrOut as upstream prints them.
func Main(args []string, streams genericiooptions.IOStreams) int {
	// client-go's error logs read as upstream kubectl's (no logger names).
	klog.EnableContextualLogging(false)
	root := NewCommand(streams)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	msg, code := util.ErrorMessage(err)
	if msg != "" {
		if !strings.HasSuffix(msg, "\n") {
			msg += "\n"
		}
		io.WriteString(streams.ErrOut, msg)
	}
	return code
}

// NewCommand builds the root command with every verb.
func NewCommand(streams genericiooptions.IOStreams) *cobra.Command {
	root := &cobra.Command{
		Use:   "kubectl",
		Short: "kubectl controls the Kubernetes cluster manager",
		Long: `kubectl controls the Kubernetes cluster manager.

 Find more information at: https://kubernetes.io/docs/reference/kubectl/`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		Run: func(cmd *cobra.Command, args []string) {
			cmd.Help()
		},
	}
	// No SetOut: cobra prints flag deprecation notices on the command's
	// output, which upstream leaves at stderr; help goes to streams.Out
	// through helpLayout.
	root.SetIn(streams.In)
	root.SetErr(streams.ErrOut)
	root.SetGlobalNormalizationFunc(wordSepNormalize)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w\nSee '%s --help' for usage.", err, c.CommandPath())
	})

	flags := root.PersistentFlags()
	configFlags := genericclioptions.NewConfigFlags(true).
		WithDeprecatedPasswordFlag().
		WithDiscoveryBurst(300).
		WithDiscoveryQPS(50.0)
	configFlags.AddFlags(flags)
	handleServerWarnings(root, streams.ErrOut)
	flags.Bool("match-server-version", false, "Require server version to match client version")
	addKlogFlags(flags)

	f := util.NewFactory(configFlags, streams)
	help := &helpLayout{root: root, out: streams.Out, hidden: map[string]bool{"options": true}}
	for _, g := range commandGroups() {
		hg := helpGroup{title: g.title}
		for _, newCmd := range g.commands {
			cmd := newCmd(f)
			root.AddCommand(cmd)
			hg.commands = append(hg.commands, cmd)
		}
		help.groups = append(help.groups, hg)
	}
	for _, newCmd := range otherCommands() {
		root.AddCommand(newCmd(f))
	}
	root.AddCommand(newOptionsCommand(streams.Out))
	applyUpstreamHelp(root)
	help.install()
	return root
}

// wordSepNormalize accepts --foo_bar for --foo-bar, as upstream.
func wordSepNormalize(f *pflag.FlagSet, name string) pflag.NormalizedName {
	if strings.Contains(name, "_") {
		return pflag.NormalizedName(strings.ReplaceAll(name, "_", "-"))
	}
	return pflag.NormalizedName(name)
}

// addKlogFlags adds -v and --vmodule (client-go logs through klog).
func addKlogFlags(flags *pflag.FlagSet) {
	gofs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(gofs)
	for _, name := range []string{"v", "vmodule"} {
		if f := gofs.Lookup(name); f != nil {
			pf := pflag.PFlagFromGoFlag(f)
			if name == "v" {
				pf.Shorthand = "v"
			}
			flags.AddFlag(pf)
		}
	}
}
