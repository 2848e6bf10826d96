import { errorTexts } from "./error-texts.js";

/**
 * What a client is told when it reaches one of hubwire's own per-connection bounds or checks
 * (ASP.NET Core has no such bound, so no text of its own): each reads as a HubException thrown by
 * the method, the form every SignalR client already shows.
 */
export const limitTexts = {
  tooManyUploadStreams: (target: string, max: number) =>
    errorTexts.methodThrew(target, ` HubException: A connection may have at most ${max} upload streams open (maximumUploadStreamsPerClient).`),
  // Worded as ASP.NET Core's refusal of an invocation id in use (errorTexts.invocationIdInUse).
  uploadStreamIdInUse: (target: string, streamId: string) =>
    errorTexts.methodThrew(target, ` HubException: Stream ID '${streamId}' is already in use.`),
  tooManyStreams: (target: string, max: number) =>
    errorTexts.methodThrew(target, ` HubException: A connection may have at most ${max} server streams open (maximumStreamsPerClient).`),
} as const;
