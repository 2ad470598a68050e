package pki

import (
	"bytes"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

// haConfig is three masters behind a VIP, two nodes and a three-member etcd.
func haConfig(dir string) ClusterConfig {
	_, svc, _ := net.ParseCIDR("10.96.0.0/12")
	return ClusterConfig{
		Dir:            dir,
		ClusterName:    "kstack",
		Server:         "https://10.0.0.100:6443",
		APIServerNames: []string{"api.kstack.example", "m1", "m2", "m3"},
		APIServerIPs:   []net.IP{net.ParseIP("10.0.0.100"), net.ParseIP("10.0.0.1"), net.ParseIP("10.0.0.2"), net.ParseIP("10.0.0.3")},
		ServiceCIDRs:   []*net.IPNet{svc},
		Nodes: []Member{
			{Name: "n1", IPs: []net.IP{net.ParseIP("10.0.0.11")}},
			{Name: "n2", IPs: []net.IP{net.ParseIP("10.0.0.12")}},
		},
		EtcdMembers: []Member{
			{Name: "m1", IPs: []net.IP{net.ParseIP("10.0.0.1")}},
			{Name: "m2", IPs: []net.IP{net.ParseIP("10.0.0.2")}},
			{Name: "m3", IPs: []net.IP{net.ParseIP("10.0.0.3")}},
		},
		SAKeyAlgorithm: ECDSAP256, // RSA keys take a second each here; RSA is covered in pem_test.go
		Now:            func() time.Time { return testNow },
	}
}

func mustGenerate(t *testing.T, cfg ClusterConfig) *Report {
	t.Helper()
	r, err := Generate(cfg)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return r
}

func loadCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	certs, err := LoadCertFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return certs[0]
}

func TestGenerate_HAClusterCertsHaveUpstreamIdentities(t *testing.T) {
	dir := t.TempDir()
	mustGenerate(t, haConfig(dir))
	ca := loadCert(t, filepath.Join(dir, "ca.crt"))
	etcdCA := loadCert(t, filepath.Join(dir, "etcd/ca.crt"))
	if bytes.Equal(ca.Raw, etcdCA.Raw) {
		t.Fatal("etcd CA is the cluster CA, want a separate one")
	}
	server, client := x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth

	tests := []struct {
		file     string
		etcd     bool
		cn       string
		orgs     []string
		usages   []x509.ExtKeyUsage
		dialName string // a SAN a client dials (checked by Verify)
	}{
		{file: "apiserver", cn: "kube-apiserver", usages: []x509.ExtKeyUsage{server}, dialName: "10.0.0.100"},
		{file: "apiserver-kubelet-client", cn: "kube-apiserver-kubelet-client", orgs: []string{"system:masters"}, usages: []x509.ExtKeyUsage{client}},
		{file: "apiserver-etcd-client", etcd: true, cn: "kube-apiserver-etcd-client", usages: []x509.ExtKeyUsage{client}},
		{file: "etcd/healthcheck-client", etcd: true, cn: "kube-etcd-healthcheck-client", usages: []x509.ExtKeyUsage{client}},
		{file: "etcd/server-m2", etcd: true, cn: "m2", usages: []x509.ExtKeyUsage{server, client}, dialName: "10.0.0.2"},
		{file: "etcd/peer-m3", etcd: true, cn: "m3", usages: []x509.ExtKeyUsage{server, client}, dialName: "m3"},
		{file: "admin", cn: "kubernetes-admin", orgs: []string{"system:masters"}, usages: []x509.ExtKeyUsage{client}},
		{file: "controller-manager", cn: "system:kube-controller-manager", usages: []x509.ExtKeyUsage{client}},
		{file: "scheduler", cn: "system:kube-scheduler", usages: []x509.ExtKeyUsage{client}},
		{file: "kube-proxy", cn: "system:kube-proxy", usages: []x509.ExtKeyUsage{client}},
		{file: "kubelet-n1", cn: "system:node:n1", orgs: []string{"system:nodes"}, usages: []x509.ExtKeyUsage{server}, dialName: "10.0.0.11"},
		{file: "kubelet-n2-client", cn: "system:node:n2", orgs: []string{"system:nodes"}, usages: []x509.ExtKeyUsage{client}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			cert := loadCert(t, filepath.Join(dir, tt.file+".crt"))
			signer, wrong := ca, etcdCA
			if tt.etcd {
				signer, wrong = etcdCA, ca
			}
			for _, u := range tt.usages {
				if err := verify(cert, signer, u, tt.dialName, testNow); err != nil {
					t.Errorf("verify for %v: %v", u, err)
				}
			}
			if err := verify(cert, wrong, tt.usages[0], "", testNow); err == nil {
				t.Error("verifies against the other CA")
			}
			if tt.usages[0] == client && len(tt.usages) == 1 {
				if err := verify(cert, signer, server, "", testNow); err == nil {
					t.Error("client cert verifies for server auth")
				}
			}
			if cert.Subject.CommonName != tt.cn || !slices.Equal(cert.Subject.Organization, tt.orgs) {
				t.Errorf("subject CN=%q O=%q, want CN=%q O=%q", cert.Subject.CommonName, cert.Subject.Organization, tt.cn, tt.orgs)
			}
			key, err := LoadKeyFile(filepath.Join(dir, tt.file+".key"))
			if err != nil {
				t.Fatal(err)
			}
			if !publicKeysEqual(cert.PublicKey, key.Public()) {
				t.Error("key does not match certificate")
			}
			st, err := os.Stat(filepath.Join(dir, tt.file+".key"))
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("key mode %v, want 0600", st.Mode().Perm())
			}
		})
	}
}

