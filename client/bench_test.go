package client

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
)

// benchScript is a 1,000-command session in the shape of real use: mostly
// reads, a write in ten (new albums, changed ratings, a clean-up), ending in
// STATS. It leaves the store as it found it, so that every session of a
// benchmark does the same work.
func benchScript() string {
	reads := []string{
		"SHOW BAND 1", "SHOW ALBUM 1", "SHOW USER 1", "SHOW ALL BANDS",
		"SHOW ALL ALBUMS_B 1", "SHOW ALL ALBUMS_U 1", "SHOW ALL ALBUMS 5",
		"SHOW ALBUM 1", "SHOW BAND 2",
	}
	var b strings.Builder
	for i := range 999 {
		switch {
		case i == 998:
			b.WriteString("REMOVE ALL ALBUMS_B 2\n")
		case i%20 == 0:
			fmt.Fprintf(&b, "ADD ALBUM 2 Demo %d 1980\n", i)
		case i%20 == 10:
			fmt.Fprintf(&b, "UPDATE ALBUM 1 %d 1\n", 1+i%5)
		default:
			b.WriteString(reads[i%len(reads)] + "\n")
		}
	}
	b.WriteString("STATS\n")
	return b.String()
}

// BenchmarkSession runs a 1,000-command session against the real server
// over loopback with mutual TLS, with keep-alive (one connection) and with
// -no-keepalive (a connection and a TLS handshake per request). Compare the
// two sub-benchmarks of one run for what keep-alive saves.
func BenchmarkSession(b *testing.B) {
	ts := startServer(b)
	setup := "ADD BAND rock Queen 1970\nADD BAND pop Scratch 1980\nADD ALBUM 1 A Night at the Opera 1975\n" +
		"ADD USER alice s3cret-pass Alice Liddell\nADD 1 1 5\n"
	if _, stderr, err := run(b, ts.env.get, ts.args(), strings.NewReader(setup)); err != nil {
		b.Fatalf("setup: %v\n%s", err, stderr)
	}
	script := benchScript()

	for _, mode := range []struct {
		name  string
		flags []string
	}{
		{"keepalive", []string{"-json"}},
		{"no-keepalive", []string{"-json", "-no-keepalive"}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			b.ReportAllocs()
			args := ts.args(mode.flags...)
			var conns, handshakes int64
			var stdout, stderr bytes.Buffer
			for b.Loop() {
				stdout.Reset()
				if err := Run(context.Background(), args, ts.env.get, strings.NewReader(script), &stdout, &stderr); err != nil {
					b.Fatalf("Run: %v\n%s", err, stderr.String())
				}
				st := lastStats(b, stdout.String())
				conns += st.Connections
				handshakes += st.TLSHandshakes
			}
			b.ReportMetric(float64(conns)/float64(b.N), "conns/op")
			b.ReportMetric(float64(handshakes)/float64(b.N), "handshakes/op")
		})
	}
}
