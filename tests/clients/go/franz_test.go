package compat

// franz-go (github.com/twmb/franz-go: kgo for producing/consuming, kadm for admin), used
// the way its documentation shows.
//
// Producing clients keep franz-go's default, idempotent writes (InitProducerId), except
// where a test asks for acks other than all (franz-go refuses idempotence then).

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func franzClient(t *testing.T, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	all := append([]kgo.Opt{
		kgo.SeedBrokers(bootstrap(t)),
		kgo.ClientID("rafka-compat-franz"),
	}, opts...)
	cl, err := kgo.NewClient(all...)
	if err != nil {
		t.Fatalf("kgo.NewClient: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func franzAdmin(t *testing.T) *kadm.Client {
	t.Helper()
	// kadm answers topic listings from metadata it cached for MetadataMinAge (5s by
	// default); a short one lets the tests see a deletion without waiting that long.
	adm := kadm.NewClient(franzClient(t, kgo.MetadataMinAge(200*time.Millisecond)))
	adm.SetTimeoutMillis(int32(opTimeout / time.Millisecond))
	return adm
}

func configValue(c kadm.Config) string { return c.MaybeValue() }

func opCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	t.Cleanup(cancel)
	return ctx
}

func franzCreateTopic(t *testing.T, adm *kadm.Client, topic string, partitions int32, configs map[string]*string) kadm.CreateTopicResponse {
	t.Helper()
	resp, err := adm.CreateTopic(opCtx(t), partitions, 1, configs, topic)
	if err != nil {
		t.Fatalf("CreateTopic %s: %v (%s)", topic, err, resp.ErrMessage)
	}
	return resp
}

func toFranzRecord(topic string, r rec) *kgo.Record {
	kr := &kgo.Record{Topic: topic, Partition: r.Partition, Key: r.Key, Value: r.Value}
	for _, h := range r.Headers {
		kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
	}
	return kr
}

func fromFranzRecord(kr *kgo.Record) rec {
	r := rec{Partition: kr.Partition, Offset: kr.Offset, Key: kr.Key, Value: kr.Value}
	for _, h := range kr.Headers {
		r.Headers = append(r.Headers, header{Key: h.Key, Value: h.Value})
	}
	return r
}

// franzProduce sends rs in one ProduceSync call (so records share batches) to the
// partitions the records name, and returns them with the offsets the broker assigned.
func franzProduce(t *testing.T, cl *kgo.Client, topic string, rs []rec) []rec {
	t.Helper()
	krs := make([]*kgo.Record, len(rs))
	for i, r := range rs {
		krs[i] = toFranzRecord(topic, r)
	}
	results := cl.ProduceSync(opCtx(t), krs...)
	if err := results.FirstErr(); err != nil {
		t.Fatalf("ProduceSync to %s: %v", topic, err)
	}
	// Results come in the order produce requests complete; match them by record.
	index := make(map[*kgo.Record]int, len(krs))
	for i, kr := range krs {
		index[kr] = i
	}
	if len(results) != len(rs) {
		t.Fatalf("ProduceSync returned %d results for %d records", len(results), len(rs))
	}
	out := make([]rec, len(rs))
	for _, res := range results {
		i, ok := index[res.Record]
		if !ok {
			t.Fatalf("ProduceSync result for an unknown record %+v", res.Record)
		}
		if res.Record.Partition != rs[i].Partition {
			t.Fatalf("record %d went to partition %d, asked for %d", i, res.Record.Partition, rs[i].Partition)
		}
		out[i] = rs[i]
		out[i].Offset = res.Record.Offset
	}
	return out
}

// franzProducer is idempotent (franz-go's default) with acks=all; franz-go refuses
// idempotence with any other acks, so those producers opt out of it, as its docs say.
func franzProducer(t *testing.T, acks kgo.Acks, codec kgo.CompressionCodec) *kgo.Client {
	opts := []kgo.Opt{
		kgo.RequiredAcks(acks),
		kgo.ProducerBatchCompression(codec),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(50 * time.Millisecond),
	}
	if acks != kgo.AllISRAcks() {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	return franzClient(t, opts...)
}

// franzPollN polls cl until it has returned n records, failing on a fetch error or after
// waitTimeout.
func franzPollN(t *testing.T, cl *kgo.Client, n int) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	var got []*kgo.Record
	for len(got) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("timed out after %s with %d of %d records", waitTimeout, len(got), n)
		}
		fs.EachError(func(topic string, p int32, err error) {
			t.Fatalf("fetch error on %s[%d]: %v", topic, p, err)
		})
		got = append(got, fs.Records()...)
	}
	return got
}

func recsOf(krs []*kgo.Record) []rec {
	out := make([]rec, len(krs))
	for i, kr := range krs {
		out[i] = fromFranzRecord(kr)
	}
	return out
}

