package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"os"
	"strconv"
)

// MaxRecordSize is the size of the largest record, in compact JSON, that a
// journal line may carry. Append fails the journal on a larger one rather
// than write a line that Open would refuse.
const MaxRecordSize = 4 << 20

// maxLine is the longest journal line replay reads: a record of MaxRecordSize
// with its framing, {"seq":N,"rec":...,"crc":"..."} and a newline.
const maxLine = MaxRecordSize + 64

// line is one journal line: a record, its sequence number, and the checksum
// of the record's bytes as they are in the line.
type line struct {
	Seq uint64          `json:"seq"`
	Rec json.RawMessage `json:"rec"`
	CRC string          `json:"crc"`
}

// appendLine appends rec, framed as a journal line with sequence number seq,
// to buf. It compacts rec so that the line holds no newline, and leaves buf
// as it was if rec is not one valid JSON value or is larger than
// MaxRecordSize.
func appendLine(buf *bytes.Buffer, seq uint64, rec []byte) error {
	mark := buf.Len()
	buf.WriteString(`{"seq":`)
	buf.Write(strconv.AppendUint(buf.AvailableBuffer(), seq, 10))
	buf.WriteString(`,"rec":`)
	start := buf.Len()
	if err := json.Compact(buf, rec); err != nil {
		buf.Truncate(mark)
		return fmt.Errorf("record %d is not valid JSON: %w", seq, err)
	}
	if n := buf.Len() - start; n > MaxRecordSize {
		buf.Truncate(mark)
		return fmt.Errorf("record %d is %d bytes long, more than the %d a record may have", seq, n, MaxRecordSize)
	}
	crc := crc32.Checksum(buf.Bytes()[start:], castagnoli)
	buf.WriteString(`,"crc":"`)
	buf.Write(appendCRC(buf.AvailableBuffer(), crc))
	buf.WriteString("\"}\n")
	return nil
}

// replay applies records to a State in seq order, checking that none is
// missing, repeated or out of place, and skipping those that a snapshot
// already holds.
type replay struct {
	st    State
	after uint64 // the snapshot holds the records up to this seq
	next  uint64 // the seq the next record must carry
	buf   []byte // the line buffer, shared by the segments
}

// newReplay returns a replay into st, which holds the records up to seq after.
func newReplay(st State, after uint64) *replay {
	return &replay{st: st, after: after, next: after + 1, buf: make([]byte, 0, 64<<10)}
}

// torn is a torn last line: bytes after the last newline of the last segment,
// left by a crash in the middle of an append.
type torn struct {
	offset int64 // where the torn line starts: the size of the file without it
	size   int64
}

// segments applies the records of segs in order. Only the last segment may
// end in a torn line, and only if tornOK, for sealed segments were complete
// and fsynced before the next one began. It returns the torn line, if any;
// sizes of segs are set to the bytes of complete lines.
func (r *replay) segments(segs []segment, tornOK bool) (*torn, error) {
	if len(segs) > 0 && segs[0].first <= r.next {
		r.next = segs[0].first
	}
	var t *torn
	for i := range segs {
		seg := &segs[i]
		switch {
		case seg.first > r.next:
			return nil, fmt.Errorf("store/journal: %s: records %d to %d are missing before this segment", seg.path, r.next, seg.first-1)
		case seg.first < r.next:
			return nil, fmt.Errorf("store/journal: %s: starts at seq %d, but the records before it end at seq %d", seg.path, seg.first, r.next-1)
		}
		var err error
		t, err = r.segment(seg, tornOK && i == len(segs)-1)
		if err != nil {
			return nil, err
		}
	}
	return t, nil
}

// segment applies the records of seg, sets seg.size and returns a torn last
// line, which is an error unless tornOK.
func (r *replay) segment(seg *segment, tornOK bool) (*torn, error) {
	f, err := os.Open(seg.path)
	if err != nil {
		return nil, fmt.Errorf("store/journal: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(r.buf, maxLine)
	sc.Split(scanLines)
	var offset int64
	n := 0
	for sc.Scan() {
		n++
		b := sc.Bytes()
		if b[len(b)-1] != '\n' {
			if !tornOK {
				return nil, fmt.Errorf("store/journal: %s:%d: the last line has no newline, but the segment was complete when the next one began", seg.path, n)
			}
			seg.size = offset
			return &torn{offset: offset, size: int64(len(b))}, nil
		}
		if err := r.record(b[:len(b)-1]); err != nil {
			return nil, fmt.Errorf("store/journal: %s:%d: %w", seg.path, n, err)
		}
		offset += int64(len(b))
	}
	if err := sc.Err(); err == bufio.ErrTooLong {
		return nil, fmt.Errorf("store/journal: %s:%d: line longer than %d bytes", seg.path, n+1, maxLine)
	} else if err != nil {
		return nil, fmt.Errorf("store/journal: %s: %w", seg.path, err)
	}
	seg.size = offset
	return nil, nil
}

// record checks one line, without its newline, and applies its record unless
// the snapshot holds it already.
func (r *replay) record(b []byte) error {
	var l line
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	switch {
	case l.Seq == 0:
		return fmt.Errorf(`no "seq"`)
	case l.Rec == nil:
		return fmt.Errorf(`no "rec"`)
	case l.CRC == "":
		return fmt.Errorf(`no "crc"`)
	case l.Seq != r.next:
		return fmt.Errorf("seq %d where seq %d was due: a record is missing or out of order", l.Seq, r.next)
	}
	crc, err := parseCRC([]byte(l.CRC))
	if err != nil {
		return err
	}
	if c := crc32.Checksum(l.Rec, castagnoli); c != crc {
		return fmt.Errorf("checksum %08x of record %d, want %08x: the line is damaged", c, l.Seq, crc)
	}
	if l.Seq > r.after {
		if err := r.st.Apply(l.Rec); err != nil {
			return fmt.Errorf("record %d rejected: %w", l.Seq, err)
		}
	}
	r.next++
	return nil
}

// scanLines is a bufio.SplitFunc that returns each line with its newline, so
// that a last line without one can be told apart.
func scanLines(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i+1], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
