"""The tests compare partitions with Kafka's Java partitioner; check our copy of it
against the vectors of Kafka's own UtilsTest.testMurmur2 (no broker needed)."""

from compat_helpers import java_default_partition, murmur2


def test_murmur2_matches_kafka_utils_test_vectors():
    vectors = {
        b"21": -973932308,
        b"foobar": -790332482,
        b"a-little-bit-long-string": -985981536,
        b"a-little-bit-longer-string": -1486304829,
        b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
        b"abc": 479470107,
    }
    assert {k: murmur2(k) for k in vectors} == vectors
    assert java_default_partition(b"foobar", 3) == (-790332482 & 0x7FFFFFFF) % 3
