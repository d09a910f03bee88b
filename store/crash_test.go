package store

import (
	"bufio"
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

// The crash test runs a child process, this test binary again, that writes
// to a store under concurrent load and prints a line for each write the store
// acknowledged. The parent kills it with SIGKILL at a random moment, again
// and again on the same folder, then checks that every acknowledged write is
// in the store and that it opens cleanly.

const (
	crashDirEnv   = "MUSICDB_CRASH_DIR"
	crashRoundEnv = "MUSICDB_CRASH_ROUND"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(dir, os.Getenv(crashRoundEnv))
		return
	}
	code := m.Run()
	removePopulated()
	os.Exit(code)
}

// crashChild writes until it is killed: each of its writers creates a band,
// an album of that band, rates it, and now and then deletes the album,
// printing each acknowledged step as one line:
//
//	band <id> <name>
//	album <id> <band id>
//	rate <user id> <album id> <rate>
//	gone <album id>
func crashChild(dir, round string) {
	s, err := Open(dir, Options{PasswordIterations: 1, compactBytes: 8 << 10})
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child: open:", err)
		os.Exit(3)
	}
	var mu sync.Mutex
	ack := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(os.Stdout, format+"\n", args...) // one write(2): a whole line or none
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(4)
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			u, err := s.CreateUser(NewUser{Username: fmt.Sprintf("r%s-w%d", round, w), Password: "password", Name: "W"})
			if err != nil {
				fail(err)
			}
			for i := 0; ; i++ {
				name := fmt.Sprintf("r%s-w%d-%d", round, w, i)
				b, err := s.CreateBand(NewBand{Name: name, Genre: "rock", Year: 2000})
				if err != nil {
					fail(err)
				}
				ack("band %d %s", b.ID, name)
				a, err := s.CreateAlbum(NewAlbum{BandID: b.ID, Name: name, Year: 2001})
				if err != nil {
					fail(err)
				}
				ack("album %d %d", a.ID, b.ID)
				rate := 1 + i%5
				if _, err := s.Rate(u.ID, a.ID, rate); err != nil {
					fail(err)
				}
				ack("rate %d %d %d", u.ID, a.ID, rate)
				if i%4 == 3 {
					if err := s.DeleteAlbum(a.ID); err != nil {
						fail(err)
					}
					ack("gone %d", a.ID)
				}
			}
		})
	}
	wg.Wait()
}

// acked is what the children acknowledged, across every round.
type acked struct {
	bands  map[int64]string
	albums map[int64]int64
	rates  map[[2]int64]int
	gone   map[int64]bool
	lines  int
}

// doomed reports whether the album of the given band is one the child
// deletes after rating it: the fourth of every four.
func (a *acked) doomed(band int64) bool {
	var round, w, i int
	fmt.Sscanf(a.bands[band], "r%d-w%d-%d", &round, &w, &i)
	return i%4 == 3
}

func (a *acked) add(line string) error {
	f := strings.Fields(line)
	n := make([]int64, len(f))
	for i := 1; i < len(f); i++ {
		n[i], _ = strconv.ParseInt(f[i], 10, 64)
	}
	switch {
	case len(f) == 3 && f[0] == "band":
		a.bands[n[1]] = f[2]
	case len(f) == 3 && f[0] == "album":
		a.albums[n[1]] = n[2]
	case len(f) == 4 && f[0] == "rate":
		a.rates[[2]int64{n[1], n[2]}] = int(n[3])
	case len(f) == 2 && f[0] == "gone":
		a.gone[n[1]] = true
	default:
		return fmt.Errorf("child printed %q", line)
	}
	a.lines++
	return nil
}

func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test kills child processes for several seconds; it is skipped in -short mode")
	}
	dir := t.TempDir()
	a := &acked{bands: map[int64]string{}, albums: map[int64]int64{}, rates: map[[2]int64]int{}, gone: map[int64]bool{}}
	const rounds, snapshotRounds = 20, 5
	for round := range rounds + snapshotRounds {
		duringSnapshot := round >= rounds
		runCrashRound(t, dir, round, duringSnapshot, a)
		if t.Failed() {
			return
		}
	}
	if a.lines < 100 {
		t.Fatalf("the children acknowledged only %d writes; the test proves little", a.lines)
	}

	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open after %d kills: %v", rounds+snapshotRounds, err)
	}
	defer s.Close()
	for id, name := range a.bands {
		if b, err := s.Band(id); err != nil || b.Name != name {
			t.Errorf("acknowledged band %d %q: got %+v, %v", id, name, b, err)
		}
	}
	for id, band := range a.albums {
		al, err := s.Album(id)
		switch {
		case a.gone[id] && err == nil:
			t.Errorf("acknowledged delete of album %d undone", id)
		case a.gone[id] || a.doomed(band) && err != nil:
			// Deleted, acknowledged or not: a write the child made durable
			// but was killed before printing.
		case err != nil || al.BandID != band:
			t.Errorf("acknowledged album %d of band %d: got %+v, %v", id, band, al, err)
		}
	}
	for k, rate := range a.rates {
		if _, err := s.Album(k[1]); err != nil && (a.gone[k[1]] || a.doomed(a.albums[k[1]])) {
			continue
		}
		rated, _, err := s.UserAlbums(k[0], Page{After: k[1] - 1, Limit: 1})
		if err != nil || len(rated) != 1 || rated[0].ID != k[1] || rated[0].Rate != rate {
			t.Errorf("acknowledged rate %d of album %d by user %d: got %+v, %v", rate, k[1], k[0], rated, err)
		}
	}
	t.Logf("%d kills, %d acknowledged writes checked", rounds+snapshotRounds, a.lines)
}

// runCrashRound starts a child on dir and kills it: at a random moment, or,
// when duringSnapshot is set, as soon as a snapshot is being written.
func runCrashRound(t *testing.T, dir string, round int, duringSnapshot bool, a *acked) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRoundEnv+"="+strconv.Itoa(round))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()

	var kill <-chan time.Time
	if duringSnapshot {
		kill = snapshotStarted(dir)
	} else {
		kill = time.After(time.Duration(20+rand.IntN(150)) * time.Millisecond)
	}
	killed := false
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				err := cmd.Wait()
				if !killed || err == nil || !strings.Contains(err.Error(), "killed") {
					t.Fatalf("round %d: child ended on its own: %v\n%s", round, err, stderr.String())
				}
				return
			}
			if err := a.add(line); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		case <-kill:
			kill = nil
			killed = true
			cmd.Process.Signal(syscall.SIGKILL)
		}
	}
}

// snapshotStarted returns a channel that receives when a snapshot is being
// written in dir, or after 5 s at most.
func snapshotStarted(dir string) <-chan time.Time {
	c := make(chan time.Time, 1)
	go func() {
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := os.Stat(filepath.Join(dir, "snapshot.json.tmp")); err == nil {
				break
			}
			time.Sleep(100 * time.Microsecond)
		}
		c <- time.Now()
	}()
	return c
}
