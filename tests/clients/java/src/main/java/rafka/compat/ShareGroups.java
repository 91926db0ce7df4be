package rafka.compat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Share groups (KIP-932) with the Java KafkaShareConsumer: two members of one share group
 * on a topic of two partitions together receive every record; an explicitly released
 * record comes back with delivery count 2, a rejected one never comes back, and nothing
 * accepted is delivered again.
 */
final class ShareGroups {
    private static final Duration POLL = Duration.ofMillis(200);

    private ShareGroups() {}

    static void run(String bootstrap) throws Exception {
        String topic = Main.topicName("java-share");
        String group = Main.topicName("java-share-group");
        createTopicReadFromEarliest(topic, group);
        int n = 200;
        try (KafkaProducer<byte[], byte[]> producer = Main.producer(Map.of())) {
            for (int i = 0; i < n; i++) {
                producer.send(new ProducerRecord<>(topic, i % 2, null, ("v" + i).getBytes()));
            }
            producer.flush();
        }
        List<KafkaShareConsumer<byte[], byte[]>> members = List.of(member(bootstrap, group), member(bootstrap, group));
        try {
            for (KafkaShareConsumer<byte[], byte[]> m : members) {
                m.subscribe(List.of(topic));
            }
            Set<String> accepted = new TreeSet<>();
            Map<String, Integer> deliveries = new HashMap<>();
            String[] released = {null};
            String[] rejected = {null};
            List<String> redelivered = new ArrayList<>();
            Main.waitFor("every record accepted once", () -> {
                for (KafkaShareConsumer<byte[], byte[]> m : members) {
                    for (ConsumerRecord<byte[], byte[]> r : m.poll(POLL)) {
                        String value = new String(r.value());
                        deliveries.merge(value, 1, Integer::sum);
                        Optional<Short> count = r.deliveryCount();
                        if (released[0] == null) {
                            released[0] = value;
                            m.acknowledge(r, AcknowledgeType.RELEASE);
                        } else if (rejected[0] == null && !value.equals(released[0])) {
                            rejected[0] = value;
                            m.acknowledge(r, AcknowledgeType.REJECT);
                        } else {
                            if (value.equals(released[0])) {
                                redelivered.add(value + "@" + count.orElse((short) -1));
                            }
                            Main.check(accepted.add(value), "accepted twice: " + value);
                            m.acknowledge(r, AcknowledgeType.ACCEPT);
                        }
                    }
                    m.commitSync(Duration.ofSeconds(30));
                }
                return accepted.size() == n - 1 ? accepted : null;
            });
            Main.check(!accepted.contains(rejected[0]), "the rejected record was delivered again");
            Main.checkEq(1, deliveries.get(rejected[0]), "deliveries of the rejected record");
            Main.checkEq(List.of(released[0] + "@2"), redelivered, "the released record's redelivery");
            System.out.printf("released %s came back with delivery count 2; rejected %s never did; %d accepted%n",
                    released[0], rejected[0], accepted.size());
        } finally {
            for (KafkaShareConsumer<byte[], byte[]> m : members) {
                m.close(Duration.ofSeconds(30));
            }
        }
    }

    /**
     * A member with fetch.min.bytes far above what the topic ever holds: each ShareFetch
     * waits for fetch.max.wait.ms and answers with what it can acquire then, so the member
     * still receives every record, each once, produced before it joined and while it polls.
     */
    static void runMinBytes(String bootstrap) throws Exception {
        String topic = Main.topicName("java-share-min-bytes");
        String group = Main.topicName("java-share-min-bytes-group");
        createTopicReadFromEarliest(topic, group);
        int n = 100;
        Map<String, Integer> deliveries = new HashMap<>();
        Map<String, String> fetch = Map.of(
                ConsumerConfig.FETCH_MIN_BYTES_CONFIG, "1048576",
                ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "300");
        try (KafkaProducer<byte[], byte[]> producer = Main.producer(Map.of());
             KafkaShareConsumer<byte[], byte[]> member = member(bootstrap, group, fetch)) {
            member.subscribe(List.of(topic));
            for (int round = 1; round <= 2; round++) {
                for (int i = (round - 1) * n; i < round * n; i++) {
                    producer.send(new ProducerRecord<>(topic, i % 2, null, ("v" + i).getBytes()));
                }
                producer.flush();
                int want = round * n;
                Main.waitFor(want + " records received", () -> {
                    for (ConsumerRecord<byte[], byte[]> r : member.poll(POLL)) {
                        deliveries.merge(new String(r.value()), 1, Integer::sum);
                        member.acknowledge(r, AcknowledgeType.ACCEPT);
                    }
                    member.commitSync(Duration.ofSeconds(30));
                    return deliveries.size() >= want ? deliveries : null;
                });
            }
        }
        Set<String> want = new TreeSet<>();
        for (int i = 0; i < 2 * n; i++) {
            want.add("v" + i);
        }
        Main.checkEq(want, new TreeSet<>(deliveries.keySet()), "the records received");
        deliveries.forEach((value, count) -> Main.checkEq(1, count, "deliveries of " + value));
        System.out.printf("fetch.min.bytes 1048576: all %d records received once%n", deliveries.size());
    }

    /** A topic of two partitions, and share.auto.offset.reset=earliest for `group`. */
    private static void createTopicReadFromEarliest(String topic, String group) throws Exception {
        try (Admin admin = Main.admin()) {
            Main.createTopic(admin, topic, 2, Map.of());
            ConfigResource resource = new ConfigResource(ConfigResource.Type.GROUP, group);
            admin.incrementalAlterConfigs(Map.of(resource, List.of(new AlterConfigOp(
                    new ConfigEntry("share.auto.offset.reset", "earliest"), AlterConfigOp.OpType.SET))))
                .all().get(30, TimeUnit.SECONDS);
        }
    }

    private static KafkaShareConsumer<byte[], byte[]> member(String bootstrap, String group) {
        return member(bootstrap, group, Map.of());
    }

    /** A member acknowledging explicitly, with the `extra` consumer configs. */
    private static KafkaShareConsumer<byte[], byte[]> member(String bootstrap, String group,
                                                             Map<String, String> extra) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        props.put("share.acknowledgement.mode", "explicit");
        props.putAll(extra);
        return new KafkaShareConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }
}
