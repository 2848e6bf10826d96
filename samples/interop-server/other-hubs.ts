import { Authorize, Hub, HubClass, HubMethod } from "../../src/index.js";

/** Requires a bearer token (see the /authorizedhub endpoint's authenticate hook). */
@Authorize()
@HubClass()
export class AuthorizedHub extends Hub {
  @HubMethod("Echo")
  echo(message: string): string {
    return message;
  }

  @HubMethod("GetUserIdentifier")
  getUserIdentifier(): string | null {
    return this.context.userIdentifier ?? null;
  }
}

/** A service nobody registered: the container cannot build it. */
export class UnregisteredService {
  constructor(readonly required: never) {}
}

/** A hub whose construction always fails: its dependency cannot be resolved. */
@HubClass()
export class UncreatableHub extends Hub {
  constructor(readonly service: UnregisteredService) {
    super();
  }

  @HubMethod("Echo")
  echo(message: string): string {
    return message;
  }
}
