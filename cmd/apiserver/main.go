// Command apiserver serves the Kubernetes API from etcd. Its flags carry
// kube-apiserver's names and meanings.
package main

import (
	"fmt"
	"net"
	"os"
	"time"

	"github.com/kstack/kstack/pkg/apiserver"
	"github.com/kstack/kstack/pkg/daemon"
	"github.com/spf13/pflag"
)

func main() {
	var cfg apiserver.Config
	var bind, advertise, logFormat string
	var verbosity int
	fs := pflag.NewFlagSet("apiserver", pflag.ExitOnError)
	fs.StringSliceVar(&cfg.EtcdServers, "etcd-servers", nil, "List of etcd servers to connect with (scheme://ip:port), comma separated. Empty runs an embedded etcd with its data under --data-dir.")
	fs.StringVar(&cfg.EtcdPrefix, "etcd-prefix", "/registry", "The prefix to prepend to all resource paths in etcd.")
	fs.StringVar(&cfg.EtcdCAFile, "etcd-cafile", "", "SSL Certificate Authority file used to secure etcd communication.")
	fs.StringVar(&cfg.EtcdCertFile, "etcd-certfile", "", "SSL certification file used to secure etcd communication.")
	fs.StringVar(&cfg.EtcdKeyFile, "etcd-keyfile", "", "SSL key file used to secure etcd communication.")
	fs.DurationVar(&cfg.EtcdCompactionInterval, "etcd-compaction-interval", 5*60*1e9, "The interval of compaction requests. If 0, the compaction request from apiserver is disabled.")
	fs.DurationVar(&cfg.EventTTL, "event-ttl", time.Hour, "Amount of time to retain events.")
	fs.Int64Var(&cfg.LeaseReuseDurationSeconds, "lease-reuse-duration-seconds", 60, "The time in seconds that each lease is reused. A lower value could avoid large number of objects reusing the same lease. Notice that a too small value may cause performance problems at storage layer.")
	fs.StringVar(&cfg.DataDir, "data-dir", "", "Directory for the embedded etcd's data (used when --etcd-servers is empty).")
	fs.StringVar(&bind, "bind-address", "0.0.0.0", "The IP address on which to listen for the --secure-port port.")
	fs.IntVar(&cfg.SecurePort, "secure-port", 6443, "The port on which to serve HTTPS with authentication and authorization.")
	fs.StringVar(&advertise, "advertise-address", "", "The IP address on which to advertise the apiserver to members of the cluster (the kubernetes Service's endpoints). Empty uses --bind-address or the host's first address.")
	fs.StringVar(&cfg.TLSCertFile, "tls-cert-file", "", "File containing the default x509 Certificate for HTTPS (CA cert, if any, concatenated after server cert).")
	fs.StringVar(&cfg.TLSPrivateKeyFile, "tls-private-key-file", "", "File containing the default x509 private key matching --tls-cert-file.")
	fs.StringVar(&cfg.CertDir, "cert-dir", "/var/run/kubernetes", "The directory where the TLS certs are located. If --tls-cert-file and --tls-private-key-file are provided, this flag will be ignored.")
	fs.StringVar(&cfg.ServiceClusterIPRange, "service-cluster-ip-range", "10.0.0.0/24", "A CIDR notation IP range from which to assign service cluster IPs.")
	fs.StringVar(&cfg.ServiceNodePortRange, "service-node-port-range", "30000-32767", "A port range to reserve for services with NodePort visibility.")
	fs.IntVar(&cfg.MaxRequestsInflight, "max-requests-inflight", 400, "The maximum number of non-mutating requests in flight at a given time. 0 means no limit.")
	fs.IntVar(&cfg.MaxMutatingRequestsInflight, "max-mutating-requests-inflight", 200, "The maximum number of mutating requests in flight at a given time. 0 means no limit.")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", 60*1e9, "The duration a handler must keep a request open before timing it out (watches excepted).")
	fs.BoolVar(&cfg.Profiling, "profiling", true, "Enable profiling via web interface host:port/debug/pprof/")
	fs.StringVar(&cfg.ClientCAFile, "client-ca-file", "", "If set, any request presenting a client certificate signed by one of the authorities in the client-ca-file is authenticated with an identity corresponding to the CommonName of the client certificate (organizations are groups).")
	fs.StringVar(&cfg.TokenAuthFile, "token-auth-file", "", "If set, the file that will be used to secure the secure port of the API server via token authentication (CSV: token,user,uid,\"group1,group2\").")
	fs.BoolVar(&cfg.AnonymousAuth, "anonymous-auth", true, "Enables anonymous requests to the secure port of the API server. Requests that are not rejected by another authentication method are treated as anonymous requests (user system:anonymous, group system:unauthenticated).")
	fs.StringArrayVar(&cfg.ServiceAccountIssuers, "service-account-issuer", nil, "Identifier of the service account token issuer (the iss claim). Repeatable: the first signs, all are accepted.")
	fs.StringArrayVar(&cfg.ServiceAccountKeyFiles, "service-account-key-file", nil, "File containing PEM-encoded x509 RSA or ECDSA private or public keys, used to verify ServiceAccount tokens. Repeatable.")
	fs.StringVar(&cfg.ServiceAccountSigningKeyFile, "service-account-signing-key-file", "", "Path to the file that contains the current private key of the service account token issuer.")
	fs.DurationVar(&cfg.ServiceAccountMaxTokenExpiration, "service-account-max-token-expiration", 0, "The maximum validity duration of a token created by the service account token issuer (0: no maximum).")
	fs.StringVar(&cfg.ServiceAccountJWKSURI, "service-account-jwks-uri", "", "Overrides the URI for the JSON Web Key Set in the discovery doc served at /.well-known/openid-configuration.")
	fs.StringSliceVar(&cfg.APIAudiences, "api-audiences", nil, "Identifiers of the API. Tokens must carry one of them in their aud claim. Defaults to the first --service-account-issuer.")
	fs.StringSliceVar(&cfg.AuthorizationModes, "authorization-mode", []string{"Node", "RBAC"}, "Ordered list of plug-ins to do authorization on secure port: AlwaysAllow, AlwaysDeny, Node, RBAC.")
	fs.StringSliceVar(&cfg.EnableAdmissionPlugins, "enable-admission-plugins", nil, "Admission plugins to enable in addition to the default-enabled ones (NamespaceLifecycle, LimitRanger, ServiceAccount, Priority, DefaultTolerationSeconds, TaintNodesByCondition, ResourceQuota, PodSecurity). Also: NodeRestriction.")
	fs.StringSliceVar(&cfg.DisableAdmissionPlugins, "disable-admission-plugins", nil, "Admission plugins to disable, even if on by default.")
	fs.StringVar(&cfg.EncryptionProviderConfig, "encryption-provider-config", "", "The file containing configuration for encryption providers to be used for storing secrets in etcd.")
	fs.StringVar(&cfg.AuditPolicyFile, "audit-policy-file", "", "Path to the file that defines the audit policy configuration.")
	fs.StringVar(&cfg.AuditLogPath, "audit-log-path", "", "If set, all requests coming to the apiserver will be logged to this file. '-' means standard out.")
	fs.IntVar(&cfg.AuditLogMaxAge, "audit-log-maxage", 0, "The maximum number of days to retain old audit log files based on the timestamp encoded in their filename.")
	fs.IntVar(&cfg.AuditLogMaxBackup, "audit-log-maxbackup", 0, "The maximum number of old audit log files to retain. 0 means no restriction.")
	fs.IntVar(&cfg.AuditLogMaxSize, "audit-log-maxsize", 0, "The maximum size in megabytes of the audit log file before it gets rotated.")
	fs.StringVar(&cfg.KubeletClientCertificate, "kubelet-client-certificate", "", "Path to a client cert file for TLS to kubelets.")
	fs.StringVar(&cfg.KubeletClientKey, "kubelet-client-key", "", "Path to a client key file for TLS to kubelets.")
	fs.StringVar(&cfg.KubeletCertificateAuthority, "kubelet-certificate-authority", "", "Path to a cert file for the certificate authority of kubelets' serving certificates.")
	fs.StringVar(&logFormat, "logging-format", "text", "Log format: text or json.")
	fs.IntVarP(&verbosity, "v", "v", 0, "Log verbosity (above 2 logs debug lines).")
	_ = fs.Parse(os.Args[1:])

	daemon.SetupLogging(logFormat, verbosity)
	cfg.BindAddress = net.ParseIP(bind)
	if cfg.BindAddress == nil {
		fail(fmt.Errorf("--bind-address %q is not an IP address", bind))
	}
	if advertise != "" {
		cfg.AdvertiseAddress = net.ParseIP(advertise)
		if cfg.AdvertiseAddress == nil {
			fail(fmt.Errorf("--advertise-address %q is not an IP address", advertise))
		}
	}
	if err := cfg.Validate(); err != nil {
		fail(err)
	}
	if err := apiserver.Run(daemon.SignalContext(), cfg); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "apiserver: %v\n", err)
	os.Exit(1)
}
