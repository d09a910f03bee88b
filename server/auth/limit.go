package auth

import (
	"sync"
	"time"
)

// failureLimit bounds the failed token verifications of each client (a
// client certificate, by thumbprint): at most max in any window. A client
// that has used its budget is refused without a verification until its
// oldest failure leaves the window, so that guessing tokens is slow and a
// client that lost its way cannot flood the provider.
//
// A verification takes a place in the budget before it starts (reserve) and
// gives it back unless it failed (settle), so a burst of concurrent bad
// tokens cannot run more than max verifications either.
type failureLimit struct {
	max     int
	window  time.Duration
	clients int // most clients tracked at once

	// mu guards byClient.
	mu       sync.Mutex
	byClient map[string]*failures
}

type failures struct {
	times   []time.Time // of the failures in the window, oldest first
	pending int         // verifications under way
}

func newFailureLimit(max int, window time.Duration, clients int) *failureLimit {
	return &failureLimit{max: max, window: window, clients: clients, byClient: map[string]*failures{}}
}

// reserve takes a place for one verification by client at time now. When
// the client has none left it returns false and how long until it has one.
//
// When the table of clients is full even after dropping those with no
// failure in the window, a new client is refused too: it is better to make
// a new client wait than to forget the failures of one that is guessing.
func (l *failureLimit) reserve(client string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.byClient[client]
	if f == nil {
		if len(l.byClient) >= l.clients {
			for k, g := range l.byClient {
				if g.prune(now, l.window); g.idle() {
					delete(l.byClient, k)
				}
			}
			if len(l.byClient) >= l.clients {
				return l.window, false
			}
		}
		f = &failures{}
		l.byClient[client] = f
	}
	f.prune(now, l.window)
	if len(f.times)+f.pending >= l.max {
		if len(f.times) == 0 {
			return time.Second, false // all under way: try again soon
		}
		return f.times[0].Add(l.window).Sub(now), false
	}
	f.pending++
	return 0, true
}

// settle ends a verification that reserve let start: a failure stays in the
// client's budget for the window, a success or an unanswered check gives
// its place back.
func (l *failureLimit) settle(client string, failed bool, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.byClient[client]
	if f == nil {
		return
	}
	f.pending--
	if failed {
		f.times = append(f.times, now)
	}
	if f.prune(now, l.window); f.idle() {
		delete(l.byClient, client)
	}
}

// fail counts a failure that no verification preceded, such as a verified
// token presented over the wrong certificate.
func (l *failureLimit) fail(client string, now time.Time) {
	if _, ok := l.reserve(client, now); ok {
		l.settle(client, true, now)
	}
}

// prune drops the failures that left the window ending at now.
func (f *failures) prune(now time.Time, window time.Duration) {
	i := 0
	for i < len(f.times) && !now.Before(f.times[i].Add(window)) {
		i++
	}
	f.times = f.times[i:]
}

func (f *failures) idle() bool { return len(f.times) == 0 && f.pending == 0 }
