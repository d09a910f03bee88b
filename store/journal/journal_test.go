package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	want := map[string]int64{}
	s := openKV(t, dir, Options{})
	for i := range 100 {
		k := fmt.Sprintf("k%d", i%30)
		if i%7 == 6 {
			if _, ok := want[k]; ok {
				if _, err := s.del(k); err != nil {
					t.Fatal(err)
				}
				delete(want, k)
				continue
			}
		}
		mustSet(t, s, k, int64(i))
		want[k] = int64(i)
	}
	last := s.j.Stats().Seq
	closeKV(t, s)
	if last != 100 {
		t.Fatalf("last seq %d, want 100", last)
	}

	s = openKV(t, dir, Options{})
	if !equalMaps(s.st.M, want) || s.st.N != 100 {
		t.Fatalf("after reopen got %v (%d records), want %v (100 records)", s.st.M, s.st.N, want)
	}
	if got := mustSet(t, s, "after", 1); got != 101 {
		t.Errorf("first seq after reopen %d, want 101", got)
	}
	closeKV(t, s)
	want["after"] = 1
	reopen(t, dir, want)
}

func TestJournalIsReadable(t *testing.T) {
	dir := t.TempDir()
	s := openKV(t, dir, Options{})
	mustSet(t, s, "a", 1)
	mustSet(t, s, "b", 2)
	closeKV(t, s)
	b, err := os.ReadFile(segmentPath(dir, 1))
	if err != nil {
		t.Fatal(err)
	}
	crc := func(rec string) uint32 { return crc32.Checksum([]byte(rec), crc32.MakeTable(crc32.Castagnoli)) }
	want := fmt.Sprintf(`{"seq":1,"rec":{"set":"a","v":1},"crc":"%08x"}`+"\n"+`{"seq":2,"rec":{"set":"b","v":2},"crc":"%08x"}`+"\n",
		crc(`{"set":"a","v":1}`), crc(`{"set":"b","v":2}`))
	if string(b) != want {
		t.Errorf("journal holds\n%s\nwant\n%s", b, want)
	}
}

func TestAppendCompactsRecord(t *testing.T) {
	dir := t.TempDir()
	s := openKV(t, dir, Options{})
	rec := []byte("{\n  \"set\": \"a\",\n  \"v\": 1\n}\n")
	if err := s.j.Wait(s.j.Append(rec)); err != nil {
		t.Fatal(err)
	}
	closeKV(t, s)
	reopen(t, dir, map[string]int64{"a": 1})
}

func TestCompaction(t *testing.T) {
	dir := t.TempDir()
	var log logBuffer
	s := openKV(t, dir, Options{MinCompactBytes: 1024, Logger: log.logger()})
	want := map[string]int64{}
	for i := range 2000 {
		k := fmt.Sprintf("k%d", i%50)
		mustSet(t, s, k, int64(i))
		want[k] = int64(i)
	}
	closeKV(t, s)
	st := s.j.Stats()
	if st.Snapshots == 0 {
		t.Fatalf("no snapshot after %d bytes of journal with MinCompactBytes 1024; log:\n%s", 2000*30, log.String())
	}

	segs := segmentFiles(t, dir)
	if len(segs) > 2 {
		t.Errorf("%d segments left after compaction, want at most 2: %v", len(segs), segs)
	}
	if segs[0] == segmentPath(dir, 1) {
		t.Errorf("the first segment is still there after %d snapshots", st.Snapshots)
	}
	b, err := os.ReadFile(filepath.Join(dir, snapshotName))
	if err != nil {
		t.Fatal(err)
	}
	var snap struct {
		Format int
		Seq    uint64
		State  kv
	}
	if err := json.Unmarshal(b, &snap); err != nil {
		t.Fatalf("snapshot is not JSON: %v\n%s", err, b)
	}
	if snap.Format != 1 || snap.Seq == 0 || snap.Seq != uint64(snap.State.N) {
		t.Errorf("snapshot header format %d seq %d holding %d records, want format 1 and seq = records", snap.Format, snap.Seq, snap.State.N)
	}
	if got := reopen(t, dir, want); got.N != 2000 {
		t.Errorf("reopened state counts %d records, want 2000", got.N)
	}
}

func TestOpenRemovesHalfWrittenSnapshot(t *testing.T) {
	dir := t.TempDir()
	s := openKV(t, dir, Options{})
	mustSet(t, s, "a", 1)
	closeKV(t, s)
	temp := filepath.Join(dir, tempName)
	if err := os.WriteFile(temp, []byte(`{"format":1,"seq":1,"state":`+"\n{\"n\":"), 0o600); err != nil {
		t.Fatal(err)
	}
	reopen(t, dir, map[string]int64{"a": 1})
	if _, err := os.Stat(temp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there after Open: %v", tempName, err)
	}
}

