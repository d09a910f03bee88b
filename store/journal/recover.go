package journal

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// recovered is a store folder loaded by recoverDir, ready to append to.
type recovered struct {
	state         State
	seq           uint64    // the last record
	snapshotSeq   uint64    // the last record the snapshot holds
	snapshotBytes int64     // size of the snapshot file
	segments      []segment // the live segments, oldest first
	file          *os.File  // the last segment, open for appending
}

// recoverDir loads the store in dir into st: the snapshot, then the journal
// records after it. Only when all of it checks out does it repair what a
// crash leaves behind: it cuts a torn last line off the journal, removes a
// half-written snapshot and the segments that a snapshot made obsolete, and
// starts the first segment of an empty journal.
func recoverDir(dir string, st State, log *slog.Logger) (*recovered, error) {
	l, err := scanDir(dir)
	if err != nil {
		return nil, err
	}
	snapshotPath := filepath.Join(dir, snapshotName)
	snapSeq, snapBytes, err := readSnapshot(snapshotPath, st)
	if err != nil {
		return nil, err
	}
	r := newReplay(st, snapSeq)
	t, err := r.segments(l.segments, true)
	if err != nil {
		return nil, err
	}
	if last := r.next - 1; last < snapSeq {
		// The next record would get a seq the snapshot holds, and be
		// skipped by the next Open.
		return nil, fmt.Errorf("store/journal: %s: the journal ends at seq %d, before the snapshot's seq %d: segments are missing", l.segments[len(l.segments)-1].path, last, snapSeq)
	}
	rec := &recovered{state: st, seq: r.next - 1, snapshotSeq: snapSeq, snapshotBytes: snapBytes}

	// From here on the folder is known to be sound, and may be changed.
	dirty := false
	if l.temp {
		if err := os.Remove(filepath.Join(dir, tempName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("store/journal: %w", err)
		}
		log.Info("store/journal: removed a snapshot left half-written by a crash", "file", filepath.Join(dir, tempName))
		dirty = true
	}
	live := l.segments
	for len(live) > 1 && live[1].first <= snapSeq+1 {
		if err := os.Remove(live[0].path); err != nil {
			return nil, fmt.Errorf("store/journal: %w", err)
		}
		log.Info("store/journal: removed a segment that the snapshot holds", "file", live[0].path)
		live, dirty = live[1:], true
	}
	if len(live) == 0 {
		live = []segment{{path: segmentPath(dir, snapSeq+1), first: snapSeq + 1}}
		rec.file, err = os.OpenFile(live[0].path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
		dirty = true
	} else {
		rec.file, err = os.OpenFile(live[len(live)-1].path, os.O_WRONLY|os.O_APPEND, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("store/journal: %w", err)
	}
	if t != nil {
		if err := truncate(rec.file, t.offset); err != nil {
			rec.file.Close()
			return nil, fmt.Errorf("store/journal: cut the torn last line: %w", err)
		}
		log.Warn("store/journal: dropped a torn last line, left by a crash in the middle of a write",
			"file", rec.file.Name(), "offset", t.offset, "bytes", t.size)
	}
	if dirty {
		if err := syncDir(dir); err != nil {
			rec.file.Close()
			return nil, fmt.Errorf("store/journal: %w", err)
		}
	}
	rec.segments = live
	return rec, nil
}

// truncate cuts f down to size bytes, durably.
func truncate(f *os.File, size int64) error {
	if err := f.Truncate(size); err != nil {
		return err
	}
	return f.Sync()
}
