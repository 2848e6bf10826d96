// A hubwire server in a process of its own, for tests that kill or restart it: it serves the hub
// "ChatHub" at /chat (also through its multiplexer at /hubs) over the Redis at REDIS_URL, with
// the scale-out settings in SCALE_OUT (JSON), on PORT (default: any free port), and prints
// "listening on <url>". The bearer token names the user; clients may ask for stateful
// reconnect. On SIGTERM it drains (its stateful connections move to the other servers) and
// exits. It runs the built code in dist/.
// With BACKPLANE=cluster, it is a Node cluster instead: a primary that forks WORKERS workers (2
// unless given), each such a server on the one port they share, over ClusterBackplane; the
// primary prints "listening on <url>" once every worker listens, replaces a worker that drained
// and exited, and ends them all on SIGTERM (MAX_UNWRITTEN: its relay's maxUnwrittenBytes).
import cluster from "node:cluster";
import { consoleLogger, Hub, HubClass, HubMethod, HubServer } from "../../dist/src/index.js";
import { ClusterBackplane } from "../../dist/src/cluster/index.js";
import { RedisBackplane } from "../../dist/src/redis/index.js";

const inCluster = process.env.BACKPLANE === "cluster";
if (inCluster && cluster.isPrimary) {
  ClusterBackplane.setupPrimary(process.env.MAX_UNWRITTEN ? { maxUnwrittenBytes: Number(process.env.MAX_UNWRITTEN) } : {});
  const workers = Array.from({ length: Number(process.env.WORKERS ?? 2) }, () => cluster.fork());
  const urls = await Promise.all(workers.map((worker) => new Promise((resolve) => worker.on("message", (message) => message.listening && resolve(message.listening)))));
  process.stdout.write(`listening on ${urls[0]}\n`);
  // A worker that drained and exited (SIGTERM: a rolling restart) is replaced; one that died is not.
  cluster.on("exit", (_worker, code) => code === 0 && cluster.fork());
  process.once("SIGTERM", () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    process.exit(0);
  });
  await new Promise(() => {}); // the primary serves nothing itself
}

class ChatHub extends Hub {
  id() {
    return this.context.connectionId;
  }

  whoami() {
    return this.context.userIdentifier;
  }

  /** The process that runs the call: the server that holds the caller's connection. */
  serverPid() {
    return process.pid;
  }

  /** The connections of other servers this one could recover now (see ScaleOutStats.recovery). */
  recoverable() {
    return server.scaleOutStats(ChatHub)?.recovery?.recoverable ?? 0;
  }

  join(group) {
    return this.groups.addToGroup(this.context.connectionId, group);
  }

  toAll(stream, n) {
    return this.clients.all.message(stream, n);
  }

  toGroup(group, stream, n) {
    return this.clients.group(group).message(stream, n);
  }

  toConnection(connectionId, stream, n) {
    return this.clients.client(connectionId).message(stream, n);
  }

  /** Holds the server's event loop for `ms`: a server that reads nothing meanwhile. */
  stall(ms) {
    const until = Date.now() + ms;
    while (Date.now() < until);
  }
}
for (const [name, method] of [["Id", "id"], ["Whoami", "whoami"], ["ServerPid", "serverPid"], ["Recoverable", "recoverable"], ["Join", "join"], ["ToAll", "toAll"], ["ToGroup", "toGroup"], ["ToConnection", "toConnection"], ["Stall", "stall"]]) {
  HubMethod(name)(ChatHub.prototype, method, Object.getOwnPropertyDescriptor(ChatHub.prototype, method));
}
HubClass({ name: "ChatHub" })(ChatHub);

// Warnings and errors on stderr: what a test that fails must show of why.
const logger = consoleLogger("warn");

const server = new HubServer({
  logger,
  allowStatefulReconnects: true,
  // The tests' sender calls without pause, and the client acknowledges once a second: a second
  // of its replies can pass the default 100 000 bytes, past which its connection could not move.
  statefulReconnectBufferSize: 1_000_000,
  backplane: inCluster ? new ClusterBackplane() : new RedisBackplane({ url: process.env.REDIS_URL, channelPrefix: process.env.CHANNEL_PREFIX, logger }),
  scaleOut: JSON.parse(process.env.SCALE_OUT ?? "{}"),
});
server.mapHub("/chat", ChatHub, { authenticate: (_request, bearer) => (bearer ? { sub: bearer } : null) });
server.mapMultiplexer("/hubs");
const { url } = await server.listen(Number(process.env.PORT ?? 0));
if (inCluster) process.send({ listening: url });
else process.stdout.write(`listening on ${url}\n`);
process.once("SIGTERM", () => {
  server.drain().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
