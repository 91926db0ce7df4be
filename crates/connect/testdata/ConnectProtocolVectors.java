// Prints Kafka's own encodings of Connect group metadata and assignments, as hex, for the
// byte-exact tests of `src/distributed/protocol.rs` (the constants named after each line).
//
// Regenerate (JDK 17, Kafka 4.1.1 jars from ~/.m2):
//   M=~/.m2/repository/org/apache/kafka
//   CP=$M/connect-runtime/4.1.1/connect-runtime-4.1.1.jar:$M/kafka-clients/4.1.1/kafka-clients-4.1.1.jar:$M/connect-api/4.1.1/connect-api-4.1.1.jar
//   CP=$CP:$(ls ~/.m2/repository/org/slf4j/slf4j-api/*/slf4j-api-*.jar | head -1)
//   javac -cp $CP -d /tmp/cpv ConnectProtocolVectors.java && java -cp $CP:/tmp/cpv ConnectProtocolVectors
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

import org.apache.kafka.common.message.JoinGroupRequestData.JoinGroupRequestProtocol;
import org.apache.kafka.connect.runtime.distributed.ConnectProtocol;
import org.apache.kafka.connect.runtime.distributed.ExtendedAssignment;
import org.apache.kafka.connect.runtime.distributed.ExtendedWorkerState;
import org.apache.kafka.connect.runtime.distributed.IncrementalCooperativeConnectProtocol;
import org.apache.kafka.connect.util.ConnectorTaskId;

public class ConnectProtocolVectors {
    static String hex(ByteBuffer buffer) {
        StringBuilder out = new StringBuilder();
        ByteBuffer b = buffer.duplicate();
        while (b.hasRemaining()) out.append(String.format("%02x", b.get()));
        return out.toString();
    }

    static String hex(byte[] bytes) {
        return hex(ByteBuffer.wrap(bytes));
    }

    public static void main(String[] args) {
        ExtendedAssignment running = new ExtendedAssignment((short) 2, (short) 0, "worker-1-uuid", "http://w1:8083/", 42L,
                List.of("conn-a"), List.of(new ConnectorTaskId("conn-a", 0), new ConnectorTaskId("conn-a", 1)),
                Collections.emptyList(), Collections.emptyList(), 0);
        ExtendedWorkerState stateWithAllocation = new ExtendedWorkerState("http://w2:8083/", 42L, running);
        ExtendedWorkerState stateFresh = new ExtendedWorkerState("http://w2:8083/", -1L, null);

        System.out.println("METADATA_V0 " + hex(ConnectProtocol.serializeMetadata(new ConnectProtocol.WorkerState("http://w1:8083/", 42L))));
        System.out.println("METADATA_V1_NO_ALLOCATION " + hex(IncrementalCooperativeConnectProtocol.serializeMetadata(stateFresh, false)));
        System.out.println("METADATA_V2_WITH_ALLOCATION " + hex(IncrementalCooperativeConnectProtocol.serializeMetadata(stateWithAllocation, true)));
        for (JoinGroupRequestProtocol p : IncrementalCooperativeConnectProtocol.metadataRequest(stateWithAllocation, true))
            System.out.println("JOIN_PROTOCOL_" + p.name() + " " + hex(p.metadata()));

        ExtendedAssignment withRevocations = new ExtendedAssignment((short) 1, (short) 0, "leader-id", "http://leader:8083/", 7L,
                List.of("a"), List.of(new ConnectorTaskId("a", 0), new ConnectorTaskId("b", 1)),
                List.of("b"), List.of(new ConnectorTaskId("b", 0)), 1500);
        System.out.println("ASSIGNMENT_V1_REVOCATIONS " + hex(IncrementalCooperativeConnectProtocol.serializeAssignment(withRevocations, false)));
        ExtendedAssignment mismatch = new ExtendedAssignment((short) 2, (short) 1, "leader-id", "http://leader:8083/", 9L,
                Collections.emptyList(), Collections.emptyList(), Collections.emptyList(), Collections.emptyList(), 0);
        System.out.println("ASSIGNMENT_V2_CONFIG_MISMATCH " + hex(IncrementalCooperativeConnectProtocol.serializeAssignment(mismatch, true)));
        ConnectProtocol.Assignment eager = new ConnectProtocol.Assignment((short) 0, "leader-id", "http://leader:8083/", 3L,
                List.of("c1"), Arrays.asList(new ConnectorTaskId("c1", 0), new ConnectorTaskId("c2", 0), new ConnectorTaskId("c2", 1)));
        System.out.println("ASSIGNMENT_V0 " + hex(ConnectProtocol.serializeAssignment(eager)));
    }
}
