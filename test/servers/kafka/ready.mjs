// Readiness probe for the test Kafka broker, run by scripts/servers.sh once port 9092 answers: a
// metadata round trip with kafkajs (the client the sinks use), so "up" means a client can really talk
// to the broker. Usage: node ready.mjs [host:port] ; exit 0 when ready, 1 when not, 2 without kafkajs.
let kafkajs;
try {
  kafkajs = (await import('kafkajs')).default;
} catch {
  console.error('kafkajs is not installed (npm ci): skipping the metadata probe');
  process.exit(2);
}
const { Kafka, logLevel } = kafkajs;
const broker = process.argv[2] ?? '127.0.0.1:9092';
const kafka = new Kafka({
  clientId: 'peregrine-servers-ready',
  brokers: [broker],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 3000,
  requestTimeout: 5000,
  retry: { retries: 0 },
});
const admin = kafka.admin();
const timer = setTimeout(() => {
  console.error('metadata probe timed out');
  process.exit(1);
}, 15_000);
try {
  await admin.connect();
  const cluster = await admin.describeCluster();
  if (cluster.brokers.length === 0 || cluster.controller === null) throw new Error('no broker/controller yet');
  await admin.fetchTopicMetadata({ topics: [] });
  // Warm up the group coordinator: the first FindCoordinator creates __consumer_offsets, so the tests'
  // first consumer group does not start with "The group coordinator is not available" retries.
  for (let i = 0; i < 20; i++) {
    try {
      await admin.describeGroups(['peregrine-servers-ready']);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  console.log(`cluster ${cluster.clusterId}: brokers ${cluster.brokers.map((b) => `${b.host}:${b.port}`).join(',')}, controller ${cluster.controller}`);
  clearTimeout(timer);
  await admin.disconnect();
  process.exit(0);
} catch (err) {
  console.error(`metadata probe failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
