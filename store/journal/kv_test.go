package journal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// kv is the State of the tests: numbers by key, changed by the records
// {"set":"k","v":1} and {"del":"k"}. N counts the records applied, so a test
// can tell that none was lost or applied twice.
type kv struct {
	N int64            `json:"n"`
	M map[string]int64 `json:"m"`
}

func newKV() State { return &kv{M: map[string]int64{}} }

type kvRecord struct {
	Set *string `json:"set,omitempty"`
	Del *string `json:"del,omitempty"`
	V   int64   `json:"v,omitempty"`
}

func (s *kv) Apply(rec json.RawMessage) error {
	var r kvRecord
	dec := json.NewDecoder(bytes.NewReader(rec))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return err
	}
	switch {
	case r.Set != nil && r.Del == nil:
		s.M[*r.Set] = r.V
	case r.Del != nil && r.Set == nil:
		if _, ok := s.M[*r.Del]; !ok {
			return fmt.Errorf("del %q: no such key", *r.Del)
		}
		delete(s.M, *r.Del)
	default:
		return errors.New(`want one of "set" and "del"`)
	}
	s.N++
	return nil
}

func (s *kv) WriteSnapshot(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

func (s *kv) ReadSnapshot(r io.Reader) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(s); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("data after the state: %v", err)
	}
	if s.M == nil {
		s.M = map[string]int64{}
	}
	return nil
}

// kvStore uses a Journal the way the store does: it applies and appends a
// record under its lock, and waits for the disk without it.
type kvStore struct {
	j *Journal

	mu sync.Mutex // guards st
	st *kv
}

func (s *kvStore) set(k string, v int64) (uint64, error) {
	return s.do(kvRecord{Set: &k, V: v})
}

func (s *kvStore) del(k string) (uint64, error) {
	return s.do(kvRecord{Del: &k})
}

func (s *kvStore) do(r kvRecord) (uint64, error) {
	rec, err := json.Marshal(r)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	if err := s.st.Apply(rec); err != nil {
		s.mu.Unlock()
		return 0, err
	}
	seq := s.j.Append(rec)
	s.mu.Unlock()
	return seq, s.j.Wait(seq)
}

// get returns the value of k and whether it is set.
func (s *kvStore) get(k string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.st.M[k]
	return v, ok
}

// openKV opens the store in dir with opts, a kv State unless opts says
// otherwise, and closes it when the test ends.
func openKV(tb testing.TB, dir string, opts Options) *kvStore {
	tb.Helper()
	if opts.NewState == nil {
		opts.NewState = newKV
	}
	j, st, err := Open(dir, opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { j.Close() })
	return &kvStore{j: j, st: st.(*kv)}
}

// closeKV closes s and fails the test on an error.
func closeKV(tb testing.TB, s *kvStore) {
	tb.Helper()
	if err := s.j.Close(); err != nil {
		tb.Fatalf("Close: %v", err)
	}
}

// mustSet sets k to v in s and fails the test if that is not durable.
func mustSet(tb testing.TB, s *kvStore, k string, v int64) uint64 {
	tb.Helper()
	seq, err := s.set(k, v)
	if err != nil {
		tb.Fatalf("set %s=%d: %v", k, v, err)
	}
	return seq
}

// reopen opens dir, checks that it holds exactly want, and closes it.
func reopen(tb testing.TB, dir string, want map[string]int64) *kv {
	tb.Helper()
	s := openKV(tb, dir, Options{})
	closeKV(tb, s)
	if got := s.st.M; !equalMaps(got, want) {
		tb.Fatalf("after reopen got %d keys %v, want %d keys %v", len(got), shorten(got), len(want), shorten(want))
	}
	return s.st
}

func equalMaps(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func shorten(m map[string]int64) string {
	s := fmt.Sprint(m)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// hashDir returns a hash of every store file in dir by name: all but the
// lock, which Open creates if need be and which holds only the pid of the
// last process to open the store.
func hashDir(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	h := make(map[string]string)
	for _, e := range entries {
		if e.Name() == lockName {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		sum := sha256.Sum256(b)
		h[e.Name()] = hex.EncodeToString(sum[:])
	}
	return h
}

// segmentFiles returns the paths of the journal segments in dir, in order.
func segmentFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	l, err := scanDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var paths []string
	for _, s := range l.segments {
		paths = append(paths, s.path)
	}
	return paths
}

// logBuffer collects what a Logger writes, for tests to read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, nil))
}

// count returns how many lines of the log hold s.
func (b *logBuffer) count(s string) int {
	n := 0
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}
