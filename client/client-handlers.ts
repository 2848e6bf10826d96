import { MessageType, type CompletionMessage, type InvocationMessage } from "../src/protocol/messages.js";
import { textOf } from "../src/protocol/thrown-value.js";
import { messages } from "./errors.js";
import type { Logger } from "./logger.js";

export type Handler = (...args: any[]) => unknown;

/**
 * The functions the server may call on this client, by case-insensitive name. A call with an id
 * wants an answer (a client result): the handler's value, or its error as text.
 */
export class ClientHandlers {
  private readonly byName = new Map<string, Handler[]>();

  constructor(private readonly logger: Logger) {}

  add(method: string, handler: Handler): void {
    const key = method.toLowerCase();
    this.byName.set(key, [...(this.byName.get(key) ?? []), handler]);
  }

  remove(method: string, handler?: Handler): void {
    const key = method.toLowerCase();
    if (!handler) return void this.byName.delete(key);
    const list = (this.byName.get(key) ?? []).filter((h) => h !== handler);
    if (list.length > 0) this.byName.set(key, list);
    else this.byName.delete(key);
  }

  /** Runs the handlers of a server call; resolves with the Completion to send back, if one is wanted. */
  async run(message: InvocationMessage): Promise<CompletionMessage | undefined> {
    const handlers = this.byName.get(message.target.toLowerCase()) ?? [];
    const invocationId = message.invocationId;
    // As the official client warns: a call nobody handles is most often a misspelled name.
    if (handlers.length === 0) this.logger.warn(`No client method with the name '${message.target}' found.`);
    let result: unknown;
    let error: string | undefined;
    let results = 0;
    for (const handler of [...handlers]) {
      try {
        const value = await handler(...message.arguments);
        if (value !== undefined) {
          results++;
          result = value;
        }
      } catch (failure) {
        error ??= textOf(failure); // `Error: text`, as the official client answers
        const answered = invocationId === undefined ? "" : " (the server is told)";
        this.logger.error(`A handler for '${message.target}' threw${answered}.`, { error: failure });
      }
    }
    if (invocationId === undefined) return undefined;
    if (error === undefined && results === 0) error = messages.noResult;
    if (error === undefined && results > 1) error = "Client provided multiple results.";
    return error !== undefined
      ? { type: MessageType.Completion, invocationId, hasResult: false, error }
      : { type: MessageType.Completion, invocationId, hasResult: true, result };
  }
}
