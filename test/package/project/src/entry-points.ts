// Every entry point's types resolve from the installed package.
import { HubServer, HubwireError } from "hubwire";
import { JsonHubProtocol, MessagePackHubProtocol } from "hubwire/protocol";
import { RedisBackplane, type RedisBackplaneOptions } from "hubwire/redis";
import { ClusterBackplane, type ClusterBackplaneOptions } from "hubwire/cluster";
import { TestHost, type TestClient } from "hubwire/testing";
import { HubConnection } from "hubwire/client";
import { messagePack } from "hubwire/client/msgpack";
import * as browser from "hubwire/client/browser";
import * as browserMessagePack from "hubwire/client/browser/msgpack";
import { HubMultiplexer } from "hubwire/client/multiplex";
import { traceContext } from "hubwire/client/opentelemetry";
import * as browserMultiplex from "hubwire/client/browser/multiplex";

const redisOptions: RedisBackplaneOptions = { channelPrefix: "app" };
const clusterOptions: ClusterBackplaneOptions = { requestTimeout: 1_000 };
export type AnyTestClient = TestClient<never>;
export const entryPoints = [HubServer, HubwireError, JsonHubProtocol, MessagePackHubProtocol, RedisBackplane, redisOptions, ClusterBackplane, clusterOptions, TestHost, HubConnection, messagePack, browser.HubConnection, browserMessagePack.messagePack, HubMultiplexer, traceContext, browserMultiplex.HubMultiplexer];
