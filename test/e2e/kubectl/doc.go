// Package kubectl holds the acceptance test of the apiserver with the upstream kubectl:
// it starts the real _output/bin/apiserver (embedded etcd, TLS with a throwaway CA) and
// drives it with _output/tools/kubectl (built by hack/build-upstream-kubectl.sh), checking
// the content of every command's output, not just its exit code.
//
// The test skips when the binaries are missing, unless KSTACK_REQUIRE_E2E is set (make
// test sets it), in which case missing binaries fail it.
package kubectl
