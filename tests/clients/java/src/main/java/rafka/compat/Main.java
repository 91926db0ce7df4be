package rafka.compat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.Utils;

/**
 * Ordinary usage of the Java client against a rafka broker, as named scenarios.
 *
 * <pre>
 *   java -cp ... rafka.compat.Main --list             # the scenario names, one a line
 *   java -cp ... rafka.compat.Main admin seek ...     # run them in order; exit 1 on the first failure
 * </pre>
 *
 * The bootstrap address comes from {@code -Drafka.bootstrap=host:port} or $RAFKA_BOOTSTRAP.
 * Every scenario creates its own uniquely named topics and groups, so scenarios can share a
 * broker and run in any order. Nothing sleeps to wait: every wait polls against a deadline.
 *
 * Producers keep the client's defaults: idempotent (since Kafka 3.0), acks=all; the
 * transactional ones add only a transactional.id.
 */
public final class Main {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Duration POLL = Duration.ofMillis(100);
    private static final long FUTURE_TIMEOUT_S = 30;
    private static final int NODE_ID = 1; // the single-node broker of tests/compat/conftest.py

    private static String bootstrap;

    @FunctionalInterface
    interface Scenario {
        void run() throws Exception;
    }

    private static final Map<String, Scenario> SCENARIOS = new LinkedHashMap<>();

    static {
        SCENARIOS.put("admin", Main::adminScenario);
        for (String codec : List.of("none", "gzip", "snappy", "lz4", "zstd")) {
            SCENARIOS.put("produce-consume-" + codec, () -> produceConsume(codec));
        }
        for (String protocol : List.of("classic", "consumer")) {
            SCENARIOS.put("group-rebalance-" + protocol, () -> groupRebalance(protocol));
            SCENARIOS.put("group-commits-" + protocol, () -> groupCommits(protocol));
        }
        SCENARIOS.put("seek-and-offsets", Main::seekAndOffsets);
        SCENARIOS.put("transactions-exactly-once", Main::transactionsExactlyOnce);
        SCENARIOS.put("share-groups", () -> ShareGroups.run(bootstrap));
        SCENARIOS.put("share-groups-min-bytes", () -> ShareGroups.runMinBytes(bootstrap));
        SCENARIOS.put("produce-consume-across-sessions", Main::produceConsumeAcrossSessions);
    }

    public static void main(String[] args) {
        if (args.length == 1 && args[0].equals("--list")) {
            SCENARIOS.keySet().forEach(System.out::println);
            return;
        }
        if (args.length == 0) {
            System.err.println("usage: rafka.compat.Main --list | <scenario>...; scenarios: " + SCENARIOS.keySet());
            System.exit(2);
        }
        bootstrap = System.getProperty("rafka.bootstrap", System.getenv("RAFKA_BOOTSTRAP"));
        if (bootstrap == null || bootstrap.isBlank()) {
            System.err.println("set -Drafka.bootstrap=host:port or RAFKA_BOOTSTRAP");
            System.exit(2);
        }
        for (String name : args) {
            Scenario scenario = SCENARIOS.get(name);
            if (scenario == null) {
                System.err.println("unknown scenario " + name + "; scenarios: " + SCENARIOS.keySet());
                System.exit(2);
            }
            long started = System.nanoTime();
            System.out.println("== " + name + " (bootstrap " + bootstrap + ")");
            try {
                scenario.run();
            } catch (Throwable t) {
                StringWriter trace = new StringWriter();
                t.printStackTrace(new PrintWriter(trace));
                System.out.flush();
                System.out.println("FAIL " + name + ": " + t);
                System.out.println(trace);
                System.out.flush();
                System.exit(1);
            }
            System.out.printf("PASS %s (%d ms)%n", name, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
        }
        System.out.flush();
        // The clients' daemon threads are closed by now; exit promptly all the same.
        System.exit(0);
    }

    // -- scenarios ------------------------------------------------------------------------

    /** Topics and configs through Admin: create, list, describe, add partitions, configs, delete. */
    static void adminScenario() throws Exception {
        try (Admin admin = admin()) {
            DescribeClusterResult cluster = admin.describeCluster();
            List<Integer> nodes = cluster.nodes().get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS).stream().map(Node::id).toList();
            checkEq(List.of(NODE_ID), nodes, "describeCluster nodes");
            checkEq(NODE_ID, cluster.controller().get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS).id(), "describeCluster controller");
            check(cluster.clusterId().get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS) != null, "describeCluster has a cluster id");

