package journal

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeJournal writes a store of n records, k0=0 … k<n-1>=n-1, with no
// snapshot, and returns what it holds.
func writeJournal(tb testing.TB, dir string, n int) map[string]int64 {
	tb.Helper()
	s := openKV(tb, dir, Options{})
	want := map[string]int64{}
	for i := range n {
		mustSet(tb, s, fmt.Sprint("k", i), int64(i))
		want[fmt.Sprint("k", i)] = int64(i)
	}
	closeKV(tb, s)
	return want
}

// copyDir copies the files of src into a new folder and returns it.
func copyDir(tb testing.TB, src string) string {
	tb.Helper()
	dst := tb.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	return dst
}

func TestTornTail(t *testing.T) {
	const n = 5
	clean := t.TempDir()
	want := writeJournal(t, clean, n)
	full, err := os.ReadFile(segmentPath(clean, 1))
	if err != nil {
		t.Fatal(err)
	}
	lastLine := bytes.LastIndexByte(full[:len(full)-1], '\n') + 1
	delete(want, fmt.Sprint("k", n-1))

	// Every cut inside the last line, including the one that leaves all of
	// it but its newline.
	for cut := lastLine + 1; cut < len(full); cut++ {
		dir := copyDir(t, clean)
		path := segmentPath(dir, 1)
		if err := os.Truncate(path, int64(cut)); err != nil {
			t.Fatal(err)
		}
		var log logBuffer
		s := openKV(t, dir, Options{Logger: log.logger()})
		if !equalMaps(s.st.M, want) || s.j.Stats().Seq != n-1 {
			t.Fatalf("cut at %d: got %v up to seq %d, want %v up to seq %d", cut, s.st.M, s.j.Stats().Seq, want, n-1)
		}
		wantLog := fmt.Sprintf("file=%s offset=%d bytes=%d", path, lastLine, cut-lastLine)
		if !strings.Contains(log.String(), "torn last line") || !strings.Contains(log.String(), wantLog) {
			t.Errorf("cut at %d: log does not report the torn line (%s):\n%s", cut, wantLog, log.String())
		}
		if info, err := os.Stat(path); err != nil || info.Size() != int64(lastLine) {
			t.Errorf("cut at %d: after Open the journal is %v bytes, want %d: %v", cut, info.Size(), lastLine, err)
		}
		if seq := mustSet(t, s, "after", 1); seq != n {
			t.Errorf("cut at %d: first seq after the torn line %d, want %d", cut, seq, n)
		}
		closeKV(t, s)

		log = logBuffer{}
		s = openKV(t, dir, Options{Logger: log.logger()})
		closeKV(t, s)
		want := maps.Clone(want)
		want["after"] = 1
		if !equalMaps(s.st.M, want) {
			t.Errorf("cut at %d: after a write and a reopen got %v, want %v", cut, s.st.M, want)
		}
		if strings.Contains(log.String(), "torn") {
			t.Errorf("cut at %d: second Open found a torn line again:\n%s", cut, log.String())
		}
	}
}

// editLine replaces line number n of the file at path by what edit returns.
func editLine(tb testing.TB, path string, n int, edit func(line []byte) []byte) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	lines[n-1] = edit(lines[n-1])
	if err := os.WriteFile(path, bytes.Join(lines, nil), 0o600); err != nil {
		tb.Fatal(err)
	}
}

