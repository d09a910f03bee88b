package journal

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The files of a store folder. Segment names carry the seq of their first
// record, zero-padded so that a directory listing shows them in order.
const (
	lockName      = "lock"
	snapshotName  = "snapshot.json"
	tempName      = "snapshot.json.tmp" // a snapshot being written; never read
	segmentPrefix = "journal-"
	segmentSuffix = ".jsonl"
)

// segment is one journal file, holding the records from seq first on.
type segment struct {
	path  string
	first uint64
	size  int64
}

// segmentPath returns the path of the segment whose first record is seq first.
func segmentPath(dir string, first uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%s%020d%s", segmentPrefix, first, segmentSuffix))
}

// layout is what a store folder holds, as found by scanDir.
type layout struct {
	temp     bool      // a snapshot being written when the process stopped
	segments []segment // in seq order; sizes are filled in by replay
}

// scanDir lists the store files in dir. Files it does not know are left
// alone, but a file that looks like a segment and is not named like one is
// an error: it could hold records.
func scanDir(dir string) (layout, error) {
	var l layout
	entries, err := os.ReadDir(dir)
	if err != nil {
		return l, fmt.Errorf("store/journal: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == tempName:
			l.temp = true
		case strings.HasPrefix(name, segmentPrefix) && strings.HasSuffix(name, segmentSuffix):
			path := filepath.Join(dir, name)
			digits := strings.TrimSuffix(strings.TrimPrefix(name, segmentPrefix), segmentSuffix)
			first, err := strconv.ParseUint(digits, 10, 64)
			if err != nil || first == 0 || !e.Type().IsRegular() {
				return l, fmt.Errorf("store/journal: %s: not a journal segment (want %s<first seq>%s, a regular file)", path, segmentPrefix, segmentSuffix)
			}
			l.segments = append(l.segments, segment{path: path, first: first})
		}
	}
	slices.SortFunc(l.segments, func(a, b segment) int { return cmp.Compare(a.first, b.first) })
	for i := 1; i < len(l.segments); i++ {
		if l.segments[i].first == l.segments[i-1].first {
			return l, fmt.Errorf("store/journal: %s and %s both start at seq %d", l.segments[i-1].path, l.segments[i].path, l.segments[i].first)
		}
	}
	return l, nil
}

// syncDir fsyncs the folder dir, so that files created, renamed or removed in
// it stay so after a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
