/**
 * A hub's authentication that holds the request it sees next, once asked to, until let go: a
 * slow identity service (or a cluster's Redis round trips), so a test can act while it waits.
 * The bearer token is the user's name; no token is anonymous.
 *
 * @example
 * const auth = heldAuthentication();
 * server.mapHub("/news", NewsHub, { authenticate: auth.authenticate });
 * const admissionBegun = auth.holdNext();
 * // ... a request that authenticates ...
 * const letGo = await admissionBegun;
 */
export function heldAuthentication() {
  let held: { entered: () => void; released: Promise<void> } | undefined;
  return {
    authenticate: async (_request: unknown, token: string | undefined) => {
      const hold = held;
      held = undefined;
      if (hold) {
        hold.entered();
        await hold.released;
      }
      return token ? { sub: token } : null;
    },
    /** Resolves once the next admission has begun, with what lets it go on. */
    holdNext(): Promise<() => void> {
      return new Promise((begun) => {
        let release!: () => void;
        const released = new Promise<void>((resolve) => (release = resolve));
        held = { entered: () => begun(release), released };
      });
    },
  };
}
