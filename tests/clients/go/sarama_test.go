package compat

// sarama (github.com/IBM/sarama), used the way its documentation and examples show:
// ClusterAdmin, SyncProducer, Consumer/PartitionConsumer and ConsumerGroup, with the
// default protocol version (sarama.DefaultVersion, Kafka 2.8).
//
// Producers keep sarama's default (Producer.Idempotent = false) except in
// TestSaramaIdempotentProducer.

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
)

func init() {
	// RAFKA_GO_CLIENT_LOG=1 shows sarama's own log (connections, rebalances, retries).
	if os.Getenv("RAFKA_GO_CLIENT_LOG") != "" {
		sarama.Logger = log.New(os.Stderr, "[sarama] ", log.Lmicroseconds)
	}
}

func saramaConfig() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.ClientID = "rafka-compat-sarama"
	cfg.Net.DialTimeout = opTimeout
	cfg.Admin.Timeout = opTimeout
	cfg.Producer.Idempotent = false // the default; rafka has no InitProducerId yet
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Metadata.RefreshFrequency = time.Minute
	return cfg
}

func saramaClient(t *testing.T, cfg *sarama.Config) sarama.Client {
	t.Helper()
	cl, err := sarama.NewClient([]string{bootstrap(t)}, cfg)
	if err != nil {
		t.Fatalf("sarama.NewClient: %v", err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

func saramaAdmin(t *testing.T) sarama.ClusterAdmin {
	t.Helper()
	adm, err := sarama.NewClusterAdmin([]string{bootstrap(t)}, saramaConfig())
	if err != nil {
		t.Fatalf("sarama.NewClusterAdmin: %v", err)
	}
	t.Cleanup(func() { _ = adm.Close() })
	return adm
}

func saramaCreateTopic(t *testing.T, adm sarama.ClusterAdmin, topic string, partitions int32, configs map[string]*string) {
	t.Helper()
	err := adm.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1, ConfigEntries: configs}, false)
	if err != nil {
		t.Fatalf("CreateTopic %s: %v", topic, err)
	}
}

func saramaProducer(t *testing.T, acks sarama.RequiredAcks, codec sarama.CompressionCodec, tweaks ...func(*sarama.Config)) sarama.SyncProducer {
	t.Helper()
	cfg := saramaConfig()
	for _, tweak := range tweaks {
		tweak(cfg)
	}
	cfg.Producer.RequiredAcks = acks
	cfg.Producer.Compression = codec
	cfg.Producer.Flush.Frequency = 20 * time.Millisecond // let records share batches
	p, err := sarama.NewSyncProducer([]string{bootstrap(t)}, cfg)
	if err != nil {
		t.Fatalf("sarama.NewSyncProducer: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func bytesOrNil(b []byte) sarama.Encoder {
	if b == nil {
		return nil // a null key or value
	}
	return sarama.ByteEncoder(b)
}

// saramaProduce sends rs in one SendMessages call and returns them with the offsets the
// broker assigned.
func saramaProduce(t *testing.T, p sarama.SyncProducer, topic string, rs []rec) []rec {
	t.Helper()
	msgs := make([]*sarama.ProducerMessage, len(rs))
	for i, r := range rs {
		m := &sarama.ProducerMessage{Topic: topic, Partition: r.Partition, Key: bytesOrNil(r.Key), Value: bytesOrNil(r.Value)}
		for _, h := range r.Headers {
			m.Headers = append(m.Headers, sarama.RecordHeader{Key: []byte(h.Key), Value: h.Value})
		}
		msgs[i] = m
	}
	if err := p.SendMessages(msgs); err != nil {
		var perrs sarama.ProducerErrors
		if errors.As(err, &perrs) && len(perrs) > 0 {
			t.Fatalf("SendMessages to %s: %d failed, first: %v", topic, len(perrs), perrs[0].Err)
		}
		t.Fatalf("SendMessages to %s: %v", topic, err)
	}
	out := make([]rec, len(rs))
	for i, m := range msgs {
		if m.Partition != rs[i].Partition {
			t.Fatalf("message %d went to partition %d, asked for %d", i, m.Partition, rs[i].Partition)
		}
		out[i] = rs[i]
		out[i].Offset = m.Offset
	}
	return out
}

func fromSarama(m *sarama.ConsumerMessage) rec {
	r := rec{Partition: m.Partition, Offset: m.Offset, Key: m.Key, Value: m.Value}
	for _, h := range m.Headers {
		r.Headers = append(r.Headers, header{Key: string(h.Key), Value: h.Value})
	}
	return r
}

// saramaConsumeN reads n messages from the given partition consumers.
func saramaConsumeN(t *testing.T, pcs []sarama.PartitionConsumer, n int) []*sarama.ConsumerMessage {
	t.Helper()
	merged := make(chan *sarama.ConsumerMessage)
	errs := make(chan error, len(pcs))
	stop := make(chan struct{})
	defer close(stop)
	for _, pc := range pcs {
		go func(pc sarama.PartitionConsumer) {
			for {
				select {
				case m, ok := <-pc.Messages():
					if !ok {
						return
					}
					select {
					case merged <- m:
					case <-stop:
						return
					}
				case e, ok := <-pc.Errors():
					if ok {
						errs <- e
					}
				case <-stop:
					return
				}
			}
		}(pc)
	}
	var got []*sarama.ConsumerMessage
	deadline := time.After(waitTimeout)
	for len(got) < n {
		select {
		case m := <-merged:
			got = append(got, m)
		case e := <-errs:
			t.Fatalf("consumer error: %v", e)
		case <-deadline:
			t.Fatalf("timed out after %s with %d of %d messages", waitTimeout, len(got), n)
		}
	}
	return got
}

func saramaRecs(ms []*sarama.ConsumerMessage) []rec {
	out := make([]rec, len(ms))
	for i, m := range ms {
		out[i] = fromSarama(m)
	}
	return out
}

func consumePartitions(t *testing.T, c sarama.Consumer, topic string, from map[int32]int64) []sarama.PartitionConsumer {
	t.Helper()
	var pcs []sarama.PartitionConsumer
	for p, o := range from {
		pc, err := c.ConsumePartition(topic, p, o)
		if err != nil {
			t.Fatalf("ConsumePartition %s[%d] at %d: %v", topic, p, o, err)
		}
		t.Cleanup(func() { _ = pc.Close() })
		pcs = append(pcs, pc)
	}
	return pcs
}

func saramaConsumer(t *testing.T, tweaks ...func(*sarama.Config)) sarama.Consumer {
	t.Helper()
	cfg := saramaConfig()
	for _, tweak := range tweaks {
		tweak(cfg)
	}
	c, err := sarama.NewConsumer([]string{bootstrap(t)}, cfg)
	if err != nil {
		t.Fatalf("sarama.NewConsumer: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestSaramaAdmin(t *testing.T) {
	adm := saramaAdmin(t)
	topic := uniqueName("sarama-admin")
	other := uniqueName("sarama-admin-other")

	retention := "7200000"
	saramaCreateTopic(t, adm, topic, 3, map[string]*string{"retention.ms": &retention})
	saramaCreateTopic(t, adm, other, 1, nil)
	err := adm.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1}, false)
	if !errors.Is(err, sarama.ErrTopicAlreadyExists) {
		t.Fatalf("second CreateTopic: want ErrTopicAlreadyExists, got %v", err)
	}

	brokers, controller, err := adm.DescribeCluster()
	if err != nil || len(brokers) != 1 || controller != brokers[0].ID() {
		t.Fatalf("DescribeCluster: %v controller %d, %v", brokers, controller, err)
	}
	node := brokers[0].ID()

	// ListTopics: both, with their partition counts, replication factor and the configs
	// the topic was created with.
	topics, err := adm.ListTopics()
	if err != nil {
		t.Fatalf("ListTopics: %v", err)
	}
	for name, want := range map[string]int32{topic: 3, other: 1} {
		d, ok := topics[name]
		if !ok || d.NumPartitions != want || d.ReplicationFactor != 1 {
			t.Fatalf("ListTopics %s: %+v (present %v), want %d partitions, RF 1", name, d, ok, want)
		}
	}
	if v := topics[topic].ConfigEntries["retention.ms"]; v == nil || *v != retention {
		t.Fatalf("ListTopics %s configs: %v, want retention.ms=%s", topic, topics[topic].ConfigEntries, retention)
	}

	// DescribeTopics: partitions led by the one broker.
	describe := func() *sarama.TopicMetadata {
		t.Helper()
		md, err := adm.DescribeTopics([]string{topic})
		if err != nil || len(md) != 1 || md[0].Name != topic {
			t.Fatalf("DescribeTopics: %v %+v", err, md)
		}
		return md[0]
	}
	md := describe()
	if md.Err != sarama.ErrNoError || md.IsInternal || len(md.Partitions) != 3 {
		t.Fatalf("DescribeTopics %s: err %v internal %v partitions %d", topic, md.Err, md.IsInternal, len(md.Partitions))
	}
	for _, p := range md.Partitions {
		if p.Err != sarama.ErrNoError || p.Leader != node ||
			fmt.Sprint(p.Replicas) != fmt.Sprint([]int32{node}) || fmt.Sprint(p.Isr) != fmt.Sprint([]int32{node}) {
			t.Fatalf("partition %d: %+v", p.ID, p)
		}
	}

	// CreatePartitions: 3 -> 5, and the new partition takes records.
	if err := adm.CreatePartitions(topic, 5, nil, false); err != nil {
		t.Fatalf("CreatePartitions: %v", err)
	}
	waitUntil(t, topic+" to have 5 partitions", func() bool { return len(describe().Partitions) == 5 },
		func() string { return fmt.Sprint(describe().Partitions) })
	got := saramaProduce(t, saramaProducer(t, sarama.WaitForAll, sarama.CompressionNone), topic,
		[]rec{{Partition: 4, Key: []byte("k"), Value: []byte("in partition 4")}})
	if got[0].Offset != 0 {
		t.Fatalf("first record in new partition 4 has offset %d", got[0].Offset)
	}

	// DescribeConfig: the override is a dynamic topic config, the rest defaults.
	entries, err := adm.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic})
	if err != nil {
		t.Fatalf("DescribeConfig: %v", err)
	}
	cfg := map[string]sarama.ConfigEntry{}
	for _, e := range entries {
		cfg[e.Name] = e
	}
	if e := cfg["retention.ms"]; e.Value != retention || e.Source != sarama.SourceTopic || e.Default {
		t.Fatalf("retention.ms: %+v, want %s from the topic", e, retention)
	}
	if e := cfg["cleanup.policy"]; e.Value != "delete" || e.Source == sarama.SourceTopic {
		t.Fatalf("cleanup.policy: %+v, want a default of delete", e)
	}

	// IncrementalAlterConfig sets and deletes single configs; the legacy AlterConfig
	// replaces the whole set of overrides (those it does not name go back to defaults).
	describeConfigs := func() map[string]sarama.ConfigEntry {
		t.Helper()
		entries, err := adm.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic})
		if err != nil {
			t.Fatalf("DescribeConfig: %v", err)
		}
		out := map[string]sarama.ConfigEntry{}
		for _, e := range entries {
			out[e.Name] = e
		}
		return out
	}
	sval := func(v string) *string { return &v }
	if err := adm.IncrementalAlterConfig(sarama.TopicResource, topic, map[string]sarama.IncrementalAlterConfigsEntry{
		"max.message.bytes": {Operation: sarama.IncrementalAlterConfigsOperationSet, Value: sval("2000000")},
		"retention.ms":      {Operation: sarama.IncrementalAlterConfigsOperationDelete},
	}, false); err != nil {
		t.Fatalf("IncrementalAlterConfig: %v", err)
	}
	cfg = describeConfigs()
	if cfg["max.message.bytes"].Value != "2000000" || cfg["max.message.bytes"].Source != sarama.SourceTopic ||
		cfg["retention.ms"].Value != "604800000" || cfg["retention.ms"].Source == sarama.SourceTopic {
		t.Fatalf("after IncrementalAlterConfig: max.message.bytes %+v, retention.ms %+v", cfg["max.message.bytes"], cfg["retention.ms"])
	}
	if err := adm.AlterConfig(sarama.TopicResource, topic, map[string]*string{"segment.ms": sval("3600000")}, false); err != nil {
		t.Fatalf("AlterConfig: %v", err)
	}
	cfg = describeConfigs()
	if cfg["segment.ms"].Value != "3600000" || cfg["segment.ms"].Source != sarama.SourceTopic ||
		cfg["max.message.bytes"].Source == sarama.SourceTopic {
		t.Fatalf("after AlterConfig (replacing all overrides): segment.ms %+v, max.message.bytes %+v", cfg["segment.ms"], cfg["max.message.bytes"])
	}
	err = adm.IncrementalAlterConfig(sarama.TopicResource, topic, map[string]sarama.IncrementalAlterConfigsEntry{
		"retention.ms": {Operation: sarama.IncrementalAlterConfigsOperationSet, Value: sval("not-a-number")},
	}, false)
	if !errors.Is(err, sarama.ErrInvalidConfig) {
		t.Fatalf("retention.ms=not-a-number: %v, want ErrInvalidConfig", err)
	}

	// DeleteTopic: gone from the listing, the other one stays.
	if err := adm.DeleteTopic(topic); err != nil {
		t.Fatalf("DeleteTopic: %v", err)
	}
	waitUntil(t, topic+" to disappear", func() bool {
		all, err := adm.ListTopics()
		_, has := all[topic]
		_, hasOther := all[other]
		return err == nil && !has && hasOther
	}, func() string { all, err := adm.ListTopics(); return fmt.Sprint(len(all), err) })
	if err := adm.DeleteTopic(topic); !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
		t.Fatalf("deleting it again: want ErrUnknownTopicOrPartition, got %v", err)
	}
}