func TestOpenRemovesSegmentsTheSnapshotHolds(t *testing.T) {
	dir := t.TempDir()
	s := openKV(t, dir, Options{MinCompactBytes: 256})
	for i := range 40 {
		mustSet(t, s, "k", int64(i))
	}
	closeKV(t, s)
	// A crash between writing the snapshot and removing the segments it
	// holds leaves them behind: put one back.
	segs := segmentFiles(t, dir)
	if s.j.Stats().Snapshots == 0 || segs[0] == segmentPath(dir, 1) {
		t.Fatalf("no snapshot made after 40 records with MinCompactBytes 256; segments %v", segs)
	}
	old := segmentPath(dir, 1)
	var lines bytes.Buffer
	for i := range s.j.Stats().SnapshotSeq {
		appendLine(&lines, i+1, fmt.Appendf(nil, `{"set":"k","v":%d}`, i))
	}
	if err := os.WriteFile(old, lines.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	reopen(t, dir, map[string]int64{"k": 39})
	if got := segmentFiles(t, dir); strings.Join(got, " ") != strings.Join(segs, " ") {
		t.Errorf("segments after Open %v, want %v", got, segs)
	}
}

func TestLock(t *testing.T) {
	dir := t.TempDir()
	s := openKV(t, dir, Options{})
	_, _, err := Open(dir, Options{NewState: newKV})
	want := fmt.Sprintf("store %s is already open in this process (pid %d)", dir, os.Getpid())
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("second Open: got %v, want an error containing %q", err, want)
	}
	closeKV(t, s)
	s = openKV(t, dir, Options{})
	closeKV(t, s)
}

func TestLockOtherProcess(t *testing.T) {
	dir := t.TempDir()
	s := openKV(t, dir, Options{})
	out, err := runChild(t, "lock", dir)
	want := fmt.Sprintf("store %s is in use by another process (pid %d)", dir, os.Getpid())
	if err == nil || !strings.Contains(out, want) {
		t.Fatalf("Open in another process: got %v, output %q; want it refused with %q", err, out, want)
	}
	closeKV(t, s)
	if out, err := runChild(t, "lock", dir); err != nil {
		t.Fatalf("Open in another process after Close: %v: %s", err, out)
	}
}