func TestFranzAdmin(t *testing.T) {
	adm := franzAdmin(t)
	topic := uniqueName("franz-admin")
	other := uniqueName("franz-admin-other")

	retention := "3600000"
	created := franzCreateTopic(t, adm, topic, 3, map[string]*string{"retention.ms": &retention})
	if created.Topic != topic || created.NumPartitions != 3 || created.ReplicationFactor != 1 {
		t.Fatalf("CreateTopic response: %+v", created)
	}
	franzCreateTopic(t, adm, other, 1, nil)

	// Creating it again is TOPIC_ALREADY_EXISTS.
	again, err := adm.CreateTopic(opCtx(t), 3, 1, nil, topic)
	if !errors.Is(err, kerr.TopicAlreadyExists) {
		t.Fatalf("second CreateTopic: want TOPIC_ALREADY_EXISTS, got %v (%+v)", err, again)
	}

	// List all topics: both are there, with their partitions led by the one broker.
	topics, err := adm.ListTopics(opCtx(t))
	if err != nil {
		t.Fatalf("ListTopics: %v", err)
	}
	for name, want := range map[string]int{topic: 3, other: 1} {
		d, ok := topics[name]
		if !ok {
			t.Fatalf("ListTopics lacks %s: %v", name, topics.Names())
		}
		if d.Err != nil || d.IsInternal || len(d.Partitions) != want {
			t.Fatalf("ListTopics %s: err=%v internal=%v partitions=%d, want %d", name, d.Err, d.IsInternal, len(d.Partitions), want)
		}
		brokers, err := adm.ListBrokers(opCtx(t))
		if err != nil || len(brokers) != 1 {
			t.Fatalf("ListBrokers: %v %v", brokers, err)
		}
		for p := int32(0); p < int32(want); p++ {
			pd, ok := d.Partitions[p]
			if !ok || pd.Err != nil || pd.Leader != brokers[0].NodeID ||
				fmt.Sprint(pd.Replicas) != fmt.Sprint([]int32{brokers[0].NodeID}) ||
				fmt.Sprint(pd.ISR) != fmt.Sprint([]int32{brokers[0].NodeID}) {
				t.Fatalf("%s partition %d: %+v (broker %d)", name, p, pd, brokers[0].NodeID)
			}
		}
	}
	if topics.Has("__consumer_offsets") {
		t.Fatalf("ListTopics (internal filtered) lists __consumer_offsets")
	}

	// Describe just the one topic.
	described, err := adm.ListTopics(opCtx(t), topic)
	if err != nil || len(described) != 1 || len(described[topic].Partitions) != 3 || described[topic].ID == (kadm.TopicID{}) {
		t.Fatalf("ListTopics(%s): %v %+v", topic, err, described)
	}

	// Create partitions: 3 -> 5.
	cp, err := adm.CreatePartitions(opCtx(t), 2, topic)
	if err != nil || cp[topic].Err != nil {
		t.Fatalf("CreatePartitions: %v %+v", err, cp)
	}
	waitUntil(t, topic+" to have 5 partitions", func() bool {
		d, err := adm.ListTopics(opCtx(t), topic)
		return err == nil && len(d[topic].Partitions) == 5
	}, func() string { d, err := adm.ListTopics(opCtx(t), topic); return fmt.Sprint(d, err) })

	// Produce to a new partition to show it is usable.
	p := franzProducer(t, kgo.AllISRAcks(), kgo.NoCompression())
	got := franzProduce(t, p, topic, []rec{{Partition: 4, Key: []byte("k"), Value: []byte("in partition 4")}})
	if got[0].Offset != 0 {
		t.Fatalf("first record in new partition 4 has offset %d", got[0].Offset)
	}

	// Describe configs: the override is dynamic, others are defaults.
	rcs, err := adm.DescribeTopicConfigs(opCtx(t), topic)
	if err != nil || len(rcs) != 1 || rcs[0].Err != nil {
		t.Fatalf("DescribeTopicConfigs: %v %+v", err, rcs)
	}
	cfg := map[string]kadm.Config{}
	for _, c := range rcs[0].Configs {
		cfg[c.Key] = c
	}
	if c := cfg["retention.ms"]; c.MaybeValue() != retention || c.Source != kmsg.ConfigSourceDynamicTopicConfig {
		t.Fatalf("retention.ms: %q source %v, want %q DYNAMIC_TOPIC_CONFIG", c.MaybeValue(), c.Source, retention)
	}
	if c := cfg["cleanup.policy"]; c.MaybeValue() != "delete" || c.Source == kmsg.ConfigSourceDynamicTopicConfig {
		t.Fatalf("cleanup.policy: %q source %v, want a default of delete", c.MaybeValue(), c.Source)
	}

	// Alter configs (IncrementalAlterConfigs): set two, then delete one back to its
	// default; an invalid value or an unknown name is INVALID_CONFIG and changes nothing.
	topicConfigs := func() map[string]kadm.Config {
		t.Helper()
		rcs, err := adm.DescribeTopicConfigs(opCtx(t), topic)
		if err != nil || len(rcs) != 1 || rcs[0].Err != nil {
			t.Fatalf("DescribeTopicConfigs: %v %+v", err, rcs)
		}
		out := map[string]kadm.Config{}
		for _, c := range rcs[0].Configs {
			out[c.Key] = c
		}
		return out
	}
	alter := func(cs ...kadm.AlterConfig) error {
		t.Helper()
		resp, err := adm.AlterTopicConfigs(opCtx(t), cs, topic)
		if err != nil {
			t.Fatalf("AlterTopicConfigs: %v", err)
		}
		if len(resp) != 1 || resp[0].Name != topic {
			t.Fatalf("AlterTopicConfigs answered %+v", resp)
		}
		return resp[0].Err
	}
	sval := func(v string) *string { return &v }
	if err := alter(
		kadm.AlterConfig{Op: kadm.SetConfig, Name: "retention.ms", Value: sval("60000")},
		kadm.AlterConfig{Op: kadm.SetConfig, Name: "max.message.bytes", Value: sval("2000000")},
	); err != nil {
		t.Fatalf("setting retention.ms and max.message.bytes: %v", err)
	}
	cfg = topicConfigs()
	if configValue(cfg["retention.ms"]) != "60000" || configValue(cfg["max.message.bytes"]) != "2000000" ||
		cfg["max.message.bytes"].Source != kmsg.ConfigSourceDynamicTopicConfig {
		t.Fatalf("after the set: retention.ms %+v, max.message.bytes %+v", cfg["retention.ms"], cfg["max.message.bytes"])
	}
	if err := alter(kadm.AlterConfig{Op: kadm.DeleteConfig, Name: "retention.ms"}); err != nil {
		t.Fatalf("deleting retention.ms: %v", err)
	}
	cfg = topicConfigs()
	if c := cfg["retention.ms"]; c.MaybeValue() != "604800000" || c.Source == kmsg.ConfigSourceDynamicTopicConfig {
		t.Fatalf("retention.ms after its override was deleted: %q source %v, want the default 604800000", c.MaybeValue(), c.Source)
	}
	if configValue(cfg["max.message.bytes"]) != "2000000" {
		t.Fatalf("max.message.bytes lost: %+v", cfg["max.message.bytes"])
	}
	for _, bad := range []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "retention.ms", Value: sval("not-a-number")},
		{Op: kadm.SetConfig, Name: "no.such.config", Value: sval("1")},
	} {
		if err := alter(bad); !errors.Is(err, kerr.InvalidConfig) {
			t.Fatalf("setting %s=%s: %v, want INVALID_CONFIG", bad.Name, *bad.Value, err)
		}
	}
	if c := topicConfigs()["retention.ms"]; c.MaybeValue() != "604800000" {
		t.Fatalf("a refused alter changed retention.ms to %q", c.MaybeValue())
	}

	// Delete the topic; it disappears from the listing, the other stays.
	del, err := adm.DeleteTopic(opCtx(t), topic)
	if err != nil || del.Err != nil {
		t.Fatalf("DeleteTopic: %v %+v", err, del)
	}
	waitUntil(t, topic+" to disappear", func() bool {
		all, err := adm.ListTopics(opCtx(t))
		return err == nil && !all.Has(topic) && all.Has(other)
	}, func() string { all, err := adm.ListTopics(opCtx(t)); return fmt.Sprint(all.Names(), err) })
	rcs, err = adm.DescribeTopicConfigs(opCtx(t), topic)
	if err != nil || len(rcs) != 1 || !errors.Is(rcs[0].Err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("DescribeTopicConfigs of a deleted topic: want UNKNOWN_TOPIC_OR_PARTITION, got %v %+v", err, rcs)
	}
}