var saramaCodecs = []struct {
	name  string
	codec sarama.CompressionCodec
}{
	{"none", sarama.CompressionNone},
	{"gzip", sarama.CompressionGZIP},
	{"snappy", sarama.CompressionSnappy},
	{"lz4", sarama.CompressionLZ4},
	{"zstd", sarama.CompressionZSTD},
}

// Each codec: SyncProducer with acks=all then acks=1 to a 3-partition topic; partition
// consumers from the oldest offset get exactly those records.
func TestSaramaProduceConsumeCodecs(t *testing.T) {
	adm := saramaAdmin(t)
	for _, c := range saramaCodecs {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // a topic of its own per codec
			topic := uniqueName("sarama-codec-" + c.name)
			saramaCreateTopic(t, adm, topic, 3, nil)

			all := recordsFor(c.name+"-acksall", 3, 8)
			one := recordsFor(c.name+"-acks1", 3, 8)
			want := withOffsets(append(append([]rec(nil), all...), one...), nil)

			got := saramaProduce(t, saramaProducer(t, sarama.WaitForAll, c.codec), topic, all)
			got = append(got, saramaProduce(t, saramaProducer(t, sarama.WaitForLocal, c.codec), topic, one)...)
			assertSameRecords(t, "produce results", want, got)

			pcs := consumePartitions(t, saramaConsumer(t), topic,
				map[int32]int64{0: sarama.OffsetOldest, 1: sarama.OffsetOldest, 2: sarama.OffsetOldest})
			ms := saramaConsumeN(t, pcs, len(want))
			assertSameRecords(t, "consumed from the oldest offset", want, saramaRecs(ms))
			for _, m := range ms {
				if m.Topic != topic || m.Timestamp.IsZero() || time.Since(m.Timestamp) > time.Hour {
					t.Fatalf("message %d@%d: topic %s timestamp %v", m.Partition, m.Offset, m.Topic, m.Timestamp)
				}
			}
			for _, pc := range pcs {
				if hw := pc.HighWaterMarkOffset(); hw != 16 {
					t.Fatalf("high watermark %d, want 16", hw)
				}
			}

			// A second, independent decoder: franz-go reads the same records and sees
			// the batches stored with sarama's codec.
			krs := franzPollN(t, franzClient(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())), len(want))
			assertSameRecords(t, "read back with franz-go", want, recsOf(krs))
			for _, kr := range krs {
				if codec := kr.Attrs.CompressionType(); codec != uint8(c.codec) {
					t.Fatalf("record %d@%d is in a batch with codec %d, sarama produced with %d (%s)",
						kr.Partition, kr.Offset, codec, c.codec, c.name)
				}
			}
		})
	}
}

