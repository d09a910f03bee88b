package journal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// errStopped abandons a snapshot when the journal closes.
var errStopped = errors.New("the journal is closing")

// compact builds a snapshot of the records up to seq upTo from the files on
// disk, the old snapshot and the sealed segments, leaving the live State and
// the writer alone; then it replaces the old snapshot and removes the sealed
// segments. A crash at any point leaves a folder that Open loads: the old
// snapshot and every segment, or the new snapshot and maybe segments it
// holds. A failure is logged and leaves things as they were; the next
// snapshot is tried when the journal has grown by as much again.
func (j *Journal) compact(sealed []segment, upTo uint64) {
	defer j.snapshots.Done()
	if j.opts.compacting != nil {
		j.opts.compacting()
	}
	start := time.Now()
	size, err := j.buildSnapshot(sealed, upTo)

	j.mu.Lock()
	j.disk.compacting = false
	if err == nil {
		j.disk.segments = j.disk.segments[len(sealed):]
		for _, s := range sealed {
			j.disk.journalBytes -= s.size
		}
		j.disk.snapshotSeq, j.disk.snapshotBytes = upTo, size
		j.disk.snapshots++
		j.disk.compactAt = max(j.opts.MinCompactBytes, size)
	} else {
		j.disk.compactAt = j.disk.journalBytes + max(j.opts.MinCompactBytes, j.disk.snapshotBytes)
	}
	j.mu.Unlock()

	switch {
	case errors.Is(err, errStopped):
		j.log.Info("store/journal: snapshot abandoned", "seq", upTo, "reason", err)
	case err != nil:
		j.log.Error("store/journal: snapshot failed; the journal keeps every record", "seq", upTo, "err", err)
	default:
		j.log.Info("store/journal: snapshot written", "seq", upTo, "bytes", size, "segments_removed", len(sealed), "took", time.Since(start))
	}
}

// buildSnapshot writes the snapshot of the records up to seq upTo, which end
// the sealed segments, and removes those segments. It returns the size of
// the new snapshot.
func (j *Journal) buildSnapshot(sealed []segment, upTo uint64) (int64, error) {
	snapshotPath := filepath.Join(j.dir, snapshotName)
	tempPath := filepath.Join(j.dir, tempName)
	st := j.opts.NewState()
	snapSeq, _, err := readSnapshot(snapshotPath, st)
	if err != nil {
		return 0, err
	}
	r := newReplay(st, snapSeq)
	if _, err := r.segments(sealed, false); err != nil {
		return 0, err
	}
	if r.next-1 != upTo {
		return 0, fmt.Errorf("the sealed segments end at seq %d, want %d", r.next-1, upTo)
	}
	if stopped(j.stop) {
		return 0, errStopped
	}
	size, err := writeSnapshot(tempPath, upTo, st)
	if err == nil {
		// Before the journal it replaces is removed, make sure the snapshot
		// reads back: a State whose WriteSnapshot and ReadSnapshot disagree
		// would otherwise lose the store.
		st = nil
		_, _, err = readSnapshot(tempPath, j.opts.NewState())
	}
	if err == nil && stopped(j.stop) {
		err = errStopped
	}
	if err == nil {
		err = os.Rename(tempPath, snapshotPath)
	}
	if err != nil {
		os.Remove(tempPath)
		return 0, err
	}
	// Until the folder is fsynced the rename may be undone by a crash, and
	// then the sealed segments are still needed.
	if err := syncDir(j.dir); err != nil {
		return 0, err
	}
	for _, s := range sealed {
		if err := os.Remove(s.path); err != nil {
			j.log.Warn("store/journal: could not remove a segment the snapshot holds; Open will", "err", err)
		}
	}
	if err := syncDir(j.dir); err != nil {
		j.log.Warn("store/journal: could not fsync the folder after removing segments; Open will remove any that come back", "err", err)
	}
	return size, nil
}

// stopped reports whether stop is closed.
func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}