var franzCodecs = []struct {
	name  string
	codec kgo.CompressionCodec
	attr  uint8 // the codec id in a batch's attributes
}{
	{"none", kgo.NoCompression(), 0},
	{"gzip", kgo.GzipCompression(), 1},
	{"snappy", kgo.SnappyCompression(), 2},
	{"lz4", kgo.Lz4Compression(), 3},
	{"zstd", kgo.ZstdCompression(), 4},
}

// Each codec: produce with acks=all, then with acks=1, to a 3-partition topic; a fresh
// consumer reads the topic from the beginning and gets exactly those records, in batches
// the producer's codec compressed.
func TestFranzProduceConsumeCodecs(t *testing.T) {
	adm := franzAdmin(t)
	for _, c := range franzCodecs {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // a topic of its own per codec
			topic := uniqueName("franz-codec-" + c.name)
			franzCreateTopic(t, adm, topic, 3, nil)

			all := recordsFor(c.name+"-acksall", 3, 8)
			one := recordsFor(c.name+"-acks1", 3, 8)
			want := withOffsets(append(append([]rec(nil), all...), one...), nil)

			got := franzProduce(t, franzProducer(t, kgo.AllISRAcks(), c.codec), topic, all)
			got = append(got, franzProduce(t, franzProducer(t, kgo.LeaderAck(), c.codec), topic, one)...)
			assertSameRecords(t, "produce results", want, got)

			consumer := franzClient(t,
				kgo.ConsumeTopics(topic),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			)
			krs := franzPollN(t, consumer, len(want))
			assertSameRecords(t, "consumed from the beginning", want, recsOf(krs))
			for _, kr := range krs {
				if kr.Topic != topic || kr.Attrs.CompressionType() != c.attr {
					t.Fatalf("record %s[%d]@%d: topic %s, batch codec %d, want %d",
						topic, kr.Partition, kr.Offset, kr.Topic, kr.Attrs.CompressionType(), c.attr)
				}
				if kr.Timestamp.IsZero() || time.Since(kr.Timestamp) > time.Hour {
					t.Fatalf("record %d@%d: implausible timestamp %v", kr.Partition, kr.Offset, kr.Timestamp)
				}
			}

			// A second, independent decoder: sarama reads the same records.
			pcs := consumePartitions(t, saramaConsumer(t), topic,
				map[int32]int64{0: sarama.OffsetOldest, 1: sarama.OffsetOldest, 2: sarama.OffsetOldest})
			assertSameRecords(t, "read back with sarama", want, saramaRecs(saramaConsumeN(t, pcs, len(want))))
		})
	}
}

// franzMember is one member of a consumer group, polling in the background and tracking
// the partitions the group gave it through franz-go's rebalance callbacks.
type franzMember struct {
	name string
	cl   *kgo.Client
	mu   sync.Mutex
	own  map[int32]bool
	// changes counts assignment changes (partitions assigned, revoked or lost).
	changes int
	recs    []*kgo.Record
	errs    []error
	done    chan struct{}
}

func newFranzMember(t *testing.T, name, group, topic string, extra ...kgo.Opt) *franzMember {
	m := &franzMember{name: name, own: map[int32]bool{}, done: make(chan struct{})}
	set := func(parts map[string][]int32, v bool) {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, p := range parts[topic] {
			m.own[p] = v
		}
		if len(parts[topic]) > 0 {
			m.changes++
		}
	}
	opts := append([]kgo.Opt{
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) { set(a, true) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, r map[string][]int32) { set(r, false) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, l map[string][]int32) { set(l, false) }),
	}, extra...)
	m.cl = franzClient(t, opts...)
	go func() {
		defer close(m.done)
		for {
			fs := m.cl.PollFetches(context.Background())
			if fs.IsClientClosed() {
				return
			}
			m.mu.Lock()
			fs.EachError(func(topic string, p int32, err error) {
				m.errs = append(m.errs, fmt.Errorf("%s[%d]: %w", topic, p, err))
			})
			m.recs = append(m.recs, fs.Records()...)
			m.mu.Unlock()
		}
	}()
	t.Cleanup(func() { m.close(t) })
	return m
}