// saramaMember is one member of a consumer group: a ConsumerGroup whose Consume loop runs
// in the background, with the handler recording its claims and every message.
type saramaMember struct {
	name   string
	topic  string
	group  sarama.ConsumerGroup
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	claims   map[int32]bool // partitions with a running ConsumeClaim
	memberID string
	session  sarama.ConsumerGroupSession
	msgs     []*sarama.ConsumerMessage
	errs     []error
}

func (m *saramaMember) Setup(s sarama.ConsumerGroupSession) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.memberID = s.MemberID()
	m.session = s
	return nil
}

func (m *saramaMember) Cleanup(s sarama.ConsumerGroupSession) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.session = nil
	return nil
}

// ConsumeClaim runs while the member owns the partition: for the whole session with an
// eager strategy, until the partition is revoked with the cooperative one (whose session
// outlives rebalances).
func (m *saramaMember) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	m.mu.Lock()
	m.claims[claim.Partition()] = true
	m.memberID = s.MemberID()
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.claims, claim.Partition())
		m.mu.Unlock()
	}()
	for {
		select {
		case msg, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			// Marked before it is recorded: once a test has seen a message, its mark is
			// in place (and a test's own ResetOffset cannot be overtaken by it).
			s.MarkMessage(msg, "")
			m.mu.Lock()
			m.msgs = append(m.msgs, msg)
			m.mu.Unlock()
		case <-s.Context().Done():
			return nil
		}
	}
}

