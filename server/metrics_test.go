package server

import (
	"bufio"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestMetrics checks that requests, connections, handshakes and journal
// syncs show up in /metrics with the right labels, in the text format.
func TestMetrics(t *testing.T) {
	ts := newTestServer(t, serverSetup{})
	ts.do(t, "POST", "/bands", `{"name":"Can","genre":"rock","year":1968}`)
	ts.do(t, "GET", "/bands/1", "")
	ts.do(t, "GET", "/bands/1", "")
	ts.do(t, "GET", "/bands/7", "")
	ts.do(t, "GET", "/nothing", "")
	ts.do(t, "BREW", "/bands", "")
	r := ts.do(t, "GET", "/metrics", "")
	if r.status != 200 || r.header.Get("Content-Type") != "text/plain; version=0.0.4; charset=utf-8" {
		t.Fatalf("GET /metrics: %d %q", r.status, r.header.Get("Content-Type"))
	}
	samples := parseExposition(t, string(r.body))
	want := map[string]float64{
		`musicdb_http_requests_total{route="POST /bands",method="POST",status="201"}`:     1,
		`musicdb_http_requests_total{route="GET /bands/{id}",method="GET",status="200"}`:  2,
		`musicdb_http_requests_total{route="GET /bands/{id}",method="GET",status="404"}`:  1,
		`musicdb_http_requests_total{route="unmatched",method="GET",status="404"}`:        1,
		`musicdb_http_requests_total{route="unmatched",method="OTHER",status="405"}`:      1,
		`musicdb_http_request_duration_seconds_count{route="GET /bands/{id}"}`:            3,
		`musicdb_http_request_duration_seconds_bucket{route="GET /bands/{id}",le="+Inf"}`: 3,
		`musicdb_http_request_duration_seconds_count{route="POST /bands"}`:                1,
		`musicdb_http_panics_total`:                          0,
		`musicdb_connections_accepted_total`:                 1,
		`musicdb_connections_open`:                           1,
		`musicdb_tls_handshakes_total`:                       1,
		`musicdb_tls_handshake_failures_total`:               0,
		`musicdb_store_journal_fsyncs_total`:                 1,
		`musicdb_store_journal_batch_records_count`:          1,
		`musicdb_store_journal_batch_records_sum`:            1,
		`musicdb_store_journal_batch_records_bucket{le="1"}`: 1,
		`musicdb_store_journal_fsync_seconds_count`:          1,
	}
	for series, v := range want {
		got, ok := samples[series]
		if !ok {
			t.Errorf("%s missing", series)
		} else if got != v {
			t.Errorf("%s = %v, want %v", series, got, v)
		}
	}
	// The metrics request itself is counted after it is answered.
	if r := ts.do(t, "GET", "/metrics", ""); !strings.Contains(string(r.body), `musicdb_http_requests_total{route="GET /metrics",method="GET",status="200"} 1`) {
		t.Errorf("the first /metrics request is not counted:\n%s", r.body)
	}
}

// TestMetricsOrder checks that the output is the same from one scrape to the
// next when nothing happened in between.
func TestMetricsOrder(t *testing.T) {
	m := NewMetrics()
	for i := range 50 {
		m.countRequest(fmt.Sprintf("GET /r%d", i%7), "GET", 200+i%3, 0)
	}
	m.countRequest("GET /\"odd\"\\\n", "GET", 200, 0) // a label value with every character to escape
	var a, b strings.Builder
	m.write(&a)
	m.write(&b)
	if a.String() != b.String() {
		t.Errorf("two scrapes differ:\n%s\n---\n%s", a.String(), b.String())
	}
	samples := parseExposition(t, a.String())
	if _, ok := samples[`musicdb_http_requests_total{route="GET /\"odd\"\\\n",method="GET",status="200"}`]; !ok {
		t.Errorf("the escaped label is missing:\n%s", a.String())
	}
}

var (
	metricName  = `[a-zA-Z_:][a-zA-Z0-9_:]*`
	helpLine    = regexp.MustCompile(`^# HELP (` + metricName + `) \S.*$`)
	typeLine    = regexp.MustCompile(`^# TYPE (` + metricName + `) (counter|gauge|histogram|summary|untyped)$`)
	sampleLine  = regexp.MustCompile(`^(` + metricName + `)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*",?)*\})? (\S+)$`)
	labelString = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"`)
)

// parseExposition checks text against the Prometheus text format 0.0.4 —
// each line a HELP, a TYPE or a sample; every sample of a family declared by
// TYPE first; no series twice; histogram buckets cumulative and ending in
// +Inf equal to _count — and returns the samples by series.
func parseExposition(t *testing.T, text string) map[string]float64 {
	t.Helper()
	samples := map[string]float64{}
	types := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	lastBucket := map[string]float64{} // series without le → last cumulative count
	infs := map[string]float64{}       // _count series → its +Inf bucket
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case helpLine.MatchString(line):
		case typeLine.MatchString(line):
			m := typeLine.FindStringSubmatch(line)
			if _, dup := types[m[1]]; dup {
				t.Errorf("line %d: second TYPE for %s", n, m[1])
			}
			types[m[1]] = m[2]
		case sampleLine.MatchString(line):
			m := sampleLine.FindStringSubmatch(line)
			name, labels, value := m[1], m[2], m[3]
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				t.Errorf("line %d: value %q: %v", n, value, err)
			}
			family := name
			if types[name] == "" {
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if base, ok := strings.CutSuffix(name, suffix); ok && types[base] == "histogram" {
						family = base
					}
				}
			}
			if types[family] == "" {
				t.Errorf("line %d: sample of %s before its TYPE", n, name)
			}
			series := name + labels
			if _, dup := samples[series]; dup {
				t.Errorf("line %d: series %s twice", n, series)
			}
			samples[series] = v
			if strings.HasSuffix(name, "_bucket") {
				var le string
				var rest []string
				for _, l := range labelString.FindAllStringSubmatch(labels, -1) {
					if l[1] == "le" {
						le = l[2]
					} else {
						rest = append(rest, l[0])
					}
				}
				key := family + "{" + strings.Join(rest, ",") + "}"
				if v < lastBucket[key] {
					t.Errorf("line %d: bucket le=%s of %s is below the one before", n, le, key)
				}
				lastBucket[key] = v
				if le == "+Inf" {
					count := family + "_count"
					if len(rest) > 0 {
						count += "{" + strings.Join(rest, ",") + "}"
					}
					infs[count] = v
				}
			}
		default:
			t.Errorf("line %d is not in the text format: %q", n, line)
		}
	}
	for count, inf := range infs {
		if samples[count] != inf {
			t.Errorf("%s = %v, but its +Inf bucket is %v", count, samples[count], inf)
		}
	}
	if !strings.HasSuffix(text, "\n") {
		t.Errorf("the output does not end in a newline")
	}
	return samples
}
