package controller

import (
	"context"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Queue is a rate-limited workqueue of keys ("namespace/name", or "name"
// for cluster-scoped objects).
type Queue = workqueue.TypedRateLimitingInterface[string]

// NewQueue returns a Queue whose client-go workqueue metrics carry name.
func NewQueue(name string) Queue {
	return workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: name})
}

// Key is the queue key of obj (which may be a cache tombstone).
func Key(obj any) (string, bool) {
	k, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		return "", false
	}
	return k, true
}

// Enqueue adds obj's key to q.
func Enqueue(q Queue, obj any) {
	if k, ok := Key(obj); ok {
		q.Add(k)
	}
}

// SyncFunc reconciles one key; it must be idempotent. An error retries the
// key with backoff.
type SyncFunc func(ctx context.Context, key string) error

// RunWorkers runs workers goroutines that pop keys from q and call sync,
// until ctx ends; then it shuts q down and waits for them. Errors are
// logged here, once, and the key retried with backoff.
func RunWorkers(ctx context.Context, name string, q Queue, workers int, syncFn SyncFunc) {
	defer q.ShutDown()
	if workers < 1 {
		workers = 1
	}
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wait.UntilWithContext(ctx, func(ctx context.Context) {
				for processNext(ctx, name, q, syncFn) {
				}
			}, time.Second)
		}()
	}
	<-ctx.Done()
	q.ShutDown()
	wg.Wait()
}

func processNext(ctx context.Context, name string, q Queue, sync SyncFunc) bool {
	key, quit := q.Get()
	if quit {
		return false
	}
	defer q.Done(key)
	if err := sync(ctx, key); err != nil {
		if ctx.Err() != nil {
			return false
		}
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			// Creating in a namespace that is being deleted: every retry would
			// fail the same way, and the namespace controller removes the
			// object anyway (upstream's controllers drop these too).
			slog.Debug("sync skipped, namespace terminating", "controller", name, "key", key, "err", err)
			q.Forget(key)
			return true
		}
		if apierrors.IsConflict(err) {
			// A stale read lost an optimistic-concurrency race: routine.
			slog.Debug("sync conflicted, will retry", "controller", name, "key", key, "err", err)
		} else {
			slog.Warn("sync failed, will retry", "controller", name, "key", key, "retries", q.NumRequeues(key), "err", err)
		}
		q.AddRateLimited(key)
		return true
	}
	q.Forget(key)
	return true
}

// WaitForSync waits for informers' caches; false when ctx ended first.
func WaitForSync(ctx context.Context, name string, synced ...cache.InformerSynced) bool {
	if !cache.WaitForNamedCacheSync(name, ctx.Done(), synced...) {
		return false
	}
	return true
}
