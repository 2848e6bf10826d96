/**
 * The hub messages of the SignalR hub protocol (JSON and MessagePack share them).
 * Field names follow the wire; `hasResult` makes "void" and "returned null" distinct.
 */

export const MessageType = {
  Invocation: 1,
  StreamItem: 2,
  Completion: 3,
  StreamInvocation: 4,
  CancelInvocation: 5,
  Ping: 6,
  Close: 7,
  Ack: 8,
  Sequence: 9,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** String headers any message but Ping may carry; receivers ignore what they don't know. */
export type MessageHeaders = Record<string, string>;

export interface InvocationMessage {
  type: typeof MessageType.Invocation;
  /** Absent for a non-blocking call: no Completion may be sent for it. */
  invocationId?: string;
  target: string;
  arguments: unknown[];
  /** Ids of upload streams bound to stream parameters (their arguments are omitted). */
  streamIds?: string[];
  headers?: MessageHeaders;
}

export interface StreamInvocationMessage {
  type: typeof MessageType.StreamInvocation;
  invocationId: string;
  target: string;
  arguments: unknown[];
  streamIds?: string[];
  headers?: MessageHeaders;
}

export interface StreamItemMessage {
  type: typeof MessageType.StreamItem;
  invocationId: string;
  item: unknown;
  headers?: MessageHeaders;
}

export interface CompletionMessage {
  type: typeof MessageType.Completion;
  invocationId: string;
  /** Set when the call failed; never together with a result. */
  error?: string;
  /** True when the call produced a value (which may be `null`); false for a void completion. */
  hasResult: boolean;
  result?: unknown;
  headers?: MessageHeaders;
}

export interface CancelInvocationMessage {
  type: typeof MessageType.CancelInvocation;
  invocationId: string;
  headers?: MessageHeaders;
}

export interface PingMessage {
  type: typeof MessageType.Ping;
}

export interface CloseMessage {
  type: typeof MessageType.Close;
  error?: string;
  allowReconnect?: boolean;
}

export interface AckMessage {
  type: typeof MessageType.Ack;
  sequenceId: number;
}

export interface SequenceMessage {
  type: typeof MessageType.Sequence;
  sequenceId: number;
}

export type HubMessage =
  | InvocationMessage
  | StreamInvocationMessage
  | StreamItemMessage
  | CompletionMessage
  | CancelInvocationMessage
  | PingMessage
  | CloseMessage
  | AckMessage
  | SequenceMessage;

/** The Close a server sends: `error` is shown to the client, `allowReconnect` asks it to come back. */
export function closeMessage({ error, allowReconnect }: { error?: string | undefined; allowReconnect?: boolean | undefined } = {}): CloseMessage {
  return { type: MessageType.Close, ...(error ? { error } : {}), ...(allowReconnect ? { allowReconnect: true } : {}) };
}

/** A Completion for a call that returned nothing. */
export function voidCompletion(invocationId: string): CompletionMessage {
  return { type: MessageType.Completion, invocationId, hasResult: false };
}

/** A Completion carrying a value (`null` included). */
export function resultCompletion(invocationId: string, result: unknown): CompletionMessage {
  return { type: MessageType.Completion, invocationId, hasResult: true, result };
}

/** A Completion carrying an error text. */
export function errorCompletion(invocationId: string, error: string): CompletionMessage {
  return { type: MessageType.Completion, invocationId, hasResult: false, error };
}
