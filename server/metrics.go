package server

import (
	"bytes"
	"cmp"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Metrics counts what a server does — requests, panics, connections, TLS
// handshakes and journal syncs — and serves the counts at /metrics in the
// Prometheus text exposition format. Make one with NewMetrics. Its methods
// are safe for concurrent use and cheap enough for every request.
type Metrics struct {
	panics            atomic.Uint64
	accepted          atomic.Uint64
	open              atomic.Int64
	handshakes        atomic.Uint64
	handshakeFailures atomic.Uint64

	// mu guards requests and durations.
	mu        sync.Mutex
	requests  map[requestKey]uint64
	durations map[string]*histogram // by route

	// syncMu guards syncs and syncSeconds.
	syncMu      sync.Mutex
	syncs       *histogram // records per fsync
	syncSeconds *histogram
}

type requestKey struct {
	route, method string
	status        int
}

// Bucket bounds. Requests served from memory take well under a millisecond;
// writes wait for an fsync, which takes milliseconds on most disks.
var (
	durationBounds = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	batchBounds    = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512}
	fsyncBounds    = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}
)

// NewMetrics returns Metrics with every count at zero.
func NewMetrics() *Metrics {
	return &Metrics{
		requests:    make(map[requestKey]uint64),
		durations:   make(map[string]*histogram),
		syncs:       newHistogram(batchBounds),
		syncSeconds: newHistogram(fsyncBounds),
	}
}

// OnSync records one journal fsync that made records writes durable in d.
// It has the signature of store.Options.OnSync.
func (m *Metrics) OnSync(records int, d time.Duration) {
	m.syncMu.Lock()
	m.syncs.observe(float64(records))
	m.syncSeconds.observe(d.Seconds())
	m.syncMu.Unlock()
}

func (m *Metrics) countPanic() { m.panics.Add(1) }

// countRequest records one answered request. route is the pattern that
// matched it, "" for none.
func (m *Metrics) countRequest(route, method string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	key := requestKey{route, methodLabel(method), status}
	m.mu.Lock()
	m.requests[key]++
	h := m.durations[route]
	if h == nil {
		h = newHistogram(durationBounds)
		m.durations[route] = h
	}
	h.observe(d.Seconds())
	m.mu.Unlock()
}

// methodLabel keeps the label set small whatever methods clients invent.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "OTHER"
}

// connState follows each connection's life; it is an http.Server.ConnState.
// A TLS connection that closes before its handshake completed counts as a
// failed handshake.
func (m *Metrics) connState(c net.Conn, state http.ConnState) {
	switch state {
	case http.StateNew:
		m.accepted.Add(1)
		m.open.Add(1)
	case http.StateHijacked:
		m.open.Add(-1)
	case http.StateClosed:
		m.open.Add(-1)
		if tc, ok := c.(*tls.Conn); ok && !tc.ConnectionState().HandshakeComplete {
			m.handshakeFailures.Add(1)
		}
	}
}

// handshakeDone counts a completed TLS handshake; it is a
// tls.Config.VerifyConnection.
func (m *Metrics) handshakeDone(tls.ConnectionState) error {
	m.handshakes.Add(1)
	return nil
}

func handleMetrics(m *Metrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		m.write(&b)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Write(b.Bytes())
	})
}

// write writes every metric in the text exposition format, in a stable order.
func (m *Metrics) write(w io.Writer) {
	m.mu.Lock()
	requests := make([]requestKey, 0, len(m.requests))
	counts := make(map[requestKey]uint64, len(m.requests))
	for k, n := range m.requests {
		requests = append(requests, k)
		counts[k] = n
	}
	routes := make([]string, 0, len(m.durations))
	durations := make(map[string]histogram, len(m.durations))
	for route, h := range m.durations {
		routes = append(routes, route)
		durations[route] = h.copy()
	}
	m.mu.Unlock()
	m.syncMu.Lock()
	syncs, syncSeconds := m.syncs.copy(), m.syncSeconds.copy()
	m.syncMu.Unlock()

	slices.SortFunc(requests, func(a, b requestKey) int {
		return cmp.Or(strings.Compare(a.route, b.route), strings.Compare(a.method, b.method), cmp.Compare(a.status, b.status))
	})
	slices.Sort(routes)

	header(w, "musicdb_http_requests_total", "counter", "HTTP requests answered, by route pattern, method and status.")
	for _, k := range requests {
		fmt.Fprintf(w, "musicdb_http_requests_total{route=%s,method=%s,status=\"%d\"} %d\n", label(k.route), label(k.method), k.status, counts[k])
	}
	header(w, "musicdb_http_request_duration_seconds", "histogram", "Time to answer HTTP requests, by route pattern.")
	for _, route := range routes {
		h := durations[route]
		h.write(w, "musicdb_http_request_duration_seconds", "route="+label(route))
	}
	counter(w, "musicdb_http_panics_total", "Handler panics recovered.", m.panics.Load())
	counter(w, "musicdb_connections_accepted_total", "Connections accepted.", m.accepted.Load())
	header(w, "musicdb_connections_open", "gauge", "Connections open now.")
	fmt.Fprintf(w, "musicdb_connections_open %d\n", m.open.Load())
	counter(w, "musicdb_tls_handshakes_total", "TLS handshakes completed.", m.handshakes.Load())
	counter(w, "musicdb_tls_handshake_failures_total", "Connections closed before their TLS handshake completed.", m.handshakeFailures.Load())
	counter(w, "musicdb_store_journal_fsyncs_total", "Journal fsyncs.", syncs.count)
	header(w, "musicdb_store_journal_batch_records", "histogram", "Records made durable by one journal fsync.")
	syncs.write(w, "musicdb_store_journal_batch_records", "")
	header(w, "musicdb_store_journal_fsync_seconds", "histogram", "Time one journal fsync took.")
	syncSeconds.write(w, "musicdb_store_journal_fsync_seconds", "")
}

func header(w io.Writer, name, kind, help string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, kind)
}

func counter(w io.Writer, name, help string, n uint64) {
	header(w, name, "counter", help)
	fmt.Fprintf(w, "%s %d\n", name, n)
}

// labelEscaper escapes a label value as the text format wants it.
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// label quotes a label value.
func label(v string) string { return `"` + labelEscaper.Replace(v) + `"` }

// histogram counts observations into buckets with the given upper bounds.
// It has no lock of its own: its owner guards it.
type histogram struct {
	bounds []float64
	counts []uint64 // counts[i] for bounds[i]; the last for +Inf; not cumulative
	sum    float64
	count  uint64
}

func newHistogram(bounds []float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	i, _ := slices.BinarySearch(h.bounds, v)
	h.counts[i]++
	h.sum += v
	h.count++
}

func (h *histogram) copy() histogram {
	c := *h
	c.counts = slices.Clone(h.counts)
	return c
}

// write writes the histogram's series; labels, if not empty, go before le.
func (h *histogram) write(w io.Writer, name, labels string) {
	sep := ""
	if labels != "" {
		sep = ","
	}
	var cum uint64
	for i, n := range h.counts {
		cum += n
		le := "+Inf"
		if i < len(h.bounds) {
			le = strconv.FormatFloat(h.bounds[i], 'g', -1, 64)
		}
		fmt.Fprintf(w, "%s_bucket{%s%sle=\"%s\"} %d\n", name, labels, sep, le, cum)
	}
	braced := ""
	if labels != "" {
		braced = "{" + labels + "}"
	}
	fmt.Fprintf(w, "%s_sum%s %s\n%s_count%s %d\n", name, braced, strconv.FormatFloat(h.sum, 'g', -1, 64), name, braced, h.count)
}
