package rafka.streams;

import java.time.Duration;
import java.util.Arrays;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;

/**
 * Kafka Streams' word count with {@code processing.guarantee=exactly_once_v2}, run by
 * tests/compat/test_streams.py as its own JVM so that it can be killed with SIGKILL:
 *
 * <pre>
 *   WordCount &lt;bootstrap&gt; &lt;application.id&gt; &lt;input topic&gt; &lt;output topic&gt; &lt;state.dir&gt;
 * </pre>
 *
 * Input lines (null keys) are split on whitespace, grouped by word (through a repartition
 * topic) and counted in a RocksDB store ("counts", backed by a changelog topic); every
 * updated count goes to the output topic (word -> count as a big-endian long). Internal
 * topics are created by Streams itself with replication.factor 3.
 *
 * What the test reads on stdout, one line each, flushed:
 * <ul>
 *   <li>{@code IN <partition> <offset>}: an input record reached the topology (processed,
 *       not necessarily committed);</li>
 *   <li>{@code STATE <old> <new>}: a KafkaStreams state change;</li>
 *   <li>{@code FAIL ...}: an uncaught exception (the client shuts down, exit status 1);</li>
 *   <li>{@code CLOSED}: closed cleanly after SIGTERM.</li>
 * </ul>
 * The same application.id and state.dir after a kill make the same Streams process id,
 * hence the same transactional.id: the new producer fences the killed one's transaction.
 *
 * {@code -Dguarantee=at_least_once} replaces exactly_once_v2, for a control run by hand:
 * the test then fails, the redone records counted twice.
 */
public final class WordCount {
    private WordCount() {}

    public static void main(String[] args) throws InterruptedException {
        if (args.length != 5) {
            System.err.println("usage: WordCount <bootstrap> <application.id> <input> <output> <state.dir>");
            System.exit(2);
        }
        String bootstrap = args[0], applicationId = args[1], input = args[2], output = args[3],
                stateDir = args[4];

        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, System.getProperty("guarantee", StreamsConfig.EXACTLY_ONCE_V2));
        props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 3);
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
        props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
        // Purge what was committed of the repartition topic (DeleteRecords on a
        // transactional topic) every half second rather than every 30 s, so that a run
        // of a few seconds does it too.
        props.put(StreamsConfig.REPARTITION_PURGE_INTERVAL_MS_CONFIG, 500);
        // Commits (transactions) once a second rather than EOS's 100 ms default: the
        // records processed since the last commit are what a kill makes Streams redo.
        props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 1000);
        // Static membership: the restarted instance takes the killed one's place in the
        // group at once instead of waiting for its session to time out.
        props.put(StreamsConfig.mainConsumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG),
                applicationId + "-instance");
        props.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), 10_000);

        StreamsBuilder builder = new StreamsBuilder();
        builder.stream(input, Consumed.with(Serdes.String(), Serdes.String()))
                .processValues(ReportInput::new)
                .flatMapValues(line -> Arrays.stream(line.split("\\s+")).filter(w -> !w.isEmpty()).toList())
                .groupBy((key, word) -> word, Grouped.with("words", Serdes.String(), Serdes.String()))
                .count(Materialized.as("counts"))
                .toStream()
                .to(output, Produced.with(Serdes.String(), Serdes.Long()));

        KafkaStreams streams = new KafkaStreams(builder.build(), props);
        CountDownLatch stopped = new CountDownLatch(1);
        AtomicInteger status = new AtomicInteger(0);
        streams.setStateListener((newState, oldState) -> {
            say("STATE " + oldState + " " + newState);
            if (newState == KafkaStreams.State.ERROR || newState == KafkaStreams.State.NOT_RUNNING) {
                stopped.countDown();
            }
        });
        streams.setUncaughtExceptionHandler(e -> {
            status.set(1);
            java.io.StringWriter trace = new java.io.StringWriter();
            e.printStackTrace(new java.io.PrintWriter(trace));
            say("FAIL uncaught exception in a stream thread: " + trace);
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            streams.close(Duration.ofSeconds(60));
            say("CLOSED");
        }));
        streams.start();
        stopped.await();
        if (status.get() != 0) {
            streams.close(Duration.ofSeconds(30));
            System.exit(status.get());
        }
    }

    static synchronized void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

    /** Prints where each input record came from, and passes it on unchanged. */
    private static final class ReportInput implements FixedKeyProcessor<String, String, String> {
        private FixedKeyProcessorContext<String, String> context;

        @Override
        public void init(FixedKeyProcessorContext<String, String> context) {
            this.context = context;
        }

        @Override
        public void process(FixedKeyRecord<String, String> record) {
            context.recordMetadata().ifPresent(m -> say("IN " + m.partition() + " " + m.offset()));
            context.forward(record);
        }
    }
}
