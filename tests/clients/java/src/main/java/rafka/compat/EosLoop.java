package rafka.compat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The Java client's exactly-once loop for a test that kills brokers under it
 * (tests/compat/test_cluster.py): read {@code input} read_committed in {@code group}, write
 * each value upper-cased to the same partition of {@code output} and the consumed offsets in
 * the same transaction; every fifth transaction is aborted after its records are in the log.
 * Any error aborts the transaction (or, when even that fails, replaces the producer) and
 * rewinds the consumer to the group's committed offsets, as Kafka's documentation's loop does.
 *
 * <pre>
 *   java -cp ... rafka.compat.EosLoop bootstrap input output group transactional-id total
 * </pre>
 *
 * Before transaction n it prints {@code BEFORE n} and waits for a line on stdin, so that the
 * test can kill a broker at a chosen point; it ends with {@code DONE committed aborted}.
 */
public final class EosLoop {
    private static final Duration POLL = Duration.ofMillis(200);
    private static final Duration DEADLINE = Duration.ofSeconds(240);

    private EosLoop() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 6) {
            System.err.println("usage: EosLoop bootstrap input output group transactional-id total");
            System.exit(2);
        }
        String bootstrap = args[0];
        String input = args[1];
        String output = args[2];
        String group = args[3];
        String transactionalId = args[4];
        int total = Integer.parseInt(args[5]);
        BufferedReader control = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));

        Properties consumerProps = new Properties();
        consumerProps.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        consumerProps.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        consumerProps.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        consumerProps.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        consumerProps.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        consumerProps.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "20");
        consumerProps.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        consumerProps.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());

        int committed = 0;
        int aborted = 0;
        int transactions = 0;
        int copied = 0;
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerProps)) {
            consumer.subscribe(List.of(input));
            KafkaProducer<byte[], byte[]> producer = producer(bootstrap, transactionalId);
            try {
                while (copied < total) {
                    if (System.nanoTime() > deadline) {
                        throw new AssertionError("stuck after " + copied + " of " + total + " records");
                    }
                    ConsumerRecords<byte[], byte[]> records = consumer.poll(POLL);
                    if (records.isEmpty()) {
                        continue;
                    }
                    transactions++;
                    System.out.println("BEFORE " + transactions);
                    System.out.flush();
                    if (control.readLine() == null) {
                        throw new AssertionError("the test closed stdin");
                    }
                    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                    for (TopicPartition tp : records.partitions()) {
                        List<ConsumerRecord<byte[], byte[]>> inPartition = records.records(tp);
                        offsets.put(tp, new OffsetAndMetadata(inPartition.get(inPartition.size() - 1).offset() + 1));
                    }
                    try {
                        producer.beginTransaction();
                        for (ConsumerRecord<byte[], byte[]> r : records) {
                            byte[] value = new String(r.value(), StandardCharsets.UTF_8)
                                    .toUpperCase(Locale.ROOT).getBytes(StandardCharsets.UTF_8);
                            producer.send(new ProducerRecord<>(output, r.partition(), r.key(), value));
                        }
                        producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
                        if (transactions % 5 == 0) {
                            producer.flush();
                            producer.abortTransaction();
                            aborted++;
                            rewind(consumer);
                        } else {
                            producer.commitTransaction();
                            committed++;
                            copied += records.count();
                        }
                    } catch (KafkaException e) {
                        System.out.println("transaction " + transactions + ": " + e);
                        try {
                            producer.abortTransaction();
                        } catch (KafkaException fatal) {
                            System.out.println("abort failed (" + fatal + "): a new producer");
                            producer.close(Duration.ZERO);
                            producer = producer(bootstrap, transactionalId);
                        }
                        rewind(consumer);
                    }
                }
            } finally {
                producer.close(Duration.ofSeconds(10));
            }
        }
        System.out.println("DONE " + committed + " " + aborted);
    }

    private static KafkaProducer<byte[], byte[]> producer(String bootstrap, String transactionalId) {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props);
        producer.initTransactions();
        return producer;
    }

    /** Seeks every assigned partition back to the group's committed offset (0 when none). */
    private static void rewind(KafkaConsumer<byte[], byte[]> consumer) {
        Set<TopicPartition> assignment = consumer.assignment();
        long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            try {
                Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(assignment, Duration.ofSeconds(10));
                for (TopicPartition tp : assignment) {
                    OffsetAndMetadata at = committed.get(tp);
                    consumer.seek(tp, at == null ? 0L : at.offset());
                }
                return;
            } catch (KafkaException e) {
                // The group's coordinator may be moving after a kill.
                if (System.nanoTime() > until) {
                    throw e;
                }
            }
        }
    }
}
