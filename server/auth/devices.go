package auth

import (
	"container/list"
	"time"
)

// deviceCode is a device authorization that the built-in issuer approved
// for a client certificate and that awaits its one redemption. Device codes
// live in memory only: a login that a restart interrupts simply starts
// again.
type deviceCode struct {
	key        tokenKey // hash of the code
	subject    string
	thumbprint string
	clientID   string
	expires    time.Time
}

// deviceCodes are the pending device codes, oldest first. It is bounded:
// when full, the oldest code goes, which at worst makes a login that was
// left waiting start again. Codes that expired are kept a while longer so
// that their redemption is told expired_token rather than invalid_grant.
type deviceCodes struct {
	max   int
	keep  time.Duration // how long past its expiry a code is remembered
	order *list.List    // of *deviceCode, by expiry, which is by age
	byKey map[tokenKey]*list.Element
}

func newDeviceCodes(max int, keep time.Duration) *deviceCodes {
	return &deviceCodes{max: max, keep: keep, order: list.New(), byKey: map[tokenKey]*list.Element{}}
}

// add adds dc, which expires after every code added before it.
func (d *deviceCodes) add(dc *deviceCode, now time.Time) {
	d.prune(now)
	for len(d.byKey) >= d.max {
		d.remove(d.order.Front())
	}
	d.byKey[dc.key] = d.order.PushBack(dc)
}

// find returns the pending code with hash key, or nil.
func (d *deviceCodes) find(key tokenKey, now time.Time) *deviceCode {
	d.prune(now)
	e := d.byKey[key]
	if e == nil {
		return nil
	}
	return e.Value.(*deviceCode)
}

// take removes the code with hash key.
func (d *deviceCodes) take(key tokenKey) {
	if e := d.byKey[key]; e != nil {
		d.remove(e)
	}
}

// prune forgets the codes that expired more than keep ago.
func (d *deviceCodes) prune(now time.Time) {
	for e := d.order.Front(); e != nil && !now.Before(e.Value.(*deviceCode).expires.Add(d.keep)); e = d.order.Front() {
		d.remove(e)
	}
}

func (d *deviceCodes) remove(e *list.Element) {
	delete(d.byKey, e.Value.(*deviceCode).key)
	d.order.Remove(e)
}
