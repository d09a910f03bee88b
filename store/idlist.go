package store

import "sort"

// idList holds ids in ascending order for paging. Ids are only ever added in
// ascending order, so adding is an append; removing marks nothing and lets
// the owner's map say what is still present, and the list is compacted once
// more than half of it is gone, which keeps both costs constant on average.
type idList struct {
	ids  []int64
	dead int
}

// add appends id, which must be greater than every id added before.
func (l *idList) add(id int64) { l.ids = append(l.ids, id) }

// removed records that one id of the list is gone; present reports which
// ids remain.
func (l *idList) removed(present func(int64) bool) {
	l.dead++
	if l.dead > 64 && l.dead > len(l.ids)/2 {
		l.compact(present)
	}
}

// compact drops the ids that are no longer present.
func (l *idList) compact(present func(int64) bool) {
	kept := l.ids[:0]
	for _, id := range l.ids {
		if present(id) {
			kept = append(kept, id)
		}
	}
	clear(l.ids[len(kept):])
	l.ids, l.dead = kept, 0
}

// reset empties the list.
func (l *idList) reset() { l.ids, l.dead = nil, 0 }

// page calls yield for each present id greater than after, in order, until
// yield returns false.
func (l *idList) page(after int64, present func(int64) bool, yield func(int64) bool) {
	i := sort.Search(len(l.ids), func(i int) bool { return l.ids[i] > after })
	for _, id := range l.ids[i:] {
		if present(id) && !yield(id) {
			return
		}
	}
}