func (m *franzMember) owned() map[int32]bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[int32]bool{}
	for p, v := range m.own {
		if v {
			out[p] = true
		}
	}
	return out
}

func (m *franzMember) records() []rec {
	m.mu.Lock()
	defer m.mu.Unlock()
	return recsOf(m.recs)
}

func (m *franzMember) checkErrors(t *testing.T) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.errs) > 0 {
		t.Fatalf("member %s fetch errors: %v", m.name, m.errs)
	}
}

func (m *franzMember) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	member, gen := m.cl.GroupMetadata()
	return fmt.Sprintf("%s(member %s gen %d owns %v, %d records, errors %v)",
		m.name, member, gen, m.own, len(m.recs), m.errs)
}

// close leaves the group (kgo's Close sends LeaveGroup) and waits for the poll loop.
func (m *franzMember) close(t *testing.T) {
	m.cl.Close()
	select {
	case <-m.done:
	case <-time.After(waitTimeout):
		t.Errorf("member %s poll loop did not stop", m.name)
	}
}

// waitRecords waits until the member has polled exactly want (any more fails too).
func (m *franzMember) waitRecords(t *testing.T, what string, want []rec) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%s to consume %d records (%s)", m.name, len(want), what), func() bool {
		m.checkErrors(t)
		return len(m.records()) >= len(want)
	}, m.String)
	assertSameRecords(t, m.name+": "+what, want, m.records())
}

func franzCommitted(t *testing.T, adm *kadm.Client, group, topic string) map[int32]int64 {
	t.Helper()
	resp, err := adm.FetchOffsets(opCtx(t), group)
	if err != nil {
		t.Fatalf("FetchOffsets %s: %v", group, err)
	}
	out := map[int32]int64{}
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Err != nil {
			t.Fatalf("FetchOffsets %s: %s[%d]: %v", group, o.Topic, o.Partition, o.Err)
		}
		if o.Topic == topic {
			out[o.Partition] = o.At
		}
	})
	return out
}

func franzGroupAssignments(t *testing.T, adm *kadm.Client, group, topic string, kip848 bool) (state string, byMember map[string][]int32) {
	t.Helper()
	if kip848 {
		return franzConsumerGroupAssignments(t, adm, group, topic)
	}
	groups, err := adm.DescribeGroups(opCtx(t), group)
	if err != nil {
		t.Fatalf("DescribeGroups: %v", err)
	}
	g := groups[group]
	if errors.Is(g.Err, kerr.GroupIDNotFound) {
		// DescribeGroups v6+ says so until the first member has joined.
		return "(not found)", nil
	}
	if g.Err != nil {
		t.Fatalf("DescribeGroups %s: %v %s", group, g.Err, g.ErrMessage)
	}
	byMember = map[string][]int32{}
	for _, m := range g.Members {
		var ps []int32
		if c, ok := m.Assigned.AsConsumer(); ok {
			for _, tp := range c.Topics {
				if tp.Topic == topic {
					ps = append(ps, tp.Partitions...)
				}
			}
		}
		sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
		byMember[m.MemberID] = ps
	}
	return g.State, byMember
}

// franzConsumerGroupAssignments describes a KIP-848 group (ConsumerGroupDescribe): its
// state and each member's current assignment.
func franzConsumerGroupAssignments(t *testing.T, adm *kadm.Client, group, topic string) (string, map[string][]int32) {
	t.Helper()
	groups, err := adm.DescribeConsumerGroups(opCtx(t), group)
	if err != nil {
		t.Fatalf("DescribeConsumerGroups: %v", err)
	}
	g := groups[group]
	if errors.Is(g.Err, kerr.GroupIDNotFound) {
		return "(not found)", nil
	}
	if g.Err != nil {
		t.Fatalf("DescribeConsumerGroups %s: %v", group, g.Err)
	}
	byMember := map[string][]int32{}
	for _, m := range g.Members {
		var ps []int32
		for p := range m.Assignment[topic] {
			ps = append(ps, p)
		}
		sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
		byMember[m.MemberID] = ps
	}
	return g.State, byMember
}

// groupMatches is true when the group is Stable with exactly these members, each owning
// (by its own callbacks and by the group's description) the partitions want gives it.
func franzGroupMatches(t *testing.T, adm *kadm.Client, group, topic string, kip848 bool, want map[*franzMember]int) bool {
	state, byMember := franzGroupAssignments(t, adm, group, topic, kip848)
	if state != "Stable" || len(byMember) != len(want) {
		return false
	}
	union := map[int32]int{}
	for m, n := range want {
		id, _ := m.cl.GroupMetadata()
		own := sortedInt32s(m.owned())
		if len(own) != n || fmt.Sprint(byMember[id]) != fmt.Sprint(own) {
			return false
		}
		for _, p := range own {
			union[p]++
		}
	}
	total := 0
	for _, n := range want {
		total += n
	}
	for _, c := range union {
		if c != 1 {
			return false
		}
	}
	return len(union) == total
}

// Two members of one group: the second joining splits the partitions between them, the
// first leaving hands all of them back to the second. Offsets are committed before each
// change, so every record is consumed exactly once, by the member owning its partition.
// With franz-go's default (cooperative-sticky, incremental rebalances), the eager range
// balancer, and KIP-848's broker-side assignment (group.protocol=consumer, "uniform").
func TestFranzConsumerGroupRebalance(t *testing.T) {
	for _, bal := range []struct {
		name   string
		kip848 bool
		opts   []kgo.Opt
	}{
		{"cooperative-sticky", false, nil},
		{"range-eager", false, []kgo.Opt{kgo.Balancers(kgo.RangeBalancer())}},
		{"kip848-uniform", true, []kgo.Opt{kgo.Balancers(kgo.StickyBalancer()), kgo.ServerSideBalancer()}},
	} {
		t.Run(bal.name, func(t *testing.T) {
			t.Parallel() // a topic and group of its own
			franzRebalance(t, bal.kip848, bal.opts...)
		})
	}
}

