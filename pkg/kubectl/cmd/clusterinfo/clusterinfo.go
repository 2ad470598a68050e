// Package clusterinfo is `kubectl cluster-info`: where the control plane
// and the cluster's services (labelled kubernetes.io/cluster-service=true)
// answer.
package clusterinfo

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

// New returns the cluster-info command.
func New(f *util.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "cluster-info",
		Short: "Display cluster information",
		Long:  `Display addresses of the control plane and services with label kubernetes.io/cluster-service=true. To further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd, f)
		},
	}
}

func run(cmd *cobra.Command, f *util.Factory) error {
	ns := metav1.NamespaceSystem
	if f.Flags.Namespace != nil && *f.Flags.Namespace != "" {
		ns = *f.Flags.Namespace
	}
	cfg, err := f.RESTConfig()
	if err != nil {
		return err
	}
	cs, err := f.Clientset()
	if err != nil {
		return err
	}
	list, err := cs.CoreV1().Services(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "kubernetes.io/cluster-service=true"})
	if err == nil {
		printService(f.Out, "Kubernetes control plane", cfg.Host)
		for _, svc := range list.Items {
			var link string
			if len(svc.Status.LoadBalancer.Ingress) > 0 {
				in := svc.Status.LoadBalancer.Ingress[0]
				ip := in.IP
				if ip == "" {
					ip = in.Hostname
				}
				for _, p := range svc.Spec.Ports {
					link += "http://" + ip + ":" + strconv.Itoa(int(p.Port)) + " "
				}
			} else {
				name := svc.Name
				if len(svc.Spec.Ports) > 0 {
					p := svc.Spec.Ports[0]
					scheme := ""
					if p.Name == "https" || p.Port == 443 {
						scheme = "https"
					}
					name = utilnet.JoinSchemeNamePort(scheme, svc.Name, p.Name)
				}
				link = cfg.Host + "/api/v1/namespaces/" + svc.Namespace + "/services/" + name + "/proxy"
			}
			name := svc.Labels["kubernetes.io/name"]
			if name == "" {
				name = svc.Name
			}
			printService(f.Out, name, link)
		}
	}
	io.WriteString(f.Out, "\nTo further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.\n")
	return err
}

func printService(out io.Writer, name, link string) {
	fmt.Fprintf(out, "%s is running at %s\n", name, link)
}
