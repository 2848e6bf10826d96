// A hubwire server in a process of its own, for tests that kill it: it serves the hub "ChatHub"
// at /chat over the Redis at REDIS_URL, with the scale-out settings in SCALE_OUT (JSON), and
// prints "listening on <url>". It runs the built code in dist/.
import { Hub, HubClass, HubServer, silentLogger } from "../../dist/src/index.js";
import { RedisBackplane } from "../../dist/src/redis/index.js";

class ChatHub extends Hub {}
HubClass({ name: "ChatHub" })(ChatHub);

const server = new HubServer({
  logger: silentLogger,
  backplane: new RedisBackplane({ url: process.env.REDIS_URL, logger: silentLogger }),
  scaleOut: JSON.parse(process.env.SCALE_OUT ?? "{}"),
});
server.mapHub("/chat", ChatHub);
const { url } = await server.listen(0);
process.stdout.write(`listening on ${url}\n`);
