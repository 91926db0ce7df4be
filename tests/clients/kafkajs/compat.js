'use strict'
// A small program that uses KafkaJS 2.2.4 the way an application does (admin, producers,
// group consumers), run against a rafka broker by tests/compat/test_kafkajs.py.
//
//   node compat.js [--bootstrap HOST:PORT] [SCENARIO...]     (or KAFKA_BOOTSTRAP=HOST:PORT)
//   node compat.js --list                                    (the scenarios' names)
//
// With no scenario it runs them all. Prints `ok - NAME` / `not ok - NAME` per scenario and
// a closing `N passed, N failed` line; exits 1 if any failed. Every wait polls a condition
// against a deadline; nothing sleeps to wait.
//
// Codecs: gzip is built in; snappy comes from kafkajs-snappy (pure JS). The official LZ4
// and ZSTD plugins need native builds (kafkajs-lz4 -> lz4 via node-gyp; @kafkajs/zstd ->
// cppzst, which does not compile against Node 20's headers), so LZ4 and ZSTD are plugged
// in through KafkaJS's documented codec hook with pure-JS lz4js (its block compressor in
// Kafka's LZ4 framing, see lz4Frame) and @bokuweb/zstd-wasm (zstd compiled to wasm,
// shipped in the package).

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const {
  Kafka,
  logLevel,
  CompressionTypes,
  CompressionCodecs,
  AssignerProtocol,
} = require('kafkajs')
const SnappyCodec = require('kafkajs-snappy')
const lz4 = require('lz4js')
const lz4xxh32 = require('lz4js/xxh32')
const zstd = require('@bokuweb/zstd-wasm')

const zstdReady = zstd.init()
CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec
CompressionCodecs[CompressionTypes.LZ4] = () => ({
  async compress(encoder) {
    return lz4Frame(encoder.buffer)
  },
  async decompress(buffer) {
    return Buffer.from(lz4.decompress(buffer))
  },
})

// An LZ4 frame as Kafka's Java producer writes it (KafkaLZ4BlockOutputStream): independent
// 64 KB blocks, no checksums. lz4js.compress() flags its frames as dependent-block streams,
// which Apache Kafka refuses ("Dependent block stream is unsupported"), so the frame is
// assembled here around lz4js's block compressor, one fresh hash table per block.
function lz4Frame(src) {
  const BLOCK = 64 * 1024
  const header = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60 /* v01, independent */, 0x40 /* 64 KB */, 0])
  header[6] = (lz4xxh32.hash(0, header, 4, 2) >>> 8) & 0xff
  const parts = [header]
  for (let at = 0; at < src.length; at += BLOCK) {
    const block = src.subarray(at, Math.min(at + BLOCK, src.length))
    const out = Buffer.alloc(lz4.compressBound(block.length))
    const size = lz4.compressBlock(block, out, 0, block.length, new Uint32Array(1 << 16))
    const length = Buffer.alloc(4)
    if (size === 0 || size >= block.length) {
      length.writeUInt32LE((0x80000000 | block.length) >>> 0) // stored uncompressed
      parts.push(length, block)
    } else {
      length.writeUInt32LE(size)
      parts.push(length, out.subarray(0, size))
    }
  }
  parts.push(Buffer.alloc(4)) // end mark
  return Buffer.concat(parts)
}

CompressionCodecs[CompressionTypes.ZSTD] = () => ({
  async compress(encoder) {
    await zstdReady
    return Buffer.from(zstd.compress(encoder.buffer, 3))
  },
  async decompress(buffer) {
    await zstdReady
    return Buffer.from(zstd.decompress(buffer))
  },
})

// -- arguments ------------------------------------------------------------------------

const argv = process.argv.slice(2)
let bootstrap = process.env.KAFKA_BOOTSTRAP
const requested = []
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--bootstrap') bootstrap = argv[++i]
  else requested.push(argv[i])
}
const listOnly = requested.length === 1 && requested[0] === '--list'
// `--member GROUP TOPIC NAME`: a group member alone in this process (for a scenario that
// SIGKILLs it); prints `assigned <partitions>` on every assignment.
const memberMode = requested[0] === '--member'
if (!bootstrap && !listOnly) {
  console.error('usage: node compat.js --bootstrap HOST:PORT [SCENARIO...] (or KAFKA_BOOTSTRAP)')
  process.exit(2)
}

const started = Date.now()
const log = (...args) => console.log(`[${((Date.now() - started) / 1000).toFixed(2)}s]`, ...args)

const kafka = new Kafka({
  clientId: 'rafka-compat-kafkajs',
  brokers: [bootstrap],
  connectionTimeout: 5000,
  requestTimeout: 15000,
  logLevel: logLevel.WARN,
  logCreator: () => ({ namespace, level, label, log: entry }) => {
    const { message, ...extra } = entry
    console.log(`[kafkajs ${label}] ${namespace}: ${message} ${JSON.stringify(extra)}`)
  },
  retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
})

// -- helpers --------------------------------------------------------------------------

