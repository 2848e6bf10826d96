// Compiled by `npm test` (tsc --noEmit), never run. Each @ts-expect-error line must fail to
// compile: if the typed client targets ever accepted it, tsc would report an unused directive.
import { Hub, HubClass, HubMethod, type HubContext } from "../../src/index.js";

interface OpsClient {
  alert(message: string, level: number): void;
  reset(): void;
  confirm(question: string): boolean;
}

@HubClass()
export class OpsHub extends Hub<OpsClient> {
  @HubMethod()
  async check(): Promise<void> {
    await this.clients.group("ops").alert("disk full", 2);
    await this.clients.caller.reset();
    await this.clients.othersInGroup("ops").send("anything", 1, 2); // the untyped escape hatch

    // @ts-expect-error a method the client does not have
    await this.clients.all.alarm("x", 1);
    // @ts-expect-error a wrong argument type
    await this.clients.group("ops").alert(42, 2);
    // @ts-expect-error a missing argument
    await this.clients.others.alert("x");
    // @ts-expect-error a target that takes a list given a single id
    await this.clients.clients("one-id").reset();

    const ok: boolean = await this.clients.caller.invoke("confirm", "sure?");
    const again: boolean = await this.clients.client("id").withOptions({ timeout: 1000, signal: this.signal }).invoke("confirm", "sure?");
    void [ok, again];
    // @ts-expect-error client results are asked of one client, not a group
    await this.clients.group("ops").invoke("confirm", "sure?");
    // @ts-expect-error a wrong argument type for a client result
    await this.clients.caller.invoke("confirm", 1);
    // @ts-expect-error the result has the client function's return type
    const wrong: string = await this.clients.caller.invoke("confirm", "sure?");
    void wrong;
  }
}

export function outside(context: HubContext<OpsClient>): void {
  void context.clients.user("alice").alert("hi", 1);
  // @ts-expect-error the hub context has no caller
  void context.clients.caller;
}
