// Package journal makes an in-memory state durable. Each change to the state
// is a record that the caller applies in memory and then appends to a journal
// of JSON lines; the journal writes and fsyncs records in batches (group
// commit) and tells each caller when its record is on stable storage. When the
// journal has grown large enough, a snapshot of the whole state is built in
// the background from the files on disk, and the journal before it is
// removed.
//
// A store folder holds:
//
//	lock                                the flock of the process that has the store open; holds its pid
//	snapshot.json                       {"format":1,"seq":N,"state":...,"crc":"…"}: the state after the records up to seq N
//	journal-00000000000000000001.jsonl  one {"seq":1,"rec":{...},"crc":"…"} line per record, from the seq in the name on
//
// The crc fields are CRC-32C checksums, of the record in a journal line and
// of everything before the crc in a snapshot.
//
// The package knows nothing of what records mean; the State does. It must
// never report a record durable before it is fsynced, and it never changes
// the folder when Open finds damage that a crash cannot explain.
package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"
)

// State is the in-memory data that a Journal makes durable. The Journal calls
// its methods only while Open loads the State it returns, and on States of its
// own from Options.NewState, in the background, to build snapshots: never on
// the State that Open returned, which is the caller's to guard.
type State interface {
	// Apply changes the state by one record. It must be deterministic: the
	// same records applied to the same state give the same state. An error
	// means the record is corrupt; Open fails on it.
	Apply(rec json.RawMessage) error
	// WriteSnapshot writes the whole state to w as one JSON value that a
	// person can read.
	WriteSnapshot(w io.Writer) error
	// ReadSnapshot loads a state written by WriteSnapshot into an empty
	// State. It must fail if r holds anything but one complete JSON value.
	ReadSnapshot(r io.Reader) error
}

// DefaultMinCompactBytes is the least journal, in bytes, that is worth a
// snapshot when Options.MinCompactBytes is zero.
const DefaultMinCompactBytes = 4 << 20

// ErrClosed is the error of Wait for a record appended after Close.
var ErrClosed = errors.New("store/journal: the journal is closed")

// Options configure Open.
type Options struct {
	// NewState returns a fresh, empty State. It is required: Open loads the
	// store into one, and each snapshot is built in another, on a goroutine
	// of the Journal's own.
	NewState func() State
	// Logger receives repairs of a torn journal tail, snapshots and
	// failures. Nil discards them.
	Logger *slog.Logger
	// OnSync, if set, is called after each fsync of the journal with the
	// number of records it made durable and how long the write and the
	// fsync took, before the records' waiters wake. The waiters and the
	// next batch wait for it, so it must be quick.
	OnSync func(records int, d time.Duration)
	// MinCompactBytes is the least journal, in bytes, worth a snapshot. A
	// snapshot is built when the journal outgrows both this and the last
	// snapshot, so that each write pays a constant share of snapshots
	// however large the state grows. Zero means DefaultMinCompactBytes.
	MinCompactBytes int64

	// syncFile, if set, replaces fdatasync of the journal, so tests can make
	// it fail or watch what it made durable.
	syncFile func(*os.File) error
	// compacting, if set, is called when a snapshot starts to be built.
	compacting func()
}

// Journal is the durable log of an open store. Its methods are safe for
// concurrent use.
type Journal struct {
	dir  string
	opts Options
	log  *slog.Logger
	lock *os.File
	file *os.File // the segment being appended to; only the writer uses it

	writerDone chan struct{} // closed when the writer goroutine returns
	stop       chan struct{} // closed by Close, to abandon a snapshot under way
	snapshots  sync.WaitGroup
	closeOnce  sync.Once
	closeErr   error

	// mu guards the fields below it. Append holds it only to copy a record,
	// never while a file is written.
	mu      sync.Mutex
	work    sync.Cond     // the writer waits here for records or Close
	synced  sync.Cond     // Wait waits here for durable or err to change
	pending *bytes.Buffer // lines appended and not yet taken by the writer
	spare   *bytes.Buffer // the other buffer: in the writer's hands or free
	records int           // lines in pending
	last    uint64        // seq of the last line in pending
	seq     uint64        // seq of the last record appended, written or not
	durable uint64        // seq of the last record on stable storage
	err     error         // why the journal takes no more records; set once
	closing bool
	disk    disk
}

// disk is what a Journal knows of its folder, guarded by Journal.mu.
type disk struct {
	segments      []segment // oldest first; the last is being appended to
	journalBytes  int64     // size of the segments
	snapshotSeq   uint64
	snapshotBytes int64
	compactAt     int64 // build a snapshot when journalBytes grows past this
	compacting    bool
	snapshots     uint64 // snapshots built since Open
	syncs         uint64 // fsyncs of the journal since Open
}

