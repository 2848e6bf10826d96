import { errorTexts } from "./error-texts.js";

/**
 * What a client is told when it reaches one of hubwire's own per-connection bounds (ASP.NET Core
 * has no such bound, so no text of its own): each reads as a HubException thrown by the method,
 * the form every SignalR client already shows.
 */
export const limitTexts = {
  tooManyUploadStreams: (target: string, max: number) =>
    errorTexts.methodThrew(target, ` HubException: A connection may have at most ${max} upload streams open (maximumUploadStreamsPerClient).`),
  tooManyStreams: (target: string, max: number) =>
    errorTexts.methodThrew(target, ` HubException: A connection may have at most ${max} server streams open (maximumStreamsPerClient).`),
} as const;
