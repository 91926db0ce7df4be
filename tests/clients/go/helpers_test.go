// Package compat runs Go's two major Kafka clients, franz-go and sarama, against a rafka
// broker, each used the ordinary way its users use it. tests/compat/test_go_clients.py
// starts the broker and runs one `go test -run` per test with RAFKA_BOOTSTRAP set.
//
// Run by hand against a broker on localhost:9092:
//
//	RAFKA_BOOTSTRAP=127.0.0.1:9092 go test -count=1 -v ./...
package compat

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Every wait in these tests polls a condition until a deadline; none sleeps for a
// fixed time hoping that something happened.
const (
	waitTimeout  = 30 * time.Second
	pollInterval = 20 * time.Millisecond
	// A Kafka timeout for one call (create, produce, commit...).
	opTimeout = 20 * time.Second
)

func bootstrap(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("RAFKA_BOOTSTRAP")
	if addr == "" {
		t.Fatal("RAFKA_BOOTSTRAP is not set: run via tests/compat/test_go_clients.py or set it to a broker's host:port")
	}
	return addr
}

var nameCounter atomic.Int64

// uniqueName gives each topic or group of one run a name of its own, so tests sharing a
// broker never see each other's data.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), nameCounter.Add(1))
}

// waitUntil polls cond until it holds, failing the test with describe() after waitTimeout.
func waitUntil(t *testing.T, what string, cond func() bool, describe func() string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; state: %s", waitTimeout, what, describe())
		}
		time.Sleep(pollInterval)
	}
}

// header and rec are one client-neutral view of a record, for exact comparisons.
type header struct {
	Key   string
	Value []byte
}

type rec struct {
	Partition int32
	Offset    int64
	Key       []byte // nil is a null key
	Value     []byte // nil is a null value
	Headers   []header
}

func (r rec) String() string {
	hs := make([]string, len(r.Headers))
	for i, h := range r.Headers {
		hs[i] = fmt.Sprintf("%s=%q", h.Key, h.Value)
	}
	show := func(b []byte) string {
		if b == nil {
			return "<null>"
		}
		if len(b) > 40 {
			return fmt.Sprintf("%q...(%d bytes)", b[:40], len(b))
		}
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("p%d@%d key=%s value=%s headers=[%s]",
		r.Partition, r.Offset, show(r.Key), show(r.Value), strings.Join(hs, ","))
}

func sameBytes(a, b []byte) bool {
	// A null and an empty key/value are different things in Kafka.
	return (a == nil) == (b == nil) && bytes.Equal(a, b)
}

func sameRec(a, b rec) bool {
	if a.Partition != b.Partition || a.Offset != b.Offset ||
		!sameBytes(a.Key, b.Key) || !sameBytes(a.Value, b.Value) || len(a.Headers) != len(b.Headers) {
		return false
	}
	for i := range a.Headers {
		if a.Headers[i].Key != b.Headers[i].Key || !bytes.Equal(a.Headers[i].Value, b.Headers[i].Value) {
			return false
		}
	}
	return true
}

func sortRecs(rs []rec) {
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].Partition != rs[j].Partition {
			return rs[i].Partition < rs[j].Partition
		}
		return rs[i].Offset < rs[j].Offset
	})
}

// assertSameRecords checks that got holds exactly the records of want (same partitions,
// offsets, keys, values and headers, none missing, none extra), in any order.
func assertSameRecords(t *testing.T, what string, want, got []rec) {
	t.Helper()
	w := append([]rec(nil), want...)
	g := append([]rec(nil), got...)
	sortRecs(w)
	sortRecs(g)
	ok := len(w) == len(g)
	for i := 0; ok && i < len(w); i++ {
		ok = sameRec(w[i], g[i])
	}
	if ok {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: want %d records, got %d\n", what, len(w), len(g))
	for i := 0; i < len(w) || i < len(g); i++ {
		var ws, gs string
		if i < len(w) {
			ws = w[i].String()
		}
		if i < len(g) {
			gs = g[i].String()
		}
		mark := "  "
		if i >= len(w) || i >= len(g) || !sameRec(w[i], g[i]) {
			mark = "!!"
		}
		fmt.Fprintf(&b, "%s want %-70s got %s\n", mark, ws, gs)
	}
	t.Fatal(b.String())
}

// recordsFor builds the records one test produces: n per partition, spread round-robin
// over the partitions, with keys, values and headers that say which record they are.
// Every record has a key except the first, whose key is null; the second has a null
// value, every fifth an empty one; the others are large and repetitive enough that each
// codec really compresses.
func recordsFor(tag string, partitions int32, perPartition int) []rec {
	var out []rec
	n := int(partitions) * perPartition
	for i := 0; i < n; i++ {
		p := int32(i) % partitions
		r := rec{
			Partition: p,
			Key:       []byte(fmt.Sprintf("%s-key-%03d", tag, i)),
			Value:     []byte(fmt.Sprintf("%s-value-%03d|%s", tag, i, strings.Repeat("rafka ", 20+i%7))),
			Headers: []header{
				{Key: "seq", Value: []byte(fmt.Sprint(i))},
				{Key: "tag", Value: []byte(tag)},
				{Key: "empty", Value: []byte{}},
			},
		}
		if i == 0 {
			r.Key = nil
		}
		if i == 1 {
			r.Value = nil
		}
		if i%5 == 4 {
			r.Value = []byte{}
		}
		out = append(out, r)
	}
	return out
}

// withOffsets assigns the offsets a fresh partition gives records produced in order.
func withOffsets(rs []rec, start map[int32]int64) []rec {
	next := map[int32]int64{}
	for p, o := range start {
		next[p] = o
	}
	out := make([]rec, len(rs))
	for i, r := range rs {
		r.Offset = next[r.Partition]
		next[r.Partition]++
		out[i] = r
	}
	return out
}

func partitionsOf(rs []rec) map[int32]bool {
	s := map[int32]bool{}
	for _, r := range rs {
		s[r.Partition] = true
	}
	return s
}

func filterRecs(rs []rec, keep func(rec) bool) []rec {
	var out []rec
	for _, r := range rs {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

func sortedInt32s(s map[int32]bool) []int32 {
	out := make([]int32, 0, len(s))
	for p, in := range s {
		if in {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
