package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"strconv"
)

// A snapshot file is one JSON object a person can read, laid out so that the
// state can be streamed in and out without holding the file in memory:
//
//	{"format":1,"seq":N,"state":
//	...whatever State.WriteSnapshot wrote...
//	,"crc":"0123abcd"}
//
// The header is the first line; the trailer is of fixed length, so the
// state's place in the file is known from the file's size alone. The
// trailer's CRC-32C covers the header and the state.
const (
	snapshotHeader = `{"format":1,"seq":`
	snapshotState  = `,"state":`
	trailerStart   = "\n,\"crc\":\""
	trailerEnd     = "\"}\n"
	trailerLen     = len(trailerStart) + 8 + len(trailerEnd)
	maxHeader      = len(snapshotHeader) + 20 + len(snapshotState) + 1
)

// writeSnapshot writes the state st, which holds the records up to seq, to a
// new file at path and fsyncs it. It returns the file's size.
func writeSnapshot(path string, seq uint64, st State) (int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	crc := crc32.New(castagnoli)
	w := bufio.NewWriterSize(f, 256<<10)
	hw := io.MultiWriter(w, crc)
	io.WriteString(hw, snapshotHeader+strconv.FormatUint(seq, 10)+snapshotState+"\n")
	if err := st.WriteSnapshot(hw); err != nil {
		return 0, fmt.Errorf("write snapshot %s: %w", path, err)
	}
	w.WriteString(trailerStart + string(appendCRC(nil, crc.Sum32())) + trailerEnd)
	if err := w.Flush(); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return info.Size(), f.Close()
}

// readSnapshot loads the snapshot at path into st, which must be empty, and
// returns the seq of the last record it holds and the file's size. A missing
// file is the empty state at seq 0.
func readSnapshot(path string, st State) (seq uint64, size int64, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("store/journal: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, 0, fmt.Errorf("store/journal: %w", err)
	}
	size = info.Size()
	corrupt := func(line int, format string, args ...any) error {
		return fmt.Errorf("store/journal: %s:%d: %s", path, line, fmt.Sprintf(format, args...))
	}

	head := make([]byte, min(size, int64(maxHeader)))
	if _, err := f.ReadAt(head, 0); err != nil {
		return 0, 0, fmt.Errorf("store/journal: %w", err)
	}
	i := bytes.IndexByte(head, '\n')
	if i < 0 {
		return 0, 0, corrupt(1, "the header is not %s<seq>%s on a line of its own", snapshotHeader, snapshotState)
	}
	seq, err = parseSnapshotHeader(head[:i])
	if err != nil {
		return 0, 0, corrupt(1, "%v", err)
	}
	start, end := int64(i+1), size-int64(trailerLen)
	if end < start {
		return 0, 0, corrupt(1, "the file ends after the header")
	}
	tail := make([]byte, trailerLen)
	if _, err := f.ReadAt(tail, end); err != nil {
		return 0, 0, fmt.Errorf("store/journal: %w", err)
	}
	hex, ok := bytes.CutPrefix(tail, []byte(trailerStart))
	hex, ok2 := bytes.CutSuffix(hex, []byte(trailerEnd))
	if !ok || !ok2 {
		return 0, 0, corrupt(lineAt(f, size-1), `the file does not end with ,"crc":"<checksum>"} after the state: it is cut short`)
	}
	want, err := parseCRC(hex)
	if err != nil {
		return 0, 0, corrupt(lineAt(f, size-1), "%v", err)
	}

	crc := crc32.New(castagnoli)
	crc.Write(head[:start])
	state := io.TeeReader(io.NewSectionReader(f, start, end-start), crc)
	if err := st.ReadSnapshot(bufio.NewReaderSize(state, 256<<10)); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return 0, 0, corrupt(lineAt(f, start+max(syntax.Offset-1, 0)), "%v", err)
		}
		return 0, 0, fmt.Errorf("store/journal: %s: %w", path, err)
	}
	// The State may have stopped reading at the end of its value, but the
	// checksum covers every byte up to the trailer.
	if _, err := io.Copy(io.Discard, state); err != nil {
		return 0, 0, fmt.Errorf("store/journal: %w", err)
	}
	if got := crc.Sum32(); got != want {
		return 0, 0, fmt.Errorf("store/journal: %s: checksum %08x, want %08x: the file is damaged", path, got, want)
	}
	return seq, size, nil
}

// parseSnapshotHeader returns the seq in a snapshot's header line.
func parseSnapshotHeader(b []byte) (uint64, error) {
	rest, ok := bytes.CutPrefix(b, []byte(snapshotHeader))
	digits, ok2 := bytes.CutSuffix(rest, []byte(snapshotState))
	if !ok || !ok2 {
		return 0, fmt.Errorf("the header is not %s<seq>%s", snapshotHeader, snapshotState)
	}
	seq, err := strconv.ParseUint(string(digits), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("the header's seq %q is not a sequence number", digits)
	}
	return seq, nil
}

// lineAt returns the number of the line of f that holds byte offset, for an
// error message; it counts from 1 and returns 0 if f cannot be read.
func lineAt(f *os.File, offset int64) int {
	n := 1
	r := bufio.NewReader(io.NewSectionReader(f, 0, offset))
	for {
		b, err := r.ReadSlice('\n')
		if len(b) > 0 && b[len(b)-1] == '\n' {
			n++
		}
		if err == io.EOF {
			return n
		}
		if err != nil && err != bufio.ErrBufferFull {
			return 0
		}
	}
}
