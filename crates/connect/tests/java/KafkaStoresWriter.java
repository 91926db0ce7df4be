// Writes the three internal topics through Kafka's own stores (connect-runtime 4.1.1:
// KafkaConfigBackingStore, KafkaStatusBackingStore, KafkaOffsetBackingStore with the
// internal JsonConverter, as ConnectDistributed sets them up), for
// crates/connect/tests/kafka_oracle_storage.rs to read back with rafka's stores.
//
// Run in source-launcher mode: java -cp <jars> KafkaStoresWriter.java <bootstrap>

import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import javax.crypto.spec.SecretKeySpec;

import org.apache.kafka.common.utils.Time;
import org.apache.kafka.connect.json.JsonConverter;
import org.apache.kafka.connect.runtime.AbstractStatus;
import org.apache.kafka.connect.runtime.ConnectorStatus;
import org.apache.kafka.connect.runtime.RestartRequest;
import org.apache.kafka.connect.runtime.SessionKey;
import org.apache.kafka.connect.runtime.TargetState;
import org.apache.kafka.connect.runtime.TaskStatus;
import org.apache.kafka.connect.runtime.TopicStatus;
import org.apache.kafka.connect.runtime.distributed.DistributedConfig;
import org.apache.kafka.connect.storage.ConfigBackingStore;
import org.apache.kafka.connect.storage.KafkaConfigBackingStore;
import org.apache.kafka.connect.storage.KafkaOffsetBackingStore;
import org.apache.kafka.connect.storage.KafkaStatusBackingStore;
import org.apache.kafka.connect.util.ConnectorTaskId;
import org.apache.kafka.connect.util.TopicAdmin;

public class KafkaStoresWriter {
    public static void main(String[] args) {
        try {
            write(args[0]);
            System.out.println("written");
            System.exit(0);
        } catch (Throwable e) {
            e.printStackTrace();
            // The stores' client threads would keep the JVM alive.
            System.exit(1);
        }
    }

    static void write(String bootstrap) throws Exception {
        Map<String, String> props = new HashMap<>();
        props.put("bootstrap.servers", bootstrap);
        props.put("group.id", "java-cluster");
        props.put("key.converter", "org.apache.kafka.connect.json.JsonConverter");
        props.put("value.converter", "org.apache.kafka.connect.json.JsonConverter");
        props.put("config.storage.topic", "java-configs");
        props.put("offset.storage.topic", "java-offsets");
        props.put("status.storage.topic", "java-status");
        props.put("config.storage.replication.factor", "1");
        props.put("offset.storage.replication.factor", "1");
        props.put("status.storage.replication.factor", "1");
        props.put("offset.storage.partitions", "3");
        DistributedConfig config = new DistributedConfig(props);

        JsonConverter converter = new JsonConverter();
        converter.configure(Map.of("schemas.enable", "false"), false);
        Map<String, Object> adminProps = new HashMap<>(config.originals());
        Supplier<TopicAdmin> admin = () -> new TopicAdmin(adminProps);

        KafkaConfigBackingStore configs =
            new KafkaConfigBackingStore(converter, config, null, admin, "connect-java-");
        configs.setUpdateListener((ConfigBackingStore.UpdateListener) Proxy.newProxyInstance(
            KafkaStoresWriter.class.getClassLoader(),
            new Class<?>[] {ConfigBackingStore.UpdateListener.class},
            (proxy, method, methodArgs) -> null));
        configs.start();
        configs.putConnectorConfig("java-conn", Map.of("connector.class", "FileStreamSource"),
            TargetState.STOPPED);
        configs.putTaskConfigs("java-conn", List.of(Map.of("file", "a"), Map.of("file", "b")));
        configs.putTargetState("java-conn", TargetState.PAUSED);
        // (connector, onlyFailed, includeTasks)
        configs.putRestartRequest(new RestartRequest("java-conn", false, true));
        byte[] key = new byte[32];
        for (int i = 0; i < key.length; i++) key[i] = (byte) i;
        configs.putSessionKey(new SessionKey(new SecretKeySpec(key, "HmacSHA256"), 1733390000123L));
        configs.putConnectorConfig("gone", Map.of("k", "v"), null);
        configs.removeConnectorConfig("gone");
        configs.stop();

        KafkaStatusBackingStore statuses =
            new KafkaStatusBackingStore(Time.SYSTEM, converter, admin, "connect-java-");
        statuses.configure(config);
        statuses.start();
        statuses.put(new ConnectorStatus("java-conn", AbstractStatus.State.RUNNING, "w1:8083", 5, "4.1.1"));
        statuses.put(new TaskStatus(new ConnectorTaskId("java-conn", 0), AbstractStatus.State.FAILED,
            "w1:8083", 5, "boom\n", null));
        statuses.put(new TopicStatus("orders", "java-conn", 1, 1733390000000L));
        statuses.flush();
        statuses.stop();

        KafkaOffsetBackingStore offsets =
            new KafkaOffsetBackingStore(admin, () -> "connect-java-", converter);
        offsets.configure(config);
        offsets.start();
        Map<ByteBuffer, ByteBuffer> values = new HashMap<>();
        values.put(ByteBuffer.wrap("[\"java-src\",{\"filename\":\"/tmp/in.txt\"}]".getBytes(StandardCharsets.UTF_8)),
            ByteBuffer.wrap("{\"position\":42}".getBytes(StandardCharsets.UTF_8)));
        offsets.set(values, (error, ignored) -> { }).get(30, TimeUnit.SECONDS);
        offsets.stop();
    }
}
