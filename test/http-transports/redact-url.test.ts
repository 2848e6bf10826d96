import { describe, expect, it } from "vitest";
import { redactUrl } from "../../src/transports/redact-url.js";

describe("redactUrl", () => {
  it("hides the bearer token and the connection token, and keeps the rest", () => {
    expect(redactUrl("/chat?id=abc&access_token=x.y.z&v=1")).toBe("/chat?id=[redacted]&access_token=[redacted]&v=1");
    expect(redactUrl("/chat?ID=abc&access%5Ftoken=secret")).toBe("/chat?ID=[redacted]&access%5Ftoken=[redacted]");
    expect(redactUrl("/chat?id")).toBe("/chat?id=[redacted]");
    expect(redactUrl("/chat/negotiate?negotiateVersion=1")).toBe("/chat/negotiate?negotiateVersion=1");
    expect(redactUrl("/chat")).toBe("/chat");
    expect(redactUrl(undefined)).toBeUndefined();
  });
});