func newSaramaMember(t *testing.T, name, group, topic string, autoCommit bool, tweaks ...func(*sarama.Config)) *saramaMember {
	cfg := saramaConfig()
	for _, tweak := range tweaks {
		tweak(cfg)
	}
	cfg.Consumer.Offsets.AutoCommit.Enable = autoCommit
	cfg.Consumer.Offsets.AutoCommit.Interval = 200 * time.Millisecond
	g, err := sarama.NewConsumerGroup([]string{bootstrap(t)}, group, cfg)
	if err != nil {
		t.Fatalf("NewConsumerGroup: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &saramaMember{name: name, topic: topic, group: g, cancel: cancel, done: make(chan struct{}), claims: map[int32]bool{}}
	go func() {
		for e := range g.Errors() {
			m.mu.Lock()
			m.errs = append(m.errs, e)
			m.mu.Unlock()
		}
	}()
	go func() {
		defer close(m.done)
		// The documented loop: Consume returns at every rebalance and is called again.
		for ctx.Err() == nil {
			if err := g.Consume(ctx, []string{topic}, m); err != nil {
				if errors.Is(err, sarama.ErrClosedConsumerGroup) {
					return
				}
				m.mu.Lock()
				m.errs = append(m.errs, err)
				m.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { m.stop(t) })
	return m
}

// stop ends the session (its marked offsets are committed when auto-commit is on) and
// then closes the group, which leaves it.
func (m *saramaMember) stop(t *testing.T) {
	m.cancel()
	select {
	case <-m.done:
	case <-time.After(waitTimeout):
		t.Errorf("member %s Consume loop did not stop", m.name)
	}
	_ = m.group.Close()
}

func (m *saramaMember) state() (claims []int32, memberID string, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ps := make([]int32, 0, len(m.claims))
	for p := range m.claims {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	return ps, m.memberID, len(m.msgs)
}

func (m *saramaMember) records() []rec {
	m.mu.Lock()
	defer m.mu.Unlock()
	return saramaRecs(m.msgs)
}

func (m *saramaMember) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return fmt.Sprintf("%s(member %s claims %v, %d messages, errors %v)", m.name, m.memberID, sortedInt32s(m.claims), len(m.msgs), m.errs)
}

func (m *saramaMember) checkErrors(t *testing.T) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.errs) > 0 {
		t.Fatalf("member %s errors: %v", m.name, m.errs)
	}
}

func (m *saramaMember) waitRecords(t *testing.T, what string, want []rec) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%s to consume %d records (%s)", m.name, len(want), what), func() bool {
		m.checkErrors(t)
		_, _, n := m.state()
		return n >= len(want)
	}, m.String)
	assertSameRecords(t, m.name+": "+what, want, m.records())
}

func saramaGroupAssignments(t *testing.T, adm sarama.ClusterAdmin, group, topic string) (string, map[string][]int32) {
	t.Helper()
	ds, err := adm.DescribeConsumerGroups([]string{group})
	if err != nil || len(ds) != 1 {
		t.Fatalf("DescribeConsumerGroups: %v %v", err, ds)
	}
	d := ds[0]
	if errors.Is(d.Err, sarama.ErrGroupIDNotFound) {
		return "(not found)", nil // until the first member has joined
	}
	if d.Err != sarama.ErrNoError {
		t.Fatalf("DescribeConsumerGroups %s: %v", group, d.Err)
	}
	out := map[string][]int32{}
	for id, m := range d.Members {
		a, err := m.GetMemberAssignment()
		if err != nil {
			t.Fatalf("member %s assignment: %v", id, err)
		}
		var ps []int32
		if a != nil { // nil while the group has no assignment (mid-rebalance)
			ps = append(ps, a.Topics[topic]...)
		}
		sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
		out[id] = ps
	}
	return d.State, out
}

// saramaGroupMatches: Stable, exactly these members, each claiming n partitions (as its
// session and DescribeConsumerGroups both say), together each partition exactly once.
func saramaGroupMatches(t *testing.T, adm sarama.ClusterAdmin, group, topic string, want map[*saramaMember]int) bool {
	state, byMember := saramaGroupAssignments(t, adm, group, topic)
	if state != "Stable" || len(byMember) != len(want) {
		return false
	}
	seen := map[int32]int{}
	total := 0
	for m, n := range want {
		claims, id, _ := m.state()
		if len(claims) != n || fmt.Sprint(byMember[id]) != fmt.Sprint(claims) {
			return false
		}
		for _, p := range claims {
			seen[p]++
		}
		total += n
	}
	for _, c := range seen {
		if c != 1 {
			return false
		}
	}
	return len(seen) == total
}

func saramaCommitted(t *testing.T, adm sarama.ClusterAdmin, group, topic string, partitions int32) map[int32]int64 {
	t.Helper()
	var ps []int32
	for p := int32(0); p < partitions; p++ {
		ps = append(ps, p)
	}
	resp, err := adm.ListConsumerGroupOffsets(group, map[string][]int32{topic: ps})
	if err != nil {
		t.Fatalf("ListConsumerGroupOffsets %s: %v", group, err)
	}
	out := map[int32]int64{}
	for _, p := range ps {
		b := resp.GetBlock(topic, p)
		if b == nil || b.Err != sarama.ErrNoError {
			t.Fatalf("ListConsumerGroupOffsets %s %s[%d]: %+v", group, topic, p, b)
		}
		out[p] = b.Offset
	}
	return out
}

func toSet(ps []int32) map[int32]bool {
	s := map[int32]bool{}
	for _, p := range ps {
		s[p] = true
	}
	return s
}