// writeLines writes a segment starting at seq first with the records recs,
// the last one cut short by cut bytes.
func writeLines(tb testing.TB, dir string, first uint64, cut int, recs ...string) {
	tb.Helper()
	var b bytes.Buffer
	for i, rec := range recs {
		if err := appendLine(&b, first+uint64(i), []byte(rec)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := os.WriteFile(segmentPath(dir, first), b.Bytes()[:b.Len()-cut], 0o600); err != nil {
		tb.Fatal(err)
	}
}

// writeSnapshotted writes a store of 60 records that has a snapshot, and
// returns the snapshot's path.
func writeSnapshotted(tb testing.TB, dir string) string {
	tb.Helper()
	s := openKV(tb, dir, Options{MinCompactBytes: 256})
	for i := range 60 {
		mustSet(tb, s, fmt.Sprint("k", i%10), int64(i))
	}
	closeKV(tb, s)
	if s.j.Stats().Snapshots == 0 {
		tb.Fatal("no snapshot made")
	}
	return filepath.Join(dir, snapshotName)
}

func TestOpenRefusesDamage(t *testing.T) {
	seg1 := "journal-00000000000000000001.jsonl"
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
		want   string // in the error, after the folder
	}{{
		name: "InvalidJSON",
		damage: func(t *testing.T, dir string) {
			writeJournal(t, dir, 5)
			editLine(t, segmentPath(dir, 1), 3, func(l []byte) []byte { return bytes.Replace(l, []byte(`"seq":`), []byte(`"seq";`), 1) })
		},
		want: seg1 + ":3: invalid JSON",
	}, {
		name: "ChangedValue",
		damage: func(t *testing.T, dir string) {
			writeJournal(t, dir, 5)
			editLine(t, segmentPath(dir, 1), 2, func(l []byte) []byte { return bytes.Replace(l, []byte(`"v":1`), []byte(`"v":7`), 1) })
		},
		want: seg1 + ":2: checksum ",
	}, {
		name: "MissingLine",
		damage: func(t *testing.T, dir string) {
			writeJournal(t, dir, 5)
			editLine(t, segmentPath(dir, 1), 3, func([]byte) []byte { return nil })
		},
		want: seg1 + ":3: seq 4 where seq 3 was due",
	}, {
		name: "RepeatedLine",
		damage: func(t *testing.T, dir string) {
			writeJournal(t, dir, 5)
			editLine(t, segmentPath(dir, 1), 3, func(l []byte) []byte { return append(l, l...) })
		},
		want: seg1 + ":4: seq 3 where seq 4 was due",
	}, {
		name: "EmptyLine",
		damage: func(t *testing.T, dir string) {
			writeJournal(t, dir, 5)
			editLine(t, segmentPath(dir, 1), 5, func(l []byte) []byte { return append(l, '\n') })
		},
		want: seg1 + ":6: invalid JSON",
	}, {
		name: "NoSeq",
		damage: func(t *testing.T, dir string) {
			writeJournal(t, dir, 5)
			editLine(t, segmentPath(dir, 1), 2, func([]byte) []byte { return []byte(`{"rec":{"set":"x","v":1}}` + "\n") })
		},
		want: seg1 + `:2: no "seq"`,
	}, {
		name: "RecordRejected",
		damage: func(t *testing.T, dir string) {
			writeJournal(t, dir, 5)
			editLine(t, segmentPath(dir, 1), 4, func([]byte) []byte {
				var b bytes.Buffer
				appendLine(&b, 4, []byte(`{"del":"nobody"}`))
				return b.Bytes()
			})
		},
		want: seg1 + `:4: record 4 rejected: del "nobody": no such key`,
	}, {
		name: "LineTooLong",
		damage: func(t *testing.T, dir string) {
			writeJournal(t, dir, 2)
			editLine(t, segmentPath(dir, 1), 2, func([]byte) []byte {
				return []byte(`{"seq":2,"rec":{"set":"` + strings.Repeat("x", maxLine) + `","v":1}}` + "\n")
			})
		},
		want: seg1 + ":2: line longer than",
	}, {
		name: "TornSealedSegment",
		damage: func(t *testing.T, dir string) {
			writeLines(t, dir, 1, 3, `{"set":"a","v":1}`, `{"set":"b","v":2}`)
			writeLines(t, dir, 3, 0, `{"set":"c","v":3}`)
		},
		want: seg1 + ":2: the last line has no newline",
	}, {
		name: "MissingSegment",
		damage: func(t *testing.T, dir string) {
			writeLines(t, dir, 1, 0, `{"set":"a","v":1}`, `{"set":"b","v":2}`)
			writeLines(t, dir, 5, 0, `{"set":"c","v":3}`)
		},
		want: "journal-00000000000000000005.jsonl: records 3 to 4 are missing",
	}, {
		name: "SegmentNameWrong",
		damage: func(t *testing.T, dir string) {
			writeLines(t, dir, 1, 0, `{"set":"a","v":1}`, `{"set":"b","v":2}`)
			writeLines(t, dir, 3, 0, `{"set":"c","v":3}`)
			os.Rename(segmentPath(dir, 3), segmentPath(dir, 2))
		},
		want: "journal-00000000000000000002.jsonl: starts at seq 2, but the records before it end at seq 2",
	}, {
		name: "NotASegmentName",
		damage: func(t *testing.T, dir string) {
			writeJournal(t, dir, 2)
			os.WriteFile(filepath.Join(dir, "journal-x.jsonl"), nil, 0o600)
		},
		want: "journal-x.jsonl: not a journal segment",
	}, {
		name: "SnapshotMissing",
		damage: func(t *testing.T, dir string) {
			os.Remove(writeSnapshotted(t, dir))
		},
		want: ": records 1 to ",
	}, {
		name: "JournalEndsBeforeSnapshot",
		damage: func(t *testing.T, dir string) {
			writeSnapshotted(t, dir)
			for _, path := range segmentFiles(t, dir) {
				os.Remove(path)
			}
			writeLines(t, dir, 1, 0, `{"set":"a","v":1}`, `{"set":"b","v":2}`)
		},
		want: seg1 + ": the journal ends at seq 2, before the snapshot's seq",
	}, {
		name: "SnapshotCutShort",
		damage: func(t *testing.T, dir string) {
			path := writeSnapshotted(t, dir)
			b, _ := os.ReadFile(path)
			os.WriteFile(path, b[:len(b)*2/3], 0o600)
		},
		want: "snapshot.json:",
	}, {
		name: "SnapshotGarbage",
		damage: func(t *testing.T, dir string) {
			editLine(t, writeSnapshotted(t, dir), 4, func(l []byte) []byte { return []byte("    \"k0\": 5,,\n") })
		},
		want: "snapshot.json:4: invalid character ','",
	}, {
		name: "SnapshotChangedValue",
		damage: func(t *testing.T, dir string) {
			// Prefix the count with a digit: still valid JSON, and never
			// the value the snapshot holds, whatever seq it stopped at.
			editLine(t, writeSnapshotted(t, dir), 3, func(l []byte) []byte { return bytes.Replace(l, []byte(`"n": `), []byte(`"n": 1`), 1) })
		},
		want: "snapshot.json: checksum ",
	}, {
		name: "SnapshotHeader",
		damage: func(t *testing.T, dir string) {
			editLine(t, writeSnapshotted(t, dir), 1, func(l []byte) []byte { return []byte(`{"format":2,"seq":1,"state":` + "\n") })
		},
		want: `snapshot.json:1: the header is not {"format":1,"seq":<seq>,"state":`,
	}, {
		name: "SnapshotTrailingData",
		damage: func(t *testing.T, dir string) {
			path := writeSnapshotted(t, dir)
			b, _ := os.ReadFile(path)
			end := len(b) - trailerLen
			os.WriteFile(path, slices.Concat(b[:end], []byte("{}"), b[end:]), 0o600)
		},
		want: "snapshot.json: data after the state",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.damage(t, dir)
			before := hashDir(t, dir)
			for range 2 { // the second time shows the lock was let go
				_, _, err := Open(dir, Options{NewState: newKV})
				if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "store/journal: "+dir) {
					t.Fatalf("Open: got %v, want an error about %s%s", err, dir, tt.want)
				}
			}
			if after := hashDir(t, dir); !maps.Equal(before, after) {
				t.Errorf("Open changed the folder it refused:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

// TestOpenRefusesFlippedByte flips each byte of a journal line, and of a
// snapshot, in turn: Open must refuse every one, for no flip leaves a line or
// a snapshot that checks out.
func TestOpenRefusesFlippedByte(t *testing.T) {
	journal := t.TempDir()
	writeJournal(t, journal, 5)
	snapshotted := t.TempDir()
	writeSnapshotted(t, snapshotted)
	b, err := os.ReadFile(segmentPath(journal, 1))
	if err != nil {
		t.Fatal(err)
	}
	line3 := bytes.Index(b, []byte(`{"seq":3,`))
	line4 := bytes.Index(b, []byte(`{"seq":4,`))
	snapshot, err := os.ReadFile(filepath.Join(snapshotted, snapshotName))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		dir      string
		file     string
		from, to int    // the bytes to flip
		want     string // in the error
	}{
		{"JournalLine", journal, filepath.Base(segmentPath(journal, 1)), line3, line4, ".jsonl:3: "},
		{"Snapshot", snapshotted, snapshotName, 0, len(snapshot), snapshotName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := tt.from; i < tt.to; i++ {
				for _, bit := range []byte{0x01, 0x80} {
					dir := copyDir(t, tt.dir)
					path := filepath.Join(dir, tt.file)
					b, err := os.ReadFile(path)
					if err != nil {
						t.Fatal(err)
					}
					b[i] ^= bit
					if err := os.WriteFile(path, b, 0o600); err != nil {
						t.Fatal(err)
					}
					before := hashDir(t, dir)
					_, _, err = Open(dir, Options{NewState: newKV})
					if err == nil || !strings.Contains(err.Error(), tt.want) {
						t.Fatalf("byte %d ^ %#x (%q): Open got %v, want an error about %s", i, bit, b[i]^bit, err, tt.want)
					}
					if after := hashDir(t, dir); !maps.Equal(before, after) {
						t.Fatalf("byte %d ^ %#x: Open changed the folder it refused", i, bit)
					}
				}
			}
		})
	}
}
