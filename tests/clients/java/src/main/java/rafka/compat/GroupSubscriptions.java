package rafka.compat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.SubscriptionPattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Changing what a group subscribes to while it consumes, and a classic group upgraded online
 * to a consumer group, with the Java client (the reference implementation of KIP-848):
 *
 * <pre>
 *   java -cp ... rafka.compat.GroupSubscriptions --list
 *   java -cp ... rafka.compat.GroupSubscriptions regex-topics-come-and-go ...
 * </pre>
 *
 * tests/compat/test_group_subscriptions.py runs every scenario against Apache Kafka 4.1.1
 * (which proves the expectations written here) and against rafka. The bootstrap address
 * comes from $RAFKA_BOOTSTRAP. Each scenario names its own topics and groups; nothing sleeps
 * to wait, every wait polls against a deadline. Each scenario ends with {@code PASS <name>};
 * a failed check prints {@code FAIL <name>: ...} and exits 1.
 */
public final class GroupSubscriptions {
    /** Kafka's consumer-protocol heartbeat is 5 s and its regex refresh is asynchronous. */
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final Duration POLL = Duration.ofMillis(100);
    private static final long FUTURE_TIMEOUT_S = 30;

    private static String bootstrap;

    @FunctionalInterface
    interface Scenario {
        void run() throws Exception;
    }

    private static final Map<String, Scenario> SCENARIOS = new LinkedHashMap<>();

    static {
        SCENARIOS.put("regex-topics-come-and-go", GroupSubscriptions::regexTopicsComeAndGo);
        SCENARIOS.put("resubscribe", GroupSubscriptions::resubscribe);
        SCENARIOS.put("two-subscriptions", GroupSubscriptions::twoSubscriptions);
        SCENARIOS.put("online-upgrade", GroupSubscriptions::onlineUpgrade);
    }

    public static void main(String[] args) {
        if (args.length == 1 && args[0].equals("--list")) {
            SCENARIOS.keySet().forEach(System.out::println);
            return;
        }
        bootstrap = System.getenv("RAFKA_BOOTSTRAP");
        if (args.length == 0 || bootstrap == null || bootstrap.isBlank()) {
            System.err.println("usage: RAFKA_BOOTSTRAP=host:port GroupSubscriptions <scenario>...; scenarios: "
                    + SCENARIOS.keySet());
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
                System.out.println("FAIL " + name + ": " + t);
                System.out.println(trace);
                System.out.flush();
                System.exit(1);
            }
            System.out.printf("PASS %s (%d ms)%n", name, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
        }
        System.out.flush();
        System.exit(0);
    }

    // -- scenarios ------------------------------------------------------------------------

