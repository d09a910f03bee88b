package journal

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkAppendWait measures durable writes, each an Append under the
// store's lock and a Wait without it, by one writer and by 64 at once, on a
// real file with real fsyncs. records/s of the two, from one run, show what
// group commit buys: at least ten times as many records per second with 64
// writers.
func BenchmarkAppendWait(b *testing.B) {
	rec := []byte(`{"set":"some key","v":1234567}`)
	for _, writers := range []int{1, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			j, _, err := Open(b.TempDir(), Options{NewState: newKV, MinCompactBytes: 1 << 40})
			if err != nil {
				b.Fatal(err)
			}
			defer j.Close()
			var mu sync.Mutex // the store's write lock
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			// Not RunParallel: its goroutines are a multiple of GOMAXPROCS,
			// and the number of writers must not depend on the machine.
			for range writers {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						mu.Lock()
						seq := j.Append(rec)
						mu.Unlock()
						if err := j.Wait(seq); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(b.N)/float64(j.Stats().Syncs), "records/fsync")
		})
	}
}

// BenchmarkAppend measures what Append costs the store while it holds its
// write lock: copying one record to memory.
func BenchmarkAppend(b *testing.B) {
	j, _, err := Open(b.TempDir(), Options{NewState: newKV, MinCompactBytes: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	rec := []byte(`{"set":"some key","v":1234567}`)
	b.ReportAllocs()
	var seq uint64
	for b.Loop() {
		seq = j.Append(rec)
	}
	if err := j.Wait(seq); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkOpen measures Open of a journal of a million records: the time to
// replay it, and how much it allocates on the way.
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	f, err := os.Create(segmentPath(dir, 1))
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	var line bytes.Buffer
	const records = 1_000_000
	for i := range uint64(records) {
		line.Reset()
		appendLine(&line, i+1, fmt.Appendf(nil, `{"set":"key %d","v":%d}`, i%10_000, i))
		w.Write(line.Bytes())
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	b.ReportAllocs()
	for b.Loop() {
		j, st, err := Open(dir, Options{NewState: newKV})
		if err != nil {
			b.Fatal(err)
		}
		if n := st.(*kv).N; n != records {
			b.Fatalf("replayed %d records, want %d", n, records)
		}
		j.Close()
	}
}
