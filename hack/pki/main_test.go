package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kstack/kstack/pkg/auth/pki"
	"k8s.io/client-go/tools/clientcmd"
)

func TestRun_GeneratesThenReuses(t *testing.T) {
	dir := t.TempDir()
	args := []string{
		"--out", filepath.Join(dir, "pki"), "--kubeconfig-dir", dir,
		"--server", "https://10.0.0.100:6443",
		"--apiserver-names", "api.example,m1", "--apiserver-ips", "10.0.0.100,10.0.0.1",
		"--service-cidr", "10.96.0.0/16",
		"--nodes", "n1=10.0.0.11", "--etcd-members", "m1=10.0.0.1",
		"--sa-key-algorithm", "ecdsa-p256",
	}
	var first strings.Builder
	if err := run(args, &first); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(first.String(), "0 reused") || strings.Contains(first.String(), "reissued ") {
		t.Errorf("first run:\n%s", first.String())
	}
	var second strings.Builder
	if err := run(args, &second); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(second.String(), "0 created, 0 reissued, 0 updated") {
		t.Errorf("second run changed files:\n%s", second.String())
	}

	kc, err := clientcmd.LoadFromFile(filepath.Join(dir, "kubelet-n1.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if got := kc.Clusters["kstack"].Server; got != "https://10.0.0.100:6443" {
		t.Errorf("kubelet-n1.conf server %q", got)
	}
	certs, err := pki.LoadCertFile(filepath.Join(dir, "pki", "etcd", "server-m1.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := certs[0].VerifyHostname("10.0.0.1"); err != nil {
		t.Error(err)
	}
}

func TestRun_RejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--nodes", "n1=10.0.0.300"},
		{"--apiserver-ips", "vip"},
		{"--service-cidr", "10.96.0.0"},
		{"--key-algorithm", "dsa"},
		{"--server", "10.0.0.100:6443"},
		{"stray"},
	} {
		args = append(args, "--out", t.TempDir())
		if err := run(args, &strings.Builder{}); err == nil {
			t.Errorf("run(%q) succeeded, want error", args)
		}
	}
}