            String a = topicName("java-admin-a");
            String b = topicName("java-admin-b");
            CreateTopicsResult created = admin.createTopics(List.of(
                    new NewTopic(a, 3, (short) 1).configs(Map.of("retention.ms", "3600000", "cleanup.policy", "delete")),
                    new NewTopic(b, 1, (short) 1)));
            created.all().get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS);
            checkEq(3, created.numPartitions(a).get(), "CreateTopics numPartitions of " + a);
            checkEq(1, created.replicationFactor(a).get(), "CreateTopics replicationFactor of " + a);
            checkEq("3600000", created.config(a).get().get("retention.ms").value(), "CreateTopics config retention.ms");
            check(!created.topicId(a).get().equals(created.topicId(b).get()), "distinct topic ids");
            System.out.println("created " + a + " (3 partitions) and " + b + " (1 partition)");

            Set<String> listed = waitFor("listTopics shows both topics", () -> {
                Set<String> names = admin.listTopics().names().get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS);
                return names.containsAll(List.of(a, b)) ? names : null;
            });
            System.out.println("listTopics: " + listed.size() + " topics including both");

            TopicDescription da = waitForPartitions(admin, a, 3);
            checkEq(a, da.name(), "describeTopics name");
            check(!da.isInternal(), "topic is not internal");
            checkEq(created.topicId(a).get(), da.topicId(), "describeTopics topic id = CreateTopics topic id");
            checkPartitions(da, 3);
            checkPartitions(waitForPartitions(admin, b, 1), 1);

            // Creating an existing topic fails with TopicExistsException.
            expectFailure("createTopics of an existing topic",
                    () -> admin.createTopics(List.of(new NewTopic(b, 1, (short) 1))).all().get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS),
                    org.apache.kafka.common.errors.TopicExistsException.class);

            admin.createPartitions(Map.of(a, NewPartitions.increaseTo(5))).all().get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS);
            checkPartitions(waitForPartitions(admin, a, 5), 5);
            System.out.println("createPartitions: " + a + " now has 5 partitions");
            expectFailure("createPartitions to fewer partitions",
                    () -> admin.createPartitions(Map.of(a, NewPartitions.increaseTo(2))).all().get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS),
                    InvalidPartitionsException.class);

            ConfigResource ra = new ConfigResource(ConfigResource.Type.TOPIC, a);
            Config ca = describeConfig(admin, ra);
            checkConfig(ca, "retention.ms", "3600000", ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG);
            checkConfig(ca, "cleanup.policy", "delete", ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG);
            // The broker runs with log.segment.bytes=1048576 in its server.properties.
            checkConfig(ca, "segment.bytes", "1048576", ConfigEntry.ConfigSource.STATIC_BROKER_CONFIG);
            checkConfig(ca, "max.message.bytes", "1048588", ConfigEntry.ConfigSource.DEFAULT_CONFIG);
            System.out.println("describeConfigs " + a + ": " + ca.entries().size() + " entries");

            ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER, Integer.toString(NODE_ID));
            Config cb = describeConfig(admin, broker);
            checkConfig(cb, "log.segment.bytes", "1048576", ConfigEntry.ConfigSource.STATIC_BROKER_CONFIG);

            admin.incrementalAlterConfigs(Map.of(ra, List.of(
                    new AlterConfigOp(new ConfigEntry("retention.ms", "7200000"), AlterConfigOp.OpType.SET),
                    new AlterConfigOp(new ConfigEntry("max.message.bytes", "65536"), AlterConfigOp.OpType.SET),
                    new AlterConfigOp(new ConfigEntry("cleanup.policy", ""), AlterConfigOp.OpType.DELETE))))
                    .all().get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS);
            Config altered = describeConfig(admin, ra);
            checkConfig(altered, "retention.ms", "7200000", ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG);
            checkConfig(altered, "max.message.bytes", "65536", ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG);
            checkConfig(altered, "cleanup.policy", "delete", ConfigEntry.ConfigSource.DEFAULT_CONFIG);
            System.out.println("incrementalAlterConfigs: retention.ms=7200000, max.message.bytes=65536, cleanup.policy back to default");
            expectFailure("incrementalAlterConfigs with an unknown topic config",
                    () -> admin.incrementalAlterConfigs(Map.of(ra, List.of(
                            new AlterConfigOp(new ConfigEntry("no.such.config", "1"), AlterConfigOp.OpType.SET))))
                            .all().get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS),
                    org.apache.kafka.common.errors.InvalidConfigurationException.class);

            admin.deleteTopics(List.of(a, b)).all().get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS);
            waitFor("listTopics no longer shows the deleted topics", () -> {
                Set<String> names = admin.listTopics().names().get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS);
                return names.contains(a) || names.contains(b) ? null : names;
            });
            expectFailure("describeTopics of a deleted topic",
                    () -> admin.describeTopics(List.of(a)).allTopicNames().get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS),
                    UnknownTopicOrPartitionException.class);
            System.out.println("deleteTopics: both gone");
        }
    }

    /** Records with keys, null keys/values and headers through one codec, with acks=all then acks=1. */
    static void produceConsume(String codec) throws Exception {
        final int partitions = 3;
        final int perProducer = 2_000;
        String topic = topicName("java-" + codec);
        try (Admin admin = admin()) {
            createTopic(admin, topic, partitions, Map.of());
        }
        System.out.println("TOPIC " + topic);

        List<Expected> expected = new ArrayList<>();
        long[] nextOffset = new long[partitions];
        long valueBytes = 0;
        for (String acks : List.of("all", "1")) {
            try (KafkaProducer<byte[], byte[]> producer = producer(Map.of(
                    ProducerConfig.COMPRESSION_TYPE_CONFIG, codec,
                    ProducerConfig.ACKS_CONFIG, acks,
                    ProducerConfig.LINGER_MS_CONFIG, "5"))) {
                List<ProducerRecord<byte[], byte[]>> sent = new ArrayList<>();
                List<Future<RecordMetadata>> futures = new ArrayList<>();
                for (int i = 0; i < perProducer; i++) {
                    byte[] key = i % 10 == 9 ? null : bytes("key-" + (i % 97));
                    byte[] value = i % 50 == 49 ? null : bytes((codec + ":" + acks + ":" + i + "|").repeat(8));
                    // A null key goes where the record says; keyed records use the default partitioner.
                    Integer partition = key == null ? i % partitions : null;
                    List<Header> headers = new ArrayList<>(List.of(
                            new RecordHeader("seq", bytes(Integer.toString(i))),
                            new RecordHeader("acks", bytes(acks)),
                            new RecordHeader("dup", bytes("1")),
                            new RecordHeader("dup", bytes("2"))));
                    if (i % 7 == 0) {
                        headers.add(new RecordHeader("null-value", null));
                    }
                    ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic, partition, null, key, value, headers);
                    sent.add(record);
                    futures.add(producer.send(record));
                    valueBytes += value == null ? 0 : value.length;
                }
                producer.flush();
                for (int i = 0; i < sent.size(); i++) {
                    ProducerRecord<byte[], byte[]> record = sent.get(i);
                    RecordMetadata md = futures.get(i).get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS);
                    int wantPartition = record.key() == null ? record.partition()
                            : Utils.toPositive(Utils.murmur2(record.key())) % partitions;
                    checkEq(wantPartition, md.partition(), "partition of record " + i + " (acks=" + acks + ")");
                    // One producer, records sent in order without retries: offsets are consecutive.
                    checkEq(nextOffset[md.partition()], md.offset(), "offset of record " + i + " (acks=" + acks + ")");
                    nextOffset[md.partition()]++;
                    check(md.hasTimestamp() && md.timestamp() > 0, "record " + i + " has a timestamp");
                    expected.add(new Expected(md.partition(), md.offset(), record.key(), record.value(),
                            headerList(record.headers()), md.timestamp()));
                }
            }
            System.out.printf("produced %d records with compression.type=%s acks=%s%n", perProducer, codec, acks);
        }
        System.out.println("VALUE_BYTES " + valueBytes);

        try (KafkaConsumer<byte[], byte[]> consumer = consumer(Map.of())) {
            List<TopicPartition> tps = IntStream.range(0, partitions).mapToObj(p -> new TopicPartition(topic, p)).toList();
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            Map<TopicPartition, Long> end = consumer.endOffsets(tps);
            for (TopicPartition tp : tps) {
                checkEq(nextOffset[tp.partition()], end.get(tp), "endOffsets of " + tp);
            }
            List<ConsumerRecord<byte[], byte[]>> got = pollUntil(consumer, expected.size());
            checkRecords(expected, got);
            System.out.printf("consumed all %d records from the beginning: keys, values, headers, partitions, offsets, timestamps match%n", got.size());
        }
    }

    /**
     * Two members of one group: the second joining splits the partitions, the first leaving
     * gives them all back to the other; every record is consumed exactly once throughout.
     */
    static void groupRebalance(String protocol) throws Exception {
        final int partitions = 6;
        String topic = topicName("java-rebalance-" + protocol);
        String group = topicName("java-group-" + protocol);
        Set<TopicPartition> all = IntStream.range(0, partitions).mapToObj(p -> new TopicPartition(topic, p))
                .collect(Collectors.toSet());
        try (Admin admin = admin();
             KafkaProducer<byte[], byte[]> producer = producer(Map.of())) {
            createTopic(admin, topic, partitions, Map.of());
            Map<String, String> seen = new HashMap<>(); // "partition:offset" -> member
            int produced = produceRound(producer, topic, partitions, 0);

            Member first = new Member("first", groupConsumer(group, protocol), seen);
            Member second = null;
            try {
                first.consumer.subscribe(List.of(topic), first);
                waitFor("first member owns all " + partitions + " partitions and consumed " + produced + " records", () -> {
                    first.poll();
                    return first.consumer.assignment().equals(all) && seen.size() == produced ? true : null;
                });
                System.out.println("first member alone: " + sorted(first.consumer.assignment()));

                second = new Member("second", groupConsumer(group, protocol), seen);
                Member two = second;
                two.consumer.subscribe(List.of(topic), two);
                waitFor("the partitions split 3/3 between the two members", () -> {
                    first.poll();
                    two.poll();
                    Set<TopicPartition> a = first.consumer.assignment();
                    Set<TopicPartition> b = two.consumer.assignment();
                    Set<TopicPartition> union = new HashSet<>(a);
                    union.addAll(b);
                    boolean disjoint = a.stream().noneMatch(b::contains);
                    return a.size() == partitions / 2 && b.size() == partitions / 2 && disjoint && union.equals(all) ? true : null;
                });
                System.out.println("after the second joined: first " + sorted(first.consumer.assignment())
                        + ", second " + sorted(two.consumer.assignment()));

                describeGroup(group, protocol, Map.of(
                        first.consumer.groupMetadata().memberId(), first.consumer.assignment(),
                        two.consumer.groupMetadata().memberId(), two.consumer.assignment()));
                try (Admin admin2 = admin()) {
                    Collection<ConsumerGroupListing> groups = admin2.listConsumerGroups().all().get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS);
                    ConsumerGroupListing listing = groups.stream().filter(g -> g.groupId().equals(group)).findFirst()
                            .orElseThrow(() -> new AssertionError("listConsumerGroups lacks " + group + ": " + groups));
                    checkEq(java.util.Optional.of(GroupType.valueOf(protocol.toUpperCase())), listing.type(), "listConsumerGroups type");
                    System.out.println("listConsumerGroups: " + listing);
                }

                int round2 = produceRound(producer, topic, partitions, produced);
                int total2 = produced + round2;
                waitFor("the two members consumed the second round", () -> {
                    first.poll();
                    two.poll();
                    return seen.size() == total2 ? true : null;
                });
                for (Map.Entry<String, String> e : seen.entrySet()) {
                    long offset = Long.parseLong(e.getKey().split(":")[1]);
                    int partition = Integer.parseInt(e.getKey().split(":")[0]);
                    if (offset >= produced / partitions) {
                        Member owner = first.consumer.assignment().contains(new TopicPartition(topic, partition)) ? first : two;
                        checkEq(owner.name, e.getValue(), "member that consumed " + e.getKey());
                    }
                }
                System.out.println("second round consumed by the owners of each partition");

                first.close();
                waitFor("the remaining member owns all partitions again", () -> {
                    two.poll();
                    return two.consumer.assignment().equals(all) ? true : null;
                });
                System.out.println("after the first left: second " + sorted(two.consumer.assignment()));

                int round3 = produceRound(producer, topic, partitions, total2);
                int total3 = total2 + round3;
                waitFor("the remaining member consumed the third round", () -> {
                    two.poll();
                    return seen.size() == total3 ? true : null;
                });
                for (Map.Entry<String, String> e : seen.entrySet()) {
                    if (Long.parseLong(e.getKey().split(":")[1]) >= total2 / partitions) {
                        checkEq("second", e.getValue(), "member that consumed " + e.getKey());
                    }
                }
                checkEq(total3, seen.size(), "records consumed exactly once across the rebalances");
                System.out.println("every one of " + total3 + " records consumed exactly once");

                describeGroup(group, protocol, Map.of(two.consumer.groupMetadata().memberId(), all));
                Map<TopicPartition, Long> wantCommitted = new HashMap<>();
                all.forEach(tp -> wantCommitted.put(tp, (long) total3 / partitions));
                checkGroupOffsets(group, wantCommitted);
                two.close();
            } finally {
                first.close();
                if (second != null) {
                    second.close();
                }
            }
            try (Admin admin2 = admin()) {
                waitFor("group " + group + " is empty after both members left", () -> {
                    ConsumerGroupDescription d = admin2.describeConsumerGroups(List.of(group)).all()
                            .get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS).get(group);
                    return d.groupState() == GroupState.EMPTY && d.members().isEmpty() ? true : null;
                });
            }
            System.out.println("group empty after both members closed");
        }
    }

    /** commitSync with explicit offsets and without; a restart in the same group resumes after the commit. */
    static void groupCommits(String protocol) throws Exception {
        final int partitions = 2;
        final int perPartition = 20;
        String topic = topicName("java-commits-" + protocol);
        String group = topicName("java-commits-group-" + protocol);
        TopicPartition p0 = new TopicPartition(topic, 0);
        TopicPartition p1 = new TopicPartition(topic, 1);
        Set<TopicPartition> all = Set.of(p0, p1);
        try (Admin admin = admin();
             KafkaProducer<byte[], byte[]> producer = producer(Map.of())) {
            createTopic(admin, topic, partitions, Map.of());
            produceRound(producer, topic, partitions, 0, perPartition);

            try (KafkaConsumer<byte[], byte[]> c1 = groupConsumer(group, protocol)) {
                c1.subscribe(List.of(topic));
                List<ConsumerRecord<byte[], byte[]>> got = pollUntil(c1, partitions * perPartition);
                checkRoundValues(got);
                c1.commitSync(Map.of(
                        p0, new OffsetAndMetadata(12, "first-p0"),
                        p1, new OffsetAndMetadata(5, "first-p1")), WAIT);
                Map<TopicPartition, OffsetAndMetadata> committed = c1.committed(all, WAIT);
                checkEq(12L, committed.get(p0).offset(), "committed offset of p0");
                checkEq("first-p0", committed.get(p0).metadata(), "committed metadata of p0");
                checkEq(5L, committed.get(p1).offset(), "committed offset of p1");
                checkEq("first-p1", committed.get(p1).metadata(), "committed metadata of p1");
            }
            checkGroupOffsets(group, Map.of(p0, 12L, p1, 5L));
            System.out.println("first consumer read all 40 records and committed p0@12, p1@5");

            try (KafkaConsumer<byte[], byte[]> c2 = groupConsumer(group, protocol)) {
                c2.subscribe(List.of(topic));
                List<ConsumerRecord<byte[], byte[]>> got = pollUntil(c2, (perPartition - 12) + (perPartition - 5));
                Map<Integer, List<Long>> offsets = offsetsByPartition(got);
                checkEq(range(12, perPartition), offsets.get(0), "offsets of p0 after the restart");
                checkEq(range(5, perPartition), offsets.get(1), "offsets of p1 after the restart");
                checkRoundValues(got);
                c2.commitSync(WAIT);
                Map<TopicPartition, OffsetAndMetadata> committed = c2.committed(all, WAIT);
                checkEq((long) perPartition, committed.get(p0).offset(), "committed offset of p0 after commitSync()");
                checkEq((long) perPartition, committed.get(p1).offset(), "committed offset of p1 after commitSync()");
            }
            checkGroupOffsets(group, Map.of(p0, (long) perPartition, p1, (long) perPartition));
            System.out.println("restarted consumer resumed at p0@12, p1@5 and committed the end (20, 20)");

            produceRound(producer, topic, partitions, partitions * perPartition, 1);
            try (KafkaConsumer<byte[], byte[]> c3 = groupConsumer(group, protocol)) {
                c3.subscribe(List.of(topic));
                List<ConsumerRecord<byte[], byte[]>> got = pollUntil(c3, partitions);
                Map<Integer, List<Long>> offsets = offsetsByPartition(got);
                checkEq(List.of((long) perPartition), offsets.get(0), "offsets of p0 after the second restart");
                checkEq(List.of((long) perPartition), offsets.get(1), "offsets of p1 after the second restart");
                checkRoundValues(got);
            }
            System.out.println("second restart read only the two new records (offset 20)");
        }
    }

    /** seek/seekToBeginning/seekToEnd, beginningOffsets/endOffsets, offsetsForTimes, Admin.listOffsets. */
    static void seekAndOffsets() throws Exception {
        final int count = 50;
        String topic = topicName("java-seek");
        TopicPartition p0 = new TopicPartition(topic, 0);
        TopicPartition p1 = new TopicPartition(topic, 1);
        // Explicit CreateTime timestamps one second apart, in the past (well inside retention).
        long t0 = (System.currentTimeMillis() / 1000) * 1000 - 3_600_000;
        try (Admin admin = admin()) {
            createTopic(admin, topic, 2, Map.of());
            try (KafkaProducer<byte[], byte[]> producer = producer(Map.of())) {
                List<Future<RecordMetadata>> futures = new ArrayList<>();
                for (int i = 0; i < count; i++) {
                    futures.add(producer.send(new ProducerRecord<>(topic, 0, t0 + i * 1000L, bytes("k" + i), bytes("v" + i))));
                }
                for (int i = 0; i < 10; i++) {
                    futures.add(producer.send(new ProducerRecord<>(topic, 1, null, bytes("q" + i))));
                }
                producer.flush();
                for (Future<RecordMetadata> f : futures) {
                    f.get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS);
                }
            }

            try (KafkaConsumer<byte[], byte[]> consumer = consumer(Map.of(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5"))) {
                checkEq(Map.of(p0, 0L, p1, 0L), consumer.beginningOffsets(List.of(p0, p1), WAIT), "beginningOffsets");
                checkEq(Map.of(p0, (long) count, p1, 10L), consumer.endOffsets(List.of(p0, p1), WAIT), "endOffsets");

                consumer.assign(List.of(p0));
                consumer.seekToEnd(List.of(p0));
                checkEq((long) count, consumer.position(p0, WAIT), "position after seekToEnd");
                consumer.seekToBeginning(List.of(p0));
                checkEq(0L, consumer.position(p0, WAIT), "position after seekToBeginning");
                checkRecordAt(nextRecord(consumer), 0, t0);
                consumer.seek(p0, 25);
                checkRecordAt(nextRecord(consumer), 25, t0);
                consumer.seek(p0, 3);
                checkRecordAt(nextRecord(consumer), 3, t0);
                System.out.println("seekToEnd -> 50, seekToBeginning -> record 0, seek(25) -> record 25, seek(3) -> record 3");

                Map<TopicPartition, OffsetAndTimestamp> byTime = consumer.offsetsForTimes(Map.of(p0, t0 + 10_500L), WAIT);
                checkOffsetAndTimestamp(11, t0 + 11_000L, byTime.get(p0), "offsetsForTimes(t0+10.5s)");
                checkOffsetAndTimestamp(0, t0, consumer.offsetsForTimes(Map.of(p0, t0 - 60_000L), WAIT).get(p0),
                        "offsetsForTimes(before the first record)");
                checkOffsetAndTimestamp(count - 1, t0 + (count - 1) * 1000L,
                        consumer.offsetsForTimes(Map.of(p0, t0 + (count - 1) * 1000L), WAIT).get(p0),
                        "offsetsForTimes(exactly the last timestamp)");
                check(consumer.offsetsForTimes(Map.of(p0, t0 + count * 1000L), WAIT).get(p0) == null,
                        "offsetsForTimes(after the last record) is null");
                consumer.seek(p0, byTime.get(p0).offset());
                checkRecordAt(nextRecord(consumer), 11, t0);
                System.out.println("offsetsForTimes: t0+10.5s -> 11, before -> 0, last -> 49, after -> null");

                consumer.seekToEnd(List.of(p0));
                checkEq((long) count, consumer.position(p0, WAIT), "position after seekToEnd");
                try (KafkaProducer<byte[], byte[]> producer = producer(Map.of())) {
                    producer.send(new ProducerRecord<>(topic, 0, t0 + count * 1000L, bytes("k" + count), bytes("v" + count)))
                            .get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS);
                }
                checkRecordAt(nextRecord(consumer), count, t0);
                System.out.println("after seekToEnd the consumer gets only the record produced next (offset 50)");
            }

            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> earliest =
                    admin.listOffsets(Map.of(p0, OffsetSpec.earliest(), p1, OffsetSpec.earliest())).all().get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS);
            checkEq(0L, earliest.get(p0).offset(), "Admin.listOffsets earliest p0");
            checkEq(0L, earliest.get(p1).offset(), "Admin.listOffsets earliest p1");
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> latest =
                    admin.listOffsets(Map.of(p0, OffsetSpec.latest(), p1, OffsetSpec.latest())).all().get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS);
            checkEq((long) count + 1, latest.get(p0).offset(), "Admin.listOffsets latest p0");
            checkEq(10L, latest.get(p1).offset(), "Admin.listOffsets latest p1");
            ListOffsetsResult.ListOffsetsResultInfo max =
                    admin.listOffsets(Map.of(p0, OffsetSpec.maxTimestamp())).all().get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS).get(p0);
            checkEq((long) count, max.offset(), "Admin.listOffsets maxTimestamp offset");
            checkEq(t0 + count * 1000L, max.timestamp(), "Admin.listOffsets maxTimestamp timestamp");
            ListOffsetsResult.ListOffsetsResultInfo at =
                    admin.listOffsets(Map.of(p0, OffsetSpec.forTimestamp(t0 + 20_000L))).all().get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS).get(p0);
            checkEq(20L, at.offset(), "Admin.listOffsets forTimestamp(t0+20s)");
            System.out.println("Admin.listOffsets: earliest 0/0, latest 51/10, maxTimestamp -> 50, forTimestamp(t0+20s) -> 20");
        }
    }

    /**
     * Exactly-once consume-transform-produce: a read_committed group member and a
     * transactional producer copy 300 records, upper-cased, into the same partition of an
     * output topic, each batch's offsets committed in its transaction; every fifth
     * transaction is aborted after its records are in the log, and the member rewinds to
     * its committed offsets. read_committed readers then see each input once, read_uncommitted
     * ones the aborted copies too. Last, a second producer with the same transactional.id
     * fences the first, whose open transaction is aborted.
     */
    static void transactionsExactlyOnce() throws Exception {
        final int partitions = 2;
        final int total = 300;
        String input = topicName("java-eos-in");
        String output = topicName("java-eos-out");
        String group = topicName("java-eos-group");
        try (Admin admin = admin()) {
            createTopic(admin, input, partitions, Map.of());
            createTopic(admin, output, partitions, Map.of());
        }
        try (KafkaProducer<byte[], byte[]> producer = producer(Map.of())) {
            List<Future<RecordMetadata>> futures = new ArrayList<>();
            for (int i = 0; i < total; i++) {
                futures.add(producer.send(new ProducerRecord<>(input, i % partitions, null, bytes(String.format("v%04d", i)))));
            }
            producer.flush();
            for (Future<RecordMetadata> f : futures) {
                f.get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS);
            }
        }
        System.out.println("produced " + total + " records to " + input + " (" + partitions + " partitions)");

        List<String> abortedValues = new ArrayList<>();
        int committedTxns = 0;
        String transactionalId = topicName("java-eos-txn");
        // Small poll batches, so that 300 records make enough transactions to abort some.
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(Map.of(
                ConsumerConfig.GROUP_ID_CONFIG, group,
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "20"));
             KafkaProducer<byte[], byte[]> producer = producer(Map.of(
                     ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId))) {
            producer.initTransactions();
            consumer.subscribe(List.of(input));
            // What the group should have committed: the end of the last committed transaction.
            Map<TopicPartition, Long> committedByUs = new HashMap<>();
            int copied = 0;
            int transactions = 0;
            long deadline = System.nanoTime() + WAIT.toNanos() * 4;
            while (copied < total) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("copied " + copied + " of " + total + " records in " + WAIT.multipliedBy(4)
                            + " (" + transactions + " transactions)");
                }
                ConsumerRecords<byte[], byte[]> records = consumer.poll(POLL);
                if (records.isEmpty()) {
                    continue;
                }
                transactions++;
                producer.beginTransaction();
                List<Future<RecordMetadata>> sent = new ArrayList<>();
                List<String> values = new ArrayList<>();
                for (ConsumerRecord<byte[], byte[]> r : records) {
                    String value = str(r.value()).toUpperCase(Locale.ROOT);
                    values.add(value);
                    sent.add(producer.send(new ProducerRecord<>(output, r.partition(), r.key(), bytes(value))));
                }
                Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                for (TopicPartition tp : records.partitions()) {
                    List<ConsumerRecord<byte[], byte[]>> inPartition = records.records(tp);
                    offsets.put(tp, new OffsetAndMetadata(inPartition.get(inPartition.size() - 1).offset() + 1));
                }
                producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
                if (transactions % 5 == 0) {
                    producer.flush(); // the records are in the log before the abort
                    for (Future<RecordMetadata> f : sent) {
                        f.get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS);
                    }
                    producer.abortTransaction();
                    abortedValues.addAll(values);
                    // The aborted transaction's offsets are dropped: the group's are those of the last commit.
                    Map<TopicPartition, Long> committed = committedOffsets(consumer, consumer.assignment());
                    checkEq(committedByUs, committed, "committed offsets after aborted transaction " + transactions);
                    for (TopicPartition tp : consumer.assignment()) {
                        consumer.seek(tp, committed.getOrDefault(tp, 0L));
                    }
                    System.out.println("transaction " + transactions + ": aborted " + values.size()
                            + " records, rewound to " + new TreeMap<>(byPartition(committed)));
                } else {
                    producer.commitTransaction();
                    committedTxns++;
                    for (int i = 0; i < sent.size(); i++) {
                        RecordMetadata md = sent.get(i).get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS);
                        checkEq(inputPartition(values.get(i)), md.partition(), "output partition of " + values.get(i));
                    }
                    offsets.forEach((tp, om) -> committedByUs.put(tp, om.offset()));
                    copied += values.size();
                }
            }
            check(!abortedValues.isEmpty(), "some transactions were aborted");
            Map<TopicPartition, Long> end = new HashMap<>();
            for (int p = 0; p < partitions; p++) {
                end.put(new TopicPartition(input, p), (long) total / partitions);
            }
            checkEq(end, committedOffsets(consumer, end.keySet()), "the group's committed offsets at the end");
            System.out.println(transactions + " transactions: " + committedTxns + " committed, "
                    + (transactions - committedTxns) + " aborted (" + abortedValues.size() + " records)");
            // Transactions V2 (KIP-890, `transaction.version` 2 finalized): the coordinator
            // bumps the epoch at the end of every transaction, so a producer that started at
            // epoch 0 is at one epoch per transaction. Under V1 it would still be at 0.
            try (Admin admin = admin()) {
                TransactionDescription description = admin.describeTransactions(List.of(transactionalId))
                        .description(transactionalId).get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS);
                checkEq(transactions, (int) description.producerEpoch(),
                        "producer epoch after " + transactions + " transactions (one bump each: transactions V2)");
                System.out.println("transactions V2: the producer epoch is " + description.producerEpoch()
                        + " after " + transactions + " transactions");
            }
        }
        checkGroupOffsets(group, Map.of(new TopicPartition(input, 0), (long) total / partitions,
                new TopicPartition(input, 1), (long) total / partitions));

        waitForStable(output, partitions);
        List<String> want = IntStream.range(0, total).mapToObj(i -> String.format("V%04d", i)).toList();
        List<ConsumerRecord<byte[], byte[]>> committedRecords = readAll(output, partitions, "read_committed");
        for (ConsumerRecord<byte[], byte[]> r : committedRecords) {
            checkEq(inputPartition(str(r.value())), r.partition(), "partition of " + str(r.value()) + " at offset " + r.offset());
        }
        checkSameMultiset(want, values(committedRecords), "read_committed output");
        System.out.println("read_committed: each of the " + total + " inputs exactly once, in its input's partition");
        List<String> everything = new ArrayList<>(want);
        everything.addAll(abortedValues);
        List<ConsumerRecord<byte[], byte[]>> uncommittedRecords = readAll(output, partitions, "read_uncommitted");
        checkSameMultiset(everything, values(uncommittedRecords), "read_uncommitted output");
        System.out.println("read_uncommitted: " + uncommittedRecords.size() + " records, the "
                + abortedValues.size() + " aborted copies included");

        fencing();
    }

    /** A second producer with the same transactional.id fences the first and aborts its open transaction. */
    static void fencing() throws Exception {
        String topic = topicName("java-fenced");
        String transactionalId = topicName("java-zombie");
        try (Admin admin = admin()) {
            createTopic(admin, topic, 1, Map.of());
        }
        Map<String, String> config = Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        try (KafkaProducer<byte[], byte[]> zombie = producer(config)) {
            zombie.initTransactions();
            zombie.beginTransaction();
            RecordMetadata md = zombie.send(new ProducerRecord<>(topic, 0, null, bytes("from the zombie")))
                    .get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS);
            checkEq(0L, md.offset(), "offset of the zombie's record");
            try (KafkaProducer<byte[], byte[]> successor = producer(config)) {
                // The coordinator aborts the zombie's open transaction and bumps the epoch.
                successor.initTransactions();
                try {
                    zombie.commitTransaction();
                    throw new AssertionError("the fenced producer's commitTransaction succeeded");
                } catch (ProducerFencedException e) {
                    System.out.println("the fenced producer's commitTransaction failed as it should: " + e);
                }
                successor.beginTransaction();
                successor.send(new ProducerRecord<>(topic, 0, null, bytes("from the successor")));
                successor.commitTransaction();
            }
        }
        waitForStable(topic, 1);
        checkEq(List.of("from the successor"), values(readAll(topic, 1, "read_committed")), "read_committed after fencing");
        checkEq(List.of("from the zombie", "from the successor"), values(readAll(topic, 1, "read_uncommitted")),
                "read_uncommitted after fencing");
        System.out.println("read_committed sees only the successor's record; read_uncommitted the zombie's too");
    }

    // -- groups ---------------------------------------------------------------------------

    /** One group member: polls, records who consumed what, commits after every poll. */
    static final class Member implements ConsumerRebalanceListener {
        final String name;
        final KafkaConsumer<byte[], byte[]> consumer;
        final Map<String, String> seen;
        boolean closed;

        Member(String name, KafkaConsumer<byte[], byte[]> consumer, Map<String, String> seen) {
            this.name = name;
            this.consumer = consumer;
            this.seen = seen;
        }

        void poll() {
            var records = consumer.poll(POLL);
            for (ConsumerRecord<byte[], byte[]> r : records) {
                String at = r.partition() + ":" + r.offset();
                String before = seen.put(at, name);
                if (before != null) {
                    throw new AssertionError(name + " consumed " + r.topic() + "-" + at + " which " + before + " had consumed already");
                }
                String want = "p" + r.partition() + "-o" + r.offset();
                checkEq(want, str(r.value()), "value at " + at);
            }
            if (!records.isEmpty()) {
                // Committed before the next poll (where rebalances happen): nothing is read twice.
                consumer.commitSync(WAIT);
            }
        }

        void close() {
            if (!closed) {
                closed = true;
                consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(WAIT));
            }
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            System.out.println(name + ": revoked " + sorted(partitions));
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            System.out.println(name + ": assigned " + sorted(partitions));
        }
    }

    /** Produce one record per partition per round-slot: value "p{partition}-o{offset}". */
    static int produceRound(KafkaProducer<byte[], byte[]> producer, String topic, int partitions, int alreadyProduced) throws Exception {
        return produceRound(producer, topic, partitions, alreadyProduced, 10);
    }

    static int produceRound(KafkaProducer<byte[], byte[]> producer, String topic, int partitions, int alreadyProduced,
                            int perPartition) throws Exception {
        long base = alreadyProduced / partitions;
        List<Future<RecordMetadata>> futures = new ArrayList<>();
        for (int i = 0; i < perPartition; i++) {
            for (int p = 0; p < partitions; p++) {
                futures.add(producer.send(new ProducerRecord<>(topic, p, bytes("k" + p), bytes("p" + p + "-o" + (base + i)))));
            }
        }
        producer.flush();
        for (int i = 0; i < futures.size(); i++) {
            RecordMetadata md = futures.get(i).get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS);
            checkEq(base + i / partitions, md.offset(), "offset of produced record in partition " + md.partition());
        }
        return perPartition * partitions;
    }

    static void checkRoundValues(List<ConsumerRecord<byte[], byte[]>> records) {
        for (ConsumerRecord<byte[], byte[]> r : records) {
            checkEq("p" + r.partition() + "-o" + r.offset(), str(r.value()), "value at " + r.partition() + ":" + r.offset());
            checkEq("k" + r.partition(), str(r.key()), "key at " + r.partition() + ":" + r.offset());
        }
    }

    static void describeGroup(String group, String protocol, Map<String, Set<TopicPartition>> wantMembers) throws Exception {
        try (Admin admin = admin()) {
            ConsumerGroupDescription d = waitFor("describeConsumerGroups shows the members " + wantMembers.keySet(), () -> {
                ConsumerGroupDescription g = admin.describeConsumerGroups(List.of(group)).all()
                        .get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS).get(group);
                Map<String, Set<TopicPartition>> members = g.members().stream().collect(Collectors.toMap(
                        MemberDescription::consumerId, m -> m.assignment().topicPartitions()));
                return g.groupState() == GroupState.STABLE && members.equals(wantMembers) ? g : null;
            });
            checkEq(group, d.groupId(), "describeConsumerGroups group id");
            checkEq(GroupType.valueOf(protocol.toUpperCase()), d.type(), "describeConsumerGroups type");
            checkEq(NODE_ID, d.coordinator().id(), "describeConsumerGroups coordinator");
            check(!d.isSimpleConsumerGroup(), "not a simple consumer group");
            // The Java consumer's default for the classic protocol is [range, cooperative-sticky];
            // the consumer protocol uses the broker's default server-side assignor, uniform.
            checkEq(protocol.equals("classic") ? "range" : "uniform", d.partitionAssignor(), "describeConsumerGroups assignor");
            for (MemberDescription m : d.members()) {
                check(m.clientId().startsWith("consumer-" + group), "member client id " + m.clientId());
                check(!m.host().isEmpty(), "member host is set");
            }
            System.out.println("describeConsumerGroups: " + d.groupState() + ", type " + d.type() + ", assignor "
                    + d.partitionAssignor() + ", " + d.members().size() + " member(s)");
        }
    }

    static void checkGroupOffsets(String group, Map<TopicPartition, Long> want) throws Exception {
        try (Admin admin = admin()) {
            Map<TopicPartition, OffsetAndMetadata> got = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS);
            Map<TopicPartition, Long> offsets = new HashMap<>();
            got.forEach((tp, om) -> offsets.put(tp, om.offset()));
            checkEq(want, offsets, "listConsumerGroupOffsets(" + group + ")");
            System.out.println("listConsumerGroupOffsets: " + new TreeMap<>(offsets.entrySet().stream()
                    .collect(Collectors.toMap(e -> e.getKey().toString(), Map.Entry::getValue))));
        }
    }

    // -- clients --------------------------------------------------------------------------

    /**
     * The client settings of $RAFKA_CLIENT_CONFIG, a properties file (security.protocol,
     * sasl.mechanism, sasl.jaas.config for a SASL listener); none without it.
     */
    static Properties clientConfig() {
        Properties props = new Properties();
        String path = System.getenv("RAFKA_CLIENT_CONFIG");
        if (path != null && !path.isBlank()) {
            try (java.io.Reader reader = java.nio.file.Files.newBufferedReader(java.nio.file.Path.of(path))) {
                props.load(reader);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        return props;
    }

    /**
     * One producer and one consumer that live through several broker sessions
     * (connections.max.reauth.ms): records sent one at a time over ~6 s all arrive, in
     * order, read by a consumer polling all along. The Java client re-authenticates its
     * connections when the broker's session lifetime runs out (KIP-368).
     */
    static void produceConsumeAcrossSessions() throws Exception {
        String topic = topicName("java-sessions");
        try (Admin admin = admin()) {
            createTopic(admin, topic, 1, Map.of());
        }
        TopicPartition tp = new TopicPartition(topic, 0);
        List<String> sent = new ArrayList<>();
        List<String> got = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer = producer(Map.of());
             KafkaConsumer<byte[], byte[]> consumer = consumer(Map.of())) {
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(6);
            for (int i = 0; System.nanoTime() < end; i++) {
                String value = "s" + i;
                producer.send(new ProducerRecord<>(topic, 0, null, bytes(value))).get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS);
                sent.add(value);
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(250))) {
                    got.add(new String(r.value(), StandardCharsets.UTF_8));
                }
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (got.size() < sent.size() && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(250))) {
                    got.add(new String(r.value(), StandardCharsets.UTF_8));
                }
            }
        }
        checkEq(sent, got, "records read across sessions");
        System.out.println("SENT " + sent.size());
    }

    static Admin admin() {
        Properties props = clientConfig();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
        return Admin.create(props);
    }

    static KafkaProducer<byte[], byte[]> producer(Map<String, String> extra) {
        Properties props = clientConfig();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "60000");
        props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
        props.putAll(extra);
        return new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** A consumer without a group (assign + seek only). */
    static KafkaConsumer<byte[], byte[]> consumer(Map<String, String> extra) {
        Properties props = clientConfig();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
        props.putAll(extra);
        return new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    static KafkaConsumer<byte[], byte[]> groupConsumer(String group, String protocol) {
        Map<String, String> props = new HashMap<>(Map.of(
                ConsumerConfig.GROUP_ID_CONFIG, group,
                ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol,
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"));
        if (protocol.equals("classic")) {
            // Members learn of a rebalance from their heartbeat: keep the wait short.
            // (With group.protocol=consumer these are the broker's to choose.)
            props.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "500");
            props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "10000");
        }
        return consumer(props);
    }

    // -- consuming ------------------------------------------------------------------------

    static List<ConsumerRecord<byte[], byte[]>> pollUntil(KafkaConsumer<byte[], byte[]> consumer, int count) {
        List<ConsumerRecord<byte[], byte[]>> got = new ArrayList<>();
        long deadline = System.nanoTime() + WAIT.toNanos() * 2;
        while (got.size() < count) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("consumed " + got.size() + " of " + count + " records in " + WAIT.multipliedBy(2)
                        + "; per partition: " + offsetsByPartition(got).entrySet().stream()
                        .map(e -> e.getKey() + "=" + e.getValue().size()).toList());
            }
            consumer.poll(POLL).forEach(got::add);
        }
        checkEq(count, got.size(), "records consumed (none beyond the expected)");
        return got;
    }

    static ConsumerRecord<byte[], byte[]> nextRecord(KafkaConsumer<byte[], byte[]> consumer) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            var records = consumer.poll(POLL);
            if (!records.isEmpty()) {
                return records.iterator().next();
            }
        }
        throw new AssertionError("no record within " + WAIT);
    }

    static void checkRecordAt(ConsumerRecord<byte[], byte[]> r, long offset, long t0) {
        checkEq(0, r.partition(), "partition");
        checkEq(offset, r.offset(), "offset of the next record");
        checkEq("k" + offset, str(r.key()), "key at offset " + offset);
        checkEq("v" + offset, str(r.value()), "value at offset " + offset);
        checkEq(t0 + offset * 1000L, r.timestamp(), "timestamp at offset " + offset);
        checkEq(TimestampType.CREATE_TIME, r.timestampType(), "timestamp type");
    }

    static void checkOffsetAndTimestamp(long offset, long timestamp, OffsetAndTimestamp got, String what) {
        check(got != null, what + ": want offset " + offset + ", got null");
        checkEq(offset, got.offset(), what + " offset");
        checkEq(timestamp, got.timestamp(), what + " timestamp");
        // The single-node broker's partitions are at leader epoch 0 (never re-elected).
        checkEq(java.util.Optional.of(0), got.leaderEpoch(), what + " leader epoch");
    }

    static Map<Integer, List<Long>> offsetsByPartition(List<ConsumerRecord<byte[], byte[]>> records) {
        Map<Integer, List<Long>> out = new TreeMap<>();
        for (ConsumerRecord<byte[], byte[]> r : records) {
            out.computeIfAbsent(r.partition(), p -> new ArrayList<>()).add(r.offset());
        }
        return out;
    }

    record Expected(int partition, long offset, byte[] key, byte[] value, List<String> headers, long timestamp) {
    }

    static void checkRecords(List<Expected> expected, List<ConsumerRecord<byte[], byte[]>> got) {
        Map<String, Expected> want = new HashMap<>();
        for (Expected e : expected) {
            want.put(e.partition + ":" + e.offset, e);
        }
        Map<Integer, Long> lastOffset = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : got) {
            String at = r.partition() + ":" + r.offset();
            Expected e = want.remove(at);
            if (e == null) {
                throw new AssertionError("unexpected or duplicate record at " + at);
            }
            Long last = lastOffset.put(r.partition(), r.offset());
            check(last == null || last + 1 == r.offset(), "partition " + r.partition() + " offsets consecutive: " + last + " then " + r.offset());
            check(Arrays.equals(e.key, r.key()), "key at " + at + ": want " + str(e.key) + ", got " + str(r.key()));
            check(Arrays.equals(e.value, r.value()), "value at " + at + ": want " + str(e.value) + ", got " + str(r.value()));
            checkEq(e.headers, headerList(r.headers()), "headers at " + at);
            checkEq(e.timestamp, r.timestamp(), "timestamp at " + at);
            checkEq(TimestampType.CREATE_TIME, r.timestampType(), "timestamp type at " + at);
            check(r.serializedKeySize() == (e.key == null ? -1 : e.key.length), "serializedKeySize at " + at);
        }
        check(want.isEmpty(), "records never consumed: " + new TreeSet<>(want.keySet()));
    }

    static List<String> headerList(Iterable<Header> headers) {
        List<String> out = new ArrayList<>();
        for (Header h : headers) {
            out.add(h.key() + "=" + (h.value() == null ? "<null>" : "'" + str(h.value()) + "'"));
        }
        return out;
    }

    // -- transactions ---------------------------------------------------------------------

    /** The partition an input value "v0123" was produced to (and its copy must land in). */
    static int inputPartition(String value) {
        return Integer.parseInt(value.substring(1)) % 2;
    }

    /** The group's committed offsets of `partitions` (read_committed: OffsetFetch with require_stable). */
    static Map<TopicPartition, Long> committedOffsets(KafkaConsumer<byte[], byte[]> consumer, Set<TopicPartition> partitions) {
        Map<TopicPartition, Long> out = new HashMap<>();
        consumer.committed(partitions, WAIT).forEach((tp, om) -> {
            if (om != null) {
                out.put(tp, om.offset());
            }
        });
        return out;
    }

    static Map<Integer, Long> byPartition(Map<TopicPartition, Long> offsets) {
        Map<Integer, Long> out = new HashMap<>();
        offsets.forEach((tp, offset) -> out.put(tp.partition(), offset));
        return out;
    }

    /**
     * Polls until no transaction is open on `topic`: each partition's last stable offset
     * equals its high watermark (EndTxn may answer before the markers are written).
     */
    static void waitForStable(String topic, int partitions) throws Exception {
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        for (int p = 0; p < partitions; p++) {
            latest.put(new TopicPartition(topic, p), OffsetSpec.latest());
        }
        try (Admin admin = admin()) {
            waitFor(topic + "'s last stable offsets reach its high watermarks", () -> {
                Map<TopicPartition, Long> stable = new HashMap<>();
                admin.listOffsets(latest, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all()
                        .get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS).forEach((tp, info) -> stable.put(tp, info.offset()));
                Map<TopicPartition, Long> high = new HashMap<>();
                admin.listOffsets(latest, new ListOffsetsOptions(IsolationLevel.READ_UNCOMMITTED)).all()
                        .get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS).forEach((tp, info) -> high.put(tp, info.offset()));
                return stable.equals(high) ? true : null;
            });
        }
    }

    /**
     * Every record of `topic` a fresh consumer with `isolation` returns, reading each partition
     * until its position reaches the end offset (aborted records and markers move the
     * position without being returned).
     */
    static List<ConsumerRecord<byte[], byte[]>> readAll(String topic, int partitions, String isolation) {
        List<TopicPartition> tps = IntStream.range(0, partitions).mapToObj(p -> new TopicPartition(topic, p)).toList();
        List<ConsumerRecord<byte[], byte[]>> got = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation))) {
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            Map<TopicPartition, Long> end = consumer.endOffsets(tps, WAIT);
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (tps.stream().anyMatch(tp -> consumer.position(tp, WAIT) < end.get(tp))) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError(isolation + " consumer of " + topic + " did not reach the end offsets " + end
                            + " in " + WAIT + "; positions " + tps.stream().map(tp -> consumer.position(tp, WAIT)).toList()
                            + " after " + got.size() + " records");
                }
                consumer.poll(POLL).forEach(got::add);
            }
        }
        return got;
    }

    static List<String> values(List<ConsumerRecord<byte[], byte[]>> records) {
        return records.stream().map(r -> str(r.value())).toList();
    }

    /** `got` holds the same values as `want`, each as many times; on a difference, says which. */
    static void checkSameMultiset(List<String> want, List<String> got, String what) {
        Map<String, Integer> surplus = new TreeMap<>();
        got.forEach(v -> surplus.merge(v, 1, Integer::sum));
        want.forEach(v -> surplus.merge(v, -1, Integer::sum));
        surplus.values().removeIf(n -> n == 0);
        if (!surplus.isEmpty()) {
            Map<String, Integer> missing = new TreeMap<>();
            Map<String, Integer> extra = new TreeMap<>();
            surplus.forEach((v, n) -> (n < 0 ? missing : extra).put(v, Math.abs(n)));
            throw new AssertionError(what + ": " + got.size() + " records, want " + want.size()
                    + "; missing (value=times) " + missing + "; extra " + extra);
        }
    }

    // -- admin helpers --------------------------------------------------------------------

    static void createTopic(Admin admin, String topic, int partitions, Map<String, String> configs) throws Exception {
        admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1).configs(configs)))
                .all().get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS);
        waitForPartitions(admin, topic, partitions);
    }

    /** Polls describeTopics until the topic has `partitions` partitions, each with a leader. */
    static TopicDescription waitForPartitions(Admin admin, String topic, int partitions) throws Exception {
        return waitFor(topic + " has " + partitions + " partitions with leaders", () -> {
            TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS).get(topic);
            boolean ready = d.partitions().size() == partitions
                    && d.partitions().stream().allMatch(p -> p.leader() != null && !p.leader().isEmpty());
            return ready ? d : null;
        });
    }

    static void checkPartitions(TopicDescription d, int partitions) {
        checkEq(IntStream.range(0, partitions).boxed().toList(),
                d.partitions().stream().map(TopicPartitionInfo::partition).toList(), "partitions of " + d.name());
        for (TopicPartitionInfo p : d.partitions()) {
            checkEq(NODE_ID, p.leader().id(), "leader of " + d.name() + "-" + p.partition());
            checkEq(List.of(NODE_ID), p.replicas().stream().map(Node::id).toList(), "replicas of " + d.name() + "-" + p.partition());
            checkEq(List.of(NODE_ID), p.isr().stream().map(Node::id).toList(), "isr of " + d.name() + "-" + p.partition());
        }
        System.out.println("describeTopics " + d.name() + ": " + partitions + " partitions, leader/replicas/isr = [" + NODE_ID + "]");
    }

    static Config describeConfig(Admin admin, ConfigResource resource) throws Exception {
        return admin.describeConfigs(List.of(resource)).all().get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS).get(resource);
    }

    static void checkConfig(Config config, String name, String value, ConfigEntry.ConfigSource source) {
        ConfigEntry e = config.get(name);
        check(e != null, "config " + name + " is described");
        checkEq(value, e.value(), "value of " + name);
        checkEq(source, e.source(), "source of " + name);
    }

    @FunctionalInterface
    interface Call {
        void run() throws Exception;
    }

    static void expectFailure(String what, Call call, Class<? extends Throwable> cause) throws Exception {
        try {
            call.run();
        } catch (ExecutionException e) {
            check(cause.isInstance(e.getCause()), what + ": want " + cause.getSimpleName() + ", got " + e.getCause());
            System.out.println(what + " failed as it should: " + e.getCause().getClass().getSimpleName());
            return;
        }
        throw new AssertionError(what + " succeeded; want " + cause.getSimpleName());
    }

    // -- small things ---------------------------------------------------------------------

    @FunctionalInterface
    interface Probe<T> {
        /** The result when ready, null when not yet. */
        T get() throws Exception;
    }

    /** Calls `probe` until it returns non-null; client exceptions count as "not yet", assertion errors fail. */
    static <T> T waitFor(String what, Probe<T> probe) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        Exception last = null;
        while (true) {
            try {
                T result = probe.get();
                if (result != null) {
                    return result;
                }
            } catch (AssertionError e) {
                throw e;
            } catch (Exception e) {
                last = e;
            }
            if (System.nanoTime() > deadline) {
                AssertionError error = new AssertionError("timed out after " + WAIT + " waiting until " + what
                        + (last == null ? "" : "; last error: " + last));
                if (last != null) {
                    error.initCause(last);
                }
                throw error;
            }
            TimeUnit.MILLISECONDS.sleep(20); // the poll interval
        }
    }

    static String topicName(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 10);
    }

    static List<Long> range(long from, long to) {
        return java.util.stream.LongStream.range(from, to).boxed().toList();
    }

    static List<String> sorted(Collection<TopicPartition> tps) {
        return tps.stream().sorted((x, y) -> Integer.compare(x.partition(), y.partition())).map(TopicPartition::toString).toList();
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String str(byte[] b) {
        return b == null ? "<null>" : new String(b, StandardCharsets.UTF_8);
    }

    static void check(boolean condition, String what) {
        if (!condition) {
            throw new AssertionError("check failed: " + what);
        }
    }

    static void checkEq(Object want, Object got, String what) {
        if (!Objects.equals(want, got)) {
            throw new AssertionError(what + ": want " + want + ", got " + got);
        }
    }
}
