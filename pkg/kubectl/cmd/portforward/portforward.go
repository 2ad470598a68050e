// Package portforward is `kubectl port-forward`: listen on local ports
// and tunnel each connection to a pod's port through pods/portforward
// (WebSocket tunnelling first, SPDY as a fallback). A service's or
// workload's ports are translated to the chosen pod's container ports.
package portforward

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"

	"github.com/kstack/kstack/pkg/kubectl/util"
)

// New returns the port-forward command.
func New(f *util.Factory) *cobra.Command {
	var addresses []string
	cmd := &cobra.Command{
		Use:                   "port-forward TYPE/NAME [options] [LOCAL_PORT:]REMOTE_PORT [...[LOCAL_PORT_N:]REMOTE_PORT_N]",
		DisableFlagsInUseLine: true,
		Short:                 "Forward one or more local ports to a pod",
		Long:                  "Forward one or more local ports to a pod.\n\n Use resource type/name such as deployment/mydeployment to select a pod. Resource type defaults to 'pod' if omitted.\n\n If there are multiple pods matching the criteria, a pod will be selected automatically. The forwarding session ends when the selected pod terminates, and a rerun of the command is needed to resume forwarding.",
		Example: `  # Listen on ports 5000 and 6000 locally, forwarding data to/from ports 5000 and 6000 in the pod
  kubectl port-forward pod/mypod 5000 6000

  # Listen on port 8443 locally, forwarding to the targetPort of the service's port named "https" in a pod selected by the service
  kubectl port-forward service/myservice 8443:https`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return util.UsageError(cmd, "TYPE/NAME and list of ports are required for port-forward")
			}
			return run(cmd.Context(), f, args[0], args[1:], addresses)
		},
	}
	cmd.Flags().StringSliceVar(&addresses, "address", []string{"localhost"}, "Addresses to listen on (comma separated). Only accepts IP addresses or localhost as a value. When localhost is supplied, kubectl will try to bind on both 127.0.0.1 and ::1 and will fail if neither of these addresses are available to bind.")
	cmd.Flags().Duration("pod-running-timeout", 60e9, "The length of time (like 5s, 2m, or 3h, higher than zero) to wait until at least one pod is running")
	return cmd
}

func run(ctx context.Context, f *util.Factory, arg string, ports, addresses []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ns, _, err := f.Namespace()
	if err != nil {
		return err
	}
	infos, err := f.NewBuilder().WithScheme(scheme.Scheme, scheme.Scheme.PrioritizedVersionsAllGroups()...).
		NamespaceParam(ns).DefaultNamespace().ResourceNames("pods", arg).Do().Infos()
	if err != nil {
		return err
	}
	info := infos[0]
	pod, err := f.PodForArg(ctx, arg)
	if err != nil {
		return err
	}
	switch obj := info.Object.(type) {
	case *corev1.Service:
		if ports, err = servicePorts(obj, pod, ports); err != nil {
			return err
		}
	default:
		if ports, err = podPorts(pod, ports); err != nil {
			return err
		}
	}
	if pod.Status.Phase != corev1.PodRunning {
		return fmt.Errorf("unable to forward port because pod is not running. Current status=%v", pod.Status.Phase)
	}
	config, err := f.RESTConfig()
	if err != nil {
		return err
	}
	cs, err := f.Clientset()
	if err != nil {
		return err
	}
	u := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(pod.Namespace).Name(pod.Name).SubResource("portforward").URL()
	transport, upgrader, err := spdy.RoundTripperFor(config)
	if err != nil {
		return err
	}
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, "POST", u)
	if os.Getenv("KUBECTL_PORT_FORWARD_WEBSOCKETS") != "false" {
		ws, err := portforward.NewSPDYOverWebsocketDialer(u, config)
		if err != nil {
			return err
		}
		dialer = portforward.NewFallbackDialer(ws, dialer, func(err error) bool {
			return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
		})
	}
	stop := make(chan struct{})
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)
	go func() {
		select {
		case <-sigs:
		case <-ctx.Done():
		}
		close(stop)
	}()
	fw, err := portforward.NewOnAddresses(dialer, addresses, ports, stop, make(chan struct{}), f.Out, f.ErrOut)
	if err != nil {
		return err
	}
	return fw.ForwardPorts()
}

// splitPort splits [LOCAL:]REMOTE; a bare port is both.
func splitPort(p string) (local, remote string) {
	parts := strings.Split(p, ":")
	if len(parts) == 2 {
		return parts[0], parts[1]
	}
	return parts[0], parts[0]
}

// namedContainerPort finds a named port among the pod's containers.
func namedContainerPort(pod *corev1.Pod, name string) (int32, error) {
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.Name == name {
				return p.ContainerPort, nil
			}
		}
	}
	return -1, fmt.Errorf("Pod '%s' does not have a named port '%s'", pod.Name, name)
}

// joinPort is LOCAL:REMOTE, or REMOTE alone when they are the same.
func joinPort(local, remote string) string {
	if local == remote {
		return remote
	}
	return local + ":" + remote
}

// podPorts turns named remote ports into the pod's port numbers.
func podPorts(pod *corev1.Pod, ports []string) ([]string, error) {
	var out []string
	for _, p := range ports {
		local, remote := splitPort(p)
		if remote == "" {
			return nil, fmt.Errorf("remote port cannot be empty")
		}
		number := remote
		if _, err := strconv.Atoi(remote); err != nil {
			cp, err := namedContainerPort(pod, remote)
			if err != nil {
				return nil, err
			}
			number = strconv.Itoa(int(cp))
		}
		out = append(out, joinPort(local, number))
	}
	return out, nil
}

// servicePorts turns service ports (numbers or names) into the chosen
// pod's target ports; a bare named port listens on the service port.
func servicePorts(svc *corev1.Service, pod *corev1.Pod, ports []string) ([]string, error) {
	var out []string
	for _, p := range ports {
		local, remote := splitPort(p)
		number, err := strconv.Atoi(remote)
		if err != nil {
			found := false
			for _, sp := range svc.Spec.Ports {
				if sp.Name == remote {
					number, found = int(sp.Port), true
					break
				}
			}
			if !found {
				return nil, fmt.Errorf("Service '%s' does not have a named port '%s'", svc.Name, remote)
			}
			if local == remote {
				local = strconv.Itoa(number)
			}
		}
		target, err := targetPort(svc, pod, int32(number))
		if err != nil {
			return nil, err
		}
		out = append(out, joinPort(local, strconv.Itoa(int(target))))
	}
	return out, nil
}

// targetPort is the pod port behind the service's port number.
func targetPort(svc *corev1.Service, pod *corev1.Pod, port int32) (int32, error) {
	for _, sp := range svc.Spec.Ports {
		if sp.Port != port {
			continue
		}
		if svc.Spec.ClusterIP == corev1.ClusterIPNone {
			return port, nil
		}
		if sp.TargetPort.Type == intstr.Int {
			if sp.TargetPort.IntVal == 0 {
				return sp.Port, nil
			}
			return sp.TargetPort.IntVal, nil
		}
		return namedContainerPort(pod, sp.TargetPort.StrVal)
	}
	return port, fmt.Errorf("Service %s does not have a service port %d", svc.Name, port)
}