    /**
     * A broker-side (RE2J) regex: a matching topic created later is assigned, a matching
     * topic deleted goes away, and a topic the regex only matches in part (not fully) is
     * never assigned.
     */
    static void regexTopicsComeAndGo() throws Exception {
        String prefix = unique("gs-regex");
        String a = prefix + "-a";
        String b = prefix + "-b";
        String decoy = "x" + prefix + "-a"; // matches `prefix-.*` as a substring only
        String group = unique("gs-regex-group");
        try (Admin admin = admin();
             KafkaProducer<byte[], byte[]> producer = producer();
             KafkaConsumer<byte[], byte[]> consumer = consumer(group, "consumer")) {
            createTopic(admin, a, 2);
            createTopic(admin, decoy, 1);
            consumer.subscribe(new SubscriptionPattern(prefix + "-.*"));
            awaitAssignment(consumer, partitions(Map.of(a, 2)), "the regex matches " + a);
            checkNone(consumer, decoy);

            createTopic(admin, b, 3);
            awaitAssignment(consumer, partitions(Map.of(a, 2, b, 3)), b + " created: its partitions are added");
            Map<String, Integer> seen = new HashMap<>();
            produce(producer, b, 3);
            awaitConsumed(List.of(consumer), seen, b, 3);
            checkNone(consumer, decoy);

            admin.deleteTopics(List.of(a)).all().get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS);
            awaitAssignment(consumer, partitions(Map.of(b, 3)), a + " deleted: its partitions go away");
            checkNone(consumer, decoy);
            produce(producer, b, 3);
            awaitConsumed(List.of(consumer), seen, b, 6);
        }
    }

    /**
     * One member changes its subscription again and again while consuming: regex → another
     * regex → topic list → regex, client-side java.util.regex, and the same list repeated.
     */
    static void resubscribe() throws Exception {
        String prefix = unique("gs-resub");
        String a = prefix + "-a";
        String b = prefix + "-b";
        String c = unique("gs-other");
        String group = unique("gs-resub-group");
        try (Admin admin = admin();
             KafkaProducer<byte[], byte[]> producer = producer();
             KafkaConsumer<byte[], byte[]> consumer = consumer(group, "consumer")) {
            createTopic(admin, a, 2);
            createTopic(admin, b, 2);
            createTopic(admin, c, 1);

            consumer.subscribe(new SubscriptionPattern(a));
            awaitAssignment(consumer, partitions(Map.of(a, 2)), "regex " + a);

            consumer.subscribe(new SubscriptionPattern(prefix + "-.*"));
            awaitAssignment(consumer, partitions(Map.of(a, 2, b, 2)), "regex " + prefix + "-.*");

            // The client refuses to change the kind of subscription without unsubscribe()
            // (a leave, then a fresh join); a regex for another regex or a list for another
            // list is changed in place.
            consumer.unsubscribe();
            consumer.subscribe(List.of(c));
            awaitAssignment(consumer, partitions(Map.of(c, 1)), "from a regex to the list [" + c + "]");
            awaitValue(producer, consumer, c, "after-list");

            consumer.unsubscribe();
            consumer.subscribe(new SubscriptionPattern(b + "|" + c));
            awaitAssignment(consumer, partitions(Map.of(b, 2, c, 1)), "from a list back to a regex");

            consumer.unsubscribe();
            consumer.subscribe(Pattern.compile(prefix + "-.*"));
            awaitAssignment(consumer, partitions(Map.of(a, 2, b, 2)), "client-side java.util.regex " + prefix + "-.*");

            consumer.unsubscribe();
            for (int i = 0; i < 3; i++) {
                consumer.subscribe(List.of(c, a));
                awaitAssignment(consumer, partitions(Map.of(a, 2, c, 1)), "subscribe([" + c + ", " + a + "]) #" + (i + 1));
                awaitValue(producer, consumer, c, "repeat-" + i);
            }
            System.out.println("the same list subscribed three times: assignment unchanged, still consuming");
        }
    }

    /**
     * Two members with different subscriptions: one lists topic a, the other's regex matches
     * a and b. The group balances within what each may take.
     */
    static void twoSubscriptions() throws Exception {
        String prefix = unique("gs-two");
        String a = prefix + "-a";
        String b = prefix + "-b";
        String group = unique("gs-two-group");
        Set<TopicPartition> all = partitions(Map.of(a, 4, b, 2));
        try (Admin admin = admin();
             KafkaConsumer<byte[], byte[]> listing = consumer(group, "consumer");
             KafkaConsumer<byte[], byte[]> matching = consumer(group, "consumer")) {
            createTopic(admin, a, 4);
            createTopic(admin, b, 2);
            listing.subscribe(List.of(a));
            awaitAssignment(listing, partitions(Map.of(a, 4)), "the first member alone");
            matching.subscribe(new SubscriptionPattern(prefix + "-.*"));
            String got = waitFor("both members settle on disjoint partitions covering " + all, () -> {
                listing.poll(POLL);
                matching.poll(POLL);
                Set<TopicPartition> x = listing.assignment();
                Set<TopicPartition> y = matching.assignment();
                Set<TopicPartition> union = new HashSet<>(x);
                union.addAll(y);
                boolean disjoint = x.stream().noneMatch(y::contains);
                boolean onlyA = x.stream().allMatch(tp -> tp.topic().equals(a));
                return disjoint && onlyA && union.equals(all) && x.size() == 3 && y.size() == 3
                        ? "list member " + show(x) + ", regex member " + show(y) : null;
            });
            System.out.println(got);
        }
    }

    /**
     * A classic member consumes; a consumer-protocol member joins the same group (the group is
     * upgraded online); both then own disjoint partitions covering the topic and every record
     * is consumed exactly once. When the consumer-protocol member leaves, the classic member
     * gets all partitions back.
     */
    static void onlineUpgrade() throws Exception {
        final int partitions = 4;
        String topic = unique("gs-upgrade");
        String group = unique("gs-upgrade-group");
        Set<TopicPartition> all = partitions(Map.of(topic, partitions));
        try (Admin admin = admin();
             KafkaProducer<byte[], byte[]> producer = producer();
             KafkaConsumer<byte[], byte[]> classic = consumer(group, "classic")) {
            createTopic(admin, topic, partitions);
            Map<String, Integer> seen = new HashMap<>();
            classic.subscribe(List.of(topic));
            awaitAssignment(classic, all, "the classic member alone");
            int produced = produce(producer, topic, partitions);
            awaitConsumed(List.of(classic), seen, topic, produced);
            classic.commitSync(WAIT);

            try (KafkaConsumer<byte[], byte[]> modern = consumer(group, "consumer")) {
                modern.subscribe(List.of(topic));
                String split = waitFor("classic and consumer members own disjoint partitions covering " + all, () -> {
                    classic.poll(POLL).forEach(r -> count(seen, r));
                    modern.poll(POLL).forEach(r -> count(seen, r));
                    Set<TopicPartition> x = classic.assignment();
                    Set<TopicPartition> y = modern.assignment();
                    Set<TopicPartition> union = new HashSet<>(x);
                    union.addAll(y);
                    boolean disjoint = x.stream().noneMatch(y::contains);
                    return disjoint && union.equals(all) && !x.isEmpty() && !y.isEmpty()
                            ? "classic " + show(x) + ", consumer " + show(y) : null;
                });
                System.out.println("upgraded: " + split);
                GroupType type = admin.describeConsumerGroups(List.of(group)).all()
                        .get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS).get(group).type();
                checkEq(GroupType.CONSUMER, type, "group type after the upgrade");
                produced += produce(producer, topic, partitions);
                awaitConsumed(List.of(classic, modern), seen, topic, produced);
                classic.commitSync(WAIT);
                modern.commitSync(WAIT);
            }
            awaitAssignment(classic, all, "the consumer-protocol member left: the classic member has all again",
                    r -> count(seen, r));
            produced += produce(producer, topic, partitions);
            awaitConsumed(List.of(classic), seen, topic, produced);
            checkEq(produced, seen.size(), "records consumed exactly once");
            System.out.println("every one of " + produced + " records consumed exactly once");
        }
    }

    // -- helpers --------------------------------------------------------------------------

    static void count(Map<String, Integer> seen, ConsumerRecord<byte[], byte[]> r) {
        String key = r.topic() + ":" + r.partition() + ":" + r.offset();
        if (seen.put(key, 1) != null) {
            throw new AssertionError("record consumed twice: " + key);
        }
    }

    /** Produces `value` to partition 0 of `topic` and polls until the consumer reads it. */
    static void awaitValue(KafkaProducer<byte[], byte[]> producer, KafkaConsumer<byte[], byte[]> consumer,
                           String topic, String value) throws Exception {
        producer.send(new ProducerRecord<>(topic, 0, null, value.getBytes())).get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS);
        waitFor("the consumer reads " + value + " from " + topic, () -> {
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(POLL)) {
                if (r.topic().equals(topic) && new String(r.value()).equals(value)) {
                    return true;
                }
            }
            return null;
        });
        System.out.println("consumed " + value + " from " + topic);
    }

    static int produce(KafkaProducer<byte[], byte[]> producer, String topic, int partitions) throws Exception {
        for (int p = 0; p < partitions; p++) {
            producer.send(new ProducerRecord<>(topic, p, null, ("v" + p).getBytes())).get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS);
        }
        return partitions;
    }

    /** Polls the consumers until `want` records of `topic` have been seen (each once). */
    static void awaitConsumed(List<KafkaConsumer<byte[], byte[]>> consumers, Map<String, Integer> seen, String topic,
                              int want) throws Exception {
        waitFor(want + " records of " + topic + " consumed", () -> {
            for (KafkaConsumer<byte[], byte[]> c : consumers) {
                c.poll(POLL).forEach(r -> count(seen, r));
            }
            long n = seen.keySet().stream().filter(k -> k.startsWith(topic + ":")).count();
            if (n > want) {
                throw new AssertionError("consumed " + n + " records of " + topic + ", want " + want);
            }
            return n == want ? true : null;
        });
        System.out.println("consumed " + want + " records of " + topic);
    }

    static void awaitAssignment(KafkaConsumer<byte[], byte[]> consumer, Set<TopicPartition> want, String what) throws Exception {
        awaitAssignment(consumer, want, what, r -> { });
    }

    static void awaitAssignment(KafkaConsumer<byte[], byte[]> consumer, Set<TopicPartition> want, String what,
                                java.util.function.Consumer<ConsumerRecord<byte[], byte[]>> onRecord) throws Exception {
        waitFor(what + ": assignment " + show(want), () -> {
            consumer.poll(POLL).forEach(onRecord);
            return consumer.assignment().equals(want) ? true : null;
        });
        System.out.println(what + ": " + show(want));
    }

    static void checkNone(KafkaConsumer<byte[], byte[]> consumer, String topic) {
        check(consumer.assignment().stream().noneMatch(tp -> tp.topic().equals(topic)),
                topic + " is not assigned: " + show(consumer.assignment()));
    }

    static Set<TopicPartition> partitions(Map<String, Integer> topics) {
        Set<TopicPartition> out = new HashSet<>();
        topics.forEach((t, n) -> IntStream.range(0, n).forEach(p -> out.add(new TopicPartition(t, p))));
        return out;
    }

    static String show(Collection<TopicPartition> tps) {
        return new TreeSet<>(tps.stream().map(TopicPartition::toString).collect(Collectors.toList())).toString();
    }

    static void createTopic(Admin admin, String topic, int partitions) throws Exception {
        admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS);
        waitFor(topic + " has " + partitions + " partitions with leaders", () -> {
            var d = admin.describeTopics(List.of(topic)).allTopicNames().get(FUTURE_TIMEOUT_S, TimeUnit.SECONDS).get(topic);
            return d.partitions().size() == partitions && d.partitions().stream().allMatch(p -> p.leader() != null) ? true : null;
        });
    }

    static Admin admin() {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
        return Admin.create(props);
    }

    static KafkaProducer<byte[], byte[]> producer() {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        // rafka has no InitProducerId yet (see Main's class doc).
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "false");
        return new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
    }

    static KafkaConsumer<byte[], byte[]> consumer(String group, String protocol) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol);
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        // Client-side regexes (java.util.regex) follow the topics of the metadata.
        props.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, "1000");
        if (protocol.equals("classic")) {
            props.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "500");
            props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "10000");
        }
        return new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    @FunctionalInterface
    interface Probe<T> {
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
            TimeUnit.MILLISECONDS.sleep(20);
        }
    }

    static String unique(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
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
