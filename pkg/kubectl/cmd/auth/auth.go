// Package auth is `kubectl auth can-i` (SelfSubjectAccessReview, or
// SelfSubjectRulesReview with --list) and `kubectl auth whoami`
// (SelfSubjectReview).
package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

// New returns the auth command.
func New(f *util.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "Inspect authorization",
		Run:   func(cmd *cobra.Command, args []string) { cmd.Help() },
	}
	cmd.AddCommand(newCanI(f), newWhoAmI(f))
	return cmd
}

var knownVerbs = sets.New("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "use", "bind", "impersonate", "*", "approve", "sign", "escalate", "attest")

func newCanI(f *util.Factory) *cobra.Command {
	var allNamespaces, quiet, list, noHeaders bool
	var subresource string
	cmd := &cobra.Command{
		Use:                   "can-i VERB [TYPE | TYPE/NAME | NONRESOURCEURL]",
		DisableFlagsInUseLine: true,
		Short:                 "Check whether an action is allowed",
		RunE: func(cmd *cobra.Command, args []string) error {
			cs, err := f.Clientset()
			if err != nil {
				return err
			}
			ns := ""
			if !allNamespaces {
				if ns, _, err = f.Namespace(); err != nil {
					return err
				}
			}
			if list {
				if len(args) != 0 {
					return errors.New("list option must be specified with no arguments")
				}
				if quiet || allNamespaces || subresource != "" {
					return errors.New("list option can't be specified with neither quiet, all-namespaces nor subresource options")
				}
				review, err := cs.AuthorizationV1().SelfSubjectRulesReviews().Create(context.Background(),
					&authorizationv1.SelfSubjectRulesReview{Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: ns}}, metav1.CreateOptions{})
				if err != nil {
					return err
				}
				return printRules(f, review.Status, noHeaders)
			}
			out := f.Out
			if quiet {
				out = io.Discard
			}
			if len(args) != 2 {
				return fmt.Errorf("you must specify two arguments: verb resource or verb resource/resourceName.\nSee 'kubectl auth can-i -h' for help and examples.")
			}
			verb := args[0]
			spec := authorizationv1.SelfSubjectAccessReviewSpec{}
			if strings.HasPrefix(args[1], "/") {
				if subresource != "" {
					return fmt.Errorf("--subresource can not be used with NonResourceURL")
				}
				spec.NonResourceAttributes = &authorizationv1.NonResourceAttributes{Verb: verb, Path: args[1]}
			} else {
				typ, name, _ := strings.Cut(args[1], "/")
				gvr := resourceFor(f, typ)
				if gvr.Resource != "*" && !quiet {
					if namespaced, err := isNamespaced(f, gvr); err == nil && !namespaced && ns != "" && !allNamespaces && cmd.Flags().Changed("namespace") {
						if gvr.Group == "" {
							warn(f, fmt.Sprintf("resource '%s' is not namespace scoped\n", gvr.Resource))
						} else {
							warn(f, fmt.Sprintf("resource '%s' is not namespace scoped in group '%s'\n", gvr.Resource, gvr.Group))
						}
					}
				}
				if !quiet && !knownVerbs.Has(verb) {
					warn(f, fmt.Sprintf("verb '%s' is not a known verb\n", verb))
				}
				spec.ResourceAttributes = &authorizationv1.ResourceAttributes{
					Namespace: ns, Verb: verb, Group: gvr.Group, Resource: gvr.Resource, Subresource: subresource, Name: name,
				}
			}
			review, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(context.Background(),
				&authorizationv1.SelfSubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
			if err != nil {
				return err
			}
			if review.Status.Allowed {
				fmt.Fprintln(out, "yes")
				return nil
			}
			fmt.Fprint(out, "no")
			if review.Status.Reason != "" {
				fmt.Fprintf(out, " - %v", review.Status.Reason)
			}
			if review.Status.EvaluationError != "" {
				fmt.Fprintf(out, " - %v", review.Status.EvaluationError)
			}
			fmt.Fprintln(out)
			return util.ErrExit
		},
	}
	cmd.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "If true, check the specified action in all namespaces.")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "If true, suppress output and just return the exit code.")
	cmd.Flags().StringVar(&subresource, "subresource", "", "SubResource such as pod/log or deployment/scale")
	cmd.Flags().BoolVar(&list, "list", false, "If true, prints all allowed actions.")
	cmd.Flags().BoolVar(&noHeaders, "no-headers", false, "If true, prints allowed actions without headers")
	return cmd
}

func warn(f *util.Factory, msg string) {
	printers.NewWarningPrinter(f.ErrOut, printers.WarningPrinterOptions{Color: printers.AllowsColorOutput(f.ErrOut)}).Print(msg)
}

// resourceFor resolves a resource argument (short names too); an unknown
// one is checked as written, with a warning.
func resourceFor(f *util.Factory, arg string) schema.GroupVersionResource {
	if arg == "*" {
		return schema.GroupVersionResource{Resource: arg}
	}
	mapper, err := f.RESTMapper()
	if err != nil {
		return schema.GroupVersionResource{Resource: arg}
	}
	full, gr := schema.ParseResourceArg(strings.ToLower(arg))
	var gvr schema.GroupVersionResource
	if full != nil {
		gvr, _ = mapper.ResourceFor(*full)
	}
	if gvr.Empty() {
		if gvr, err = mapper.ResourceFor(gr.WithVersion("")); err != nil {
			if gr.String() != "users" && gr.String() != "groups" && gr.String() != "serviceaccounts" && gr.String() != "userextras" {
				if gr.Group == "" {
					warn(f, fmt.Sprintf("the server doesn't have a resource type '%s'\n", gr.Resource))
				} else {
					warn(f, fmt.Sprintf("the server doesn't have a resource type '%s' in group '%s'\n", gr.Resource, gr.Group))
				}
			}
			return schema.GroupVersionResource{Resource: arg}
		}
	}
	return gvr
}