func franzRebalance(t *testing.T, kip848 bool, opts ...kgo.Opt) {
	adm := franzAdmin(t)
	topic := uniqueName("franz-group")
	group := uniqueName("franz-group")
	const parts = 4
	franzCreateTopic(t, adm, topic, parts, nil)
	producer := franzProducer(t, kgo.AllISRAcks(), kgo.NoCompression())

	batch1 := franzProduce(t, producer, topic, recordsFor("batch1", parts, 3))

	a := newFranzMember(t, "A", group, topic, opts...)
	describe := func() string {
		s, m := franzGroupAssignments(t, adm, group, topic, kip848)
		return fmt.Sprintf("group %s %v; %v", s, m, a)
	}
	waitUntil(t, "A to own all partitions", func() bool {
		return franzGroupMatches(t, adm, group, topic, kip848, map[*franzMember]int{a: parts})
	}, describe)
	a.waitRecords(t, "batch1", batch1)
	if err := a.cl.CommitUncommittedOffsets(opCtx(t)); err != nil {
		t.Fatalf("A commit: %v", err)
	}
	if got := franzCommitted(t, adm, group, topic); fmt.Sprint(got) != fmt.Sprint(map[int32]int64{0: 3, 1: 3, 2: 3, 3: 3}) {
		t.Fatalf("committed after batch1: %v", got)
	}

	// B joins: two partitions each.
	b := newFranzMember(t, "B", group, topic, opts...)
	describe2 := func() string { return describe() + "; " + b.String() }
	waitUntil(t, "A and B to own two partitions each", func() bool {
		return franzGroupMatches(t, adm, group, topic, kip848, map[*franzMember]int{a: parts / 2, b: parts / 2})
	}, describe2)
	aOwn, bOwn := a.owned(), b.owned()

	batch2 := franzProduce(t, producer, topic, recordsFor("batch2", parts, 2))
	a.waitRecords(t, "batch1 + batch2 of its partitions",
		append(append([]rec(nil), batch1...), filterRecs(batch2, func(r rec) bool { return aOwn[r.Partition] })...))
	b.waitRecords(t, "batch2 of its partitions (resuming from A's commit)",
		filterRecs(batch2, func(r rec) bool { return bOwn[r.Partition] }))
	if err := a.cl.CommitUncommittedOffsets(opCtx(t)); err != nil {
		t.Fatalf("A commit: %v", err)
	}
	if err := b.cl.CommitUncommittedOffsets(opCtx(t)); err != nil {
		t.Fatalf("B commit: %v", err)
	}

	// A leaves: B gets everything back.
	a.close(t)
	waitUntil(t, "B to own all partitions after A left", func() bool {
		return franzGroupMatches(t, adm, group, topic, kip848, map[*franzMember]int{b: parts})
	}, b.String)

	batch3 := franzProduce(t, producer, topic, recordsFor("batch3", parts, 2))
	b.waitRecords(t, "its batch2 + all of batch3",
		append(filterRecs(batch2, func(r rec) bool { return bOwn[r.Partition] }), batch3...))
	if err := b.cl.CommitUncommittedOffsets(opCtx(t)); err != nil {
		t.Fatalf("B commit: %v", err)
	}
	if got := franzCommitted(t, adm, group, topic); fmt.Sprint(got) != fmt.Sprint(map[int32]int64{0: 7, 1: 7, 2: 7, 3: 7}) {
		t.Fatalf("committed at the end: %v", got)
	}
}

