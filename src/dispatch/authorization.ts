import { HubwireError } from "../errors.js";
import type { AuthorizeRule } from "../hubs/decorators.js";
import type { HubDescriptor } from "../hubs/hub-descriptor.js";
import type { AuthorizationPolicy, PolicyContext } from "./hub-options.js";

/** Fails at startup when a hub names a policy the server does not have. */
export function checkPolicies(descriptor: HubDescriptor, policies: Readonly<Record<string, AuthorizationPolicy>>): void {
  const rules = [...descriptor.authorize, ...[...descriptor.methods.values()].flatMap((m) => m.authorize)];
  for (const rule of rules) {
    if (rule.policy !== undefined && !Object.hasOwn(policies, rule.policy)) {
      throw new HubwireError(
        "ERR_UNKNOWN_POLICY",
        `${descriptor.name} uses @Authorize("${rule.policy}"), but the server has no policy of that name.`,
      );
    }
  }
}

/** Whether `user` satisfies every rule: an authenticated user, and each named policy. */
export async function isAuthorized(
  rules: readonly AuthorizeRule[],
  user: unknown,
  policies: Readonly<Record<string, AuthorizationPolicy>>,
  context: PolicyContext,
): Promise<boolean> {
  if (rules.length === 0) return true;
  if (user === null || user === undefined) return false;
  for (const rule of rules) {
    if (rule.policy !== undefined && !(await policies[rule.policy]!(user, context))) return false;
  }
  return true;
}