func TestGroupCommit(t *testing.T) {
	dir := t.TempDir()
	var syncs, synced atomic.Int64
	s := openKV(t, dir, Options{OnSync: func(records int, d time.Duration) {
		syncs.Add(1)
		synced.Add(int64(records))
	}})
	const writers, each = 64, 40
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if _, err := s.set(fmt.Sprintf("w%d-%d", w, i), int64(i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	closeKV(t, s)
	if synced.Load() != writers*each {
		t.Errorf("OnSync counted %d records, want %d", synced.Load(), writers*each)
	}
	if syncs.Load() >= writers*each {
		t.Errorf("%d fsyncs for %d records: no group commit", syncs.Load(), writers*each)
	}
	if st := s.j.Stats(); st.Syncs != uint64(syncs.Load()) {
		t.Errorf("Stats.Syncs %d, OnSync called %d times", st.Syncs, syncs.Load())
	}
	t.Logf("%d records in %d fsyncs", writers*each, syncs.Load())
	want := map[string]int64{}
	for w := range writers {
		for i := range each {
			want[fmt.Sprintf("w%d-%d", w, i)] = int64(i)
		}
	}
	reopen(t, dir, want)
}

func TestFailedSync(t *testing.T) {
	dir := t.TempDir()
	var log logBuffer
	var fail atomic.Bool
	var first sync.Once
	entered, release := make(chan struct{}), make(chan struct{})
	s := openKV(t, dir, Options{Logger: log.logger(), syncFile: func(f *os.File) error {
		if !fail.Load() {
			return fdatasync(f)
		}
		first.Do(func() {
			close(entered)
			<-release
		})
		return errors.New("injected fsync failure")
	}})
	mustSet(t, s, "before", 1)

	// Hold the failing fsync until more records are waiting behind it.
	fail.Store(true)
	errs := make(chan error, 10)
	go func() { _, err := s.set("first", 1); errs <- err }()
	<-entered
	for i := range cap(errs) - 1 {
		go func() { _, err := s.set(fmt.Sprint("next", i), 1); errs <- err }()
	}
	for s.j.Stats().Seq < uint64(cap(errs)+1) {
		time.Sleep(time.Millisecond)
	}
	close(release)
	for range cap(errs) {
		if err := <-errs; err == nil || !strings.Contains(err.Error(), "injected fsync failure") || !strings.Contains(err.Error(), "journal failed") {
			t.Errorf("Wait of a record whose fsync failed: got %v, want the journal failed by the injected failure", err)
		}
	}
	if _, err := s.set("later", 1); err == nil || !strings.Contains(err.Error(), "journal failed") {
		t.Errorf("Wait after the failure: got %v, want the journal failed", err)
	}
	if !s.j.Stats().Failed {
		t.Error("Stats.Failed is false after a failed fsync")
	}
	if err := s.j.Close(); err == nil || !strings.Contains(err.Error(), "injected fsync failure") {
		t.Errorf("Close: got %v, want the failure", err)
	}
	if n := log.count("journal failed"); n != 1 {
		t.Errorf("the failure was logged %d times, want once:\n%s", n, log.String())
	}
	// The records of the failed fsync may or may not be there: they were
	// never acknowledged.
	s = openKV(t, dir, Options{})
	if v, ok := s.get("before"); !ok || v != 1 {
		t.Errorf("record acknowledged before the failure lost: %v", s.st.M)
	}
}

func TestBadRecordFailsJournal(t *testing.T) {
	for _, rec := range []string{`{"set":`, "", `{"set":"a"} {"set":"b"}`, `{"set":"` + strings.Repeat("x", MaxRecordSize) + `"}`} {
		t.Run(fmt.Sprintf("%.20s", rec), func(t *testing.T) {
			dir := t.TempDir()
			s := openKV(t, dir, Options{})
			mustSet(t, s, "a", 1)
			if err := s.j.Wait(s.j.Append([]byte(rec))); err == nil {
				t.Fatal("Wait of a bad record succeeded")
			}
			if _, err := s.set("b", 2); err == nil || !strings.Contains(err.Error(), "journal failed") {
				t.Errorf("Wait after a bad record: got %v, want the journal failed", err)
			}
			s.j.Close()
			reopen(t, dir, map[string]int64{"a": 1})
		})
	}
}

func TestWaitForUnknownRecord(t *testing.T) {
	s := openKV(t, t.TempDir(), Options{})
	if err := s.j.Wait(1); err == nil {
		t.Error("Wait for a record never appended succeeded")
	}
}

func TestAppendAfterClose(t *testing.T) {
	s := openKV(t, t.TempDir(), Options{})
	closeKV(t, s)
	if err := s.j.Wait(s.j.Append([]byte(`{"set":"a","v":1}`))); !errors.Is(err, ErrClosed) {
		t.Errorf("Wait after Close: got %v, want ErrClosed", err)
	}
	if err := s.j.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestAppendWhileClosing appends a record after Close has begun, while the
// writer still has records to write: the record is not written, and Wait
// must not report it durable with the records before it.
func TestAppendWhileClosing(t *testing.T) {
	var first sync.Once
	entered, release := make(chan struct{}), make(chan struct{})
	s := openKV(t, t.TempDir(), Options{syncFile: func(f *os.File) error {
		first.Do(func() {
			close(entered)
			<-release
		})
		return fdatasync(f)
	}})
	go s.set("a", 1)
	<-entered
	before := s.j.Append([]byte(`{"set":"b","v":2}`))
	closed := make(chan error)
	go func() { closed <- s.j.Close() }()
	for closing := false; !closing; {
		s.j.mu.Lock()
		closing = s.j.closing
		s.j.mu.Unlock()
	}
	after := s.j.Append([]byte(`{"set":"c","v":3}`))
	close(release)
	if err := s.j.Wait(before); err != nil {
		t.Errorf("Wait for a record appended before Close: %v", err)
	}
	if err := s.j.Wait(after); !errors.Is(err, ErrClosed) {
		t.Errorf("Wait for a record appended during Close: got %v, want ErrClosed", err)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestPowerLoss checks that a record is acknowledged only once an fsync made
// it durable: it cuts the power at a random moment by failing every fsync
// from then on, throws away what no fsync covered, as a power cut would, and
// looks for every acknowledged record. A kill of the process, as in
// TestCrash, cannot tell, for the kernel keeps what was written.
func TestPowerLoss(t *testing.T) {
	for round := range 5 {
		dir := t.TempDir()
		var mu sync.Mutex
		synced := map[string]int64{} // file → size covered by an fsync
		var cut atomic.Bool
		s := openKV(t, dir, Options{syncFile: func(f *os.File) error {
			if cut.Load() {
				return errors.New("power cut")
			}
			if err := fdatasync(f); err != nil {
				return err
			}
			info, err := f.Stat()
			if err != nil {
				return err
			}
			mu.Lock()
			synced[f.Name()] = info.Size()
			mu.Unlock()
			return nil
		}})

		var acked sync.Map // key → value
		var wg sync.WaitGroup
		var stop atomic.Bool
		for w := range 8 {
			wg.Go(func() {
				for i := 0; !stop.Load(); i++ {
					k := fmt.Sprintf("w%d-%d", w, i)
					if _, err := s.set(k, int64(i)); err != nil {
						return
					}
					acked.Store(k, int64(i))
				}
			})
		}
		time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
		cut.Store(true)
		time.Sleep(5 * time.Millisecond)
		stop.Store(true)
		wg.Wait()
		s.j.Close()

		for _, path := range segmentFiles(t, dir) {
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			keep := synced[path]
			if lost := info.Size() - keep; lost > 0 {
				keep += rand.Int64N(lost) // a power cut may leave some of it, torn
			}
			if err := os.Truncate(path, keep); err != nil {
				t.Fatal(err)
			}
		}
		got := openKV(t, dir, Options{})
		n := 0
		acked.Range(func(k, v any) bool {
			n++
			if w, ok := got.get(k.(string)); !ok || w != v.(int64) {
				t.Errorf("round %d: acknowledged %s=%d lost in a power cut", round, k, v)
			}
			return true
		})
		closeKV(t, got)
		t.Logf("round %d: %d records acknowledged", round, n)
	}
}