// Open opens the store in dir, creating the folder if it does not exist, and
// returns its journal and the state it holds. It locks the folder for as long
// as the Journal is open: a second Open of the same folder, by this process
// or another, fails until Close.
//
// Open repairs what a crash can leave: a torn last line at the end of the
// journal, which is dropped and logged, and a half-written snapshot. Any
// other damage makes it fail with an error naming the file and line, and
// then it changes nothing on disk.
func Open(dir string, opts Options) (*Journal, State, error) {
	if opts.NewState == nil {
		return nil, nil, errors.New("store/journal: Options.NewState is required")
	}
	if opts.MinCompactBytes <= 0 {
		opts.MinCompactBytes = DefaultMinCompactBytes
	}
	if opts.syncFile == nil {
		opts.syncFile = fdatasync
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("store/journal: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, nil, err
	}
	start := time.Now()
	rec, err := recoverDir(dir, opts.NewState(), log)
	if err != nil {
		unlockDir(lock)
		return nil, nil, err
	}
	log.Info("store/journal: opened", "dir", dir, "seq", rec.seq, "snapshot_seq", rec.snapshotSeq, "took", time.Since(start))
	j := &Journal{
		dir:        dir,
		opts:       opts,
		log:        log,
		lock:       lock,
		file:       rec.file,
		writerDone: make(chan struct{}),
		stop:       make(chan struct{}),
		pending:    new(bytes.Buffer),
		spare:      new(bytes.Buffer),
		seq:        rec.seq,
		durable:    rec.seq,
		disk: disk{
			segments:      rec.segments,
			snapshotSeq:   rec.snapshotSeq,
			snapshotBytes: rec.snapshotBytes,
		},
	}
	for _, s := range rec.segments {
		j.disk.journalBytes += s.size
	}
	j.disk.compactAt = max(opts.MinCompactBytes, rec.snapshotBytes)
	j.work.L = &j.mu
	j.synced.L = &j.mu
	go j.write()
	return j, rec.state, nil
}

// Append adds rec, one JSON value, to the journal and returns its sequence
// number. It copies rec to memory and returns at once; Wait reports when the
// record is on disk. Records are written in the order of the calls, so the
// caller that applies records to the State in some order must append them
// in the same order, under the same lock.
//
// A record that is not valid JSON, or is larger than MaxRecordSize, fails the
// journal: the State has it and the disk cannot.
func (j *Journal) Append(rec []byte) uint64 {
	j.mu.Lock()
	j.seq++
	seq := j.seq
	if j.err != nil || j.closing {
		j.mu.Unlock()
		return seq
	}
	wasEmpty := j.pending.Len() == 0
	if err := appendLine(j.pending, seq, rec); err != nil {
		err = j.failLocked(err)
		j.mu.Unlock()
		j.log.Error("store/journal: journal failed", "err", err)
		return seq
	}
	j.records++
	j.last = seq
	if wasEmpty {
		j.work.Signal()
	}
	j.mu.Unlock()
	return seq
}

// Wait blocks until the record with sequence number seq is on stable storage
// and returns nil, or returns an error if that cannot happen: the journal
// failed (for good: a failed fsync cannot be retried safely) or was closed.
// A record that was on stable storage before the failure still gets nil.
func (j *Journal) Wait(seq uint64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if seq > j.seq {
		return fmt.Errorf("store/journal: no record %d was appended", seq)
	}
	for seq > j.durable && j.err == nil {
		j.synced.Wait()
	}
	if seq <= j.durable {
		return nil
	}
	return j.err
}

// Close writes and fsyncs the records appended so far, waits for a snapshot
// under way to finish or give up, and unlocks the folder. It returns the
// error that failed the journal, if one did. Calling Close again returns the
// same result.
func (j *Journal) Close() error {
	j.closeOnce.Do(func() { j.closeErr = j.close() })
	return j.closeErr
}

func (j *Journal) close() error {
	j.mu.Lock()
	j.closing = true
	j.work.Signal()
	j.mu.Unlock()
	<-j.writerDone
	close(j.stop)
	j.snapshots.Wait()

	j.mu.Lock()
	failed := j.err
	if j.err == nil {
		j.err = ErrClosed
	}
	j.synced.Broadcast()
	j.mu.Unlock()
	return errors.Join(failed, j.file.Close(), unlockDir(j.lock))
}

// Stats are a Journal's counters, for monitoring.
type Stats struct {
	Seq           uint64 // sequence number of the last record appended
	DurableSeq    uint64 // sequence number of the last record on stable storage
	Syncs         uint64 // fsyncs of the journal since Open
	JournalBytes  int64  // bytes of journal on disk
	SnapshotSeq   uint64 // the snapshot holds the records up to this one
	SnapshotBytes int64  // size of the snapshot file
	Snapshots     uint64 // snapshots built since Open
	Failed        bool   // the journal failed and takes no more records
}

// Stats returns the journal's counters.
func (j *Journal) Stats() Stats {
	j.mu.Lock()
	defer j.mu.Unlock()
	return Stats{
		Seq:           j.seq,
		DurableSeq:    j.durable,
		Syncs:         j.disk.syncs,
		JournalBytes:  j.disk.journalBytes,
		SnapshotSeq:   j.disk.snapshotSeq,
		SnapshotBytes: j.disk.snapshotBytes,
		Snapshots:     j.disk.snapshots,
		Failed:        j.err != nil && j.err != ErrClosed,
	}
}

// failLocked fails the journal with err and wakes every Wait. It returns the
// journal's error, for the caller to log once it has let go of j.mu, or nil if
// the journal had failed already.
func (j *Journal) failLocked(err error) error {
	if j.err != nil {
		return nil
	}
	j.err = fmt.Errorf("store/journal: the journal failed and takes no more records until the store is reopened: %w", err)
	j.pending.Reset()
	j.records = 0
	j.synced.Broadcast()
	return j.err
}

// fdatasync flushes f's data, and the size needed to read it back, to stable
// storage.
func fdatasync(f *os.File) error {
	conn, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := conn.Control(func(fd uintptr) { serr = syscall.Fdatasync(int(fd)) }); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: serr}
	}
	return nil
}