// Two members (auto-commit on): the second joining splits the partitions, the first
// leaving gives them all back. Marked offsets are committed before partitions move, so
// each record is consumed exactly once, by the member that owns its partition. With the
// range (default), roundrobin and cooperative-sticky strategies.
func TestSaramaConsumerGroupRebalance(t *testing.T) {
	for _, st := range []struct {
		name     string
		strategy sarama.BalanceStrategy
	}{
		{"range", sarama.NewBalanceStrategyRange()}, // sarama's default
		{"roundrobin", sarama.NewBalanceStrategyRoundRobin()},
		{"cooperative-sticky", sarama.NewBalanceStrategyCooperativeSticky()},
	} {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel() // a topic and group of its own
			saramaRebalance(t, func(cfg *sarama.Config) {
				cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{st.strategy}
			})
		})
	}
}

func saramaRebalance(t *testing.T, strategy func(*sarama.Config)) {
	adm := saramaAdmin(t)
	topic := uniqueName("sarama-group")
	group := uniqueName("sarama-group")
	const parts = 4
	saramaCreateTopic(t, adm, topic, parts, nil)
	producer := saramaProducer(t, sarama.WaitForAll, sarama.CompressionSnappy)

	batch1 := saramaProduce(t, producer, topic, recordsFor("batch1", parts, 3))
	a := newSaramaMember(t, "A", group, topic, true, strategy)
	describe := func(ms ...*saramaMember) func() string {
		return func() string {
			s, by := saramaGroupAssignments(t, adm, group, topic)
			return fmt.Sprintf("group %s %v; %v", s, by, ms)
		}
	}
	waitUntil(t, "A to claim all partitions", func() bool {
		return saramaGroupMatches(t, adm, group, topic, map[*saramaMember]int{a: parts})
	}, describe(a))
	a.waitRecords(t, "batch1", batch1)

	b := newSaramaMember(t, "B", group, topic, true, strategy)
	waitUntil(t, "A and B to claim two partitions each", func() bool {
		return saramaGroupMatches(t, adm, group, topic, map[*saramaMember]int{a: parts / 2, b: parts / 2})
	}, describe(a, b))
	// A's first session ended at the rebalance, committing batch1.
	if got := saramaCommitted(t, adm, group, topic, parts); fmt.Sprint(got) != "map[0:3 1:3 2:3 3:3]" {
		t.Fatalf("committed after the rebalance: %v", got)
	}
	aClaims, _, _ := a.state()
	bClaims, _, _ := b.state()
	aOwn, bOwn := toSet(aClaims), toSet(bClaims)

	batch2 := saramaProduce(t, producer, topic, recordsFor("batch2", parts, 2))
	a.waitRecords(t, "batch1 + batch2 of its partitions",
		append(append([]rec(nil), batch1...), filterRecs(batch2, func(r rec) bool { return aOwn[r.Partition] })...))
	b.waitRecords(t, "batch2 of its partitions",
		filterRecs(batch2, func(r rec) bool { return bOwn[r.Partition] }))

	// A leaves: its session ends (committing) and it leaves the group.
	a.stop(t)
	waitUntil(t, "B to claim all partitions after A left", func() bool {
		return saramaGroupMatches(t, adm, group, topic, map[*saramaMember]int{b: parts})
	}, describe(b))

	batch3 := saramaProduce(t, producer, topic, recordsFor("batch3", parts, 2))
	b.waitRecords(t, "its batch2 + all of batch3",
		append(filterRecs(batch2, func(r rec) bool { return bOwn[r.Partition] }), batch3...))
	b.stop(t)
	if got := saramaCommitted(t, adm, group, topic, parts); fmt.Sprint(got) != "map[0:7 1:7 2:7 3:7]" {
		t.Fatalf("committed at the end: %v", got)
	}
}

