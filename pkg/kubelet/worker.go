package kubelet

import (
	"context"
	"log/slog"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
)

// podWorker serialises the syncs of one pod: poke asks for a sync, and the
// worker also resyncs every SyncFrequency or when a backoff expires.
type podWorker struct {
	uid             types.UID
	namespace, name string
	wakeCh          chan struct{}
	done            chan struct{}
}

func (w *podWorker) poke() {
	select {
	case w.wakeCh <- struct{}{}:
	default:
	}
}

// syncResult tells the worker what to do next.
type syncResult struct {
	// done ends the worker: the pod is gone and nothing of it runs.
	done bool
	// requeueAfter, when set, is when to sync again (a backoff ends).
	requeueAfter time.Duration
}

// wake makes sure pod uid has a worker and asks it to sync.
func (k *Kubelet) wake(ctx context.Context, uid types.UID, namespace, name string) {
	k.mu.Lock()
	w := k.workers[uid]
	if w == nil {
		w = &podWorker{uid: uid, namespace: namespace, name: name, wakeCh: make(chan struct{}, 1), done: make(chan struct{})}
		k.workers[uid] = w
		go k.runWorker(ctx, w)
	}
	k.mu.Unlock()
	w.poke()
}

func (k *Kubelet) runWorker(ctx context.Context, w *podWorker) {
	defer close(w.done)
	next := k.cfg.SyncFrequency
	for {
		timer := time.NewTimer(next)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-w.wakeCh:
		case <-timer.C:
		}
		timer.Stop()
		res, err := k.syncPod(ctx, w)
		if ctx.Err() != nil {
			return
		}
		next = k.cfg.SyncFrequency
		if err != nil {
			slog.Warn("sync pod", "pod", klog.KRef(w.namespace, w.name), "uid", w.uid, "err", err)
			next = 2 * time.Second
		}
		if res.done {
			k.mu.Lock()
			delete(k.workers, w.uid)
			delete(k.waiting, w.uid)
			delete(k.probes, w.uid)
			for id, uid := range k.owners {
				if uid == w.uid {
					delete(k.owners, id)
				}
			}
			k.mu.Unlock()
			return
		}
		if res.requeueAfter > 0 && res.requeueAfter < next {
			next = res.requeueAfter
		}
	}
}
