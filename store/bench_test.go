package store

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Benchmarks of the store with real fsyncs, in folders under the system's
// temporary directory. Compare figures from one run only; see doc.go for the
// figures we measured and how.

// raters numbers the users BenchmarkRate makes, whose names must differ
// across runs on the same store.
var raters atomic.Int64

// populated holds the folders of stores filled once per run, by size.
var populated sync.Map // key string → *populatedStore

type populatedStore struct {
	once sync.Once
	dir  string
	err  error
}

// populate returns the folder of a store holding albums albums of one band
// and, when users > 0, users users who each rated every album. The store is
// filled once per run by parallel writers, which share fsyncs.
func populate(b *testing.B, albums, users int) string {
	b.Helper()
	v, _ := populated.LoadOrStore(fmt.Sprint(albums, "x", users), &populatedStore{})
	p := v.(*populatedStore)
	p.once.Do(func() {
		p.dir, p.err = os.MkdirTemp("", "musicdb-bench-")
		if p.err != nil {
			return
		}
		p.err = fill(filepath.Join(p.dir, "data"), albums, users)
	})
	if p.err != nil {
		b.Fatal(p.err)
	}
	return filepath.Join(p.dir, "data")
}

// removePopulated removes the folders populate made; TestMain calls it
// once every benchmark has run.
func removePopulated() {
	populated.Range(func(_, v any) bool {
		if dir := v.(*populatedStore).dir; dir != "" {
			os.RemoveAll(dir)
		}
		return true
	})
}

func fill(dir string, albums, users int) error {
	s, err := Open(dir, Options{PasswordIterations: 1})
	if err != nil {
		return err
	}
	defer s.Close()
	band, err := s.CreateBand(NewBand{Name: "Band", Genre: "rock", Year: 2000})
	if err != nil {
		return err
	}
	var uids []int64
	for i := range users {
		u, err := s.CreateUser(NewUser{Username: fmt.Sprint("user", i), Password: "password", Name: "U"})
		if err != nil {
			return err
		}
		uids = append(uids, u.ID)
	}
	return parallel(albums, func(i int) error {
		a, err := s.CreateAlbum(NewAlbum{BandID: band.ID, Name: fmt.Sprint("album ", i), Year: 2000})
		for _, uid := range uids {
			if err != nil {
				return err
			}
			_, err = s.Rate(uid, a.ID, 1+int(uid+a.ID)%5)
		}
		return err
	})
}

// parallel runs do(i) for i in [0, n) on 256 goroutines.
func parallel(n int, do func(i int) error) error {
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	next := make(chan int)
	for range 256 {
		wg.Go(func() {
			for i := range next {
				if err := do(i); err != nil {
					once.Do(func() { first = err })
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

// BenchmarkRate adds ratings to a store that holds 1,000 albums and to one
// that holds 100,000: a write's cost must not grow with the store.
func BenchmarkRate(b *testing.B) {
	for _, albums := range []int{1_000, 100_000} {
		b.Run(fmt.Sprint("albums=", albums), func(b *testing.B) {
			s, err := Open(populate(b, albums, 0), Options{PasswordIterations: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			// Each user rates each album once: make enough users first.
			var uids []int64
			for i := 0; i*albums < b.N; i++ {
				u, err := s.CreateUser(NewUser{Username: fmt.Sprint("rater", raters.Add(1)), Password: "password", Name: "B"})
				if err != nil {
					b.Fatal(err)
				}
				uids = append(uids, u.ID)
			}
			first := s.cat.albumIDs.ids[0]
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, err := s.Rate(uids[i/albums], first+int64(i%albums), 3); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWriters creates bands from one writer and from 64 at once: group
// commit lets the 64 share fsyncs. ns/op is wall time per write in both, so
// the ratio of the two is the ratio of their throughputs.
func BenchmarkWriters(b *testing.B) {
	for _, writers := range []int{1, 64} {
		b.Run(fmt.Sprint("writers=", writers), func(b *testing.B) {
			var syncs, records int
			var mu sync.Mutex
			s, err := Open(b.TempDir(), Options{OnSync: func(n int, _ time.Duration) {
				mu.Lock()
				syncs++
				records += n
				mu.Unlock()
			}})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			b.ReportAllocs()
			// RunParallel starts parallelism × GOMAXPROCS goroutines.
			b.SetParallelism((writers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ResetTimer()
			if writers == 1 {
				for range b.N {
					if _, err := s.CreateBand(NewBand{Name: "Band", Genre: "pop", Year: 2000}); err != nil {
						b.Fatal(err)
					}
				}
			} else {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := s.CreateBand(NewBand{Name: "Band", Genre: "pop", Year: 2000}); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			b.StopTimer()
			mu.Lock()
			if syncs > 0 {
				b.ReportMetric(float64(records)/float64(syncs), "records/fsync")
			}
			mu.Unlock()
		})
	}
}

// BenchmarkOpen opens a store of 1,000,000 ratings (1,000 users who each
// rated 1,000 albums) and reports the heap it holds once open.
func BenchmarkOpen(b *testing.B) {
	dir := populate(b, 1_000, 1_000)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		b.ReportMetric(float64(m.HeapAlloc)/(1<<20), "heap-MiB")
		s.Close()
		b.StartTimer()
	}
}
