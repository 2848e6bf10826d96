import { MessageType, type HubMessage } from "../src/protocol/messages.js";
import { errorParts, textOf } from "../src/protocol/thrown-value.js";
import { isUpload } from "./call-options.js";
import type { Logger } from "./logger.js";

/** A call's arguments split: upload streams (each with an id of its own) and inline values. */
export interface BoundUploads {
  uploads: AsyncIterable<unknown>[];
  streamIds: string[] | undefined;
  inline: unknown[];
}

export function bindUploads(args: unknown[], newId: () => string): BoundUploads {
  const uploads: AsyncIterable<unknown>[] = [];
  const inline: unknown[] = [];
  for (const arg of args) (isUpload(arg) ? uploads : inline).push(arg as never);
  return { uploads, streamIds: uploads.length > 0 ? uploads.map(() => newId()) : undefined, inline };
}

/** Sends each upload's items, then its end: a Completion, with the error's message if it threw. */
export function pumpUploads(bound: BoundUploads, send: (message: HubMessage) => Promise<void>, logger: Logger): void {
  bound.uploads.forEach(async (upload, i) => {
    const invocationId = bound.streamIds![i]!;
    try {
      for await (const item of upload) await send({ type: MessageType.StreamItem, invocationId, item });
      await send({ type: MessageType.Completion, invocationId, hasResult: false });
    } catch (error) {
      // As the official client does: an upload's error travels as its message alone.
      const text = errorParts(error)?.[1] ?? textOf(error);
      await send({ type: MessageType.Completion, invocationId, hasResult: false, error: text }).catch((failure: unknown) =>
        logger.debug("Could not end an upload stream with its error.", { invocationId, error: failure }),
      );
    }
  });
}