// Manual commits (auto-commit off): commit part of what was consumed with MarkOffset +
// Commit, restart a member of the same group: it resumes right after the commit.
func TestSaramaConsumerGroupCommitResume(t *testing.T) {
	adm := saramaAdmin(t)
	topic := uniqueName("sarama-commit")
	group := uniqueName("sarama-commit")
	saramaCreateTopic(t, adm, topic, 2, nil)
	producer := saramaProducer(t, sarama.WaitForLocal, sarama.CompressionGZIP)
	first := saramaProduce(t, producer, topic, recordsFor("first", 2, 6))

	c1 := newSaramaMember(t, "C1", group, topic, false)
	c1.waitRecords(t, "everything", first)
	c1.mu.Lock()
	sess := c1.session
	c1.mu.Unlock()
	if sess == nil {
		t.Fatalf("C1 has no session: %v", c1)
	}
	// ConsumeClaim marked every message; commit less than that, as a consumer that
	// processed only part of what it fetched does.
	sess.ResetOffset(topic, 0, 3, "")
	sess.ResetOffset(topic, 1, 5, "")
	sess.Commit()
	c1.checkErrors(t)
	c1.stop(t)

	if got := saramaCommitted(t, adm, group, topic, 2); fmt.Sprint(got) != "map[0:3 1:5]" {
		t.Fatalf("ListConsumerGroupOffsets: %v, want p0=3 p1=5", got)
	}

	second := saramaProduce(t, producer, topic, recordsFor("second", 2, 2))
	want := append(filterRecs(first, func(r rec) bool {
		return (r.Partition == 0 && r.Offset >= 3) || (r.Partition == 1 && r.Offset >= 5)
	}), second...)
	c2 := newSaramaMember(t, "C2", group, topic, false)
	c2.waitRecords(t, "resuming after the commit", want)
	c2.mu.Lock()
	sess = c2.session
	c2.mu.Unlock()
	if sess == nil {
		t.Fatalf("C2 has no session: %v", c2)
	}
	sess.Commit() // everything C2 consumed was marked
	c2.checkErrors(t)
	// A group with a member cannot be deleted.
	if err := adm.DeleteConsumerGroup(group); !errors.Is(err, sarama.ErrNonEmptyGroup) {
		t.Fatalf("DeleteConsumerGroup with a member: %v, want ErrNonEmptyGroup", err)
	}
	c2.stop(t)
	if got := saramaCommitted(t, adm, group, topic, 2); fmt.Sprint(got) != "map[0:8 1:8]" {
		t.Fatalf("ListConsumerGroupOffsets after C2: %v, want p0=8 p1=8", got)
	}
	groups := func() map[string]string {
		t.Helper()
		gs, err := adm.ListConsumerGroups()
		if err != nil {
			t.Fatalf("ListConsumerGroups: %v", err)
		}
		return gs
	}
	waitUntil(t, "the group to be listed and described as Empty", func() bool {
		if groups()[group] != "consumer" {
			return false
		}
		ds, err := adm.DescribeConsumerGroups([]string{group})
		return err == nil && len(ds) == 1 && ds[0].State == "Empty" && len(ds[0].Members) == 0
	}, func() string {
		ds, err := adm.DescribeConsumerGroups([]string{group})
		return fmt.Sprint(groups()[group], ds, err)
	})

	// Reset the empty group's offsets with the admin client; the next member starts there.
	resp, err := adm.AlterConsumerGroupOffsets(group, map[string]map[int32]sarama.OffsetAndMetadata{
		topic: {0: {Offset: 1, LeaderEpoch: -1}, 1: {Offset: 7, LeaderEpoch: -1}},
	}, nil)
	if err != nil {
		t.Fatalf("AlterConsumerGroupOffsets: %v", err)
	}
	for p, kerr := range resp.Errors[topic] {
		if kerr != sarama.ErrNoError {
			t.Fatalf("AlterConsumerGroupOffsets %s[%d]: %v", topic, p, kerr)
		}
	}
	if got := saramaCommitted(t, adm, group, topic, 2); fmt.Sprint(got) != "map[0:1 1:7]" {
		t.Fatalf("ListConsumerGroupOffsets after the reset: %v, want p0=1 p1=7", got)
	}
	all := append(append([]rec(nil), first...), second...)
	c3 := newSaramaMember(t, "C3", group, topic, false)
	c3.waitRecords(t, "after the admin reset", filterRecs(all, func(r rec) bool {
		return (r.Partition == 0 && r.Offset >= 1) || (r.Partition == 1 && r.Offset >= 7)
	}))
	c3.stop(t)

	// Delete the group: gone from the listing, and its offsets with it.
	if err := adm.DeleteConsumerGroup(group); err != nil {
		t.Fatalf("DeleteConsumerGroup: %v", err)
	}
	if _, ok := groups()[group]; ok {
		t.Fatalf("ListConsumerGroups still lists %s after DeleteConsumerGroup", group)
	}
	fetched, err := adm.ListConsumerGroupOffsets(group, map[string][]int32{topic: {0, 1}})
	if err != nil {
		t.Fatalf("ListConsumerGroupOffsets after DeleteConsumerGroup: %v", err)
	}
	for _, p := range []int32{0, 1} {
		if b := fetched.GetBlock(topic, p); b == nil || b.Err != sarama.ErrNoError || b.Offset != -1 {
			t.Fatalf("offset of %s[%d] after DeleteConsumerGroup: %+v, want none (-1)", topic, p, b)
		}
	}
}

// ListOffsets (Client.GetOffset and ClusterAdmin.ListOffsets), consuming from given
// offsets, from the newest offset, after DeleteRecords, and out of range.
func TestSaramaSeekAndListOffsets(t *testing.T) {
	adm := saramaAdmin(t)
	cl := saramaClient(t, saramaConfig())
	topic := uniqueName("sarama-seek")
	saramaCreateTopic(t, adm, topic, 2, nil)

	offsets := func(which int64) map[int32]int64 {
		t.Helper()
		if err := cl.RefreshMetadata(topic); err != nil {
			t.Fatalf("RefreshMetadata: %v", err)
		}
		out := map[int32]int64{}
		for p := int32(0); p < 2; p++ {
			o, err := cl.GetOffset(topic, p, which)
			if err != nil {
				t.Fatalf("GetOffset %s[%d] %d: %v", topic, p, which, err)
			}
			out[p] = o
		}
		// The admin API must agree.
		res, err := adm.ListOffsets(map[string]map[int32]int64{topic: {0: which, 1: which}}, nil)
		if err != nil {
			t.Fatalf("ListOffsets: %v", err)
		}
		for p, o := range out {
			r := res[topic][p]
			if r == nil || (r.Err != nil && !errors.Is(r.Err, sarama.ErrNoError)) || r.Offset != o {
				t.Fatalf("ClusterAdmin.ListOffsets %s[%d] %d: %+v, GetOffset said %d", topic, p, which, r, o)
			}
		}
		return out
	}
	if o, n := offsets(sarama.OffsetOldest), offsets(sarama.OffsetNewest); fmt.Sprint(o) != "map[0:0 1:0]" || fmt.Sprint(n) != "map[0:0 1:0]" {
		t.Fatalf("empty topic: oldest %v newest %v", o, n)
	}

	producer := saramaProducer(t, sarama.WaitForAll, sarama.CompressionZSTD)
	all := saramaProduce(t, producer, topic, recordsFor("seek", 2, 10))
	if o, n := offsets(sarama.OffsetOldest), offsets(sarama.OffsetNewest); fmt.Sprint(o) != "map[0:0 1:0]" || fmt.Sprint(n) != "map[0:10 1:10]" {
		t.Fatalf("after 10 per partition: oldest %v newest %v", o, n)
	}
	from := func(p0, p1 int64) []rec {
		return filterRecs(all, func(r rec) bool {
			return (r.Partition == 0 && r.Offset >= p0) || (r.Partition == 1 && r.Offset >= p1)
		})
	}

	consumer := saramaConsumer(t)
	// Consume from given offsets.
	want := from(6, 3)
	pcs := consumePartitions(t, consumer, topic, map[int32]int64{0: 6, 1: 3})
	assertSameRecords(t, "p0 from 6, p1 from 3", want, saramaRecs(saramaConsumeN(t, pcs, len(want))))
	for _, pc := range pcs {
		_ = pc.Close()
	}
	// Seek p0 back to 1 (a new partition consumer at that offset, sarama's way).
	want = from(1, 10)
	pcs = consumePartitions(t, consumer, topic, map[int32]int64{0: 1})
	assertSameRecords(t, "p0 from 1", want, saramaRecs(saramaConsumeN(t, pcs, len(want))))
	_ = pcs[0].Close()

	// From the newest offset: only what is produced afterwards.
	pcs = consumePartitions(t, consumer, topic, map[int32]int64{0: sarama.OffsetNewest, 1: sarama.OffsetNewest})
	later := saramaProduce(t, producer, topic, recordsFor("later", 2, 1))
	assertSameRecords(t, "from the newest offset", later, saramaRecs(saramaConsumeN(t, pcs, len(later))))
	for _, pc := range pcs {
		_ = pc.Close()
	}
	all = append(all, later...)

	// DeleteRecords before p0@4: the oldest offset moves, the newest stays.
	if err := adm.DeleteRecords(topic, map[int32]int64{0: 4}); err != nil {
		t.Fatalf("DeleteRecords: %v", err)
	}
	if o, n := offsets(sarama.OffsetOldest), offsets(sarama.OffsetNewest); fmt.Sprint(o) != "map[0:4 1:0]" || fmt.Sprint(n) != "map[0:11 1:11]" {
		t.Fatalf("after DeleteRecords p0<4: oldest %v newest %v", o, n)
	}
	want = filterRecs(all, func(r rec) bool { return r.Partition == 0 && r.Offset >= 4 })
	pcs = consumePartitions(t, consumer, topic, map[int32]int64{0: sarama.OffsetOldest})
	assertSameRecords(t, "p0 from the oldest after DeleteRecords", want, saramaRecs(saramaConsumeN(t, pcs, len(want))))
	_ = pcs[0].Close()

	// Below the log start is out of range.
	if pc, err := consumer.ConsumePartition(topic, 0, 2); !errors.Is(err, sarama.ErrOffsetOutOfRange) {
		if pc != nil {
			_ = pc.Close()
		}
		t.Fatalf("ConsumePartition p0 at 2 (log start 4): want ErrOffsetOutOfRange, got %v", err)
	}
}