func TestGenerate_APIServerSANs(t *testing.T) {
	dir := t.TempDir()
	cfg := haConfig(dir)
	_, v6, _ := net.ParseCIDR("fd00:10:96::/112")
	cfg.ServiceCIDRs = append(cfg.ServiceCIDRs, v6)
	cfg.Server = "https://api.kstack.example:6443"
	mustGenerate(t, cfg)
	cert := loadCert(t, filepath.Join(dir, "apiserver.crt"))
	for _, name := range []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "localhost", "api.kstack.example", "m1", "m2", "m3"} {
		if !slices.Contains(cert.DNSNames, name) {
			t.Errorf("DNS SAN %q missing from %q", name, cert.DNSNames)
		}
	}
	for _, ip := range []string{"127.0.0.1", "10.96.0.1", "fd00:10:96::1", "10.0.0.100", "10.0.0.1", "10.0.0.2", "10.0.0.3"} {
		if !slices.ContainsFunc(cert.IPAddresses, net.ParseIP(ip).Equal) {
			t.Errorf("IP SAN %s missing from %v", ip, cert.IPAddresses)
		}
	}
	if n := len(cert.DNSNames); n != 9 {
		t.Errorf("DNS SANs %q: %d, want 9 (no duplicates)", cert.DNSNames, n)
	}
}

func TestGenerate_KubeconfigsCarryServerAndIdentity(t *testing.T) {
	dir, kcDir := t.TempDir(), t.TempDir()
	cfg := haConfig(dir)
	cfg.KubeconfigDir = kcDir
	mustGenerate(t, cfg)
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	ca := loadCert(t, filepath.Join(dir, "ca.crt"))
	for file, wantCN := range map[string]string{
		"admin.conf":              "kubernetes-admin",
		"controller-manager.conf": "system:kube-controller-manager",
		"scheduler.conf":          "system:kube-scheduler",
		"kube-proxy.conf":         "system:kube-proxy",
		"kubelet-n1.conf":         "system:node:n1",
		"kubelet-n2.conf":         "system:node:n2",
	} {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join(kcDir, file)
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", st.Mode().Perm())
			}
			kc, err := clientcmd.LoadFromFile(path)
			if err != nil {
				t.Fatal(err)
			}
			rc, err := clientcmd.NewDefaultClientConfig(*kc, nil).ClientConfig()
			if err != nil {
				t.Fatal(err)
			}
			if rc.Host != "https://10.0.0.100:6443" {
				t.Errorf("server %q, want the VIP", rc.Host)
			}
			if !bytes.Equal(rc.CAData, caPEM) {
				t.Error("CA data is not ca.crt")
			}
			certs, err := ParseCertsPEM(rc.CertData)
			if err != nil {
				t.Fatal(err)
			}
			if certs[0].Subject.CommonName != wantCN {
				t.Errorf("user CN %q, want %q", certs[0].Subject.CommonName, wantCN)
			}
			if err := verify(certs[0], ca, x509.ExtKeyUsageClientAuth, "", testNow); err != nil {
				t.Errorf("client cert: %v", err)
			}
			key, err := ParsePrivateKeyPEM(rc.KeyData)
			if err != nil {
				t.Fatal(err)
			}
			if !publicKeysEqual(key.Public(), certs[0].PublicKey) {
				t.Error("key does not match the client cert")
			}
			if _, err := os.Stat(filepath.Join(dir, file)); err == nil {
				t.Error("kubeconfig also written to the cert dir")
			}
		})
	}
}

