package journal

import (
	"os"
	"time"
)

// write is the writer goroutine: it takes every record appended since its
// last turn, writes them to the journal and fsyncs it once for all of them,
// then wakes their waiters. Records appended while it is busy make the next
// batch, so concurrent writers share fsyncs. It returns when the journal is
// closing and nothing is left to write, or has failed.
func (j *Journal) write() {
	defer close(j.writerDone)
	for {
		j.mu.Lock()
		for j.pending.Len() == 0 && !j.closing && j.err == nil {
			j.work.Wait()
		}
		if j.pending.Len() == 0 || j.err != nil {
			j.mu.Unlock()
			return
		}
		batch, records, last := j.pending, j.records, j.last
		j.pending, j.spare, j.records = j.spare, nil, 0
		j.mu.Unlock()

		start := time.Now()
		err := j.writeBatch(batch.Bytes())
		took := time.Since(start)

		if err != nil {
			j.fail(err)
			return
		}
		// Before the waiters wake: whoever sees a write acknowledged sees
		// its fsync counted.
		if j.opts.OnSync != nil {
			j.opts.OnSync(records, took)
		}
		j.mu.Lock()
		j.durable = last
		j.disk.syncs++
		j.disk.segments[len(j.disk.segments)-1].size += int64(batch.Len())
		j.disk.journalBytes += int64(batch.Len())
		due := !j.disk.compacting && !j.closing && j.disk.journalBytes > j.disk.compactAt
		batch.Reset()
		j.spare = batch
		j.synced.Broadcast()
		j.mu.Unlock()

		if due {
			if err := j.seal(last + 1); err != nil {
				j.fail(err)
				return
			}
		}
	}
}

// fail fails the journal for good with err, a write or fsync error: the
// kernel may have dropped the data it could not write, so a retry could
// report records durable that are not.
func (j *Journal) fail(err error) {
	j.mu.Lock()
	err = j.failLocked(err)
	j.mu.Unlock()
	if err != nil {
		j.log.Error("store/journal: journal failed", "err", err)
	}
}

// writeBatch appends b to the journal and makes it durable.
func (j *Journal) writeBatch(b []byte) error {
	if _, err := j.file.Write(b); err != nil {
		return err
	}
	return j.opts.syncFile(j.file)
}

// seal ends the segment being appended to, which the last batch left
// complete and fsynced, starts a new one at seq next, and builds a snapshot
// of the sealed segments in the background.
func (j *Journal) seal(next uint64) error {
	path := segmentPath(j.dir, next)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if err := syncDir(j.dir); err != nil {
		f.Close()
		return err
	}
	if err := j.file.Close(); err != nil {
		j.log.Warn("store/journal: closing a sealed segment", "file", j.file.Name(), "err", err)
	}
	j.file = f

	j.mu.Lock()
	sealed := append([]segment(nil), j.disk.segments...)
	j.disk.segments = append(j.disk.segments, segment{path: path, first: next})
	j.disk.compacting = true
	j.mu.Unlock()
	j.snapshots.Add(1)
	go j.compact(sealed, next-1)
	return nil
}