func isNamespaced(f *util.Factory, gvr schema.GroupVersionResource) (bool, error) {
	dc, err := f.Discovery()
	if err != nil {
		return true, err
	}
	list, err := dc.ServerResourcesForGroupVersion(gvr.GroupVersion().String())
	if err != nil {
		return true, err
	}
	for _, r := range list.APIResources {
		if r.Name == gvr.Resource {
			return r.Namespaced, nil
		}
	}
	return false, fmt.Errorf("the server doesn't have a resource type '%s' in group '%s'", gvr.Resource, gvr.Group)
}

// printRules prints a rules review as upstream: every rule broken down to
// one verb, rules on one resource merged again, sorted.
func printRules(f *util.Factory, status authorizationv1.SubjectRulesReviewStatus, noHeaders bool) error {
	if status.Incomplete {
		warn(f, fmt.Sprintf("the list may be incomplete: %v", status.EvaluationError))
	}
	var single []rbacv1.PolicyRule
	for _, r := range status.ResourceRules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					if len(r.ResourceNames) == 0 {
						single = append(single, rbacv1.PolicyRule{APIGroups: []string{g}, Resources: []string{res}, Verbs: []string{v}})
					}
					for _, n := range r.ResourceNames {
						single = append(single, rbacv1.PolicyRule{APIGroups: []string{g}, Resources: []string{res}, Verbs: []string{v}, ResourceNames: []string{n}})
					}
				}
			}
		}
	}
	for _, r := range status.NonResourceRules {
		for _, u := range r.NonResourceURLs {
			for _, v := range r.Verbs {
				single = append(single, rbacv1.PolicyRule{NonResourceURLs: []string{u}, Verbs: []string{v}})
			}
		}
	}
	type key struct{ group, resource, name string }
	merged := map[key]*rbacv1.PolicyRule{}
	var rules []rbacv1.PolicyRule
	for _, r := range single {
		if len(r.NonResourceURLs) > 0 {
			rules = append(rules, r)
			continue
		}
		k := key{r.APIGroups[0], r.Resources[0], ""}
		if len(r.ResourceNames) == 1 {
			k.name = "\x00" + r.ResourceNames[0]
		}
		if m, ok := merged[k]; ok {
			if !sets.New(m.Verbs...).Has(r.Verbs[0]) {
				m.Verbs = append(m.Verbs, r.Verbs[0])
			}
			continue
		}
		merged[k] = r.DeepCopy()
	}
	for _, m := range merged {
		rules = append(rules, *m)
	}
	sort.SliceStable(rules, func(i, j int) bool { return rules[i].String() < rules[j].String() })
	w := printers.GetNewTabWriter(f.Out)
	defer w.Flush()
	if !noHeaders {
		fmt.Fprintln(w, "Resources\tNon-Resource URLs\tResource Names\tVerbs")
	}
	for _, r := range rules {
		fmt.Fprintf(w, "%s\t%v\t%v\t%v\n", resourceGroup(r.Resources, r.APIGroups), r.NonResourceURLs, r.ResourceNames, r.Verbs)
	}
	return nil
}

// resourceGroup names a rule's resource as "resource.group/subresource".
func resourceGroup(resources, groups []string) string {
	if len(resources) == 0 {
		return ""
	}
	res, sub, hasSub := strings.Cut(resources[0], "/")
	if len(groups) > 0 && groups[0] != "" {
		res += "." + groups[0]
	}
	if hasSub {
		res += "/" + sub
	}
	return res
}

func newWhoAmI(f *util.Factory) *cobra.Command {
	print := genericclioptions.NewPrintFlags("").WithTypeSetter(nil)
	print.TypeSetterPrinter = nil
	cmd := &cobra.Command{
		Use:   "whoami",
		Short: "Experimental: Check self subject attributes",
		RunE: func(cmd *cobra.Command, args []string) error {
			cs, err := f.Clientset()
			if err != nil {
				return err
			}
			review, err := cs.AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
			if err != nil {
				return err
			}
			if *print.OutputFormat != "" {
				review.APIVersion, review.Kind = "authentication.k8s.io/v1", "SelfSubjectReview"
				p, err := print.ToPrinter()
				if err != nil {
					return err
				}
				return p.PrintObj(review, f.Out)
			}
			ui := review.Status.UserInfo
			w := printers.GetNewTabWriter(f.Out)
			defer w.Flush()
			fmt.Fprintf(w, "ATTRIBUTE\tVALUE\n")
			if ui.Username != "" {
				fmt.Fprintf(w, "Username\t%s\n", ui.Username)
			}
			if ui.UID != "" {
				fmt.Fprintf(w, "UID\t%s\n", ui.UID)
			}
			if len(ui.Groups) > 0 {
				fmt.Fprintf(w, "Groups\t%v\n", ui.Groups)
			}
			keys := make([]string, 0, len(ui.Extra))
			for k := range ui.Extra {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(w, "Extra: %s\t%v\n", k, ui.Extra[k])
			}
			return nil
		},
	}
	print.AddFlags(cmd)
	return cmd
}
