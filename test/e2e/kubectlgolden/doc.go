// Package kubectlgolden runs kstack's kubectl and upstream kubectl v1.37
// with the same arguments against the same apiserver and requires the same
// stdout, stderr and exit code, after masking what legitimately differs
// between two runs (ages, UIDs, resourceVersions, timestamps).
//
// The corpus is a table (corpus_test.go): append a case to cover a new
// command. Our kubectl is built once in TestMain; the upstream one is
// _output/tools/kubectl (make kubectl-upstream), or $KSTACK_KUBECTL_BIN.
// Without it the test skips, unless KSTACK_REQUIRE_UPSTREAM is set.
package kubectlgolden
