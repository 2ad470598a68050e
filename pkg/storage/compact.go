package storage

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// compactRevKey is the etcd key apiservers share to agree on who compacts.
// Its version counts compactions; its value is the last compacted revision.
// Same key as upstream, so a mixed fleet also cooperates.
const compactRevKey = "compact_rev_key"

// DefaultCompactionInterval is upstream's default.
const DefaultCompactionInterval = 5 * time.Minute

// StartCompactor compacts etcd every interval, to the revision it saw one
// interval earlier, so watchers and continue tokens keep at least one
// interval of history. Several apiservers may run it at once: each round
// is a compare-and-swap on compact_rev_key's version, so only one of them
// compacts per interval and the others adopt its state. It returns at once
// and stops when ctx ends.
func StartCompactor(ctx context.Context, client *clientv3.Client, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultCompactionInterval
	}
	go func() {
		var version, rev int64
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			v, r, err := compact(ctx, client, version, rev)
			if err != nil {
				slog.Warn("etcd compaction failed", "err", err)
				continue
			}
			version, rev = v, r
		}
	}()
}

// compact claims round version+1 when compact_rev_key is still at version
// (nobody else compacted since this server's last look), records the
// current revision as the next round's target and compacts to prevRev. It
// returns the key's version and the revision to compact to next round.
func compact(ctx context.Context, client *clientv3.Client, version, prevRev int64) (int64, int64, error) {
	resp, err := client.Txn(ctx).
		If(clientv3.Compare(clientv3.Version(compactRevKey), "=", version)).
		Then(clientv3.OpPut(compactRevKey, strconv.FormatInt(prevRev, 10))).
		Else(clientv3.OpGet(compactRevKey)).
		Commit()
	if err != nil {
		return version, prevRev, err
	}
	curRev := resp.Header.Revision
	if !resp.Succeeded {
		// Another server compacted this round: follow its count.
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) == 0 {
			return 0, curRev, nil
		}
		return kvs[0].Version, curRev, nil
	}
	if prevRev == 0 {
		return version + 1, curRev, nil
	}
	if _, err := client.Compact(ctx, prevRev); err != nil && !isCompacted(err) {
		return version + 1, curRev, err
	}
	slog.Debug("etcd compacted", "revision", prevRev)
	return version + 1, curRev, nil
}