// Commit part of what was consumed, restart a consumer in the same group: it resumes
// right after the committed offsets. Committed offsets are read back through kadm.
func TestFranzConsumerGroupCommitResume(t *testing.T) {
	adm := franzAdmin(t)
	topic := uniqueName("franz-commit")
	group := uniqueName("franz-commit")
	franzCreateTopic(t, adm, topic, 2, nil)
	producer := franzProducer(t, kgo.LeaderAck(), kgo.Lz4Compression())
	first := franzProduce(t, producer, topic, recordsFor("first", 2, 6))

	c1 := franzClient(t,
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
	)
	krs := franzPollN(t, c1, len(first))
	assertSameRecords(t, "first consumer", first, recsOf(krs))
	// Commit through p0@2 and p1@4: the next offsets to read are 3 and 5.
	var upTo []*kgo.Record
	for _, kr := range krs {
		if (kr.Partition == 0 && kr.Offset == 2) || (kr.Partition == 1 && kr.Offset == 4) {
			upTo = append(upTo, kr)
		}
	}
	if len(upTo) != 2 {
		t.Fatalf("did not find p0@2 and p1@4 among %v", recsOf(krs))
	}
	if err := c1.CommitRecords(opCtx(t), upTo...); err != nil {
		t.Fatalf("CommitRecords: %v", err)
	}
	c1.Close()

	if got := franzCommitted(t, adm, group, topic); fmt.Sprint(got) != fmt.Sprint(map[int32]int64{0: 3, 1: 5}) {
		t.Fatalf("kadm FetchOffsets: %v, want p0=3 p1=5", got)
	}
	lags, err := adm.Lag(opCtx(t), group)
	if err != nil || lags[group].FetchErr != nil || lags[group].DescribeErr != nil {
		t.Fatalf("Lag: %v %+v", err, lags)
	}
	if l := lags[group].Lag.Total(); l != 3+1 {
		t.Fatalf("group lag %d, want 4 (p0 6-3, p1 6-5)", l)
	}

	second := franzProduce(t, producer, topic, recordsFor("second", 2, 2))
	want := append(filterRecs(first, func(r rec) bool {
		return (r.Partition == 0 && r.Offset >= 3) || (r.Partition == 1 && r.Offset >= 5)
	}), second...)

	c2 := franzClient(t,
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
	)
	assertSameRecords(t, "restarted consumer resumes after the commit", want, recsOf(franzPollN(t, c2, len(want))))
	if err := c2.CommitUncommittedOffsets(opCtx(t)); err != nil {
		t.Fatalf("CommitUncommittedOffsets: %v", err)
	}
	// A group with a member cannot be deleted.
	if del, err := adm.DeleteGroup(opCtx(t), group); !errors.Is(err, kerr.NonEmptyGroup) || !errors.Is(del.Err, kerr.NonEmptyGroup) {
		t.Fatalf("DeleteGroup with a member: %v %+v, want NON_EMPTY_GROUP", err, del)
	}
	c2.Close()
	if got := franzCommitted(t, adm, group, topic); fmt.Sprint(got) != fmt.Sprint(map[int32]int64{0: 8, 1: 8}) {
		t.Fatalf("kadm FetchOffsets after the second consumer: %v, want p0=8 p1=8", got)
	}
	listed := func() map[string]kadm.ListedGroup {
		t.Helper()
		gs, err := adm.ListGroups(opCtx(t))
		if err != nil {
			t.Fatalf("ListGroups: %v", err)
		}
		return gs
	}
	waitUntil(t, "the group to be listed as Empty", func() bool {
		g, ok := listed()[group]
		return ok && g.State == "Empty" && g.ProtocolType == "consumer"
	}, func() string { return fmt.Sprintf("%+v", listed()[group]) })

	// Reset the empty group's offsets with the admin client (what `kafka-consumer-groups
	// --reset-offsets` does); the next consumer starts there.
	reset := kadm.Offsets{}
	reset.Add(kadm.Offset{Topic: topic, Partition: 0, At: 1, LeaderEpoch: -1})
	reset.Add(kadm.Offset{Topic: topic, Partition: 1, At: 7, LeaderEpoch: -1})
	if err := adm.CommitAllOffsets(opCtx(t), group, reset); err != nil {
		t.Fatalf("kadm CommitAllOffsets: %v", err)
	}
	if got := franzCommitted(t, adm, group, topic); fmt.Sprint(got) != fmt.Sprint(map[int32]int64{0: 1, 1: 7}) {
		t.Fatalf("kadm FetchOffsets after the reset: %v, want p0=1 p1=7", got)
	}
	all := append(append([]rec(nil), first...), second...)
	want = filterRecs(all, func(r rec) bool {
		return (r.Partition == 0 && r.Offset >= 1) || (r.Partition == 1 && r.Offset >= 7)
	})
	c3 := franzClient(t,
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.DisableAutoCommit(),
	)
	assertSameRecords(t, "consumer after the admin reset", want, recsOf(franzPollN(t, c3, len(want))))
	c3.Close()

	// Delete the group: gone from the listing, and its offsets with it.
	if del, err := adm.DeleteGroup(opCtx(t), group); err != nil || del.Err != nil {
		t.Fatalf("DeleteGroup: %v %+v", err, del)
	}
	if _, ok := listed()[group]; ok {
		t.Fatalf("ListGroups still lists %s after DeleteGroup", group)
	}
	if got := franzCommitted(t, adm, group, topic); len(got) != 0 {
		t.Fatalf("kadm FetchOffsets after DeleteGroup: %v, want none", got)
	}
}

// ListOffsets earliest/latest (before and after DeleteRecords), consuming from given
// offsets, and seeking a running consumer back.
func TestFranzSeekAndListOffsets(t *testing.T) {
	adm := franzAdmin(t)
	topic := uniqueName("franz-seek")
	franzCreateTopic(t, adm, topic, 2, nil)

	listed := func(start bool) map[int32]int64 {
		t.Helper()
		var l kadm.ListedOffsets
		var err error
		if start {
			l, err = adm.ListStartOffsets(opCtx(t), topic)
		} else {
			l, err = adm.ListEndOffsets(opCtx(t), topic)
		}
		if err != nil || l.Error() != nil {
			t.Fatalf("ListOffsets (start=%v): %v %v", start, err, l.Error())
		}
		out := map[int32]int64{}
		l.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
		return out
	}
	if s, e := listed(true), listed(false); fmt.Sprint(s) != "map[0:0 1:0]" || fmt.Sprint(e) != "map[0:0 1:0]" {
		t.Fatalf("empty topic: earliest %v latest %v, want 0 everywhere", s, e)
	}

	all := franzProduce(t, franzProducer(t, kgo.AllISRAcks(), kgo.ZstdCompression()), topic, recordsFor("seek", 2, 10))
	if s, e := listed(true), listed(false); fmt.Sprint(s) != "map[0:0 1:0]" || fmt.Sprint(e) != "map[0:10 1:10]" {
		t.Fatalf("after producing 10 per partition: earliest %v latest %v", s, e)
	}

	// Consume from given offsets: p0 from 6, p1 from 3.
	c := franzClient(t, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		topic: {0: kgo.NewOffset().At(6), 1: kgo.NewOffset().At(3)},
	}))
	from := func(p0, p1 int64) []rec {
		return filterRecs(all, func(r rec) bool {
			return (r.Partition == 0 && r.Offset >= p0) || (r.Partition == 1 && r.Offset >= p1)
		})
	}
	want := from(6, 3)
	assertSameRecords(t, "consuming p0 from 6, p1 from 3", want, recsOf(franzPollN(t, c, len(want))))

	// Seek the running consumer: p0 back to 1 (p1 stays at its end).
	c.SetOffsets(map[string]map[int32]kgo.EpochOffset{topic: {0: {Epoch: -1, Offset: 1}}})
	want = from(1, 10)
	assertSameRecords(t, "after seeking p0 to 1", want, recsOf(franzPollN(t, c, len(want))))

	// DeleteRecords before p0@4 moves p0's earliest offset; latest stays.
	os := kadm.Offsets{}
	os.Add(kadm.Offset{Topic: topic, Partition: 0, At: 4, LeaderEpoch: -1})
	dr, err := adm.DeleteRecords(opCtx(t), os)
	if err != nil || dr.Error() != nil {
		t.Fatalf("DeleteRecords: %v %v", err, dr.Error())
	}
	if s, e := listed(true), listed(false); fmt.Sprint(s) != "map[0:4 1:0]" || fmt.Sprint(e) != "map[0:10 1:10]" {
		t.Fatalf("after DeleteRecords p0<4: earliest %v latest %v", s, e)
	}

	// A consumer starting at the (new) beginning reads p0 from 4.
	begin := franzClient(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	want = from(4, 0)
	assertSameRecords(t, "from the start after DeleteRecords", want, recsOf(franzPollN(t, begin, len(want))))
}

