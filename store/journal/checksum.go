package journal

import (
	"fmt"
	"hash/crc32"
	"strconv"
)

// Journal lines and snapshots carry a CRC-32C of their contents as eight hex
// digits, so that damage which leaves valid JSON, such as a changed digit,
// is found rather than loaded.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendCRC appends c as eight hex digits to b.
func appendCRC(b []byte, c uint32) []byte {
	const digits = "0123456789abcdef"
	for shift := 28; shift >= 0; shift -= 4 {
		b = append(b, digits[c>>shift&0xf])
	}
	return b
}

// parseCRC parses eight hex digits written by appendCRC.
func parseCRC(s []byte) (uint32, error) {
	c, err := strconv.ParseUint(string(s), 16, 32)
	if err != nil || len(s) != 8 {
		return 0, fmt.Errorf("checksum %q is not eight hex digits", s)
	}
	return uint32(c), nil
}
