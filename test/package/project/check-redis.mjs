// hubwire/redis finds ioredis installed beside it: one message through Redis and back.
import { RedisBackplane } from "hubwire/redis";

const backplane = new RedisBackplane({ url: process.argv[2], channelPrefix: `hubwire-package-test-${process.pid}` });
let delivered;
const received = new Promise((resolve) => (delivered = resolve));
await backplane.subscribe("ping", (payload) => delivered(new TextDecoder().decode(payload)));
await backplane.publish("ping", new TextEncoder().encode("pong"));
console.log(await received);
await backplane.close();
