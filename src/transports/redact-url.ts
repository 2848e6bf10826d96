/** Query parameters that carry secrets: the bearer token and the connection token. */
const secretParams = new Set(["access_token", "id"]);

/**
 * A request URL fit for a log line: the values of `access_token` and `id` (the connection token)
 * are replaced, so neither a bearer token nor a connection token ever reaches a log.
 *
 * @example
 * redactUrl("/chat?id=abc&access_token=xyz&v=1") // "/chat?id=[redacted]&access_token=[redacted]&v=1"
 */
export function redactUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const q = url.indexOf("?");
  if (q === -1) return url;
  const query = url
    .slice(q + 1)
    .split("&")
    .map((pair) => {
      const eq = pair.indexOf("=");
      const name = eq === -1 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name.replace(/\+/g, " "));
      } catch {
        // a malformed name is logged as it is, unless it is a secret's
      }
      return secretParams.has(decoded.toLowerCase()) ? `${name}=[redacted]` : pair;
    })
    .join("&");
  return `${url.slice(0, q)}?${query}`;
}