// Messages with the producer's own timestamps: consumed with exactly those, and
// GetOffset by timestamp (the first offset at or after it; -1 after the last).
func TestSaramaTimestamps(t *testing.T) {
	adm := saramaAdmin(t)
	topic := uniqueName("sarama-times")
	saramaCreateTopic(t, adm, topic, 1, nil)
	base := time.Now().Add(-10 * time.Minute).Truncate(time.Millisecond)
	var msgs []*sarama.ProducerMessage
	for i := 0; i < 5; i++ {
		msgs = append(msgs, &sarama.ProducerMessage{Topic: topic, Partition: 0,
			Key: sarama.StringEncoder(fmt.Sprint("t", i)), Value: sarama.StringEncoder(fmt.Sprint("at +", i, "s")),
			Timestamp: base.Add(time.Duration(i) * time.Second)})
	}
	if err := saramaProducer(t, sarama.WaitForAll, sarama.CompressionLZ4).SendMessages(msgs); err != nil {
		t.Fatalf("SendMessages: %v", err)
	}
	pcs := consumePartitions(t, saramaConsumer(t), topic, map[int32]int64{0: sarama.OffsetOldest})
	got := saramaConsumeN(t, pcs, 5)
	for i, m := range got {
		if m.Offset != int64(i) || !m.Timestamp.Equal(base.Add(time.Duration(i)*time.Second)) || string(m.Key) != fmt.Sprint("t", i) {
			t.Fatalf("message %d: offset %d key %q timestamp %v, want offset %d timestamp %v",
				i, m.Offset, m.Key, m.Timestamp, i, base.Add(time.Duration(i)*time.Second))
		}
	}

	cl := saramaClient(t, saramaConfig())
	ms := base.UnixMilli()
	for _, tc := range []struct{ at, want int64 }{
		{ms - 5000, 0}, {ms, 0}, {ms + 1500, 2}, {ms + 4000, 4}, {ms + 60000, -1},
	} {
		o, err := cl.GetOffset(topic, 0, tc.at)
		if err != nil || o != tc.want {
			t.Fatalf("GetOffset at base%+dms: %d %v, want %d", tc.at-ms, o, err, tc.want)
		}
	}
}

// Messages near the broker's message.max.bytes, read with a small Consumer.Fetch.Default,
// to a topic the producer's metadata request auto-creates.
func TestSaramaLargeRecords(t *testing.T) {
	adm := saramaAdmin(t)
	topic := uniqueName("sarama-large")
	var rs []rec
	for i := 0; i < 3; i++ {
		v := make([]byte, 900*1024)
		for j := range v {
			v[j] = byte((i*131 + j*7) % 251)
		}
		rs = append(rs, rec{Key: []byte(fmt.Sprint("large-", i)), Value: v,
			Headers: []header{{Key: "size", Value: []byte(fmt.Sprint(len(v)))}}})
	}
	got := saramaProduce(t, saramaProducer(t, sarama.WaitForAll, sarama.CompressionNone), topic, rs)
	assertSameRecords(t, "produce results", withOffsets(rs, nil), got)
	md, err := adm.DescribeTopics([]string{topic})
	if err != nil || len(md) != 1 || md[0].Err != sarama.ErrNoError || len(md[0].Partitions) != 1 {
		t.Fatalf("auto-created %s: %v %+v, want 1 partition", topic, err, md)
	}

	consumer := saramaConsumer(t, func(cfg *sarama.Config) {
		cfg.Consumer.Fetch.Default = 16 * 1024
		cfg.Consumer.Fetch.Max = 0 // no limit: sarama grows its fetch size as needed
	})
	pcs := consumePartitions(t, consumer, topic, map[int32]int64{0: sarama.OffsetOldest})
	assertSameRecords(t, "consumed with a small fetch size", got, saramaRecs(saramaConsumeN(t, pcs, len(got))))

	// Over message.max.bytes: the broker refuses it (sarama's own limit raised past it).
	p := saramaProducer(t, sarama.WaitForAll, sarama.CompressionNone, func(cfg *sarama.Config) {
		cfg.Producer.MaxMessageBytes = 4 * 1024 * 1024
	})
	_, _, err = p.SendMessage(&sarama.ProducerMessage{Topic: topic, Partition: 0, Value: sarama.ByteEncoder(make([]byte, 1024*1024+1))})
	if !errors.Is(err, sarama.ErrMessageSizeTooLarge) {
		t.Fatalf("producing 1 MiB + 1 byte: %v, want ErrMessageSizeTooLarge", err)
	}
}

