import { Hub, HubClass, HubMethod, UploadStream } from "../../src/index.js";

export interface TestClient {
  Message(text: string): void;
  CustomObject(obj: unknown): void;
  StreamCanceled(): void;
  Result(): number;
}

export interface ComplexObject {
  String: string;
  IntArray: number[];
  ByteArray: Uint8Array | string;
  Guid: string;
  DateTime: Date | string;
}

/** An error whose name is the .NET exception the official tests expect. */
export function invalidOperation(message: string): Error {
  const error = new Error(message);
  error.name = "InvalidOperationException";
  return error;
}

/** The official SignalR functional-test hub, method for method. */
@HubClass()
export class TestHub extends Hub<TestClient> {
  @HubMethod("Echo")
  echo(message: string): string {
    return message;
  }

  @HubMethod("GetCallerConnectionId")
  getCallerConnectionId(): string {
    return this.context.connectionId;
  }

  @HubMethod("GetNumRedirects")
  getNumRedirects(): number {
    return Number(this.context.request.query.get("numRedirects") ?? 0);
  }

  @HubMethod("ThrowException")
  throwException(message: string): never {
    throw invalidOperation(message);
  }

  @HubMethod("InvokeWithString")
  async invokeWithString(message: string): Promise<void> {
    await this.clients.caller.Message(message);
  }

  @HubMethod("SendCustomObject")
  async sendCustomObject(obj: unknown): Promise<void> {
    await this.clients.caller.CustomObject(obj);
  }

  @HubMethod("Stream")
  async *stream(): AsyncGenerator<string> {
    yield "a";
    yield "b";
    yield "c";
  }

  @HubMethod({ name: "InfiniteStream", stream: true })
  infiniteStream(): AsyncIterable<string> {
    // Never yields; tells its caller StreamCanceled once cancelled. As with .NET's
    // `token.Register`, that holds however early the cancel comes: even before the stream was
    // first read, when a generator's body would not have run yet.
    // Taken now: the callback below runs after this invocation has ended.
    const caller = this.clients.caller;
    const { signal } = this;
    const cancelled = signal.aborted
      ? Promise.resolve()
      : new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    // A caller that has gone (the cancel came from its disconnect) has nobody left to tell.
    cancelled.then(() => caller.StreamCanceled()).catch(() => {});
    return (async function* () {
      await cancelled;
    })();
  }

  @HubMethod("StreamingConcat")
  async streamingConcat(@UploadStream() source: AsyncIterable<string>): Promise<string> {
    let text = "";
    for await (const item of source) text += item;
    return text;
  }

  @HubMethod("EmptyStream")
  async *emptyStream(): AsyncGenerator<number> {}

  /** Throws before returning its stream, so the caller gets the "invoking" error, not a stream error. */
  @HubMethod({ name: "StreamThrowException", stream: true })
  streamThrowException(message: string): AsyncIterable<string> {
    throw invalidOperation(message);
  }

  @HubMethod("GetActiveTransportName")
  getActiveTransportName(): string {
    return this.context.transport;
  }

  @HubMethod("EchoComplexObject")
  echoComplexObject(obj: ComplexObject): ComplexObject {
    return obj;
  }

  @HubMethod("SendComplexObject")
  sendComplexObject(): ComplexObject {
    return {
      String: "hello world",
      IntArray: [1, 2, 3],
      ByteArray: new Uint8Array([1, 2, 3]),
      Guid: "00010203-0405-0607-0706-050403020100",
      DateTime: new Date(Date.UTC(2000, 0, 1)),
    };
  }

  @HubMethod("GetContentTypeHeader")
  getContentTypeHeader(): string {
    return this.context.request.header("content-type") ?? "";
  }

  @HubMethod("GetHeader")
  getHeader(name: string): string | null {
    return this.context.request.header(name) ?? null;
  }

  @HubMethod("GetCookie")
  getCookie(name: string): string | null {
    return this.context.request.cookies[name] ?? null;
  }
}
