package journal

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzReplay opens a store folder holding the given snapshot (none if empty)
// and first journal segment. Open must either fail, with an error and the
// folder as it was, or succeed; then a record is appended, and a second Open
// must find the same state and the record, with nothing left to repair.
func FuzzReplay(f *testing.F) {
	var journal bytes.Buffer
	for i, rec := range []string{`{"set":"a","v":1}`, `{"set":"b","v":2}`, `{"del":"a"}`, `{"set":"c","v":3}`} {
		appendLine(&journal, uint64(i+1), []byte(rec))
	}
	valid := journal.Bytes()
	snapshotDir := f.TempDir()
	st := newKV()
	st.Apply([]byte(`{"set":"a","v":1}`))
	st.Apply([]byte(`{"set":"b","v":2}`))
	if _, err := writeSnapshot(filepath.Join(snapshotDir, snapshotName), 2, st); err != nil {
		f.Fatal(err)
	}
	snapshot, err := os.ReadFile(filepath.Join(snapshotDir, snapshotName))
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(nil), valid)
	f.Add([]byte(nil), valid[:len(valid)-7])
	f.Add([]byte(nil), []byte("garbage\n{}\n\x00\xff"))
	f.Add(snapshot, valid)
	f.Add(snapshot, valid[:len(valid)/2])
	f.Add(snapshot[:len(snapshot)-5], valid)
	f.Add([]byte(`{"format":1,"seq":3,"state":`+"\n"), []byte(nil))

	f.Fuzz(func(t *testing.T, snapshot, journal []byte) {
		dir := t.TempDir()
		if len(snapshot) > 0 {
			if err := os.WriteFile(filepath.Join(dir, snapshotName), snapshot, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(segmentPath(dir, 1), journal, 0o600); err != nil {
			t.Fatal(err)
		}
		before := hashDir(t, dir)
		j, st, err := Open(dir, Options{NewState: newKV})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "store/journal: ") {
				t.Errorf("Open error without the package's prefix: %v", err)
			}
			if after := hashDir(t, dir); !maps.Equal(before, after) {
				t.Errorf("Open failed with %v and changed the folder", err)
			}
			return
		}
		// A record appended now must be there after the next Open.
		rec := []byte(`{"set":"fuzz","v":1}`)
		seq := j.Append(rec)
		if err := j.Wait(seq); err != nil {
			t.Fatalf("Wait: %v", err)
		}
		if err := st.Apply(rec); err != nil {
			t.Fatal(err)
		}
		if err := j.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		files := hashDir(t, dir)

		var log logBuffer
		j, st2, err := Open(dir, Options{NewState: newKV, Logger: log.logger()})
		if err != nil {
			t.Fatalf("second Open failed after the first succeeded: %v", err)
		}
		defer j.Close()
		if got := j.Stats().Seq; got != seq {
			t.Errorf("second Open at seq %d, first at %d", got, seq)
		}
		if a, b := st.(*kv), st2.(*kv); !equalMaps(a.M, b.M) || a.N != b.N {
			t.Errorf("second Open found %v, first %v", b, a)
		}
		if strings.Contains(log.String(), "torn") {
			t.Errorf("second Open found a torn line again:\n%s", log.String())
		}
		if after := hashDir(t, dir); !maps.Equal(files, after) {
			t.Errorf("second Open changed the folder:\nbefore %v\nafter  %v\nlog:\n%s", files, after, log.String())
		}
	})
}