// sarama picks each request's version from Config.Version (the Kafka version the
// application says its cluster runs), capped by the broker's ApiVersions. Applications
// set it to their cluster's version, so the data path must work at each: produce,
// consume from the oldest offset, ListOffsets oldest/newest, and a group's commit and
// resume. The ListOffsets version each Config.Version sends is in the name.
func TestSaramaProtocolVersions(t *testing.T) {
	adm := saramaAdmin(t)
	for _, v := range []struct {
		name    string
		version sarama.KafkaVersion
	}{
		{"1.0-ListOffsetsV2", sarama.V1_0_0_0},
		{"2.0-ListOffsetsV3", sarama.V2_0_0_0},
		{"2.1-ListOffsetsV4", sarama.V2_1_0_0},
		{"2.8-default-ListOffsetsV6", sarama.DefaultVersion},
		{"4.1-ListOffsetsV6", sarama.V4_1_0_0},
	} {
		t.Run(v.name, func(t *testing.T) {
			// Each version has its own topic and group; they run side by side, mostly to
			// overlap the group joins' waits (group.initial.rebalance.delay.ms).
			t.Parallel()
			at := func(cfg *sarama.Config) { cfg.Version = v.version }
			topic := uniqueName("sarama-version")
			group := uniqueName("sarama-version")
			saramaCreateTopic(t, adm, topic, 2, nil)

			produced := saramaProduce(t, saramaProducer(t, sarama.WaitForAll, sarama.CompressionGZIP, at),
				topic, recordsFor("v"+v.version.String(), 2, 5))

			cfg := saramaConfig()
			at(cfg)
			cl := saramaClient(t, cfg)
			for p := int32(0); p < 2; p++ {
				oldest, err := cl.GetOffset(topic, p, sarama.OffsetOldest)
				if err != nil || oldest != 0 {
					t.Fatalf("GetOffset %s[%d] oldest: %d, %v; want 0", topic, p, oldest, err)
				}
				newest, err := cl.GetOffset(topic, p, sarama.OffsetNewest)
				if err != nil || newest != 5 {
					t.Fatalf("GetOffset %s[%d] newest: %d, %v; want 5", topic, p, newest, err)
				}
			}

			pcs := consumePartitions(t, saramaConsumer(t, at), topic,
				map[int32]int64{0: sarama.OffsetOldest, 1: sarama.OffsetOldest})
			assertSameRecords(t, "consumed from the oldest offset", produced, saramaRecs(saramaConsumeN(t, pcs, len(produced))))

			m := newSaramaMember(t, "M", group, topic, false, at)
			m.waitRecords(t, "everything", produced)
			m.mu.Lock()
			sess := m.session
			m.mu.Unlock()
			if sess == nil {
				t.Fatalf("no session: %v", m)
			}
			sess.ResetOffset(topic, 1, 2, "")
			sess.Commit()
			m.checkErrors(t)
			m.stop(t)
			if got := saramaCommitted(t, adm, group, topic, 2); fmt.Sprint(got) != "map[0:5 1:2]" {
				t.Fatalf("committed: %v, want p0=5 p1=2", got)
			}
			resumed := newSaramaMember(t, "R", group, topic, false, at)
			resumed.waitRecords(t, "p1 from 2", filterRecs(produced, func(r rec) bool { return r.Partition == 1 && r.Offset >= 2 }))
		})
	}
}

// An idempotent SyncProducer (Producer.Idempotent, which sarama allows with one request in
// flight and acks=all): it gets a producer id by InitProducerId and every record lands
// once, in order.
func TestSaramaIdempotentProducer(t *testing.T) {
	adm := saramaAdmin(t)
	topic := uniqueName("sarama-idempotent")
	saramaCreateTopic(t, adm, topic, 1, nil)
	p := saramaProducer(t, sarama.WaitForAll, sarama.CompressionSnappy, func(cfg *sarama.Config) {
		cfg.Producer.Idempotent = true
		cfg.Net.MaxOpenRequests = 1
	})
	var rs []rec
	for i := 0; i < 50; i++ {
		rs = append(rs, rec{Partition: 0, Key: []byte(fmt.Sprint("k", i)), Value: []byte(fmt.Sprint("idempotent ", i))})
	}
	sent := saramaProduce(t, p, topic, rs)
	for i, r := range sent {
		if r.Offset != int64(i) {
			t.Fatalf("record %d got offset %d", i, r.Offset)
		}
	}
	pcs := consumePartitions(t, saramaConsumer(t), topic, map[int32]int64{0: sarama.OffsetOldest})
	got := saramaConsumeN(t, pcs, len(rs))
	for i, m := range got {
		if m.Offset != int64(i) || string(m.Value) != fmt.Sprint("idempotent ", i) {
			t.Fatalf("message %d: offset %d value %q", i, m.Offset, m.Value)
		}
	}
}