// Records with the producer's own timestamps (CreateTime): consumed with exactly those,
// and ListOffsets by timestamp (first offset at or after it) and for the max timestamp.
func TestFranzTimestamps(t *testing.T) {
	adm := franzAdmin(t)
	topic := uniqueName("franz-times")
	franzCreateTopic(t, adm, topic, 1, nil)
	base := time.Now().Add(-10 * time.Minute).Truncate(time.Millisecond)
	p := franzProducer(t, kgo.AllISRAcks(), kgo.SnappyCompression())
	var krs []*kgo.Record
	for i := 0; i < 5; i++ {
		kr := toFranzRecord(topic, rec{Key: []byte(fmt.Sprint("t", i)), Value: []byte(fmt.Sprint("at +", i, "s"))})
		kr.Timestamp = base.Add(time.Duration(i) * time.Second)
		krs = append(krs, kr)
	}
	if err := p.ProduceSync(opCtx(t), krs...).FirstErr(); err != nil {
		t.Fatalf("ProduceSync: %v", err)
	}

	c := franzClient(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := franzPollN(t, c, 5)
	sort.Slice(got, func(i, j int) bool { return got[i].Offset < got[j].Offset })
	for i, kr := range got {
		if kr.Offset != int64(i) || !kr.Timestamp.Equal(base.Add(time.Duration(i)*time.Second)) || kr.Attrs.TimestampType() != 0 {
			t.Fatalf("record %d: offset %d timestamp %v (type %d), want offset %d CreateTime %v",
				i, kr.Offset, kr.Timestamp, kr.Attrs.TimestampType(), i, base.Add(time.Duration(i)*time.Second))
		}
	}

	ms := base.UnixMilli()
	for _, tc := range []struct {
		at         int64
		wantOffset int64
		wantTs     int64
	}{
		{ms - 5000, 0, ms},        // before everything: the first record
		{ms, 0, ms},               // exactly the first
		{ms + 1500, 2, ms + 2000}, // between +1s and +2s: the +2s record
		{ms + 4000, 4, ms + 4000}, // exactly the last
	} {
		l, err := adm.ListOffsetsAfterMilli(opCtx(t), tc.at, topic)
		if err != nil || l.Error() != nil {
			t.Fatalf("ListOffsetsAfterMilli(%d): %v %v", tc.at, err, l.Error())
		}
		o, ok := l.Lookup(topic, 0)
		if !ok || o.Offset != tc.wantOffset || o.Timestamp != tc.wantTs {
			t.Fatalf("ListOffsetsAfterMilli(base%+dms): %+v, want offset %d timestamp base%+dms",
				tc.at-ms, o, tc.wantOffset, tc.wantTs-ms)
		}
	}
	// After every record: no offset (-1), which kadm reports as the end offset.
	l, err := adm.ListOffsetsAfterMilli(opCtx(t), ms+60000, topic)
	if o, _ := l.Lookup(topic, 0); err != nil || o.Err != nil || o.Offset != 5 {
		t.Fatalf("ListOffsetsAfterMilli(after all): %+v %v, want the end offset 5", o, err)
	}
	// MAX_TIMESTAMP: the record with the largest timestamp.
	l, err = adm.ListMaxTimestampOffsets(opCtx(t), topic)
	if o, _ := l.Lookup(topic, 0); err != nil || o.Err != nil || o.Offset != 4 || o.Timestamp != ms+4000 {
		t.Fatalf("ListMaxTimestampOffsets: %+v %v, want offset 4 timestamp base+4000ms", o, err)
	}
}

// Static membership (group.instance.id): a member that restarts with the same instance ID
// within the session timeout gets its old partitions back without a rebalance: the other
// member's generation and assignment never change, and the group's member for that
// instance gets the new member ID.
func TestFranzStaticMembership(t *testing.T) {
	adm := franzAdmin(t)
	topic := uniqueName("franz-static")
	group := uniqueName("franz-static")
	const parts = 4
	franzCreateTopic(t, adm, topic, parts, nil)
	producer := franzProducer(t, kgo.AllISRAcks(), kgo.NoCompression())

	a := newFranzMember(t, "A", group, topic, kgo.InstanceID("instance-a"))
	waitUntil(t, "A to own all partitions", func() bool {
		return franzGroupMatches(t, adm, group, topic, false, map[*franzMember]int{a: parts})
	}, a.String)
	b := newFranzMember(t, "B", group, topic, kgo.InstanceID("instance-b"))
	waitUntil(t, "A and B to own two partitions each", func() bool {
		return franzGroupMatches(t, adm, group, topic, false, map[*franzMember]int{a: parts / 2, b: parts / 2})
	}, func() string { return a.String() + "; " + b.String() })
	aOwn, bOwn := a.owned(), b.owned()
	aMember, aGen := a.cl.GroupMetadata()
	bMember, bGen := b.cl.GroupMetadata()
	if aGen != bGen {
		t.Fatalf("A in generation %d, B in %d", aGen, bGen)
	}
	a.mu.Lock()
	aChanges := a.changes
	a.mu.Unlock()

	batch1 := franzProduce(t, producer, topic, recordsFor("batch1", parts, 2))
	a.waitRecords(t, "batch1 of its partitions", filterRecs(batch1, func(r rec) bool { return aOwn[r.Partition] }))
	b.waitRecords(t, "batch1 of its partitions", filterRecs(batch1, func(r rec) bool { return bOwn[r.Partition] }))
	for _, m := range []*franzMember{a, b} {
		if err := m.cl.CommitUncommittedOffsets(opCtx(t)); err != nil {
			t.Fatalf("%s commit: %v", m.name, err)
		}
	}

	// B stops without leaving (static members do not send LeaveGroup): the group keeps
	// both members, instance-b included.
	b.close(t)
	groups, err := adm.DescribeGroups(opCtx(t), group)
	if err != nil || groups[group].Err != nil {
		t.Fatalf("DescribeGroups: %v %+v", err, groups)
	}
	instances := map[string]string{}
	for _, m := range groups[group].Members {
		if m.InstanceID != nil {
			instances[*m.InstanceID] = m.MemberID
		}
	}
	if g := groups[group]; g.State != "Stable" || len(g.Members) != 2 ||
		instances["instance-a"] != aMember || instances["instance-b"] != bMember {
		t.Fatalf("after B stopped: state %s, members by instance %v; want Stable with A %s and B %s",
			g.State, instances, aMember, bMember)
	}

	// B restarts with the same instance ID: same partitions, same generation, a new
	// member ID, and nothing changes for A.
	b2 := newFranzMember(t, "B'", group, topic, kgo.InstanceID("instance-b"))
	waitUntil(t, "B' to own B's partitions", func() bool {
		return fmt.Sprint(sortedInt32s(b2.owned())) == fmt.Sprint(sortedInt32s(bOwn))
	}, func() string { return a.String() + "; " + b2.String() })
	b2Member, b2Gen := b2.cl.GroupMetadata()
	if b2Gen != bGen || b2Member == bMember {
		t.Fatalf("B' is member %s in generation %d; want a new member ID (B was %s) in B's generation %d",
			b2Member, b2Gen, bMember, bGen)
	}
	if !franzGroupMatches(t, adm, group, topic, false, map[*franzMember]int{a: parts / 2, b2: parts / 2}) {
		state, by := franzGroupAssignments(t, adm, group, topic, false)
		t.Fatalf("group after B' rejoined: %s %v; %v; %v", state, by, a, b2)
	}

	batch2 := franzProduce(t, producer, topic, recordsFor("batch2", parts, 2))
	b2.waitRecords(t, "batch2 of B's partitions (resuming from B's commit)", filterRecs(batch2, func(r rec) bool { return bOwn[r.Partition] }))
	a.waitRecords(t, "batch1 + batch2 of its partitions",
		filterRecs(append(append([]rec(nil), batch1...), batch2...), func(r rec) bool { return aOwn[r.Partition] }))
	_, aGenNow := a.cl.GroupMetadata()
	a.mu.Lock()
	aChangesNow := a.changes
	a.mu.Unlock()
	if aGenNow != aGen || aChangesNow != aChanges || fmt.Sprint(sortedInt32s(a.owned())) != fmt.Sprint(sortedInt32s(aOwn)) {
		t.Fatalf("A saw a rebalance: generation %d -> %d, assignment changes %d -> %d, owns %v (had %v)",
			aGen, aGenNow, aChanges, aChangesNow, sortedInt32s(a.owned()), sortedInt32s(aOwn))
	}
}

// Records near the broker's message.max.bytes (1 MiB by default), read by a consumer whose
// fetch limits are far smaller: the broker still returns the first batch whole (KIP-74),
// so the consumer makes progress. Also produces to a topic that does not exist yet, which
// the broker auto-creates (auto.create.topics.enable, num.partitions=1).
func TestFranzLargeRecords(t *testing.T) {
	adm := franzAdmin(t)
	topic := uniqueName("franz-large")
	var rs []rec
	for i := 0; i < 3; i++ {
		v := make([]byte, 900*1024)
		for j := range v {
			v[j] = byte((i*131 + j*7) % 251) // incompressible enough to stay large
		}
		rs = append(rs, rec{Key: []byte(fmt.Sprint("large-", i)), Value: v,
			Headers: []header{{Key: "size", Value: []byte(fmt.Sprint(len(v)))}}})
	}
	p := franzClient(t,
		kgo.AllowAutoTopicCreation(),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchCompression(kgo.NoCompression()), // batches as large as the records
	)
	got := franzProduce(t, p, topic, rs)
	assertSameRecords(t, "produce results", withOffsets(rs, nil), got)
	topics, err := adm.ListTopics(opCtx(t), topic)
	if err != nil || len(topics[topic].Partitions) != 1 {
		t.Fatalf("auto-created %s: %v %+v, want 1 partition", topic, err, topics[topic])
	}

	c := franzClient(t,
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxBytes(64*1024),
		kgo.FetchMaxPartitionBytes(16*1024),
	)
	assertSameRecords(t, "consumed with small fetch limits", got, recsOf(franzPollN(t, c, len(got))))

	// Over message.max.bytes (the batch, uncompressed here) is refused by the broker;
	// franz-go's own batch limit is raised past it so that the broker decides.
	huge := franzClient(t, kgo.ProducerBatchMaxBytes(4*1024*1024), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	res := huge.ProduceSync(opCtx(t), &kgo.Record{Topic: topic, Value: make([]byte, 1024*1024+1)})
	if err := res.FirstErr(); !errors.Is(err, kerr.MessageTooLarge) {
		t.Fatalf("producing 1 MiB + 1 byte: %v, want MESSAGE_TOO_LARGE", err)
	}
}
