package upstream

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestScanLog_FindsAuthorizationErrors checks the log matcher on lines the upstream
// components really print.
func TestScanLog_FindsAuthorizationErrors(t *testing.T) {
	tests := []struct {
		name      string
		line      string
		authz, kl bool
	}{
		{"forbidden patch", `E1128 03:12:26.917931    8419 ttl_controller.go:238] "Failed to process node TTL" err="nodes \"n1\" is forbidden: User \"system:kube-controller-manager\" cannot patch resource \"nodes\" in API group \"\" at the cluster scope"`, true, true},
		{"unauthorized", `E1128 03:12:26.000000    8419 reflector.go:227] "Failed to watch" err="failed to list *v1.Pod: Unauthorized"`, true, true},
		{"cannot list, info level", `I1128 03:12:26.000000    8419 leaderelection.go:1] error retrieving resource lock: User "system:kube-scheduler" cannot get resource "leases"`, true, false},
		{"flag dump", `I1128 03:14:01.393126   12022 flags.go:64] FLAG: --authorization-webhook-cache-unauthorized-ttl="10s"`, false, false},
		{"other error", `E1128 03:16:16.479638   14351 range_allocator.go:444] "CIDR assignment for node failed"`, false, true},
		{"info", `I1128 03:16:16.455315   14351 range_allocator.go:181] "Starting range CIDR allocator"`, false, false},
		{"slog warning", `time=2026-11-28T05:11:27.795Z level=WARN msg="sync failed, will retry" controller=replicaset key=ns/web retries=0 err="not found"`, false, true},
		{"slog forbidden", `time=2026-11-28T05:11:27.800Z level=ERROR msg="list failed" err="pods is forbidden: User \"system:kube-scheduler\" cannot list resource \"pods\""`, true, true},
		{"slog info", `time=2026-11-28T05:11:22.953Z level=INFO msg="scheduler caches synced" profiles=1`, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "component.log")
			if err := os.WriteFile(path, []byte("I1128 start\n"+tc.line+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			authz, errs := scanLog(t, path)
			if got := len(authz) == 1 && strings.Contains(authz[0], tc.line); got != tc.authz {
				t.Errorf("authorization error found = %v (%q), want %v", got, authz, tc.authz)
			}
			if got := len(errs) == 1; got != tc.kl {
				t.Errorf("klog error found = %v (%q), want %v", got, errs, tc.kl)
			}
		})
	}
}