func TestGenerate_ServiceAccountKeyPair(t *testing.T) {
	dir := t.TempDir()
	mustGenerate(t, haConfig(dir))
	key, err := LoadKeyFile(filepath.Join(dir, "sa.key"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "sa.pub"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKeyPEM(data)
	if err != nil {
		t.Fatal(err)
	}
	if !publicKeysEqual(pub, key.Public()) {
		t.Error("sa.pub is not sa.key's public key")
	}
}

func TestGenerate_RerunReusesEverything(t *testing.T) {
	dir := t.TempDir()
	first := mustGenerate(t, haConfig(dir))
	if n := first.Count(Created); n != len(first.Entries) {
		t.Fatalf("first run created %d of %d files:\n%s", n, len(first.Entries), reportText(first))
	}
	caBefore, _ := os.ReadFile(filepath.Join(dir, "ca.crt"))
	adminBefore, _ := os.ReadFile(filepath.Join(dir, "admin.conf"))

	second := mustGenerate(t, haConfig(dir))
	if n := second.Count(Reused); n != len(second.Entries) || len(second.Entries) != len(first.Entries) {
		t.Errorf("second run reused %d of %d (first run: %d):\n%s", n, len(second.Entries), len(first.Entries), reportText(second))
	}
	caAfter, _ := os.ReadFile(filepath.Join(dir, "ca.crt"))
	adminAfter, _ := os.ReadFile(filepath.Join(dir, "admin.conf"))
	if !bytes.Equal(caBefore, caAfter) || !bytes.Equal(adminBefore, adminAfter) {
		t.Error("a rerun changed ca.crt or admin.conf")
	}
}

func TestGenerate_ChangesTouchOnlyWhatTheyAffect(t *testing.T) {
	tests := []struct {
		name   string
		change func(*ClusterConfig)
		want   map[string]Action // files (relative) whose action is not Reused
	}{
		{
			name:   "a fourth master's IP reissues the apiserver cert",
			change: func(c *ClusterConfig) { c.APIServerIPs = append(c.APIServerIPs, net.ParseIP("10.0.0.4")) },
			want:   map[string]Action{"apiserver.crt": Reissued},
		},
		{
			name: "a new node adds its certs and kubeconfig",
			change: func(c *ClusterConfig) {
				c.Nodes = append(c.Nodes, Member{Name: "n3", IPs: []net.IP{net.ParseIP("10.0.0.13")}})
			},
			want: map[string]Action{"kubelet-n3.crt": Created, "kubelet-n3-client.crt": Created, "kubelet-n3.conf": Created},
		},
		{
			name:   "a new server URL rewrites kubeconfigs and adds the SAN",
			change: func(c *ClusterConfig) { c.Server = "https://api.kstack.example:6443" },
			want: map[string]Action{
				"admin.conf": Updated, "controller-manager.conf": Updated, "scheduler.conf": Updated,
				"kube-proxy.conf": Updated, "kubelet-n1.conf": Updated, "kubelet-n2.conf": Updated,
			},
		},
		{
			name: "near expiry renews leaves, not the CA",
			change: func(c *ClusterConfig) {
				later := testNow.Add(DefaultValidity - DefaultRenewBefore + time.Hour)
				c.Nodes, c.EtcdMembers = nil, []Member{{Name: "m1", IPs: []net.IP{net.ParseIP("10.0.0.1")}}}
				c.Now = func() time.Time { return later }
			},
			want: map[string]Action{
				"apiserver.crt": Reissued, "apiserver-kubelet-client.crt": Reissued, "apiserver-etcd-client.crt": Reissued,
				"etcd/healthcheck-client.crt": Reissued, "etcd/server-m1.crt": Reissued, "etcd/peer-m1.crt": Reissued,
				"admin.crt": Reissued, "controller-manager.crt": Reissued, "scheduler.crt": Reissued, "kube-proxy.crt": Reissued,
				"admin.conf": Updated, "controller-manager.conf": Updated, "scheduler.conf": Updated, "kube-proxy.conf": Updated,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			mustGenerate(t, haConfig(dir))
			keyBefore, _ := os.ReadFile(filepath.Join(dir, "apiserver.key"))
			cfg := haConfig(dir)
			tt.change(&cfg)
			r := mustGenerate(t, cfg)
			got := map[string]Action{}
			for _, e := range r.Entries {
				if e.Action != Reused {
					rel, _ := filepath.Rel(dir, e.Path)
					got[rel] = e.Action
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("changed files:\n%s\nwant %v", reportText(r), tt.want)
			}
			for f, a := range tt.want {
				if got[f] != a {
					t.Errorf("%s: %q, want %q", f, got[f], a)
				}
			}
			keyAfter, _ := os.ReadFile(filepath.Join(dir, "apiserver.key"))
			if !bytes.Equal(keyBefore, keyAfter) {
				t.Error("apiserver key replaced, want kept")
			}
			if cfg.Server == "https://api.kstack.example:6443" {
				if !slices.Contains(loadCert(t, filepath.Join(dir, "apiserver.crt")).DNSNames, "api.kstack.example") {
					t.Error("server host not a SAN")
				}
			}
		})
	}
}

func TestGenerate_ForceReplacesTheCA(t *testing.T) {
	dir := t.TempDir()
	mustGenerate(t, haConfig(dir))
	before := loadCert(t, filepath.Join(dir, "ca.crt"))
	cfg := haConfig(dir)
	cfg.Force = true
	r := mustGenerate(t, cfg)
	after := loadCert(t, filepath.Join(dir, "ca.crt"))
	if bytes.Equal(before.Raw, after.Raw) {
		t.Fatal("--force kept the CA")
	}
	if err := verify(loadCert(t, filepath.Join(dir, "admin.crt")), after, x509.ExtKeyUsageClientAuth, "", testNow); err != nil {
		t.Errorf("admin cert after --force: %v", err)
	}
	if n := r.Count(Reused); n != 0 {
		t.Errorf("--force reused %d files:\n%s", n, reportText(r))
	}
}

func TestGenerate_RefusesAHalfCA(t *testing.T) {
	dir := t.TempDir()
	mustGenerate(t, haConfig(dir))
	if err := os.Remove(filepath.Join(dir, "ca.key")); err != nil {
		t.Fatal(err)
	}
	_, err := Generate(haConfig(dir))
	if err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("Generate with ca.key missing: %v, want an error naming --force", err)
	}
}

func TestGenerate_ReissuesCertsOfAReplacedEtcdCA(t *testing.T) {
	dir := t.TempDir()
	mustGenerate(t, haConfig(dir))
	for _, f := range []string{"etcd/ca.crt", "etcd/ca.key"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	r := mustGenerate(t, haConfig(dir))
	etcdCA := loadCert(t, filepath.Join(dir, "etcd/ca.crt"))
	if err := verify(loadCert(t, filepath.Join(dir, "etcd/server-m1.crt")), etcdCA, x509.ExtKeyUsageServerAuth, "m1", testNow); err != nil {
		t.Errorf("etcd server cert after a new etcd CA: %v\n%s", err, reportText(r))
	}
	if got := r.Count(Reissued); got != 8 { // 3 server, 3 peer, 2 clients
		t.Errorf("reissued %d, want 8:\n%s", got, reportText(r))
	}
}

func TestGenerate_SingleCASignsEtcd(t *testing.T) {
	dir := t.TempDir()
	cfg := haConfig(dir)
	cfg.SingleCA = true
	mustGenerate(t, cfg)
	ca := loadCert(t, filepath.Join(dir, "ca.crt"))
	if !bytes.Equal(ca.Raw, loadCert(t, filepath.Join(dir, "etcd/ca.crt")).Raw) {
		t.Error("etcd/ca.crt is not a copy of ca.crt")
	}
	if _, err := os.Stat(filepath.Join(dir, "etcd/ca.key")); err == nil {
		t.Error("etcd/ca.key written with a single CA")
	}
	if err := verify(loadCert(t, filepath.Join(dir, "apiserver-etcd-client.crt")), ca, x509.ExtKeyUsageClientAuth, "", testNow); err != nil {
		t.Error(err)
	}
}

func TestClusterConfig_Validate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*ClusterConfig)
		want   string
	}{
		{name: "valid", change: func(*ClusterConfig) {}},
		{name: "no dir", change: func(c *ClusterConfig) { c.Dir = "" }, want: "output directory"},
		{name: "http server", change: func(c *ClusterConfig) { c.Server = "http://10.0.0.100:6443" }, want: "https://"},
		{name: "node name with a slash", change: func(c *ClusterConfig) { c.Nodes = []Member{{Name: "../n1"}} }, want: "node"},
		{name: "duplicate etcd member", change: func(c *ClusterConfig) { c.EtcdMembers = []Member{{Name: "m1"}, {Name: "m1"}} }, want: "twice"},
		{name: "bad apiserver name", change: func(c *ClusterConfig) { c.APIServerNames = []string{"API_VIP"} }, want: "apiserver name"},
		{name: "leaf outlives CA", change: func(c *ClusterConfig) { c.Validity, c.CAValidity = 48*time.Hour, 24*time.Hour }, want: "exceeds CA validity"},
		{name: "renew margin too long", change: func(c *ClusterConfig) { c.Validity, c.RenewBefore = 24*time.Hour, 48*time.Hour }, want: "renew-before"},
		{name: "unknown key algorithm", change: func(c *ClusterConfig) { c.KeyAlgorithm = "ed25519" }, want: "key algorithm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := haConfig("/tmp/unused")
			tt.change(&cfg)
			err := cfg.Validate()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestParseMembers(t *testing.T) {
	tests := []struct {
		in      string
		want    string // name=ip;... rendering
		wantErr bool
	}{
		{in: "", want: ""},
		{in: "n1=10.0.0.11, n2=10.0.0.12", want: "n1=10.0.0.11;n2=10.0.0.12"},
		{in: "m1=10.0.0.1,m1=fd00::1", want: "m1=10.0.0.1,fd00::1"},
		{in: "solo", want: "solo="},
		{in: "n1=not-an-ip", wantErr: true},
		{in: "=10.0.0.1", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseMembers(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseMembers(%q) err = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		var parts []string
		for _, m := range got {
			var ips []string
			for _, ip := range m.IPs {
				ips = append(ips, ip.String())
			}
			parts = append(parts, m.Name+"="+strings.Join(ips, ","))
		}
		if s := strings.Join(parts, ";"); !tt.wantErr && s != tt.want {
			t.Errorf("ParseMembers(%q) = %q, want %q", tt.in, s, tt.want)
		}
	}
}

func TestFirstIP(t *testing.T) {
	for in, want := range map[string]string{
		"10.96.0.0/12":     "10.96.0.1",
		"10.96.0.0/16":     "10.96.0.1",
		"10.100.7.9/16":    "10.100.0.1",
		"fd00:10:96::/112": "fd00:10:96::1",
		"10.0.0.5/32":      "",
	} {
		_, n, err := net.ParseCIDR(in)
		if err != nil {
			t.Fatal(err)
		}
		ip, err := FirstIP(n)
		if want == "" {
			if err == nil {
				t.Errorf("FirstIP(%s) = %s, want error", in, ip)
			}
			continue
		}
		if err != nil || ip.String() != want {
			t.Errorf("FirstIP(%s) = %s, %v; want %s", in, ip, err, want)
		}
	}
}

func reportText(r *Report) string {
	var b strings.Builder
	_ = r.Print(&b)
	return b.String()
}

func FuzzParseMembers(f *testing.F) {
	for _, s := range []string{"n1=10.0.0.11,n2=10.0.0.12", "m1=10.0.0.1,m1=fd00::1", "solo", "=", ",,", "a=b=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		members, err := ParseMembers(s)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, m := range members {
			if m.Name == "" || seen[m.Name] {
				t.Fatalf("ParseMembers(%q): empty or repeated name %q", s, m.Name)
			}
			seen[m.Name] = true
			for _, ip := range m.IPs {
				if ip == nil {
					t.Fatalf("ParseMembers(%q): nil IP", s)
				}
			}
		}
	})
}
