import { adopt, otherUserRefusal, refreshRefusal, type Admission, type AdmissionCheck, type Admitted, type Refusal } from "./connection-admission.js";
import type { ConnectionRequest } from "./connection-request.js";
import type { HubChannel } from "./hub-channel.js";

/**
 * Who the hubs of a multiplexed connection are, request after request. Each hub is admitted by
 * its own check, on the connection's latest request (its bearer token): when it opens, and again
 * with every later request of the connection (a long poll, a send, a DELETE), as a plain
 * connection's endpoint authenticates each of its requests, so the connection token alone never
 * acts for a hub's user, and a token refreshed on the way reaches every hub.
 */
export class HubAdmissions {
  /** Requests authenticated again, counted as they came, and the latest one applied. */
  private reauthentications = 0;
  private latestApplied = 0;

  constructor(
    /** The latest request that authenticated the connection; hubs open with it. */
    public request: ConnectionRequest,
    public token: string | undefined,
  ) {}

  /**
   * Refused when one of `hubs` refuses the request's token or it is another user's; otherwise
   * each hub's authentication (its expiry) follows it, and hubs opened later are admitted with it.
   * `keepsLaterEnd`: see adopt (the multiplexer serves authentication refresh).
   */
  async reauthenticate(hubs: HubChannel[], request: ConnectionRequest, token: string | undefined, keepsLaterEnd: boolean): Promise<Refusal | undefined> {
    const order = ++this.reauthentications;
    const admissions = await Promise.all(hubs.map((hub) => admitted(hub.admit, request, token)));
    for (const [i, admission] of admissions.entries()) {
      if ("status" in admission) return admission;
      const { connection } = hubs[i]!;
      const refusal = otherUserRefusal(connection, admission) ?? (await refreshRefusal(connection, admission, request, keepsLaterEnd));
      if (refusal) return refusal;
    }
    // Requests of one connection overlap (a poll and a send): an older one finishing late changes nothing.
    if (order < this.latestApplied) return undefined;
    this.latestApplied = order;
    this.request = request;
    this.token = token;
    for (const [i, hub] of hubs.entries()) {
      if (hub.connection.isClosed) continue;
      adopt(hub.connection, admissions[i] as Admitted, keepsLaterEnd);
      hub.connection.request ??= request; // a hub that moved here from another server had none here
    }
    return undefined;
  }
}

/** A hub's verdict on a request; a check that throws admits nobody. */
async function admitted(admit: AdmissionCheck, request: ConnectionRequest, token: string | undefined): Promise<Admission> {
  try {
    return await admit(request, token);
  } catch {
    return { status: 500 };
  }
}

