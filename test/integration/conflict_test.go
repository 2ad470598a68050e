package integration

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kstack/kstack/test/integration/framework"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
)

// TestConflict_ConcurrentIncrementsWithRetryLoseNoUpdate has 50 goroutines
// each increment a counter in one ConfigMap with optimistic concurrency:
// every lost race is a 409 that RetryOnConflict repeats, so the counter
// ends at exactly 50.
func TestConflict_ConcurrentIncrementsWithRetryLoseNoUpdate(t *testing.T) {
	const n = 50
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	cms := s.Client.CoreV1().ConfigMaps("default")
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "counter"}, Data: map[string]string{"n": "0"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- retry.RetryOnConflict(manyRetries, func() error {
				cm, err := cms.Get(ctx, "counter", metav1.GetOptions{})
				if err != nil {
					return err
				}
				v, _ := strconv.Atoi(cm.Data["n"])
				cm.Data["n"] = strconv.Itoa(v + 1)
				_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
				return err
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("increment: %v", err)
		}
	}
	cm, err := cms.Get(ctx, "counter", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.Data["n"] != strconv.Itoa(n) {
		t.Fatalf("counter = %s, want %d", cm.Data["n"], n)
	}
}

// manyRetries lets 50 contenders all win eventually (client-go's
// DefaultBackoff gives up after 4 tries).
var manyRetries = wait.Backoff{Steps: 500, Duration: 5 * time.Millisecond, Factor: 1, Jitter: 1}

// TestConflict_StaleResourceVersionUpdateIs409 updates with a
// resourceVersion another write already replaced.
func TestConflict_StaleResourceVersionUpdateIs409(t *testing.T) {
	t.Parallel()
	s := framework.Start(t, framework.Options{})
	ctx := t.Context()
	cms := s.Client.CoreV1().ConfigMaps("default")
	stale, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Data: map[string]string{"k": "1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fresh := stale.DeepCopy()
	fresh.Data["k"] = "2"
	if _, err := cms.Update(ctx, fresh, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	stale.Data["k"] = "3"
	_, err = cms.Update(ctx, stale, metav1.UpdateOptions{})
	se := wantStatus(t, err, 409)
	if se.ErrStatus.Reason != metav1.StatusReasonConflict {
		t.Fatalf("reason %q, want Conflict", se.ErrStatus.Reason)
	}
	got, _ := cms.Get(ctx, "c", metav1.GetOptions{})
	if got.Data["k"] != "2" {
		t.Fatalf("stale update was written: k=%s", got.Data["k"])
	}
}
