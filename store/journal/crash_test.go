package journal

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// In the crash test a child process writes to a store under load and prints
// each record once Wait has acknowledged it; the parent kills it with SIGKILL
// at a random moment, or as a snapshot is being built, and the next child
// must find every acknowledged record. Each writer of the child sets its own
// key to ever larger values (round*crashRound + i), so that the folder stays
// small and snapshots come often: finding a value at least as large as the
// last one acknowledged, in a journal whose seqs are contiguous and whose
// records were each applied once, means no acknowledged record was lost.
const (
	crashWriters     = 8
	crashRound       = 1_000_000
	crashCompactSize = 2048 // MinCompactBytes of the child: snapshots every few dozen records
	roundEnv         = "JOURNAL_TEST_ROUND"
	expectEnv        = "JOURNAL_TEST_EXPECT" // key=value,…: the least value each key must have
)

func TestCrash(t *testing.T) {
	const rounds = 60 // every third killed while a snapshot is being built
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d", seed)

	dir := t.TempDir()
	expect := map[string]int64{}
	var acks, torn, halfSnapshots int
	for round := range rounds {
		atSnapshot := round%3 == 2
		n := crashOnce(t, dir, round, atSnapshot, expect, rng)
		acks += n
		if _, err := os.Stat(filepath.Join(dir, tempName)); err == nil {
			halfSnapshots++
		}
		segs := segmentFiles(t, dir)
		if b, err := os.ReadFile(segs[len(segs)-1]); err == nil && len(b) > 0 && b[len(b)-1] != '\n' {
			torn++
		}
	}
	t.Logf("%d rounds, %d acknowledged records; %d kills left a torn line, %d a half-written snapshot", rounds, acks, torn, halfSnapshots)

	s := openKV(t, dir, Options{})
	for k, v := range expect {
		if got, ok := s.get(k); !ok || got < v {
			t.Errorf("acknowledged %s=%d lost: the store has %d", k, v, got)
		}
	}
	if st := s.j.Stats(); uint64(s.st.N) != st.Seq {
		t.Errorf("%d records applied up to seq %d: some were lost or applied twice", s.st.N, st.Seq)
	}
	closeKV(t, s)
	if _, err := os.Stat(filepath.Join(dir, tempName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("half-written snapshot still there after Open: %v", err)
	}
	l, err := scanDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(l.segments); i++ {
		if l.segments[i].first <= s.j.Stats().SnapshotSeq+1 {
			t.Errorf("%s left, though the snapshot holds its records", l.segments[i-1].path)
		}
	}
}

// crashOnce runs one child on dir, which first checks that the store holds
// expect, and kills it. It adds the records the child acknowledged to expect
// and returns how many there were.
func crashOnce(t *testing.T, dir string, round int, atSnapshot bool, expect map[string]int64, rng *rand.Rand) int {
	t.Helper()
	var want []string
	for k, v := range expect {
		want = append(want, fmt.Sprintf("%s=%d", k, v))
	}
	cmd := childCommand("crash", dir, roundEnv+"="+strconv.Itoa(round), expectEnv+"="+strings.Join(want, ","))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	kill := func() { once.Do(func() { cmd.Process.Kill() }) }
	giveUp := time.AfterFunc(10*time.Second, kill)
	defer giveUp.Stop()

	acks, compacted := 0, false
	r := bufio.NewReader(stdout)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break // a line cut short by the kill was never acknowledged
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case f[0] == "open" && !atSnapshot:
			time.AfterFunc(time.Duration(rng.IntN(50_000))*time.Microsecond, kill)
		case f[0] == "compacting" && atSnapshot:
			compacted = true
			time.AfterFunc(time.Duration(rng.IntN(3000))*time.Microsecond, kill)
		case f[0] == "ack":
			v, err := strconv.ParseInt(f[2], 10, 64)
			if err != nil {
				t.Fatalf("round %d: child wrote %q", round, line)
			}
			expect[f[1]] = max(expect[f[1]], v)
			acks++
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("round %d: child ended with %v, not killed:\n%s", round, err, stderr.Bytes())
	}
	if atSnapshot && !compacted {
		t.Fatalf("round %d: no snapshot started within 10s", round)
	}
	return acks
}

// crashChild opens the store in dir, checks that it holds what the parent
// expects, and writes to it from crashWriters goroutines until it is killed,
// printing "ack <key> <value> <seq>" for each record acknowledged.
func crashChild(dir string) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, format+"\n", args...)
		return 1
	}
	round, err := strconv.Atoi(os.Getenv(roundEnv))
	if err != nil {
		return fail("%s: %v", roundEnv, err)
	}
	var out sync.Mutex
	print := func(format string, args ...any) {
		out.Lock()
		defer out.Unlock()
		fmt.Printf(format+"\n", args...)
	}
	j, st, err := Open(dir, Options{
		NewState:        newKV,
		MinCompactBytes: crashCompactSize,
		compacting:      func() { print("compacting") },
	})
	if err != nil {
		return fail("round %d: %v", round, err)
	}
	s := &kvStore{j: j, st: st.(*kv)}
	if w := os.Getenv(expectEnv); w != "" {
		for _, pair := range strings.Split(w, ",") {
			k, v, _ := strings.Cut(pair, "=")
			want, _ := strconv.ParseInt(v, 10, 64)
			if got, ok := s.st.M[k]; !ok || got < want {
				return fail("round %d: acknowledged %s=%d lost: the store has %d", round, k, want, got)
			}
		}
	}
	if n, seq := uint64(s.st.N), j.Stats().Seq; n != seq {
		return fail("round %d: %d records applied up to seq %d", round, n, seq)
	}
	print("open %d", j.Stats().Seq)
	for w := range crashWriters {
		go func() {
			k := "w" + strconv.Itoa(w)
			for i := int64(0); ; i++ {
				v := int64(round)*crashRound + i
				seq, err := s.set(k, v)
				if err != nil {
					fail("round %d: %v", round, err)
					os.Exit(1)
				}
				print("ack %s %d %d", k, v, seq)
			}
		}()
	}
	time.Sleep(time.Minute) // the parent kills us long before
	return fail("round %d: not killed", round)
}
