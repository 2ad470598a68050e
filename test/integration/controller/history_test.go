package controller

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// revisions lists the ControllerRevisions of ns by revision number.
func (c *cluster) revisions(t *testing.T, ns string) map[int64]appsv1.ControllerRevision {
	t.Helper()
	l, err := c.client.AppsV1().ControllerRevisions(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list controller revisions: %v", err)
	}
	out := map[int64]appsv1.ControllerRevision{}
	for _, r := range l.Items {
		out[r.Revision] = r
	}
	return out
}

// historyWorkload is a DaemonSet or StatefulSet in a history test, created
// on image <image>:v1 with revisionHistoryLimit 1.
type historyWorkload struct {
	// image is the name of the images, tagged v1, v2 and v3.
	image string
	// patch applies a strategic-merge patch to the workload.
	patch func(data []byte) error
	// rolledOut says whether the rollout of image is complete with cur,
	// the newest revision, as the workload's current one.
	rolledOut func(cur *appsv1.ControllerRevision, image string) (bool, error)
}

// testRollbackAndHistoryLimit is the ControllerRevision story DaemonSets
// and StatefulSets share: each template change makes the next revision, a
// rollback as kubectl rollout undo does it (the old revision's data sent
// back as a patch) renumbers the old revision rather than making a new
// one, and only revisionHistoryLimit unused revisions are kept.
func testRollbackAndHistoryLimit(t *testing.T, c *cluster, ns string, w historyWorkload) {
	t.Helper()
	rolledOut := func(image string) appsv1.ControllerRevision {
		t.Helper()
		var cur appsv1.ControllerRevision
		eventually(t, 30*time.Second, "rollout of "+image, func() (bool, error) {
			revs := c.revisions(t, ns)
			var top int64
			for n := range revs {
				top = max(top, n)
			}
			cur = revs[top]
			return w.rolledOut(&cur, image)
		})
		return cur
	}
	setImage := func(image string) {
		t.Helper()
		if err := w.patch([]byte(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"` + image + `"}]}}}}`)); err != nil {
			t.Fatal(err)
		}
	}
	r1 := rolledOut(w.image + ":v1")
	if r1.Revision != 1 {
		t.Fatalf("first revision = %d, want 1", r1.Revision)
	}
	setImage(w.image + ":v2")
	r2 := rolledOut(w.image + ":v2")
	if r2.Revision != 2 || r2.Name == r1.Name {
		t.Fatalf("second revision = %d %s, want 2 and a new name", r2.Revision, r2.Name)
	}
	// kubectl rollout undo: revision 1's data as a strategic-merge patch
	// (it must replace the template only, keeping selector and the rest).
	if err := w.patch(r1.Data.Raw); err != nil {
		t.Fatalf("rollback patch: %v", err)
	}
	r3 := rolledOut(w.image + ":v1")
	if r3.Name != r1.Name || r3.Revision != 3 {
		t.Fatalf("after rollback: current revision %s #%d, want %s renumbered to 3", r3.Name, r3.Revision, r1.Name)
	}
	// A third template: with revisionHistoryLimit 1 only one unused old
	// revision stays.
	setImage(w.image + ":v3")
	rolledOut(w.image + ":v3")
	eventually(t, 20*time.Second, "history trimmed to the limit", func() (bool, error) {
		revs := c.revisions(t, ns)
		_, has3 := revs[3]
		_, has4 := revs[4]
		return len(revs) == 2 && has3 && has4, nil
	})
}