const TIMEOUT_MS = 30000
const SESSION_TIMEOUT_MS = 6000 // Kafka's default group.min.session.timeout.ms

async function waitUntil(check, what, timeoutMs = TIMEOUT_MS) {
  const t0 = Date.now()
  const deadline = t0 + timeoutMs
  let lastError = null
  for (;;) {
    try {
      const result = await check()
      if (result) {
        log(`waited ${Date.now() - t0} ms for ${what}`)
        return result
      }
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e
      lastError = e
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs / 1000}s waiting for ${what}` +
          (lastError ? `; last error: ${lastError.stack || lastError}` : '')
      )
    }
    await new Promise(resolve => setTimeout(resolve, 20)) // poll interval
  }
}

const topicName = prefix => `${prefix}-${crypto.randomBytes(5).toString('hex')}`

// org.apache.kafka.common.utils.Utils.murmur2: what Java's (and KafkaJS 2's default)
// partitioner uses for keyed records.
function murmur2(data) {
  const length = data.length
  const m = 0x5bd1e995
  const r = 24
  let h = (0x9747b28c ^ length) >>> 0
  const length4 = length >> 2
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4
    let k = data.readUInt32LE(i4)
    k = Math.imul(k, m)
    k ^= k >>> r
    k = Math.imul(k, m)
    h = Math.imul(h, m)
    h ^= k
  }
  const tail = length4 * 4
  switch (length & 3) {
    case 3:
      h ^= data[tail + 2] << 16
    // falls through
    case 2:
      h ^= data[tail + 1] << 8
    // falls through
    case 1:
      h ^= data[tail]
      h = Math.imul(h, m)
  }
  h ^= h >>> 13
  h = Math.imul(h, m)
  h ^= h >>> 15
  return h | 0
}
const javaPartition = (key, partitions) => (murmur2(Buffer.from(key)) & 0x7fffffff) % partitions

// Record i of a batch: a key that repeats, a compressible unique value, duplicate headers.
const recordKey = i => `key-${i % 7}`
const recordValue = (prefix, i) => `${prefix}:${String(i).padStart(6, '0')}|`.repeat(8)
const recordHeaders = (prefix, i) => ({ seq: String(i), prefix, dup: ['1', '2'] })

function messages(prefix, from, to, baseTs) {
  const out = []
  for (let i = from; i < to; i++) {
    out.push({
      key: recordKey(i),
      value: recordValue(prefix, i),
      headers: recordHeaders(prefix, i),
      timestamp: String(baseTs + i),
    })
  }
  return out
}

// Send `msgs` and return what each message should be on the broker: {partition, offset,
// key, value, headers, timestamp}, from the produce response's base offsets.
async function send(producer, topic, partitions, msgs, opts) {
  const metadata = await producer.send({ topic, messages: msgs, ...opts })
  const byPartition = new Map()
  for (const md of metadata) {
    assert.equal(md.topicName, topic)
    assert.equal(md.errorCode, 0, `produce error ${JSON.stringify(md)}`)
    assert.ok(!byPartition.has(md.partition), `partition ${md.partition} answered twice`)
    byPartition.set(md.partition, { next: Number(md.baseOffset), md })
  }
  const expected = []
  for (const msg of msgs) {
    const partition = javaPartition(msg.key, partitions)
    const slot = byPartition.get(partition)
    assert.ok(slot, `no produce response for partition ${partition}: ${JSON.stringify(metadata)}`)
    expected.push({ partition, offset: slot.next++, ...msg })
  }
  return expected
}

const headerValue = v => (Array.isArray(v) ? v.map(b => b.toString()) : v.toString())
const received = (partition, message) => ({
  partition,
  offset: Number(message.offset),
  key: message.key === null ? null : message.key.toString(),
  value: message.value === null ? null : message.value.toString(),
  headers: Object.fromEntries(
    Object.entries(message.headers || {}).map(([k, v]) => [k, headerValue(v)])
  ),
  timestamp: message.timestamp,
})
const order = (a, b) => a.partition - b.partition || a.offset - b.offset
const sorted = records => [...records].sort(order)

function assertRecords(actual, expected, what) {
  const a = sorted(actual)
  const e = sorted(expected)
  assert.equal(a.length, e.length, `${what}: consumed ${a.length} records, expected ${e.length}`)
  for (let i = 0; i < e.length; i++) assert.deepEqual(a[i], e[i], `${what}: record ${i}`)
}

// A group consumer that records what it reads and what it is assigned.
async function startConsumer(groupId, topic, opts = {}) {
  const { fromBeginning = true, autoCommit = true, name = groupId, ...config } = opts
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: SESSION_TIMEOUT_MS,
    rebalanceTimeout: 10000,
    heartbeatInterval: 200,
    maxWaitTimeInMs: 250,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
    ...config,
  })
  const state = { consumer, name, records: [], assigned: null, joins: 0, crashed: null }
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    state.assigned = (payload.memberAssignment[topic] || []).slice().sort((x, y) => x - y)
    state.memberId = payload.memberId
    state.joins++
    log(`${name}: joined generation as ${payload.memberId}, assigned ${state.assigned}`)
  })
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    state.crashed = payload.error
    log(`${name}: CRASH ${payload.error && payload.error.stack}`)
  })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning })
  await consumer.run({
    autoCommit,
    eachMessage: async ({ topic: t, partition, message }) => {
      assert.equal(t, topic)
      state.records.push(received(partition, message))
    },
  })
  return state
}

const noCrash = (...states) => {
  for (const s of states) if (s.crashed) throw new Error(`${s.name} crashed: ${s.crashed.stack}`)
}

async function waitForRecords(state, n, what) {
  await waitUntil(() => {
    noCrash(state)
    return state.records.length >= n
  }, `${state.name} to read ${n} records (${what})`)
}

async function withAdmin(fn) {
  const admin = kafka.admin()
  await admin.connect()
  try {
    return await fn(admin)
  } finally {
    await admin.disconnect()
  }
}

async function createTopic(admin, topic, numPartitions, configEntries) {
  const created = await admin.createTopics({
    topics: [{ topic, numPartitions, replicationFactor: 1, ...(configEntries && { configEntries }) }],
    waitForLeaders: true,
  })
  assert.equal(created, true, `createTopics(${topic}) said it already existed`)
}

async function committed(admin, groupId, topic) {
  const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] })
  assert.equal(entry.topic, topic)
  return Object.fromEntries(entry.partitions.map(p => [p.partition, Number(p.offset)]))
}

const endOffsets = expected => {
  const ends = {}
  for (const r of expected) ends[r.partition] = Math.max(ends[r.partition] ?? 0, r.offset + 1)
  return ends
}

async function consumeFromBeginning(topic, expected, what) {
  const state = await startConsumer(topicName(`${topic}-reader`), topic, { autoCommit: false })
  try {
    await waitForRecords(state, expected.length, what)
    assertRecords(state.records, expected, what)
  } finally {
    await state.consumer.disconnect()
  }
}

// -- scenarios ------------------------------------------------------------------------

const scenarios = {}

scenarios.admin = async () =>
  withAdmin(async admin => {
    const cluster = await admin.describeCluster()
    assert.deepEqual(cluster.brokers.map(b => b.nodeId), [1])
    assert.equal(`${cluster.brokers[0].host}:${cluster.brokers[0].port}`, bootstrap)
    assert.equal(cluster.controller, 1)
    assert.ok(cluster.clusterId, 'no cluster id')

    const a = topicName('kjs-admin-a')
    const b = topicName('kjs-admin-b')
    assert.equal(
      await admin.createTopics({
        topics: [
          { topic: a, numPartitions: 3, replicationFactor: 1 },
          {
            topic: b,
            numPartitions: 2,
            configEntries: [
              { name: 'cleanup.policy', value: 'compact' },
              { name: 'retention.ms', value: '3600000' },
            ],
          },
        ],
        waitForLeaders: true,
      }),
      true
    )
    // Creating an existing topic is TOPIC_ALREADY_EXISTS, which KafkaJS reports as false.
    assert.equal(await admin.createTopics({ topics: [{ topic: a, numPartitions: 3 }] }), false)

    const topics = await admin.listTopics()
    assert.ok(topics.includes(a) && topics.includes(b), `listTopics: ${topics}`)

    const md = await admin.fetchTopicMetadata({ topics: [a, b] })
    const byName = Object.fromEntries(md.topics.map(t => [t.name, t.partitions]))
    for (const [name, count] of [[a, 3], [b, 2]]) {
      const parts = [...byName[name]].sort((x, y) => x.partitionId - y.partitionId)
      assert.deepEqual(parts.map(p => p.partitionId), [...Array(count).keys()], name)
      for (const p of parts) {
        assert.equal(p.partitionErrorCode, 0)
        assert.equal(p.leader, 1)
        assert.deepEqual(p.replicas, [1])
        assert.deepEqual(p.isr, [1])
      }
    }

    const configs = await admin.describeConfigs({
      resources: [{ type: 2 /* TOPIC */, name: b, configNames: ['cleanup.policy', 'retention.ms'] }],
      includeSynonyms: false,
    })
    const entries = Object.fromEntries(
      configs.resources[0].configEntries.map(e => [e.configName, e.configValue])
    )
    assert.deepEqual(entries, { 'cleanup.policy': 'compact', 'retention.ms': '3600000' })

    // Partitions 3 -> 5; the new ones are usable at once.
    await admin.createPartitions({ topicPartitions: [{ topic: a, count: 5 }] })
    await waitUntil(async () => {
      const { topics: [t] } = await admin.fetchTopicMetadata({ topics: [a] })
      return t.partitions.length === 5 && t.partitions.every(p => p.leader === 1)
    }, `${a} to have 5 partitions`)
    const producer = kafka.producer()
    await producer.connect()
    try {
      const meta = await producer.send({
        topic: a,
        acks: -1,
        messages: [0, 1, 2, 3, 4, 4].map(p => ({ partition: p, value: `p${p}` })),
      })
      assert.deepEqual(
        meta.map(m => [m.partition, m.errorCode, m.baseOffset]).sort((x, y) => x[0] - y[0]),
        [[0, 0, '0'], [1, 0, '0'], [2, 0, '0'], [3, 0, '0'], [4, 0, '0']]
      )
    } finally {
      await producer.disconnect()
    }
    const offsets = await admin.fetchTopicOffsets(a)
    assert.deepEqual(
      offsets.map(o => [o.partition, o.low, o.high, o.offset]).sort((x, y) => x[0] - y[0]),
      [[0, '0', '1', '1'], [1, '0', '1', '1'], [2, '0', '1', '1'], [3, '0', '1', '1'], [4, '0', '2', '2']]
    )
    // Shrinking is INVALID_PARTITIONS.
    await assert.rejects(
      admin.createPartitions({ topicPartitions: [{ topic: a, count: 2 }] }),
      e => /INVALID_PARTITIONS|partition/i.test(`${e.type} ${e.message}`)
    )

    await admin.deleteTopics({ topics: [a, b], timeout: 10000 })
    await waitUntil(async () => {
      const now = await admin.listTopics()
      return !now.includes(a) && !now.includes(b)
    }, 'deleted topics to leave listTopics')
  })

function codecScenario(codec) {
  return async () => {
    const topic = topicName(`kjs-codec-${codec.toLowerCase()}`)
    const partitions = 3
    const baseTs = Date.now() - 60000
    await withAdmin(admin => createTopic(admin, topic, partitions))
    const producer = kafka.producer()
    await producer.connect()
    let expected
    try {
      const compression = CompressionTypes[codec]
      assert.notEqual(compression, undefined, codec)
      // Two sends: the second's base offsets continue where the first left off.
      const first = await send(producer, topic, partitions, messages(codec, 0, 60, baseTs), {
        acks: -1,
        compression,
      })
      const second = await send(producer, topic, partitions, messages(codec, 60, 120, baseTs), {
        acks: -1,
        compression,
      })
      expected = [...first, ...second]
    } finally {
      await producer.disconnect()
    }
    const ends = endOffsets(expected)
    assert.equal(Object.keys(ends).length, partitions, 'every partition got records')
    for (const p of Object.keys(ends)) {
      const inP = expected.filter(r => r.partition === Number(p)).map(r => r.offset)
      assert.deepEqual(inP, [...Array(inP.length).keys()], `partition ${p} offsets`)
    }
    await consumeFromBeginning(topic, expected, `${codec} topic`)
    // For the Python side to read the same records with another client.
    console.log(`PRODUCED ${JSON.stringify({ topic, codec, partitions, baseTs, n: expected.length })}`)
  }
}
for (const codec of ['None', 'GZIP', 'Snappy', 'LZ4', 'ZSTD']) {
  scenarios[`produce-consume-${codec.toLowerCase()}`] = codecScenario(codec)
}

scenarios.acks = async () => {
  const topic = topicName('kjs-acks')
  const partitions = 2
  const baseTs = Date.now() - 60000
  await withAdmin(admin => createTopic(admin, topic, partitions))
  const producer = kafka.producer()
  await producer.connect()
  const expected = []
  try {
    let from = 0
    for (const acks of [1, -1, 1, -1]) {
      const sent = await send(producer, topic, partitions, messages(`acks${acks}`, from, from + 25, baseTs), {
        acks,
      })
      expected.push(...sent)
      from += 25
    }
  } finally {
    await producer.disconnect()
  }
  await withAdmin(async admin => {
    const ends = endOffsets(expected)
    const offsets = await admin.fetchTopicOffsets(topic)
    assert.deepEqual(
      Object.fromEntries(offsets.map(o => [o.partition, Number(o.high)])),
      ends,
      'high watermarks after acks=1/-1'
    )
  })
  await consumeFromBeginning(topic, expected, 'acks topic')
}

const sameSet = (a, b) => a.length === b.length && a.every((x, i) => x === b[i])

scenarios['group-rebalance'] = async () => {
  const topic = topicName('kjs-rebalance')
  const groupId = topic
  const partitions = 4
  const all = [...Array(partitions).keys()]
  const baseTs = Date.now() - 60000
  await withAdmin(admin => createTopic(admin, topic, partitions))
  const producer = kafka.producer()
  await producer.connect()
  const states = []
  try {
    const a = await startConsumer(groupId, topic, { name: 'member-a' })
    states.push(a)
    await waitUntil(() => noCrash(a) || (a.assigned && sameSet(a.assigned, all)), 'a to own all partitions')
    const phase1 = await send(producer, topic, partitions, messages('one', 0, 40, baseTs), { acks: -1 })
    await waitForRecords(a, phase1.length, 'phase 1')
    assertRecords(a.records, phase1, 'member a, phase 1')
    // a commits what it read (KafkaJS auto-commits after each batch).
    const ends1 = endOffsets(phase1)
    await withAdmin(admin =>
      waitUntil(async () => {
        const c = await committed(admin, groupId, topic)
        return all.every(p => c[p] === ends1[p])
      }, 'a\'s auto-commit of phase 1')
    )

    // b joins: the partitions are split between a and b.
    const b = await startConsumer(groupId, topic, { name: 'member-b' })
    states.push(b)
    const split = () => {
      noCrash(a, b)
      if (!a.assigned || !b.assigned || a.assigned.length === 0 || b.assigned.length === 0) return false
      return sameSet([...a.assigned, ...b.assigned].sort((x, y) => x - y), all)
    }
    await waitUntil(split, 'a and b to split the partitions')
    assert.ok(a.joins >= 2, 'a rejoined')
    await withAdmin(admin =>
      waitUntil(async () => {
        const { groups: [g] } = await admin.describeGroups([groupId])
        if (g.state !== 'Stable' || g.members.length !== 2) return false
        const view = Object.fromEntries(
          g.members.map(m => {
            const assignment = AssignerProtocol.MemberAssignment.decode(m.memberAssignment)
            return [m.memberId, [...(assignment.assignment[topic] || [])].sort((x, y) => x - y)]
          })
        )
        assert.equal(g.protocolType, 'consumer')
        // The coordinator's record of the assignment is what the members were given.
        if (!split()) return false
        assert.deepEqual(view, { [a.memberId]: a.assigned, [b.memberId]: b.assigned })
        return true
      }, 'DescribeGroups to show a and b')
    )
    log(`split: a=${a.assigned} b=${b.assigned}`)
    a.records = []
    const phase2 = await send(producer, topic, partitions, messages('two', 40, 80, baseTs), { acks: -1 })
    await waitUntil(() => {
      noCrash(a, b)
      return a.records.length + b.records.length >= phase2.length
    }, 'a and b to read phase 2')
    for (const s of [a, b]) {
      for (const r of s.records) {
        assert.ok(s.assigned.includes(r.partition), `${s.name} read partition ${r.partition}, owns ${s.assigned}`)
      }
    }
    assertRecords([...a.records, ...b.records], phase2, 'phase 2, a and b together')
    const ends2 = endOffsets([...phase1, ...phase2])
    await withAdmin(admin =>
      waitUntil(async () => {
        const c = await committed(admin, groupId, topic)
        return all.every(p => c[p] === ends2[p])
      }, 'auto-commits of phase 2')
    )

    // a leaves (LeaveGroup on disconnect): b gets everything back.
    await a.consumer.disconnect()
    states.shift()
    await waitUntil(() => noCrash(b) || sameSet(b.assigned, all), 'b to own all partitions again')
    await withAdmin(admin =>
      waitUntil(async () => {
        const { groups: [g] } = await admin.describeGroups([groupId])
        return g.state === 'Stable' && g.members.length === 1 && g.members[0].memberId === b.memberId
      }, 'DescribeGroups to show only b')
    )
    b.records = []
    const phase3 = await send(producer, topic, partitions, messages('three', 80, 120, baseTs), { acks: -1 })
    await waitForRecords(b, phase3.length, 'phase 3')
    assertRecords(b.records, phase3, 'member b, phase 3')
  } finally {
    for (const s of states) await s.consumer.disconnect()
    await producer.disconnect()
  }
}

// A member that dies without LeaveGroup (SIGKILL): the coordinator expires it after its
// session timeout, not before, and the survivor gets its partitions.
scenarios['group-member-killed'] = async () => {
  const { spawn } = require('node:child_process')
  const topic = topicName('kjs-killed')
  const groupId = topic
  const partitions = 4
  const all = [...Array(partitions).keys()]
  const baseTs = Date.now() - 60000
  await withAdmin(admin => createTopic(admin, topic, partitions))
  const a = await startConsumer(groupId, topic, { name: 'survivor' })
  let child = null
  try {
    await waitUntil(() => noCrash(a) || (a.assigned && sameSet(a.assigned, all)), 'survivor to own everything')
    child = spawn(process.execPath, [__filename, '--bootstrap', bootstrap, '--member', groupId, topic, 'victim'],
      { stdio: ['ignore', 'pipe', 'inherit'] })
    const victim = { assigned: null, exited: null, output: [] }
    child.on('exit', (code, signal) => { victim.exited = signal || code })
    let pending = ''
    child.stdout.on('data', chunk => {
      pending += chunk
      const lines = pending.split('\n')
      pending = lines.pop()
      for (const line of lines) {
        victim.output.push(line)
        console.log(`  victim| ${line}`)
        if (line.startsWith('assigned')) {
          victim.assigned = (line.split(' ')[1] || '').split(',').filter(Boolean).map(Number).sort((p, q) => p - q)
        }
      }
    })
    await waitUntil(() => {
      noCrash(a)
      if (victim.exited !== null) throw new Error(`victim exited (${victim.exited}): ${victim.output.join('\n')}`)
      return a.assigned && victim.assigned && a.assigned.length > 0 && victim.assigned.length > 0 &&
        sameSet([...a.assigned, ...victim.assigned].sort((p, q) => p - q), all)
    }, 'survivor and victim to split the partitions')
    log(`split: survivor=${a.assigned} victim=${victim.assigned}`)

    child.kill('SIGKILL')
    const killedAt = Date.now()
    await waitUntil(() => victim.exited !== null, 'the victim to die')
    await waitUntil(() => noCrash(a) || sameSet(a.assigned, all),
      'survivor to own everything after the victim\'s session expires', SESSION_TIMEOUT_MS + 15000)
    const took = Date.now() - killedAt
    log(`survivor owns everything ${took} ms after the kill`)
    // Expiry comes from the session timeout (less at most the heartbeat interval and the
    // victim's last heartbeat), not earlier and not much later.
    assert.ok(took >= SESSION_TIMEOUT_MS - 1500, `reassigned after ${took} ms, the session is ${SESSION_TIMEOUT_MS} ms`)
    assert.ok(took < SESSION_TIMEOUT_MS + 8000, `reassigned only after ${took} ms`)

    // Nothing was produced before: the survivor reads exactly what comes now, from every
    // partition.
    assert.deepEqual(a.records, [])
    const producer = kafka.producer()
    await producer.connect()
    try {
      const expected = await send(producer, topic, partitions, messages('killed', 0, 40, baseTs), { acks: 1 })
      await waitForRecords(a, expected.length, 'after the reassignment')
      assertRecords(a.records, expected, 'survivor after the victim expired')
    } finally {
      await producer.disconnect()
    }
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await a.consumer.disconnect()
  }
}

scenarios['group-commit'] = async () => {
  const topic = topicName('kjs-commit')
  const groupId = topic
  const baseTs = Date.now() - 60000
  await withAdmin(admin => createTopic(admin, topic, 2))
  const producer = kafka.producer()
  await producer.connect()
  let expected
  try {
    expected = await send(producer, topic, 2, messages('commit', 0, 40, baseTs), { acks: 1 })
  } finally {
    await producer.disconnect()
  }
  const ends = endOffsets(expected)
  assert.ok(ends[0] > 5 && ends[1] > 5, `both partitions need records: ${JSON.stringify(ends)}`)

  // First run: read everything, commit explicit positions (the next offset to read).
  const first = await startConsumer(groupId, topic, { name: 'first', autoCommit: false })
  try {
    await waitForRecords(first, expected.length, 'first run')
    assertRecords(first.records, expected, 'first run')
    await first.consumer.commitOffsets([
      { topic, partition: 0, offset: '3' },
      { topic, partition: 1, offset: String(ends[1] - 2) },
    ])
  } finally {
    await first.consumer.disconnect()
  }
  await withAdmin(async admin => {
    assert.deepEqual(await committed(admin, groupId, topic), { 0: 3, 1: ends[1] - 2 })
    const { groups: [g] } = await admin.describeGroups([groupId])
    assert.equal(g.state, 'Empty')
    assert.deepEqual(g.members, [])
    const { groups } = await admin.listGroups()
    assert.ok(groups.some(x => x.groupId === groupId && x.protocolType === 'consumer'),
      `listGroups: ${JSON.stringify(groups)}`)
  })

  // Second run, same group: resumes at the committed offsets (fromBeginning only applies
  // without a commit), and auto-commits what it reads.
  const second = await startConsumer(groupId, topic, { name: 'second', autoCommit: true })
  const resumed = expected.filter(r => (r.partition === 0 ? r.offset >= 3 : r.offset >= ends[1] - 2))
  try {
    await waitForRecords(second, resumed.length, 'second run')
    assertRecords(second.records, resumed, 'second run (after the committed offsets)')
    await withAdmin(admin =>
      waitUntil(async () => {
        const c = await committed(admin, groupId, topic)
        return c[0] === ends[0] && c[1] === ends[1]
      }, 'second run\'s auto-commit')
    )
  } finally {
    await second.consumer.disconnect()
  }

  // Admin moves the group's offsets; the next member starts there.
  await withAdmin(async admin => {
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '1' }, { partition: 1, offset: String(ends[1]) }] })
    assert.deepEqual(await committed(admin, groupId, topic), { 0: 1, 1: ends[1] })
  })
  const third = await startConsumer(groupId, topic, { name: 'third', autoCommit: false })
  try {
    const want = expected.filter(r => r.partition === 0 && r.offset >= 1)
    await waitForRecords(third, want.length, 'third run')
    assertRecords(third.records, want, 'third run (after setOffsets)')
  } finally {
    await third.consumer.disconnect()
  }

  // DeleteGroups: the group and its offsets are gone.
  await withAdmin(async admin => {
    const results = await admin.deleteGroups([groupId])
    assert.deepEqual(results.map(r => [r.groupId, r.errorCode]), [[groupId, 0]])
    const { groups } = await admin.listGroups()
    assert.ok(!groups.some(x => x.groupId === groupId), `listGroups after delete: ${JSON.stringify(groups)}`)
    assert.deepEqual(await committed(admin, groupId, topic), { 0: -1, 1: -1 })
    const { groups: [g] } = await admin.describeGroups([groupId])
    assert.equal(g.state, 'Dead')
  })
}

scenarios.seek = async () => {
  const topic = topicName('kjs-seek')
  const baseTs = Date.now() - 60000
  await withAdmin(admin => createTopic(admin, topic, 2))
  const producer = kafka.producer()
  await producer.connect()
  let expected
  try {
    expected = await send(producer, topic, 2, messages('seek', 0, 60, baseTs), { acks: -1 })
  } finally {
    await producer.disconnect()
  }
  const ends = endOffsets(expected)
  assert.ok(ends[0] > 10 && ends[1] > 10, `both partitions need records: ${JSON.stringify(ends)}`)

  // Seek right after run(): the first fetch starts at the seek offset.
  const early = await startConsumer(topicName('kjs-seek-early'), topic, { name: 'early', autoCommit: false })
  try {
    early.consumer.seek({ topic, partition: 0, offset: '7' })
    early.consumer.seek({ topic, partition: 1, offset: String(ends[1] - 3) })
    const want = expected.filter(r => (r.partition === 0 ? r.offset >= 7 : r.offset >= ends[1] - 3))
    await waitForRecords(early, want.length, 'after the early seek')
    assertRecords(early.records, want, 'records after seek before the first fetch')
  } finally {
    await early.consumer.disconnect()
  }

  // Seek back after reading everything: partition 0 is read again from there.
  const late = await startConsumer(topicName('kjs-seek-late'), topic, { name: 'late', autoCommit: false })
  try {
    await waitForRecords(late, expected.length, 'everything')
    assertRecords(late.records, expected, 'first pass')
    late.records = []
    late.consumer.seek({ topic, partition: 0, offset: '4' })
    const want = expected.filter(r => r.partition === 0 && r.offset >= 4)
    await waitForRecords(late, want.length, 'after seeking back')
    assertRecords(late.records, want, 'records after seeking partition 0 back to 4')
  } finally {
    await late.consumer.disconnect()
  }
}

// Producing to a topic nobody created: the broker's auto.create.topics.enable (on in the
// compat broker, with num.partitions=1) creates it on the producer's Metadata request.
scenarios['auto-create'] = async () => {
  const topic = topicName('kjs-auto')
  const baseTs = Date.now() - 60000
  const producer = kafka.producer({ allowAutoTopicCreation: true })
  await producer.connect()
  let expected
  try {
    expected = await send(producer, topic, 1, messages('auto', 0, 10, baseTs), { acks: -1 })
  } finally {
    await producer.disconnect()
  }
  assert.deepEqual(expected.map(r => [r.partition, r.offset]), [...Array(10).keys()].map(i => [0, i]))
  await withAdmin(async admin => {
    const { topics: [t] } = await admin.fetchTopicMetadata({ topics: [topic] })
    assert.deepEqual(t.partitions.map(p => [p.partitionId, p.leader]), [[0, 1]])
  })
  await consumeFromBeginning(topic, expected, 'auto-created topic')
}

// Offsets by timestamp (ListOffsets with a timestamp) and DeleteRecords, which moves the
// log start offset: consumers from the beginning then start there.
scenarios['timestamps-and-delete-records'] = async () => {
  const topic = topicName('kjs-times')
  const partitions = 2
  const baseTs = Date.now() - 600000
  await withAdmin(admin => createTopic(admin, topic, partitions))
  const producer = kafka.producer()
  await producer.connect()
  let expected
  try {
    expected = await send(producer, topic, partitions, messages('times', 0, 60, baseTs), { acks: -1 })
  } finally {
    await producer.disconnect()
  }
  const ends = endOffsets(expected)
  assert.ok(ends[0] > 10 && ends[1] > 10, `both partitions need records: ${JSON.stringify(ends)}`)
  await withAdmin(async admin => {
    const firstAtOrAfter = (ts, p) => {
      const r = expected.find(x => x.partition === p && Number(x.timestamp) >= ts)
      return r ? r.offset : ends[p]
    }
    for (const ts of [baseTs - 1, baseTs + 20, baseTs + 41, baseTs + 1000]) {
      const got = await admin.fetchTopicOffsetsByTimestamp(topic, ts)
      assert.deepEqual(
        got.map(o => [o.partition, Number(o.offset)]).sort((x, y) => x[0] - y[0]),
        [[0, firstAtOrAfter(ts, 0)], [1, firstAtOrAfter(ts, 1)]],
        `offsets for timestamp ${ts} (base ${baseTs})`
      )
    }

    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '5' }] })
    const offsets = await admin.fetchTopicOffsets(topic)
    assert.deepEqual(
      offsets.map(o => [o.partition, o.low, o.high]).sort((x, y) => x[0] - y[0]),
      [[0, '5', String(ends[0])], [1, '0', String(ends[1])]]
    )
  })
  const remaining = expected.filter(r => r.partition !== 0 || r.offset >= 5)
  await consumeFromBeginning(topic, remaining, 'after DeleteRecords up to 5 in partition 0')
}

// One Produce request for two topics (sendBatch), a member subscribed by a regular
// expression that reads with eachBatch, and pause/resume of one topic.
scenarios['batch-pattern-pause'] = async () => {
  const prefix = topicName('kjs-multi')
  const [x, y] = [`${prefix}-x`, `${prefix}-y`]
  const baseTs = Date.now() - 60000
  await withAdmin(async admin => {
    await createTopic(admin, x, 2)
    await createTopic(admin, y, 1)
  })
  const producer = kafka.producer()
  await producer.connect()
  const consumer = kafka.consumer({ groupId: prefix, maxWaitTimeInMs: 250, heartbeatInterval: 200 })
  try {
    // Expected records per topic, from the acks of one request carrying both topics.
    const sendBoth = async (from, to) => {
      const byTopic = { [x]: messages('x', from, to, baseTs), [y]: messages('y', from, to, baseTs) }
      const metadata = await producer.sendBatch({
        acks: -1,
        compression: CompressionTypes.GZIP,
        topicMessages: [x, y].map(topic => ({ topic, messages: byTopic[topic] })),
      })
      const expected = { [x]: [], [y]: [] }
      for (const [topic, partitions] of [[x, 2], [y, 1]]) {
        const next = {}
        for (const md of metadata.filter(m => m.topicName === topic)) {
          assert.equal(md.errorCode, 0)
          next[md.partition] = Number(md.baseOffset)
        }
        for (const msg of byTopic[topic]) {
          const partition = javaPartition(msg.key, partitions)
          assert.ok(partition in next, `no ack for ${topic}[${partition}]: ${JSON.stringify(metadata)}`)
          expected[topic].push({ partition, offset: next[partition]++, ...msg })
        }
      }
      return expected
    }
    const first = await sendBoth(0, 30)

    const got = { [x]: [], [y]: [] }
    let batches = 0
    let fetches = 0
    consumer.on(consumer.events.FETCH, () => fetches++)
    await consumer.connect()
    await consumer.subscribe({ topics: [new RegExp(`^${prefix}-`)], fromBeginning: true })
    await consumer.run({
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        batches++
        for (const message of batch.messages) {
          if (!isRunning() || isStale()) break
          got[batch.topic].push(received(batch.partition, message))
          resolveOffset(message.offset)
        }
        await heartbeat()
      },
    })
    const count = () => got[x].length + got[y].length
    await waitUntil(() => count() >= 60, 'both topics (first round)')
    assertRecords(got[x], first[x], `${x}, first round`)
    assertRecords(got[y], first[y], `${y}, first round`)
    assert.ok(batches >= 3, `${batches} batches for 3 partitions`)

    // Pause x: only y's new records arrive; resume x: x's arrive too.
    consumer.pause([{ topic: x }])
    assert.deepEqual(consumer.paused(), [{ topic: x, partitions: [0, 1] }])
    got[x] = []
    got[y] = []
    const second = await sendBoth(30, 60)
    await waitUntil(() => got[y].length >= 30, `${y} while ${x} is paused`)
    assertRecords(got[y], second[y], `${y}, second round`)
    const fetchesThen = fetches
    await waitUntil(() => fetches >= fetchesThen + 3, 'three more fetches while paused')
    assert.deepEqual(got[x], [], `${x} was read while paused`)
    consumer.resume([{ topic: x }])
    await waitUntil(() => got[x].length >= 30, `${x} after resume`)
    assertRecords(got[x], second[x], `${x} after resume`)
  } finally {
    await consumer.disconnect()
    await producer.disconnect()
  }
}

// -- runner ---------------------------------------------------------------------------

async function member([groupId, topic, name]) {
  const consumer = kafka.consumer({ groupId, sessionTimeout: SESSION_TIMEOUT_MS, heartbeatInterval: 200, maxWaitTimeInMs: 250 })
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    console.log(`assigned ${(payload.memberAssignment[topic] || []).join(',')}`)
  })
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    console.log(`crashed ${payload.error}`)
    process.exit(1)
  })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  await consumer.run({ autoCommit: false, eachMessage: async () => {} })
  log(`${name}: running`)
}

async function main() {
  if (memberMode) return member(requested.slice(1))
  if (listOnly) {
    console.log(Object.keys(scenarios).join('\n'))
    return
  }
  const names = requested.length ? requested : Object.keys(scenarios)
  for (const name of names) {
    if (!scenarios[name]) {
      console.error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(' ')}`)
      process.exit(2)
    }
  }
  let passed = 0
  let failed = 0
  for (const name of names) {
    const t0 = Date.now()
    log(`--- ${name}`)
    try {
      await scenarios[name]()
      passed++
      log(`ok - ${name} (${Date.now() - t0} ms)`)
    } catch (e) {
      failed++
      log(`not ok - ${name} (${Date.now() - t0} ms)\n${e && e.stack ? e.stack : e}`)
      if (e && e.cause) log(`cause: ${e.cause.stack || e.cause}`)
    }
  }
  console.log(`${passed} passed, ${failed} failed`)
  process.exit(failed ? 1 : 0)
}

process.on('unhandledRejection', e => {
  console.log(`unhandled rejection: ${e && e.stack ? e.stack : e}`)
})

main()
