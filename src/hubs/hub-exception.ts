/**
 * An error whose message is meant for the client. Thrown from a hub method, the caller sees
 * `An unexpected error occurred invoking '<Method>' on the server. HubException: <message>`
 * whether detailed errors are on or not; any other error's text stays on the server unless
 * detailed errors are enabled.
 *
 * @example
 * if (!room) throw new HubException(`No room named ${name}`);
 */
export class HubException extends Error {
  override name = "HubException";
}
