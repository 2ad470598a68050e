package integration

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/kstack/kstack/test/integration/framework"
	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// compactEtcd compacts the server's etcd to its current revision.
func compactEtcd(t *testing.T, s *framework.Server) {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: s.EtcdEndpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	resp, err := cli.Get(t.Context(), "compact-probe")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(t.Context(), resp.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
}

// TestCompaction_WatchFromCompactedRVAndExpiredContinueAre410 writes,
// compacts etcd and restarts the apiserver (so its watch cache holds
// nothing older either): a watch from an early resourceVersion gets an
// ERROR event with 410 Expired, and a list continued with a token from
// before the compaction gets 410 too.
func TestCompaction_WatchFromCompactedRVAndExpiredContinueAre410(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	ns := createNamespace(t, s.Client, "compact")
	cms := s.Client.CoreV1().ConfigMaps(ns)
	var first string
	for i := range 5 {
		cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm" + strconv.Itoa(i)}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = cm.ResourceVersion
		}
	}
	page, err := cms.List(ctx, metav1.ListOptions{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if page.Continue == "" || len(page.Items) != 2 {
		t.Fatalf("first page: %d items, continue %q", len(page.Items), page.Continue)
	}
	// More writes, so the continue token's revision is not the newest.
	for i := range 3 {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "late" + strconv.Itoa(i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	compactEtcd(t, s)

	_, err = cms.List(ctx, metav1.ListOptions{Limit: 2, Continue: page.Continue})
	se := wantStatus(t, err, 410)
	if se.ErrStatus.Reason != metav1.StatusReasonExpired {
		t.Fatalf("expired continue: reason %q, want Expired", se.ErrStatus.Reason)
	}

	s = s.Restart(t, framework.Options{})
	w, err := s.Client.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: first})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ev := nextEvent(t, w)
	st, ok := ev.Object.(*metav1.Status)
	if ev.Type != watch.Error || !ok {
		t.Fatalf("watch from compacted rv: got %s %T, want ERROR", ev.Type, ev.Object)
	}
	if st.Code != 410 || st.Reason != metav1.StatusReasonExpired {
		t.Fatalf("watch from compacted rv: status %d %s %q, want 410 Expired", st.Code, st.Reason, st.Message)
	}
}

// TestCompaction_PeriodicCompactorExpiresOldRevisions runs the apiserver's
// own compactor on a short interval: a continue token from before two
// compaction rounds stops working.
func TestCompaction_PeriodicCompactorExpiresOldRevisions(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{CompactionInterval: 300 * time.Millisecond})
	ctx := t.Context()
	ns := createNamespace(t, s.Client, "compactor")
	cms := s.Client.CoreV1().ConfigMaps(ns)
	for i := range 3 {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm" + strconv.Itoa(i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := cms.List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "continue token expires", func(ctx context.Context) (bool, error) {
		// Keep writing so every round has a newer revision to compact to.
		_, _ = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "tick-"}}, metav1.CreateOptions{})
		_, err := cms.List(ctx, metav1.ListOptions{Limit: 1, Continue: page.Continue})
		if err == nil {
			return false, nil
		}
		if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
			return true, nil
		}
		return false, err
	})
}
