// Package cluster is the scale-out side of the store: which Kinesis shard,
// and so which node of a replica group, holds a series. A series goes to
// the shard whose hash-key range holds the MD5 of its partition key (the
// series name), exactly as Kinesis places the record; routing reads the
// same way finds the node that consumed it.
package cluster

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// maxHashKey is 2^128 - 1, the top of Kinesis's hash-key space.
var maxHashKey = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))

// HashKey is the 128-bit hash key Kinesis gives a partition key: its MD5
// digest read as an unsigned big-endian integer.
func HashKey(partitionKey string) *big.Int {
	sum := md5.Sum([]byte(partitionKey))
	return new(big.Int).SetBytes(sum[:])
}

// ShardRange is an open shard and its inclusive hash-key range.
type ShardRange struct {
	ID         string
	Start, End *big.Int
}

// ParseRange reads a shard's range as ListShards gives it (decimal
// strings).
func ParseRange(id, start, end string) (ShardRange, error) {
	r := ShardRange{ID: id}
	var ok bool
	if r.Start, ok = new(big.Int).SetString(start, 10); !ok || r.Start.Sign() < 0 || r.Start.Cmp(maxHashKey) > 0 {
		return r, fmt.Errorf("shard %s: starting hash key %q: not a decimal in [0, 2^128)", id, start)
	}
	if r.End, ok = new(big.Int).SetString(end, 10); !ok || r.End.Sign() < 0 || r.End.Cmp(maxHashKey) > 0 {
		return r, fmt.Errorf("shard %s: ending hash key %q: not a decimal in [0, 2^128)", id, end)
	}
	if r.Start.Cmp(r.End) > 0 {
		return r, fmt.Errorf("shard %s: hash-key range starts (%s) after it ends (%s)", id, start, end)
	}
	return r, nil
}

// Router finds the shard of a partition key among a stream's open shards.
type Router struct {
	shards []ShardRange // sorted by Start; contiguous over [0, 2^128)
}

// NewRouter checks that the open shards' ranges cover the hash-key space
// without gap or overlap, as a stream's open shards always do; anything
// else means a listing taken mid-reshard or with closed shards mixed in.
func NewRouter(open []ShardRange) (*Router, error) {
	if len(open) == 0 {
		return nil, errors.New("router: no open shards")
	}
	s := slices.Clone(open)
	slices.SortFunc(s, func(a, b ShardRange) int { return a.Start.Cmp(b.Start) })
	next := new(big.Int)
	for _, r := range s {
		if r.Start == nil || r.End == nil {
			return nil, fmt.Errorf("router: shard %s has no range", r.ID)
		}
		if c := r.Start.Cmp(next); c != 0 {
			what := "a gap"
			if c < 0 {
				what = "an overlap"
			}
			return nil, fmt.Errorf("router: %s before shard %s (its range starts at %s, expected %s)", what, r.ID, r.Start, next)
		}
		next = new(big.Int).Add(r.End, big.NewInt(1))
	}
	if last := s[len(s)-1]; last.End.Cmp(maxHashKey) != 0 {
		return nil, fmt.Errorf("router: the hash-key space ends at %s (shard %s), not 2^128-1", last.End, last.ID)
	}
	return &Router{shards: s}, nil
}

// Shard returns the id of the shard holding partitionKey's records.
func (r *Router) Shard(partitionKey string) string {
	h := HashKey(partitionKey)
	i, _ := slices.BinarySearchFunc(r.shards, h, func(s ShardRange, h *big.Int) int {
		switch {
		case s.End.Cmp(h) < 0:
			return -1
		case s.Start.Cmp(h) > 0:
			return 1
		}
		return 0
	})
	return r.shards[i].ID // the ranges cover the space: always found
}

// String lists the ranges, for logs.
func (r *Router) String() string {
	var b strings.Builder
	for i, s := range r.shards {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s [%s, %s]", s.ID, s.Start, s.End)
	}
	return b.String()
}

// Shards lists the open shards' ids in hash-key order.
func (r *Router) Shards() []string {
	out := make([]string, len(r.shards))
	for i, s := range r.shards {
		out[i] = s.ID
	}
	return out
}

// HashRange is a shard's hash-key range in a form quick to test against
// (a record's entries are checked one by one): the 16-byte big-endian
// bounds, inclusive.
type HashRange struct {
	lo, hi [16]byte
	ok     bool
}

// Hash is the range's form for Contains; the zero HashRange holds every
// key (a shard whose range is not known).
func (r ShardRange) Hash() HashRange {
	if r.Start == nil || r.End == nil {
		return HashRange{}
	}
	var h HashRange
	r.Start.FillBytes(h.lo[:])
	r.End.FillBytes(h.hi[:])
	h.ok = true
	return h
}

// Contains tells whether partitionKey's records land in the range.
func (h HashRange) Contains(partitionKey string) bool {
	if !h.ok {
		return true
	}
	sum := md5.Sum([]byte(partitionKey))
	return bytes.Compare(sum[:], h.lo[:]) >= 0 && bytes.Compare(sum[:], h.hi[:]) <= 0
}

// Intersect is the hash keys both ranges hold; ok false when none.
func Intersect(a, b ShardRange) (ShardRange, bool) {
	if a.Start == nil || b.Start == nil {
		return ShardRange{}, false
	}
	out := ShardRange{ID: a.ID, Start: a.Start, End: a.End}
	if b.Start.Cmp(out.Start) > 0 {
		out.Start = b.Start
	}
	if b.End.Cmp(out.End) < 0 {
		out.End = b.End
	}
	return out, out.Start.Cmp(out.End) <= 0
}
